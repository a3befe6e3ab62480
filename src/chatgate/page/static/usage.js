// The user's own usage: tokens per day and per model (GET /api/usage), and the quota left today.
import { api } from "./api.js";
import { $ } from "./dom.js";
import { barChart, formatNumber } from "./chart.js";

export function setup() {}

export async function show() {
  const [byDay, byModel, quota] = await Promise.all([
    api("GET", "/api/usage?group_by=day"),
    api("GET", "/api/usage?group_by=model"),
    api("GET", "/api/quota"),
  ]);
  const rows = (answer) => answer.rows.map((r) => ({ label: r.key, value: r.total_tokens }));
  const empty = { empty: "No chats in the last 30 days" };
  $("usage-by-day").replaceChildren(barChart(rows(byDay), empty));
  $("usage-by-model").replaceChildren(barChart(rows(byModel), empty));
  const used = `Used today: ${formatNumber(quota.used_today)} tokens.`;
  $("usage-quota").textContent = quota.tokens_per_day === null
    ? `${used} No daily quota.`
    : `${used} Left today: ${formatNumber(quota.left_today)} of ${formatNumber(quota.tokens_per_day)} tokens (resets at 00:00 UTC).`;
}
