/*
 * OneWindow (一窗通) — the kiosk's QR scanner (扫码签到; docs/kiosk.md "扫码签到"): the hall's 2D barcode scanner is
 * a USB keyboard ("keyboard wedge", /assets/js/scanner.js). A citizen holds the booking's QR (…/b/<code>), a remote
 * ticket's QR (…/t/<token>) or a printed booking code to it on any screen, with nothing to tap first: the kiosk
 * checks it in through the same call as a typed booking code (js/checkin.js, POST /api/v1/check-ins) and shows the
 * ticket screen (printed) — or the refusal (too early, too late, not today, unknown code) in the kiosk's dialog, in
 * both languages, the current one first.
 *
 * - A scan while the last ticket still shows starts a new visit; one while the kiosk is busy (issuing, checking in)
 *   is not taken; the same QR read again within REPEAT_MS (a phone held in front of the scanner) is not taken twice.
 * - The start screen shows a hint that a booking QR can be scanned: beside the 绿色通道 button (above it in
 *   portrait; in portrait with an odd number of tiles, in the grid's empty place); the 绿色通道 path shows the
 *   tiles only.
 * Started by kiosk.js only when the hall uses check-in (boot `checkin`) and acting only while the kiosk is paired.
 */
import { $, h } from "/assets/js/dom.js";
import { createI18n } from "/assets/js/i18n.js";
import { ScanListener } from "/assets/js/scanner.js";
import strings from "./scan-strings.js";

const REPEAT_MS = 4000;       // a scanner reading the same phone again within this is the same scan
const MAX_CODE = 200;         // the longest text the check-in takes (kiosk/checkin_api.py CHECKIN_SPEC)

const QR_ICON = '<svg viewBox="0 0 48 48" aria-hidden="true" focusable="false"><g fill="currentColor">' +
  '<path d="M4 4h16v16H4zm4 4v8h8V8zM28 4h16v16H28zm4 4v8h8V8zM4 28h16v16H4zm4 4v8h8v-8z"/>' +
  '<path d="M11 11h2v2h-2zM35 11h2v2h-2zM11 35h2v2h-2zM28 28h6v6h-6zM38 28h6v6h-6zM33 34h6v6h-6zM28 40h5v4h-5zM40 40h4v4h-4z"/>' +
  "</g></svg>";

/**
 * hooks: {checkin (startCheckin's answer), i18n (the kiosk's), kiosk() (its id or null), busy() (the kiosk issuing),
 *         ticketShown() (the ticket screen is up), endVisit(), hideDialog(), error(text) (the kiosk's dialog)}
 */
export function startScan(hooks) {
  const i18n = createI18n(strings, { lang: hooks.i18n.lang });
  const t = (key, vars) => i18n.t(key, vars);
  let last = { text: "", at: -Infinity };
  let shown = null;             // {message, text}: the refusal in the dialog, redrawn in the other language

  // ------------------------------------------------------------------------------------------ the hint
  const title = h("strong", { class: "scan-hint-title", id: "scan-hint-title" });
  const body = h("span", { class: "scan-hint-body", id: "scan-hint-body" });
  const hint = h("div", { class: "scan-hint", id: "scan-hint", role: "note" },
    h("span", { class: "scan-hint-icon" }), h("span", { class: "scan-hint-text" }, title, body));
  hint.firstChild.innerHTML = QR_ICON;
  // beside the 绿色通道 button (above it in portrait), or, in portrait with an odd number of tiles, in the empty
  // place after the last tile: the tiles keep their room
  const priority = $("#priority");
  const tiles = $("#tiles");
  const root = $("#kiosk");
  const portrait = matchMedia("(orientation: portrait)");
  const row = h("div", { class: "scan-row", id: "scan-row" });
  priority.before(row);
  row.append(hint, priority);

  function place() {
    const count = tiles.querySelectorAll(".tile").length;
    const inTiles = portrait.matches && !root.classList.contains("large") && count % 2 === 1;
    hint.classList.toggle("in-tiles", inTiles);
    if (inTiles && tiles.lastElementChild !== hint) tiles.append(hint);
    else if (!inTiles && hint.parentNode !== row) row.prepend(hint);
  }
  new MutationObserver(place).observe(tiles, { childList: true });           // the tiles are redrawn (kiosk.js)
  new MutationObserver(place).observe(root, { attributes: true, attributeFilter: ["class"] });  // 大字模式
  portrait.addEventListener("change", place);
  place();

  function renderHint() {
    title.textContent = t("hintTitle");   // (the hint may be out of the page a moment: the tiles being redrawn)
    body.textContent = t("hintText");
  }

  // ------------------------------------------------------------------------------------------ refusals
  function lines(m) {
    if (m.zh) return i18n.en ? [m.en || m.zh, m.zh] : [m.zh, m.en];
    if (m.key === "notFound" || m.key === "notOurs") {
      return [t(m.key), createI18n(strings, { lang: i18n.en ? "zh" : "en" }).t(m.key)];
    }
    return hooks.checkin.messageText(m);   // the network, the server, too many look-ups: the check-in's words
  }

  function refuse(m) {
    const text = lines(m).filter(Boolean).join("\n");
    shown = { message: m, text };
    hooks.error(text);
  }

  function refused(m, err) {
    if (err && (err.code === "not_found" || err.code === "nothing_booked")) refuse({ key: "notFound" });
    else if (err && err.status === 400) refuse({ key: "notOurs" });
    else refuse(m);
  }

  hooks.i18n.onChange((lang) => {
    i18n.lang = lang;
    renderHint();
    const dialog = $("#dialog-text");
    if (shown && !$("#dialog").hidden && dialog.textContent === shown.text) refuse(shown.message);
  });

  // ------------------------------------------------------------------------------------------ a scan
  async function onScan(raw) {
    const text = raw.trim();
    if (!text || !hooks.kiosk() || hooks.busy()) return;
    const now = performance.now();
    if (text === last.text && now - last.at < REPEAT_MS) return;
    last = { text, at: now };
    if (hooks.ticketShown()) hooks.endVisit();      // the last citizen's ticket still shows: a new visit
    else hooks.hideDialog();
    shown = null;
    if (text.length > MAX_CODE) { refuse({ key: "notOurs" }); return; }
    const taken = await hooks.checkin.checkInScanned(text, refused);
    if (!taken) last = { text: "", at: -Infinity };  // a check-in was under way: the same QR again is a new scan
  }

  const scanner = new ScanListener({ onScan, enabled: () => !!hooks.kiosk() }).start();
  renderHint();
  return { scanner, onScan };
}
