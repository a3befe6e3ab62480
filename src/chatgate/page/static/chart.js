// Bar charts as plain SVG, built node by node (labels go in as text).
const NS = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function formatNumber(n) {
  return Number(n).toLocaleString();
}

// rows: [{label, value}]; horizontal bars, one a row, so long labels stay readable.
export function barChart(rows, { empty = "Nothing yet" } = {}) {
  if (!rows.length) {
    const p = document.createElement("p");
    p.className = "hint";
    p.textContent = empty;
    return p;
  }
  const rowHeight = 22;
  const labelWidth = 150;
  const width = 480;
  const height = rows.length * rowHeight + 8;
  const max = Math.max(...rows.map((r) => r.value), 1);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  chart.append(svg("title", {}, rows.map((r) => `${r.label}: ${formatNumber(r.value)}`).join("; ")));
  rows.forEach((row, i) => {
    const y = 4 + i * rowHeight;
    const barWidth = Math.max(1, ((width - labelWidth - 70) * row.value) / max);
    const label = row.label.length > 24 ? `${row.label.slice(0, 23)}…` : row.label;
    chart.append(
      svg("text", { x: labelWidth - 6, y: y + 14, "text-anchor": "end" }, label),
      svg("rect", { class: "bar-rect", x: labelWidth, y: y + 3, width: barWidth, height: rowHeight - 8, rx: 2 }),
      svg("text", { x: labelWidth + barWidth + 4, y: y + 14 }, formatNumber(row.value)),
    );
  });
  const figure = document.createElement("div");
  figure.append(chart);
  return figure;
}
