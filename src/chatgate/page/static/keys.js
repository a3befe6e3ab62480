// Every provider key field of the profile: masked, set and cleared; the fields
// the server supplies for everyone are shown as such and cannot be edited.
import { api } from "./api.js";
import { $, el, notify } from "./dom.js";

const SET_BY_SERVER = "set by the server";
const LABELS = {
  openai_api_key: "OpenAI API key",
  openai_organization_id: "OpenAI organization id",
  anthropic_api_key: "Anthropic API key",
  google_gemini_api_key: "Google Gemini API key",
  mistral_api_key: "Mistral API key",
  groq_api_key: "Groq API key",
  perplexity_api_key: "Perplexity API key",
  openrouter_api_key: "OpenRouter API key",
  azure_openai_api_key: "Azure OpenAI API key",
  azure_openai_endpoint: "Azure OpenAI endpoint",
  azure_openai_35_turbo_id: "Azure GPT-3.5 Turbo deployment",
  azure_openai_45_turbo_id: "Azure GPT-4.5 Turbo deployment",
  azure_openai_45_vision_id: "Azure GPT-4.5 Vision deployment",
  azure_openai_embeddings_id: "Azure embeddings deployment",
};

export function setup() {}

export async function show() {
  // The fields of an earlier visit go first: typing into a field about to be replaced
  // would be lost without a word.
  $("keys-list").replaceChildren();
  const profile = await api("GET", "/api/profile");
  const fields = Object.keys(profile).filter((name) => name !== "username");
  $("keys-list").replaceChildren(...fields.map((name) => field(name, profile[name])));
}

function field(name, value) {
  const id = `key-${name}`;
  const label = el("label", { for: id, text: LABELS[name] || name });
  if (value === SET_BY_SERVER) {
    const input = el("input", { id, value: "supplied by the server", disabled: true });
    return el("div", { class: "field" }, label, input, el("span", { class: "server", text: "Set by the server for everyone: not editable here" }));
  }
  const secret = name.endsWith("_api_key");
  const input = el("input", { id, name, type: secret ? "password" : "text", autocomplete: "off", placeholder: value ? "enter a new value to replace it" : "not set" });
  const current = el("span", { class: "current", text: value ? `Current: ${value}` : "Not set" });
  const save = el("button", { type: "button", text: "Save", "aria-label": `Save ${LABELS[name] || name}`, onclick: () => change(name, input.value.trim()) });
  const clear = el("button", { type: "button", class: "secondary", text: "Clear", "aria-label": `Clear ${LABELS[name] || name}`, disabled: !value, onclick: () => change(name, null) });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") change(name, input.value.trim());
  });
  return el("div", { class: "field" }, label, el("div", { class: "row" }, input, save, clear), current);
}

async function change(name, value) {
  if (value === "") return notify("Type a value first, or use Clear");
  try {
    await api("PATCH", "/api/profile", { [name]: value });
    await show();
    notify(value === null ? `${LABELS[name]} cleared` : `${LABELS[name]} saved`, true);
  } catch (error) {
    notify(error.message);
  }
}
