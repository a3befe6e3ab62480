// The signed-in user's access tokens: list, create (shown once), revoke.
import { api } from "./api.js";
import { $, copyField, el, notify, when } from "./dom.js";

export function setup() {
  $("token-form").addEventListener("submit", create);
  $("token-copy").addEventListener("click", () => copyField($("token-new-value"), $("token-copy")));
}

export async function show() {
  $("token-new").hidden = true;
  await list();
}

async function list() {
  const tokens = await api("GET", "/api/tokens");
  $("tokens-list").replaceChildren(...tokens.map(row));
}

function row(token) {
  const revoke = el("button", {
    type: "button",
    class: "danger",
    text: "Revoke",
    "aria-label": `Revoke token ${token.label || token.id}`,
    onclick: () => revokeToken(token),
  });
  return el(
    "tr",
    {},
    el("td", { text: token.label || "(no label)" }),
    el("td", { text: when(token.created_at) }),
    el("td", { text: when(token.last_used_at) }),
    el("td", { text: token.revoked_at ? "revoked" : "active" }),
    el("td", {}, token.revoked_at ? null : revoke),
  );
}

async function create(event) {
  event.preventDefault();
  try {
    const created = await api("POST", "/api/tokens", { label: $("token-label").value.trim() });
    $("token-label").value = "";
    $("token-new-value").value = created.token;
    $("token-copy").textContent = "Copy";
    $("token-new").hidden = false;
    await list();
    $("token-new-value").focus();
  } catch (error) {
    notify(error.message);
  }
}

async function revokeToken(token) {
  if (!confirm(`Revoke "${token.label || token.id}"? Whatever uses it stops working.`)) return;
  try {
    await api("DELETE", `/api/tokens/${token.id}`);
    await list();
    notify("Token revoked", true);
  } catch (error) {
    notify(error.message);
  }
}
