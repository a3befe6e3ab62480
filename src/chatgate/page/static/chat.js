// Chat through /v1/chat/completions: the answer streams in and is rendered as
// Markdown (never as HTML); Stop aborts the request, which closes the provider's.
// The conversation lives in this page only: chatgate stores none.
import { api, errorMessage, failure } from "./api.js";
import { $, el, notify } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

let messages = [];
let controller = null;

export function setup() {
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  $("chat-message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  $("chat-stop").addEventListener("click", () => controller?.abort());
  $("chat-clear").addEventListener("click", reset);
  const temperature = $("chat-temperature");
  temperature.addEventListener("input", () => {
    $("chat-temperature-value").textContent = temperature.value;
  });
}

export function reset() {
  controller?.abort();
  messages = [];
  $("chat-log").replaceChildren();
}

// The list again on every visit: a key or custom model added elsewhere shows at once.
export async function show() {
  const listed = await api("GET", "/v1/models");
  const picker = $("chat-model");
  const previous = picker.value;
  picker.replaceChildren(...listed.data.map((m) => el("option", { value: m.id, text: m.id })));
  if (!listed.data.length) notify("No model yet: set a provider key on the Keys screen, or add a custom model.");
  if (listed.data.some((m) => m.id === previous)) picker.value = previous;
  $("chat-message").focus();
}

function bubble(role, text = "") {
  const item = el("li", { class: role });
  if (role === "user" || role === "error") item.textContent = text;
  $("chat-log").append(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

async function send() {
  const input = $("chat-message");
  const text = input.value.trim();
  if (!text || controller) return;
  input.value = "";
  messages.push({ role: "user", content: text });
  bubble("user", text);
  const answer = bubble("assistant streaming");
  const said = { text: "" };
  controller = new AbortController();
  $("chat-send").disabled = true;
  $("chat-stop").disabled = false;
  try {
    await stream(answer, said, controller.signal);
  } catch (error) {
    if (error.name !== "AbortError") bubble("error", error.message);
  } finally {
    answer.classList.remove("streaming");
    // What arrived stays, also when stopped or cut short: the next question follows it.
    if (said.text) messages.push({ role: "assistant", content: said.text });
    else {
      // Nothing came back: the question leaves the conversation, back into the box to retry.
      answer.remove();
      messages.pop();
      if (!input.value) input.value = text;
    }
    controller = null;
    $("chat-send").disabled = false;
    $("chat-stop").disabled = true;
    input.focus();
  }
}

async function stream(answer, said, signal) {
  const response = await fetch("/v1/chat/completions", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      model: $("chat-model").value,
      temperature: Number($("chat-temperature").value),
      messages,
      stream: true,
    }),
    signal,
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      pending += value;
      const lines = pending.split("\n");
      pending = lines.pop();
      for (const line of lines) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        const event = JSON.parse(data);
        if (event.error) throw new Error(errorMessage(0, event));
        said.text += event.choices?.[0]?.delta?.content ?? "";
      }
      answer.replaceChildren(renderMarkdown(said.text));
      answer.scrollIntoView({ block: "end" });
    }
  } finally {
    answer.replaceChildren(renderMarkdown(said.text));
    reader.releaseLock();
  }
}
