// Small helpers to build elements: text always goes in as text, never as HTML.

export const $ = (id) => document.getElementById(id);

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "never";
}

export function notify(message, ok = false) {
  const notice = $("notice");
  notice.textContent = message;
  notice.classList.toggle("ok", ok);
  notice.hidden = !message;
}

export async function copyField(input, button) {
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Press Ctrl+C";
  }
}
