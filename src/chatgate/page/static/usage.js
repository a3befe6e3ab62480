// The user's own usage: tokens per day and per model (GET /api/usage), and the quota left today.
import { api } from "./api.js";
import { $ } from "./dom.js";
import { barChart, formatNumber } from "./chart.js";

export function setup() {}

export async function show() {
  const [byDay, byModel] = await Promise.all([
    api("GET", "/api/usage?group_by=day"),
    api("GET", "/api/usage?group_by=model"),
  ]);
  const rows = (answer) => answer.rows.map((r) => ({ label: r.key, value: r.total_tokens }));
  $("usage-by-day").replaceChildren(barChart(rows(byDay), { empty: "No chats in the last 30 days" }));
  $("usage-by-model").replaceChildren(barChart(rows(byModel), { empty: "No chats in the last 30 days" }));
  const quota = byDay.quota;
  $("usage-quota").textContent = quota && quota.tokens_per_day
    ? `Left today: ${formatNumber(Math.max(0, quota.tokens_per_day - quota.used_today))} of ${formatNumber(quota.tokens_per_day)} tokens`
    : "No daily token quota";
}
