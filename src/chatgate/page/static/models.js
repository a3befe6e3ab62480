// The user's custom models: create, edit, delete, and test with one short chat.
import { api, failure } from "./api.js";
import { $, el, notify } from "./dom.js";

let models = [];

export function setup() {
  $("model-form").addEventListener("submit", save);
  $("model-cancel").addEventListener("click", () => edit(null));
}

export async function show() {
  $("models-list").replaceChildren(); // an earlier visit's cards are not edited meanwhile
  models = await api("GET", "/api/models");
  $("models-list").replaceChildren(...models.map(card));
}

function card(model) {
  const result = el("p", { class: "hint", role: "status" });
  return el(
    "li",
    { class: "card" },
    el("div", { class: "what" }, el("strong", { text: model.name }), el("div", { class: "hint", text: `${model.model_id} at ${model.base_url}` })),
    el("button", { type: "button", class: "secondary", text: "Test", "aria-label": `Test ${model.name}`, onclick: () => test(model, result) }),
    el("button", { type: "button", class: "secondary", text: "Edit", "aria-label": `Edit ${model.name}`, onclick: () => edit(model) }),
    el("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete ${model.name}`, onclick: () => remove(model) }),
    result,
  );
}

const FIELDS = ["name", "description", "base_url", "model_id", "context_length"];

function edit(model) {
  const form = $("model-form");
  form.reset();
  $("model-id").value = model ? model.id : "";
  for (const name of FIELDS) {
    if (model) form.elements[name].value = model[name];
  }
  $("model-api-key-shown").textContent = model?.api_key ? `(now ${model.api_key}; leave empty to keep it)` : "";
  $("model-form-title").textContent = model ? `Edit ${model.name}` : "Add a model";
  $("model-cancel").hidden = !model;
  $("model-name").focus();
}

async function save(event) {
  event.preventDefault();
  const form = $("model-form");
  const id = $("model-id").value;
  const body = Object.fromEntries(FIELDS.map((name) => [name, form.elements[name].value.trim()]));
  body.context_length = Number(body.context_length);
  const key = form.elements.api_key.value.trim();
  if (key) body.api_key = key;
  try {
    await (id ? api("PATCH", `/api/models/${id}`, body) : api("POST", "/api/models", body));
    edit(null);
    await show();
    notify(id ? "Model saved" : "Model added", true);
  } catch (error) {
    notify(error.message);
  }
}

async function remove(model) {
  if (!confirm(`Delete the model "${model.name}"?`)) return;
  try {
    await api("DELETE", `/api/models/${model.id}`);
    await show();
    notify("Model deleted", true);
  } catch (error) {
    notify(error.message);
  }
}

async function test(model, result) {
  result.textContent = "Asking…";
  try {
    const response = await fetch("/api/chat/custom", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        chatSettings: { model: model.model_id, temperature: 0 },
        messages: [{ role: "user", content: "Say hello in five words or fewer." }],
        customModelId: model.id,
      }),
    });
    if (!response.ok) throw await failure(response);
    const answer = (await response.text()).trim();
    result.textContent = `It answered: ${answer.slice(0, 200)}`;
  } catch (error) {
    result.textContent = `It failed: ${error.message}`;
  }
}
