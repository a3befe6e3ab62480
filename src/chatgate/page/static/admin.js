// The admin's screen: users (create with a first token, the admin role, disable,
// re-enable, quotas) and everyone's usage by user and model over a period.
import { api } from "./api.js";
import { $, copyField, el, notify } from "./dom.js";
import { barChart } from "./chart.js";

let usageRows = [];
let defaults = { tokens_per_day: null, tokens_per_month: null };

export function setup() {
  $("admin-user-form").addEventListener("submit", createUser);
  $("admin-copy").addEventListener("click", () => copyField($("admin-new-token"), $("admin-copy")));
  $("admin-usage-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadUsage().catch((error) => notify(error.message));
  });
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 29 * 86400000);
  $("admin-since").value = monthAgo.toISOString().slice(0, 10);
  $("admin-until").value = today.toISOString().slice(0, 10);
}

export async function show() {
  $("admin-new").hidden = true;
  defaults = await api("GET", "/api/admin/defaults");
  $("admin-defaults").textContent =
    `An empty quota is the server's default: ${shown(defaults.tokens_per_day)} a day, ` +
    `${shown(defaults.tokens_per_month)} a month. 0 is no limit.`;
  await Promise.all([listUsers(), loadUsage()]);
}

async function listUsers() {
  const users = await api("GET", "/api/admin/users");
  $("admin-users").replaceChildren(...users.map(userRow));
}

function shown(n) {
  return n === null || n === 0 ? "no limit" : Number(n).toLocaleString();
}

// Two fields a user: empty is the server's default (shown as the placeholder), 0 no limit.
function quotaCell(user) {
  const field = (name, what) =>
    el("input", {
      type: "number",
      min: "0",
      step: "1",
      class: "quota-input",
      value: user[name] ?? "",
      placeholder: "default",
      "aria-label": `Tokens a ${what} for ${user.username} (empty: the default; 0: no limit)`,
    });
  const day = field("tokens_per_day", "day");
  const month = field("tokens_per_month", "month");
  const read = (input) => (input.value.trim() === "" ? null : Number(input.value));
  const save = el("button", {
    type: "button",
    class: "secondary",
    text: "Save quota",
    "aria-label": `Save the quota of ${user.username}`,
    onclick: () => change(user, { tokens_per_day: read(day), tokens_per_month: read(month) }, "Quota saved"),
  });
  return el("td", {}, el("div", { class: "row" }, day, month, save));
}

function userRow(user) {
  const toggle = el("button", {
    type: "button",
    class: user.disabled ? "secondary" : "danger",
    text: user.disabled ? "Re-enable" : "Disable",
    "aria-label": `${user.disabled ? "Re-enable" : "Disable"} ${user.username}`,
    onclick: () => change(user, { disabled: !user.disabled }),
  });
  const role = el("button", {
    type: "button",
    class: "secondary",
    text: user.is_admin ? "Make member" : "Make admin",
    "aria-label": `${user.is_admin ? "Make member" : "Make admin"}: ${user.username}`,
    onclick: () => change(user, { is_admin: !user.is_admin }),
  });
  return el(
    "tr",
    {},
    el("td", { text: user.username }),
    el("td", { text: user.is_admin ? "admin" : "member" }),
    el("td", { text: user.disabled ? "disabled" : "active" }),
    quotaCell(user),
    el("td", {}, el("div", { class: "row" }, toggle, role)),
  );
}

async function createUser(event) {
  event.preventDefault();
  const username = $("admin-username").value.trim();
  try {
    const created = await api("POST", "/api/admin/users", { username, is_admin: $("admin-is-admin").checked });
    $("admin-user-form").reset();
    $("admin-new-name").textContent = created.username;
    $("admin-new-token").value = created.token;
    $("admin-copy").textContent = "Copy";
    $("admin-new").hidden = false;
    await listUsers();
    $("admin-new-token").focus();
  } catch (error) {
    notify(error.message);
  }
}

async function change(user, body, done = "") {
  try {
    await api("PATCH", `/api/admin/users/${encodeURIComponent(user.username)}`, body);
    await listUsers();
    if (done) notify(done, true);
  } catch (error) {
    notify(error.message);
  }
}

async function loadUsage() {
  const query = new URLSearchParams({ since: $("admin-since").value, until: $("admin-until").value });
  const answer = await api("GET", `/api/admin/usage?${query}`);
  usageRows = answer.rows;
  const byUser = new Map();
  for (const row of usageRows) byUser.set(row.user, (byUser.get(row.user) ?? 0) + row.total_tokens);
  $("admin-chart").replaceChildren(
    barChart([...byUser].map(([label, value]) => ({ label, value })), { empty: "No chats in this period" }),
  );
  const cell = (value) => el("td", { class: "num", text: Number(value).toLocaleString() });
  $("admin-usage").replaceChildren(
    ...usageRows.map((r) =>
      el("tr", {}, el("td", { text: r.user }), el("td", { text: r.model }), cell(r.requests), cell(r.prompt_tokens), cell(r.completion_tokens), cell(r.total_tokens)),
    ),
  );
  const link = $("admin-csv");
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([csv(usageRows)], { type: "text/csv" }));
}

const COLUMNS = ["user", "model", "requests", "prompt_tokens", "completion_tokens", "total_tokens"];

function csv(rows) {
  // A cell that a spreadsheet would read as a formula is quoted with a leading apostrophe.
  const quote = (value) => {
    let text = String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\n\r]/.test(text) || text !== String(value) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [COLUMNS.join(","), ...rows.map((r) => COLUMNS.map((c) => quote(r[c])).join(","))].join("\r\n") + "\r\n";
}
