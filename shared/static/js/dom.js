/*
 * OneWindow (一窗通) front-end layer — DOM helpers. Every page imports these; none defines its own.
 *
 *   $(selector, root?)      the first match (querySelector), or null:   $("#kiosk"), $(".label", card)
 *   $$(selector, root?)     every match, as an array
 *   h(tag, props?, ...kids) builds an element: h("span", {class: "tag", dataset: {kind: "x"}}, "text", child)
 *   esc(value)              text made safe to put inside HTML markup (for the pages that build HTML strings)
 *   bootData(id?)           the JSON a page starts from (<script type="application/json" id="boot">)
 */

/** The first element matching `selector` (inside `root`, default the document), or null. */
export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** Every element matching `selector`, as an array. */
export function $$(selector, root = document) {
  return Array.from(root.querySelectorAll(selector));
}

const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" };

/** `value` as HTML text: & < > " ' escaped; null and undefined become "". */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/**
 * An element: `props` sets attributes ("class", "id", "type", …), `dataset`, `hidden`/`disabled` (booleans),
 * `text` (textContent) and `on` ({click: fn}); children are nodes or strings (null/false are skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "text") el.textContent = value;
    else if (name === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (name === "hidden" || name === "disabled") el[name] = Boolean(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** The page's start-up JSON (rendered by the server into a script tag; CSP forbids inline code, not data). */
export function bootData(id = "boot") {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}
