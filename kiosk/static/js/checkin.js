/*
 * OneWindow (一窗通) — the kiosk's real-name and check-in part (issue 14; docs/kiosk.md "实名取号与预约签到"):
 *
 * - listens to the card-reader agent on the kiosk PC (/assets/js/cardreader.js); a card placed → "is this you?":
 *   the masked person, 绿色通道 when their age gives it, today's bookings and remote tickets with 签到, and the
 *   services for a real-name ticket;
 * - manual entry of a 身份证号 on an on-screen keypad (0–9 and X), its GB 11643 check digit checked here before it
 *   is sent (and again by the server);
 * - entry of a booking code (letters and digits without 0/O/1/I) → check-in at once;
 * - refusals of the hall's rules (one open ticket per person and service, daily cap, no-show ban, quota, too early
 *   …) shown as the server words them, in both languages.
 *
 * The ID number (typed or read) stays in this module's memory only while its panel is open — and in the request
 * behind the ticket it gave while that ticket shows (重新打印 sends it again; the visit's end forgets it) —, is sent
 * only in POST bodies, and is never shown again: the server answers with the masked form. The kiosk's main script
 * gives the hooks (startCheckin below); the ticket screen is its own.
 */
import { $, h } from "/assets/js/dom.js";
import { newKey } from "/assets/js/api.js";
import { createI18n } from "/assets/js/i18n.js";
import { CardReader, READER_STATUS } from "/assets/js/cardreader.js";
import strings from "./checkin-strings.js";

const IDLE_MS = 60000;               // an open panel closes (and forgets the person) after this long untouched
const RETRY_DELAYS_MS = [800, 2000];
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = "10X98765432";
const CODE_KEYS = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/** What is wrong with a typed 身份证号 (a catalogue key), or "" when it passes GB 11643. */
export function idProblem(number) {
  if (number.length !== 18) return "idShort";
  if (!/^[1-9][0-9]{16}[0-9X]$/.test(number)) return "idFormat";
  const sum = WEIGHTS.reduce((s, w, i) => s + w * Number(number[i]), 0);
  if (CHECK_CHARS[sum % 11] !== number[17]) return "idCheckDigit";
  const y = +number.slice(6, 10), m = +number.slice(10, 12), d = +number.slice(12, 14);
  const born = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || born.getUTCMonth() !== m - 1 || born.getUTCDate() !== d || born > new Date()) return "idBirthDate";
  return "";
}

/**
 * hooks: {api, i18n (the kiosk's), kiosk() (its id or null), services() (the tiles' snapshot),
 *         showTicket(result, resend) (resend(): the same request again, for 重新打印), endVisit(), busy(text | null),
 *         error(text), canStart() (the start screen, nothing in progress), kioskBusy() (the kiosk is issuing or
 *         reprinting: a card placed then is ignored), readerBase}
 */
export function startCheckin(hooks) {
  const i18n = createI18n(strings, { lang: hooks.i18n.lang });
  const t = (key, vars) => i18n.t(key, vars);
  const root = $("#kiosk");
  const state = { person: null, proof: null, found: null, message: null, pad: null, readerStatus: READER_STATUS.connecting,
                  intent: null, busy: false };
  let idleTimer = null;

  // ---------------------------------------------------------------------------------------------- the DOM
  const bar = h("div", { class: "checkin-bar", id: "checkin-bar" },
    h("div", { class: "checkin-bar-text" },
      h("div", { class: "checkin-bar-title", id: "checkin-bar-title" }),
      h("div", { class: "checkin-bar-sub" }, h("span", { id: "checkin-bar-prompt" }), " ",
        h("span", { class: "checkin-reader", id: "checkin-reader" }))),
    h("button", { type: "button", class: "checkin-open", id: "checkin-type-id", on: { click: () => openPad("id") } }),
    h("button", { type: "button", class: "checkin-open", id: "checkin-type-code", on: { click: () => openPad("code") } }));
  // in the prompt's row (the tiles keep their room): in portrait the two buttons, in landscape the words too
  $(".prompt-row").insertBefore(bar, $("#back"));

  const panel = h("div", { class: "checkin-layer", id: "checkin", hidden: true, role: "dialog", "aria-modal": "true",
                           "aria-labelledby": "checkin-hello" },
    h("div", { class: "checkin-box" },
      h("div", { class: "checkin-head" },
        h("div", {}, h("h2", { class: "checkin-hello", id: "checkin-hello" }),
          h("div", { class: "checkin-who", id: "checkin-who" })),
        h("div", { class: "checkin-green", id: "checkin-green", hidden: true })),
      h("div", { class: "checkin-message", id: "checkin-message", role: "alert", hidden: true }),
      h("div", { class: "checkin-found", id: "checkin-found" }),
      h("div", { class: "checkin-take" }, h("div", { class: "checkin-take-title", id: "checkin-take-title" }),
        h("div", { class: "checkin-services", id: "checkin-services" })),
      h("button", { type: "button", class: "checkin-close", id: "checkin-close", on: { click: () => closeAll() } })));
  const keys = h("div", { class: "checkin-keys", id: "checkin-keys" });
  const pad = h("div", { class: "checkin-layer", id: "checkin-pad", hidden: true, role: "dialog", "aria-modal": "true",
                         "aria-labelledby": "pad-title" },
    h("div", { class: "checkin-box pad-box" },
      h("h2", { class: "pad-title", id: "pad-title" }),
      h("div", { class: "pad-hint", id: "pad-hint" }),
      h("div", { class: "pad-display", id: "pad-display", "aria-live": "polite" }),
      h("div", { class: "checkin-message", id: "pad-message", role: "alert", hidden: true }),
      keys,
      h("div", { class: "pad-actions" },
        h("button", { type: "button", class: "pad-cancel", id: "pad-cancel", on: { click: () => closePad() } }),
        h("button", { type: "button", class: "key-action", dataset: { action: "clear" }, on: { click: () => press("clear") } }),
        h("button", { type: "button", class: "key-action", dataset: { action: "del" }, on: { click: () => press("del") } }),
        h("button", { type: "button", class: "pad-ok", id: "pad-ok", on: { click: () => submitPad() } }))));
  root.append(panel, pad);

  const mark = h("span", { class: "checkin-mark", id: "t-appointment", hidden: true });
  const issuedRow = $("#ticket .ticket-ok");  // beside 取号成功: the ticket card keeps its height
  if (issuedRow) issuedRow.append(mark);

  // ---------------------------------------------------------------------------------------------- rendering
  const nameOf = (svc) => i18n.pick(svc.service_name || svc.name, svc.service_name_en || svc.name_en);

  function messageText(m) {
    if (!m) return null;
    if (m.zh) return i18n.en ? [m.en || m.zh, m.zh] : [m.zh, m.en];
    return [t(m.key, m.vars)];
  }

  function showMessage(el, m) {
    const lines = messageText(m);
    el.hidden = !lines;
    el.replaceChildren(...(lines || []).filter(Boolean).map((line, i) =>
      h("div", { class: i ? "checkin-message-other" : "checkin-message-main", text: line })));
  }

  function renderBar() {
    $("#checkin-bar-title").textContent = t("barTitle");
    $("#checkin-bar-prompt").textContent = t("barText");
    const reader = $("#checkin-reader");
    reader.textContent = t("reader_" + state.readerStatus);
    reader.dataset.status = state.readerStatus;
    $("#checkin-type-id").textContent = t("typeId");
    $("#checkin-type-code").textContent = t("typeCode");
  }

  function foundRows() {
    const { bookings, remote } = state.found;
    const rows = [];
    for (const b of bookings) {
      const vars = { service: nameOf(b), start: b.slot, end: (b.end || "").slice(11, 16) };
      const key = b.state === "checked_in" ? "checkedRow" : b.state === "missed" ? "missedRow" : "bookingRow";
      rows.push(h("div", { class: "checkin-row " + b.state, dataset: { booking: b.id } },
        h("span", { class: "checkin-row-kind", text: t("kindBooking") }), h("span", { class: "checkin-row-text", text: t(key, vars) })));
    }
    for (const r of remote) {
      rows.push(h("div", { class: "checkin-row remote", dataset: { ticket: r.id } },
        h("span", { class: "checkin-row-kind", text: t("kindRemote") }),
        h("span", { class: "checkin-row-text", text: t("remoteRow", { service: nameOf(r), number: r.number }) })));
    }
    return rows;
  }

  function renderPanel() {
    if (!state.person) return;
    const p = state.person;
    $("#checkin-hello").textContent = t("hello", { name: p.name });
    $("#checkin-who").textContent = p.masked + " · " + t(p.source === "card" ? "viaCard" : "viaManual");
    $("#checkin-green").hidden = !state.found.green.length;
    $("#checkin-green").textContent = t("green");
    const due = state.found.bookings.filter((b) => b.state === "confirmed").length;
    const remote = state.found.remote.length;
    const found = $("#checkin-found");
    if (due + remote + state.found.bookings.length === 0) {
      found.replaceChildren(h("div", { class: "checkin-summary", text: t("nothingToday") }));
    } else {
      const summary = h("div", { class: "checkin-summary" },
        h("span", { id: "checkin-summary", text: t("summary", { b: state.found.bookings.length, r: remote }) }));
      const rows = foundRows();
      found.replaceChildren(summary, ...rows);
      if (due + remote) {
        found.append(h("button", { type: "button", class: "checkin-go", id: "checkin-go",
                                   text: t(due + remote > 1 ? "checkInAll" : "checkIn"), on: { click: checkIn } }));
      }
    }
    $("#checkin-take-title").textContent = t(due + remote ? "takeTitle" : "takeTitleNone");
    const services = (hooks.services() || []).filter((s) => s.open);
    $("#checkin-services").replaceChildren(...services.map((s) =>
      h("button", { type: "button", class: "checkin-service", dataset: { service: s.code }, on: { click: () => takeTicket(s) } },
        h("span", { class: "checkin-service-prefix", text: s.prefix }),
        h("span", { class: "checkin-service-name", text: i18n.pick(s.name, s.name_en) }))));
    showMessage($("#checkin-message"), state.message);
    $("#checkin-close").textContent = t("close");
  }

  function renderPad() {
    if (!state.pad) return;
    const kind = state.pad.kind;
    $("#pad-title").textContent = t(kind === "id" ? "padIdTitle" : "padCodeTitle");
    $("#pad-hint").textContent = t(kind === "id" ? "padIdHint" : "padCodeHint");
    const value = state.pad.value;
    $("#pad-display").textContent = kind === "code" && value.length > 4 ? value.slice(0, 4) + "-" + value.slice(4) : value;
    $("#pad-display").dataset.kind = kind;
    showMessage($("#pad-message"), state.pad.message);
    $("#pad-cancel").textContent = t("cancel");
    $("#pad-ok").textContent = t("confirm");
    $("#pad-ok").disabled = !value;
    for (const b of pad.querySelectorAll("[data-action]")) b.textContent = t(b.dataset.action);
  }

  function render() { renderBar(); renderPanel(); renderPad(); renderMark(); }
  hooks.i18n.onChange((lang) => { i18n.lang = lang; render(); });

  // ---------------------------------------------------------------------------------------------- the ticket mark
  let shown = null;
  function renderMark() {
    if (!shown) { mark.hidden = true; return; }
    const appointment = shown.appointment;
    mark.hidden = !(appointment || (shown.remote && shown.arrived));
    mark.textContent = appointment ? t("appointmentMark", { slot: shown.slot }) : t("remoteMark");
  }
  function markTicket(ticket) { shown = ticket || null; renderMark(); }

  // ---------------------------------------------------------------------------------------------- opening and closing
  function poke() {
    clearTimeout(idleTimer);
    if (!panel.hidden || !pad.hidden) idleTimer = setTimeout(closeAll, IDLE_MS);
  }
  document.addEventListener("pointerdown", poke, true);

  function forget() {
    state.person = null;
    state.proof = null;
    state.found = null;
    state.message = null;
    state.intent = null;
  }

  // the layers start below the header (its language switch stays in reach), whatever its height
  function place(layer) {
    const header = root.querySelector(".bar");
    layer.style.top = header ? Math.round(header.getBoundingClientRect().bottom) + "px" : "0";
    layer.hidden = false;
  }

  function closeAll() {
    forget();
    state.pad = null;
    panel.hidden = true;
    pad.hidden = true;
    clearTimeout(idleTimer);
  }

  function closePad() {
    state.pad = null;
    pad.hidden = true;
  }

  function openPad(kind) {
    if (!hooks.kiosk()) return;
    state.pad = { kind, value: "", message: null };
    const chars = kind === "id" ? "123456789X0" : CODE_KEYS;
    keys.dataset.kind = kind;
    keys.replaceChildren(...[...chars].map((c) => h("button", { type: "button", class: "key", dataset: { key: c }, text: c,
                                                                  on: { click: () => press(c) } })));
    place(pad);
    renderPad();
    poke();
  }

  function press(key) {
    const p = state.pad;
    if (!p) return;
    const max = p.kind === "id" ? 18 : 8;
    if (key === "del") p.value = p.value.slice(0, -1);
    else if (key === "clear") p.value = "";
    else if (p.value.length < max) p.value += key;
    p.message = null;
    renderPad();
  }

  async function submitPad() {
    const p = state.pad;
    if (!p || state.busy) return;
    if (p.kind === "id") {
      const problem = idProblem(p.value);
      if (problem) { p.message = { key: problem, vars: { n: p.value.length } }; renderPad(); return; }
      const proof = { id_number: p.value };
      const ok = await identify(proof, $("#pad-message"));
      if (ok) closePad();
    } else {
      if (p.value.length !== 8) { p.message = { key: "codeShort" }; renderPad(); return; }
      await checkInWith({ code: p.value }, (m) => { p.message = m; renderPad(); });
    }
  }

  // ---------------------------------------------------------------------------------------------- talking to the server
  function refusal(err) {
    const d = err.details || {};
    if (d.message_zh) return { zh: d.message_zh, en: d.message_en };
    if (err.status === 0) return { key: "e_network" };
    if (err.status >= 500) return { key: "e_server" };
    if (err.status === 429) return { key: "e_rate_limited" };
    return { key: i18n.has("e_" + err.code) ? "e_" + err.code : "e_other" };
  }

  async function call(text, fn) {
    state.busy = true;
    hooks.busy(t(text));
    try { return await fn(); } finally { state.busy = false; hooks.busy(null); }
  }

  async function identify(proof, messageEl) {
    try {
      const found = await call("busyLookup", () => hooks.api.post("/api/v1/kiosk/identify", { ...proof, kiosk: hooks.kiosk() },
                                                                   { idempotent: false, retries: RETRY_DELAYS_MS }));
      state.person = found.person;
      state.proof = proof;
      state.found = found;
      state.message = null;
      state.intent = null;
      place(panel);
      renderPanel();
      poke();
      return true;
    } catch (err) {
      if (messageEl) showMessage(messageEl, refusal(err));
      else hooks.error(messageText(refusal(err)).join("\n"));
      return false;
    }
  }

  function intentFor(what) {
    if (!state.intent || state.intent.what !== what) state.intent = { what, requestId: newKey("k") };
    return state.intent.requestId;
  }

  /** The ticket screen's answer of a check-in: the ticket `id` (else its first) with that ticket's print. */
  function shownTicket(result, id) {
    const ticket = result.tickets.find((t) => t.id === id) || result.tickets[0];
    const printed = (result.print || []).find((p) => p.ticket === ticket.id) || { status: "skipped", reason: "already_issued" };
    return { ticket, print: printed, created: result.created };
  }

  async function checkInWith(proof, onRefused) {
    const body = { ...proof, lang: i18n.lang, kiosk: hooks.kiosk(), request_id: intentFor("check-in") };
    const post = () => hooks.api.post("/api/v1/check-ins", body, { idempotent: false, retries: RETRY_DELAYS_MS });
    try {
      const shown = shownTicket(await call("busyCheckIn", post));
      closeAll();
      // 重新打印 (a failed print): the same check-in again, same request_id — the server prints what did not print
      hooks.showTicket(shown, async () => shownTicket(await post(), shown.ticket.id));
    } catch (err) {
      if (err.status > 0 && err.status < 500) state.intent = null;  // a definite answer: the next tap is new
      onRefused(refusal(err), err);
    }
  }

  function checkIn() {
    if (!state.proof || state.busy) return;
    checkInWith(state.proof, (m) => { state.message = m; renderPanel(); });
  }

  async function takeTicket(svc) {
    if (!state.proof || state.busy) return;
    const body = { service: svc.code, lang: i18n.lang, kiosk: hooks.kiosk(), request_id: intentFor("issue:" + svc.code),
                   ...state.proof };
    const post = () => hooks.api.post("/api/v1/tickets", body, { idempotent: false, retries: RETRY_DELAYS_MS });
    try {
      const result = await call("busyIssue", post);
      closeAll();
      hooks.showTicket(result, post);  // 重新打印 sends the same request again, as a tile's does
    } catch (err) {
      if (err.status > 0 && err.status < 500) state.intent = null;
      state.message = refusal(err);
      renderPanel();
    }
  }

  // ---------------------------------------------------------------------------------------------- the card reader
  function onCard(card) {
    // ignored while the kiosk is busy (a ticket being issued, 重新打印 on its way), as a scan is (js/scan.js)
    if (!hooks.kiosk() || state.busy || hooks.kioskBusy()) return;
    if (!hooks.canStart()) hooks.endVisit();  // a card placed while the last ticket shows: a new visit
    closeAll();
    identify({ card }, null);
  }

  // ---------------------------------------------------------------------------------------------- the QR scanner
  /** What the kiosk's scanner read (js/scan.js: a booking QR, a ticket QR or a booking code): checked in at once,
   *  as a typed code is; a refusal goes to onRefused (a message as the panel and the pad show them). */
  async function checkInScanned(text, onRefused) {
    if (!hooks.kiosk() || state.busy) return false;
    closeAll();                      // a scan is a new visit: whatever was open is forgotten (a fresh request_id)
    await checkInWith({ code: text }, onRefused);
    return true;
  }

  const reader = new CardReader({ base: hooks.readerBase, onCard,
                                  onStatus: (s) => { state.readerStatus = s; renderBar(); } });
  render();
  reader.start();
  return { markTicket, close: closeAll, reader, idProblem, checkInScanned, messageText };
}
