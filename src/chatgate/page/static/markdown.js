// A small Markdown renderer that builds DOM nodes, so no text it is given is ever
// parsed as HTML: paragraphs, headings, lists, quotes, fenced and inline code,
// bold, italic, and links whose URL is http(s) or mailto (anything else stays text).

const SAFE_URL = /^(https?:|mailto:)/i;
// Emphasis only between non-word characters, so snake_case names and 2*3*4 stay as typed.
const INLINE = /(`+)([^`]+?)\1|\*\*([^*]+)\*\*|__([^_]+)__|(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])|(?<![\w_])_([^_\s][^_]*?)_(?![\w_])|\[([^\]]+)\]\(([^)\s]+)\)/g;

function inline(text, into) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) into.append(text.slice(last, match.index));
    const [whole, , code, bold1, bold2, em1, em2, label, url] = match;
    if (code !== undefined) into.append(withText("code", code));
    else if (bold1 ?? bold2) into.append(withInline("strong", bold1 ?? bold2));
    else if (em1 ?? em2) into.append(withInline("em", em1 ?? em2));
    else if (SAFE_URL.test(url)) {
      const a = withInline("a", label);
      a.href = url;
      a.rel = "noopener noreferrer nofollow";
      a.target = "_blank";
      into.append(a);
    } else into.append(whole);
    last = match.index + whole.length;
  }
  if (last < text.length) into.append(text.slice(last));
}

function withText(tag, text) {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}

function withInline(tag, text) {
  const node = document.createElement(tag);
  inline(text, node);
  return node;
}

function codeBlock(lines, language) {
  const pre = document.createElement("pre");
  const code = withText("code", lines.join("\n"));
  if (/^[\w+-]+$/.test(language)) code.dataset.language = language;
  pre.append(code);
  return pre;
}

const LIST_ITEM = /^\s*([-*+]|\d+[.)])\s+(.*)$/;

export function renderMarkdown(source) {
  const fragment = document.createDocumentFragment();
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(/^\s*(```|~~~)\s*([\w+-]*)/);
    if (fence) {
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trimStart().startsWith(fence[1])) body.push(lines[i++]);
      i += 1; // the closing fence (or the end of an answer still streaming)
      fragment.append(codeBlock(body, fence[2]));
      continue;
    }
    const heading = line.match(/^(#{1,6})\s+(.*)$/);
    if (heading) {
      fragment.append(withInline(`h${Math.min(heading[1].length + 2, 6)}`, heading[2]));
      i += 1;
      continue;
    }
    const item = line.match(LIST_ITEM);
    if (item) {
      const list = document.createElement(/\d/.test(item[1]) ? "ol" : "ul");
      while (i < lines.length && LIST_ITEM.test(lines[i])) {
        list.append(withInline("li", lines[i].match(LIST_ITEM)[2]));
        i += 1;
      }
      fragment.append(list);
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quoted = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s*>\s?/, ""));
      const quote = document.createElement("blockquote");
      quote.append(renderMarkdown(quoted.join("\n")));
      fragment.append(quote);
      continue;
    }
    if (!line.trim()) {
      i += 1;
      continue;
    }
    const paragraph = [];
    while (i < lines.length && lines[i].trim() && !/^\s*(```|~~~|#{1,6}\s|>)/.test(lines[i]) && !LIST_ITEM.test(lines[i])) {
      paragraph.push(lines[i++]);
    }
    const p = document.createElement("p");
    paragraph.forEach((text, n) => {
      if (n > 0) p.append(document.createElement("br"));
      inline(text, p);
    });
    fragment.append(p);
  }
  return fragment;
}
