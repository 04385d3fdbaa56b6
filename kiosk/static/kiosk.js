/*
 * OneWindow (一窗通) — the lobby kiosk (/kiosk), an ES module on the front-end layer: service tiles (live), the
 * 绿色通道 priority path, issuing with one request_id per tap-intent (retries reuse it: the API is idempotent on
 * request_id), the ticket screen, and citizen-language errors. zh-CN by default; English returns to Chinese after
 * each visit (ticket screen closed, or idle).
 *
 * The kiosk is a device with a token (docs/kiosk.md): paired once, kept in this browser, sent as "Authorization:
 * Bearer" on every API call; which kiosk this is (its id, for printing and health) is what the server says the
 * token belongs to. The tiles are a snapshot of GET /api/v1/services kept by the live client: events that may
 * change them (anything in the hall) ask for a fresh snapshot, at most one every REFRESH_MS.
 *
 * The citizen's aids are modules of their own, wired here: access.js (大字模式, the large-text high-contrast mode),
 * guidance.js (语音播报, spoken guidance with the offline voice), help.js (需要帮助, alerting the floor guide); each
 * has reset(), called when the visit ends. text.js keeps times, numbers and ranges from breaking across lines; fit.js
 * keeps every tile's text inside its tile. A further step of the visit (e.g. a check-in) is another such module: it
 * gets the api, i18n and kiosk id, and resets with endVisit().
 */
import { $, $$, bootData, h } from "/assets/js/dom.js";
import { createApi, hallPath, newKey } from "/assets/js/api.js";
import { pairedDevice } from "/assets/js/device.js";
import { createI18n } from "/assets/js/i18n.js";
import { LiveClient, NAMESPACES, watchConnection } from "/assets/js/live.js";
import { hallParts } from "/assets/js/time.js";
import strings from "./strings.js";
import { createAccess } from "./access.js";
import { createGuidance } from "./guidance.js";
import { createHelp } from "./help.js";
import { noBreak, setText } from "./text.js";
import { keepFitted } from "./fit.js";
import { waitKey } from "/assets/js/wait-strings.js";
import { startCheckin } from "./js/checkin.js";
import { startScan } from "./js/scan.js";

const BOOT = bootData();
const IDLE_MS = (BOOT.idle_seconds || 60) * 1000;
const TICKET_MS = 15000;          // the ticket stays on screen this long (printed)
const TICKET_FAILED_MS = 45000;   // … and longer when it did not print: time to take a photo
const REFRESH_MS = 1500;          // at most one services snapshot per this, however busy the hall
const POLL_MS = 30000;            // opening hours change with the clock, not only with events
const RETRY_DELAYS_MS = [800, 2000];  // automatic retries after a network hiccup, same request_id
const INTENT_REUSE_MS = 120000;   // a new tap on the same service after a failed attempt reuses its request_id
const TIMEZONE = BOOT.timezone || "Asia/Shanghai";

const device = pairedDevice("ow.kiosk.token");
const api = createApi({ token: () => device.token() });
const i18n = createI18n(strings, { lang: "zh" });
const t = (key, vars) => i18n.t(key, vars);
const root = $("#kiosk");
const state = { priority: false, services: BOOT.services, busy: false, pending: null, screen: "pair", printerDown: false,
                ticket: null };
const timers = { idle: null, ticket: null, countdown: null, dialog: null, health: null };
let KIOSK = null;

// ------------------------------------------------------------------------------------------ the citizen's aids
const guidance = createGuidance({ button: $("#voice"), lang: () => i18n.lang });
const access = createAccess({ root, button: $("#large"), onChange: (on, why) => {
  if (on) guidance.set(true);          // guidance comes with the large text; 语音播报 still turns it off
  else if (why === "tap") guidance.set(false);
} });
createHelp({ button: $("#help"), api, kiosk: () => KIOSK, t, show: (text, kind) => showError(text, kind) });

// ------------------------------------------------------------------------------------------ time and dates
function addDays(isoDate, n) {
  const d = new Date(isoDate + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function hallToday() {
  const p = hallParts(Date.now(), TIMEZONE);
  return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}

// "2026-11-27T14:00:00+08:00": the hall-local date and time are the string's own fields
function opensText(iso) {
  if (!iso) return "";
  const date = iso.slice(0, 10);
  const time = iso.slice(11, 16);
  const today = hallToday();
  if (date === today) return t("opensToday", { time });
  if (date === addDays(today, 1)) return t("opensTomorrow", { time });
  // within a week the weekday is enough (周一 / 下周一 when it is past this week's Sunday)
  const d = new Date(date + "T00:00:00Z");
  const now = new Date(today + "T00:00:00Z");
  const days = Math.round((d - now) / 86400000);
  const isoDay = (x) => (x.getUTCDay() + 6) % 7;
  return t("opensOn", { time, d: { month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay(),
                                   soon: days > 0 && days < 7, nextWeek: isoDay(d) <= isoDay(now) } });
}

function renderClock() {
  const p = hallParts(Date.now(), TIMEZONE);
  $("#clock-time").textContent = String(p.hour).padStart(2, "0") + ":" + String(p.minute).padStart(2, "0");
  $("#clock-date").textContent = t("clockDate", { p });
}

// ------------------------------------------------------------------------------------------ rendering
const nameOf = (s) => i18n.pick(s.name, s.name_en);
const otherNameOf = (s) => (i18n.en ? s.name : (s.name_en || ""));
const reasonText = (code) => t(i18n.has("reason_" + code) ? "reason_" + code : "reason_other");

/* The hall's notice in the page's language, else in the other one: a notice is news for everyone in the lobby
   (today's leader on duty, weekend hours), so a hall that wrote it in one language only still shows it; "" when
   neither is set (no bar). */
function noticeText() {
  const zh = (BOOT.notice || "").trim(), en = (BOOT.notice_en || "").trim();
  return i18n.en ? (en || zh) : (zh || en);
}

function renderTexts() {
  root.dataset.lang = i18n.lang;
  $("#prompt").textContent = t(state.priority ? "choosePriority" : "choose");
  $("#hall-name").textContent = i18n.pick(BOOT.hall, BOOT.hall_en);
  const notice = noticeText();
  setText($("#notice"), notice);
  $("#notice").hidden = !notice;      // no notice: no bar (the footer goes with it unless the network warning shows)
  document.title = i18n.pick(BOOT.hall, BOOT.hall_en) + " · " + t("title");
  renderClock();
}

/* the estimate's words (shared wait-strings.js): "即将叫号", "约 N 分钟" or "暂无窗口办理"; with nobody waiting and a
   window open, only "当前无人等候" */
function waitText(wait) {
  const key = waitKey(wait);
  return key ? t(key, { n: wait.minutes }) : "—";
}
function tileWait(s) {
  const noWindow = s.wait && s.wait.state === "no_window";
  return t("tileWait", { n: s.waiting, w: s.waiting || noWindow ? waitText(s.wait) : "" });
}

function tileFor(s) {
  const body = h("span", { class: "tile-body" }, h("span", { class: "tile-name", text: nameOf(s) }),
    otherNameOf(s) && h("span", { class: "tile-name-other", text: otherNameOf(s) }));
  if (s.open) {
    body.append(h("span", { class: "tile-wait", dataset: { state: (s.wait && s.wait.state) || "" } }, h("span", { class: "tile-wait-text" },
      ...noBreak(state.priority ? t("priorityWait") : tileWait(s)))));
    if (s.windows && s.windows.length) body.append(h("span", { class: "tile-windows" }, ...noBreak(t("windows", { list: s.windows }))));
  } else {
    body.append(h("span", { class: "tile-closed" }, h("span", { class: "tile-closed-badge", text: t("closedBadge") }),
      h("span", { class: "tile-reason", text: reasonText(s.closed_reason) })));
    const next = opensText(s.opens_at);
    if (next) body.append(h("span", { class: "tile-next" }, ...noBreak(next)));
  }
  return h("button", { type: "button", class: "tile" + (s.open ? "" : " closed"), dataset: { service: s.code },
                       disabled: !s.open, "aria-disabled": s.open ? "false" : "true", on: { click: () => takeTicket(s.code) } },
    h("span", { class: "tile-prefix", text: s.prefix }), body, s.open && h("span", { class: "tile-go", text: "›" }));
}

function renderTiles() {
  const box = $("#tiles");
  root.classList.toggle("priority-mode", state.priority);
  $("#priority").hidden = state.priority;
  $("#back").hidden = !state.priority;
  $("#priority-note").hidden = !state.priority;
  $("#printer-note").hidden = !state.printerDown;
  if (!state.services) {
    box.replaceChildren(h("div", { class: "tiles-loading", text: t("loading") }));
    return;
  }
  const count = state.services.length;
  box.dataset.size = count <= 4 ? "few" : count <= 9 ? "some" : "many";
  box.replaceChildren(...state.services.map(tileFor));  // (fit.js then fits them to their boxes)
}

function render() { renderTexts(); renderTiles(); if (state.ticket) renderTicket(); }
i18n.onChange(render);

// ------------------------------------------------------------------------------------------ live data
const live = new LiveClient({
  namespace: NAMESPACES.display,
  load: () => api.get("/api/v1/services", { timeoutMs: 10000 }),
  onSnapshot: (snap) => {
    state.services = snap.services;
    if (state.screen === "start") renderTiles();
  },
  onEvent: () => live.refreshSoon(),   // a ticket taken or called, a service paused: the tiles' figures moved
  refreshMs: REFRESH_MS,
});
watchConnection(live, (offline) => { $("#net").hidden = !offline; });

// ------------------------------------------------------------------------------------------ issuing
// One intent per tap; a retry (automatic, or the citizen tapping the same service again after a failure) sends
// the same request_id, so the server hands back the ticket it may already have made.
function intentFor(code) {
  const p = state.pending;
  if (p && p.service === code && p.priority === state.priority && Date.now() - p.at < INTENT_REUSE_MS) return p;
  state.pending = { service: code, priority: state.priority, requestId: newKey("k"), at: Date.now() };
  return state.pending;
}

const serviceByCode = (code) => (state.services || []).find((s) => s.code === code) || null;

async function takeTicket(code) {
  if (state.busy || state.screen !== "start") return;
  const svc = serviceByCode(code);
  if (!svc || !svc.open) return;
  state.busy = true;
  guidance.serviceTouched(svc);
  const intent = intentFor(code);
  showBusy(t("busy"));
  const body = { service: code, priority: intent.priority, lang: i18n.lang, request_id: intent.requestId, kiosk: KIOSK };
  try {
    // the request_id is this action's key (a replay answers "created": false and prints nothing): no Idempotency-Key
    const result = await api.post("/api/v1/tickets", body, { idempotent: false, retries: RETRY_DELAYS_MS,
                                                             onRetry: () => showBusy(t("retrying")) });
    state.pending = null;
    showTicket(result, () => api.post("/api/v1/tickets", body, { idempotent: false, retries: RETRY_DELAYS_MS }));
    guidance.ticketIssued(result.ticket);
  } catch (err) {
    if (err.status === 401) {  // the token was withdrawn: this is no longer a registered kiosk
      state.pending = null;
      unpair(t("pairLost"));
    } else if (err.status === 0) {
      showError(t("errNetwork"));
    } else {
      if (err.status < 500) state.pending = null;  // a definite answer: the next tap is a new intent
      showError(errorSentence(err, svc));
      live.resync("refused");
    }
  } finally {
    state.busy = false;
    hideBusy();
  }
}

function errorSentence(err, svc) {
  if (err.status >= 500 || err.status === 429) return t("errServer");
  const details = err.details || {};
  const name = svc ? nameOf(svc) : "";
  if (err.code === "quota_reached" || details.reason === "quota_reached") return t("quotaSentence", { name });
  if (err.code === "service_closed") return t("closedSentence", { name, reason: reasonText(details.reason), next: opensText(details.opens_at) });
  if (err.code === "unknown_service") return t("errUnknownService");
  return t("errGeneric");
}

// ------------------------------------------------------------------------------------------ ticket screen
// `resend`: sends the request that gave this ticket again, unchanged (same request_id), and resolves to the ticket
// screen's answer — the tile's POST /api/v1/tickets, or the check-in's POST /api/v1/check-ins (js/checkin.js).
// "重新打印" calls it: the server prints a ticket whose print failed and nobody printed since (print_claim.lua), and
// only once however often it is sent. Kept only while this ticket shows (endVisit forgets it).
function showTicket(result, resend) {
  state.ticket = result;
  state.resend = resend || null;
  state.screen = "ticket";
  root.dataset.screen = "ticket";
  $("#start").hidden = true;
  $("#ticket").hidden = false;
  const img = $("#t-qr");
  img.dataset.tries = "0";
  img.src = hallPath("/kiosk/qr/") + encodeURIComponent(result.ticket.token) + ".svg";
  const outcome = (result.print || {}).status;
  if (outcome === "failed") {
    state.printerDown = true;
    watchPrinter();
  } else if (outcome === "printed" || outcome === "preview") {
    state.printerDown = false;
  }
  renderTicket();
  $("#done").focus({ preventScroll: true });  // the one thing to do next, for keyboard users too
  startCountdown(outcome === "failed" || outcome === "preview" ? TICKET_FAILED_MS : TICKET_MS);
}

function renderTicket() {
  const { ticket, print } = state.ticket;
  const outcome = (print || {}).status;
  const svc = { name: ticket.service_name, name_en: ticket.service_name_en };
  $("#t-number").textContent = ticket.number;
  $("#t-service").textContent = nameOf(svc);
  $("#t-service-en").textContent = otherNameOf(svc);
  $("#t-priority").hidden = !ticket.priority;
  setText($("#t-windows"), t("goTo", { list: ticket.windows || [] }));
  setText($("#t-ahead"), ticket.ahead == null ? "—" : t("persons", { n: ticket.ahead }));
  setText($("#t-wait"), waitText(ticket.wait));
  const note = $("#t-print");
  note.className = "print-note " + (outcome || "unknown");
  note.textContent = t({ failed: "printFailed", preview: "preview", printed: "printed" }[outcome] ||
    ((print || {}).reason === "printing" ? "printing" : "replayed"));
  $("#reprint").hidden = !(outcome === "failed" && state.resend);
  $("#ticket").classList.toggle("print-failed", outcome === "failed");
  $("#ticket").classList.toggle("priority", !!ticket.priority);
  if (checkin) checkin.markTicket(ticket);  // 预约 / remote ticket mark (js/checkin.js)
}

function startCountdown(ms) {
  clearTimeout(timers.ticket);
  clearInterval(timers.countdown);
  const until = Date.now() + ms;
  const tick = () => { $("#countdown").textContent = "(" + Math.max(0, Math.ceil((until - Date.now()) / 1000)) + ")"; };
  tick();
  timers.countdown = setInterval(tick, 250);
  timers.ticket = setTimeout(endVisit, ms);
}

// the visit is over: back to the start screen, in Chinese, out of the priority path
function endVisit() {
  if (!KIOSK) return;  // not paired: the pairing screen stays
  clearTimeout(timers.ticket);
  clearInterval(timers.countdown);
  hideDialog();
  state.ticket = null;
  state.resend = null;
  state.screen = "start";
  state.priority = false;
  access.reset();
  guidance.reset();
  root.dataset.screen = "start";
  $("#ticket").hidden = true;
  $("#start").hidden = false;
  $("#t-qr").removeAttribute("src");
  if (i18n.lang !== "zh") i18n.set("zh"); else render();
  live.resync("visit");
}

$("#t-qr").addEventListener("error", () => {
  const img = $("#t-qr");
  const tries = +(img.dataset.tries || 0);
  if (tries >= 5 || !state.ticket) return;
  img.dataset.tries = String(tries + 1);
  setTimeout(() => {
    if (state.ticket) img.src = hallPath("/kiosk/qr/") + encodeURIComponent(state.ticket.ticket.token) + ".svg?r=" + (tries + 1);
  }, 1000 * (tries + 1));
});

// after a failed print, ask the printer now and then until it works again (then the warning goes away)
function watchPrinter() {
  if (timers.health) return;
  timers.health = setInterval(async () => {
    try {
      const health = await api.get("/api/v1/kiosks/" + encodeURIComponent(KIOSK) + "/health", { timeoutMs: 10000 });
      if (health.status === "ok" && health.printer && !health.printer.fault) {
        state.printerDown = false;
        clearInterval(timers.health);
        timers.health = null;
        if (state.screen === "start") renderTiles();
      }
    } catch (e) { /* still down, or the network: ask again later */ }
  }, POLL_MS);
}

// ------------------------------------------------------------------------------------------ overlays
function showBusy(text) { $("#busy-text").textContent = text; $("#busy").hidden = false; }
function hideBusy() { $("#busy").hidden = true; }
let focusBeforeDialog = null;
function showError(text, kind = "error") {
  if ($("#dialog").hidden) focusBeforeDialog = document.activeElement;
  $("#dialog-text").textContent = text;
  $("#dialog").dataset.kind = kind;
  $(".dialog-icon").textContent = kind === "help" ? "✓" : "!";
  $("#dialog").hidden = false;
  $("#dialog-ok").focus({ preventScroll: true });
  clearTimeout(timers.dialog);
  timers.dialog = setTimeout(hideDialog, 20000);
}
function hideDialog() {
  const wasOpen = !$("#dialog").hidden;
  $("#dialog").hidden = true;
  clearTimeout(timers.dialog);
  if (!wasOpen) return;
  // keyboard users continue where they were (or at the first tile that can be taken, when the tiles were redrawn)
  const back = focusBeforeDialog && focusBeforeDialog.isConnected && !focusBeforeDialog.disabled ? focusBeforeDialog
    : (state.screen === "ticket" ? $("#done") : $(".tile:not(:disabled)") || $("#help"));
  focusBeforeDialog = null;
  if (back && back.focus) back.focus({ preventScroll: true });
}

// ------------------------------------------------------------------------------------------ wiring
function poke() {
  clearTimeout(timers.idle);
  timers.idle = setTimeout(() => {
    if (state.busy) { poke(); return; }
    if (state.screen === "pair") return;
    if (i18n.lang !== "zh" || state.priority || access.large || guidance.on || state.screen !== "start" ||
        !$("#dialog").hidden) endVisit();
  }, IDLE_MS);
}

i18n.switchButton($("#lang"));
$("#priority").addEventListener("click", () => {
  state.priority = true;
  access.set(true, "priority");  // 绿色通道: large text (and spoken guidance) by itself
  render();
});
$("#back").addEventListener("click", () => { state.priority = false; render(); });
$("#done").addEventListener("click", endVisit);
$("#reprint").addEventListener("click", printAgain);

// the print failed: the same request again (same request_id) is answered with the same ticket and prints it
async function printAgain() {
  const resend = state.resend;
  if (state.busy || state.screen !== "ticket" || !resend) return;
  state.busy = true;
  clearTimeout(timers.ticket);     // the visit does not end under a reprint: showTicket starts the countdown again
  clearInterval(timers.countdown);
  showBusy(t("reprinting"));
  const stillThisVisit = () => state.resend === resend && state.screen === "ticket";
  try {
    const answer = await resend();
    if (stillThisVisit()) showTicket(answer, resend);  // the visit ended meanwhile: its ticket is not shown again
  } catch (err) {
    if (!stillThisVisit()) return;
    showError(t("reprintError"));
    startCountdown(TICKET_FAILED_MS);  // the ticket stays shown, and ends as before
  } finally {
    state.busy = false;
    hideBusy();
  }
}
$("#dialog-ok").addEventListener("click", hideDialog);
document.addEventListener("pointerdown", poke, true);
document.addEventListener("keydown", poke, true);
document.addEventListener("contextmenu", (e) => e.preventDefault());  // long press: no menu

// ------------------------------------------------------------------------------------------ pairing
function showPairing(message) {
  state.screen = "pair";
  root.dataset.screen = "pair";
  $("#pair").hidden = false;
  $("#assist").hidden = true;
  $("#start").hidden = true;
  $("#ticket").hidden = true;
  renderTexts();
  $("#pair-error").hidden = !message;
  $("#pair-error").textContent = message || "";
}

function unpair(message) {
  device.forget();
  KIOSK = null;
  showPairing(message);
}

function paired(kiosk) {
  KIOSK = kiosk;
  clearTimeout(timers.ticket);
  clearInterval(timers.countdown);
  state.ticket = null;   // (re)paired — a pairing link opened while a ticket showed: that visit is over
  state.resend = null;
  state.screen = "start";
  root.dataset.screen = "start";
  root.dataset.kiosk = kiosk;
  $("#pair").hidden = true;
  $("#assist").hidden = false;
  $("#ticket").hidden = true;
  $("#start").hidden = false;
  $("#pair-token").value = "";
  render();
}

/** {ok, kiosk} | {ok: false, reason: a catalogue key} */
async function whoIs(token) {
  const who = await device.whoIs(api, token);
  if (who.ok) return who.device.kind === "kiosk" ? { ok: true, kiosk: who.device.kiosk } : { ok: false, reason: "pairNotKiosk" };
  return { ok: false, reason: who.reason === "bad" ? "pairBad" : "pairNetwork" };
}

$("#pair-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const token = $("#pair-token").value.trim();
  if (!token) return;
  $("#pair-go").disabled = true;
  const who = await whoIs(token);
  $("#pair-go").disabled = false;
  if (who.ok) { device.store(token); paired(who.kiosk); } else showPairing(t(who.reason));
});

async function start() {
  device.takeLink();  // /kiosk#pair=<token>
  const token = device.token();
  if (!token) { showPairing(""); return; }
  const who = await whoIs(token);
  if (who.ok) paired(who.kiosk);
  else if (who.reason === "pairNetwork") { showPairing(t("pairNetwork")); setTimeout(start, 5000); }
  else unpair(t(who.reason === "pairBad" ? "pairLost" : who.reason));
}

// 实名取号 and 预约签到: the card reader, the keypads and the person's panel (js/checkin.js)
const checkin = BOOT.checkin && startCheckin({
  api, i18n, kiosk: () => KIOSK, services: () => state.services, showTicket, endVisit, readerBase: BOOT.card_reader,
  busy: (text) => (text ? showBusy(text) : hideBusy()), error: showError,
  canStart: () => state.screen === "start" && !state.busy, kioskBusy: () => state.busy,
});

// 扫码签到: the hall's QR scanner (a keyboard wedge) read anywhere on the page (js/scan.js)
const scan = checkin && startScan({
  checkin, i18n, kiosk: () => KIOSK, busy: () => state.busy, ticketShown: () => state.screen === "ticket", endVisit,
  hideDialog, error: showError,
});

window.addEventListener("hashchange", start);  // a pairing link opened on a kiosk that shows the page already
keepFitted($("#tiles"), root);  // every tile holds its text (fit.js)
i18n.apply();
renderTexts();
poke();
live.start();
setInterval(() => live.resync("clock"), POLL_MS);
setInterval(renderClock, 5000);
window.onewindowKiosk = { state, live, i18n, endVisit, kiosk: () => KIOSK, access, guidance };
if (scan) window.onewindowKiosk.scan = scan;
start();
