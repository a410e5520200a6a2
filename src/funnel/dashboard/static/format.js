// Formatting figures and building DOM nodes: the only two things every panel does.

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

/** A count with thousands separators; "n/a" for a figure no service reports. */
export function count(value) {
  return value == null ? "n/a" : integer.format(value);
}

/** A rate or an average, one decimal. */
export function rate(value) {
  return value == null ? "n/a" : decimal.format(value);
}

/** Bytes in binary units. */
export function bytes(value) {
  if (value == null) return "n/a";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let scaled = value;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? scaled : decimal.format(scaled)} ${units[unit]}`;
}

/** A span of seconds the way the settings are written: 90s, 15m, 12h, 7d. */
export function span(seconds) {
  if (seconds == null) return "n/a";
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  if (seconds >= 3600) return `${decimal.format(seconds / 3600)}h`;
  return `${decimal.format(seconds)}s`;
}

/** Seconds as a latency: ms below one second. */
export function latency(seconds) {
  if (seconds == null) return "–";
  return seconds < 1 ? `${decimal.format(seconds * 1000)} ms` : `${decimal.format(seconds)} s`;
}

/** A Unix time as UTC, to the second. */
export function moment(unixSeconds) {
  if (unixSeconds == null) return "n/a";
  return new Date(unixSeconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** An element with attributes and children (strings become text). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value == null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "style") node.style.cssText = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child != null));
  return node;
}

/** Replace a table body's rows. */
export function fillRows(table, rows) {
  table.tBodies[0].replaceChildren(...rows);
}

/** `[[label, text], …]` as two-column rows. */
export function pairRows(pairs) {
  return pairs.map(([label, text]) =>
    el("tr", {}, el("th", {}, label), el("td", { class: "num" }, text)));
}
