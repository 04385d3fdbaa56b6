/*
 * OneWindow (一窗通) — the kiosk's text that must not break inside a word: times and ranges ("9:00–12:00"), numbers
 * with their unit ("12 人", "约 96 分钟", "1、2 号窗口", "A013") go into <span class="nb"> (white-space: nowrap);
 * the rest of the text keeps `word-break: keep-all` from the stylesheet (Chinese breaks at punctuation and spaces,
 * so "保存" never becomes "保|存").
 */
import { h } from "/assets/js/dom.js";

// a time or a range of times; a ticket number; a number with the word after it (人, 分钟, 号窗口, min, people…)
const UNBREAKABLE = new RegExp([
  "\\d{1,2}:\\d{2}(?:\\s*[–—-]\\s*\\d{1,2}:\\d{2})?",
  "\\b[A-Z]\\d{2,4}\\b",
  "(?:约\\s*)?\\d+(?:[、,，]\\s*\\d+)*\\s*(?:号窗口|号|人|分钟|月\\d+日|年|min|people|person)?",
].join("|"), "g");

/** The children of an element showing `text`: plain text, with the runs above wrapped in no-break spans. */
export function noBreak(text) {
  const out = [];
  const s = String(text == null ? "" : text);
  let last = 0;
  for (const m of s.matchAll(UNBREAKABLE)) {
    if (!m[0].trim()) continue;
    if (m.index > last) out.push(s.slice(last, m.index));
    out.push(h("span", { class: "nb", text: m[0] }));
    last = m.index + m[0].length;
  }
  if (last < s.length) out.push(s.slice(last));
  return out;
}

/** Set an element's text with no-break runs. */
export function setText(el, text) {
  el.replaceChildren(...noBreak(text));
}
