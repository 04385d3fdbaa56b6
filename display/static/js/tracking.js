/*
 * OneWindow (一窗通) — the phone tracking page (/t/<token>), an ES module on the front-end layer.
 *
 * Its snapshot is GET /api/v1/track/<token> ({seq, ticket, expired}): only this ticket. It follows the public
 * /display events through the live client: one about its own ticket updates the page at once (and, on a call,
 * shows the window in large type, vibrates and beeps where the phone allows); events that may move the queue in
 * front of it (calls, cancellations, transfers, priority tickets of its service) refresh the people-ahead count
 * through the API (live.refreshSoon: at most one snapshot every REFRESH_MS). Exposes window.owTrack.
 */
import { $ } from "/assets/js/dom.js";
import { ApiError, createApi } from "/assets/js/api.js";
import { LiveClient } from "/assets/js/live.js";
import { waitKey } from "/assets/js/wait-strings.js";
import { openScreen } from "./screen.js";

const screen = openScreen();
const { boot: cfg, t } = screen;
const zh = screen.i18n.lang === "zh";
const REFRESH_MS = 3000;

let view = cfg.initial;          // {seq, ticket, expired}
const alerted = new Set();       // call keys already signalled (vibrate/beep once per call)
const alerts = [];               // log of signalled calls (tests, diagnostics)
let audioCtx = null;
let gone = false;
const api = createApi();

// ------------------------------------------------------------------------------------------- alerts
function beep() {
  if (!audioCtx || audioCtx.state !== "running") return false;
  const now = audioCtx.currentTime;
  for (const offset of [0, 0.35, 0.7]) {
    const osc = audioCtx.createOscillator();
    const gain = audioCtx.createGain();
    osc.type = "sine";
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, now + offset);
    gain.gain.exponentialRampToValueAtTime(0.5, now + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.25);
    osc.connect(gain).connect(audioCtx.destination);
    osc.start(now + offset);
    osc.stop(now + offset + 0.3);
  }
  return true;
}

function vibrate() {
  try { return !!(navigator.vibrate && navigator.vibrate([400, 150, 400, 150, 400])); } catch (e) { return false; }
}

function signal(key) {
  if (alerted.has(key)) return;
  alerted.add(key);
  alerts.push({ key, vibrated: vibrate(), beeped: beep() });
}

// A phone lets a page make sound (and vibrate) only after a tap: this button is that tap.
$("#alerts").addEventListener("click", () => {
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (Ctx && !audioCtx) audioCtx = new Ctx();
    if (audioCtx && audioCtx.state === "suspended") audioCtx.resume();
  } catch (e) { audioCtx = null; }
  try { if (navigator.vibrate) navigator.vibrate(60); } catch (e) { /* not allowed */ }
  const b = $("#alerts");
  b.textContent = t("alerts_on");
  b.classList.add("on");
  b.disabled = true;
});

// ------------------------------------------------------------------------------------------- render
function render() {
  const tk = view.ticket;
  const status = view.expired && tk.status === "waiting" ? "expired" : tk.status;
  document.body.dataset.status = status;
  $("#number").textContent = tk.number;
  $("#service").textContent = screen.serviceName(tk.service);
  $("#status").textContent = screen.i18n.has("status_" + status) ? t("status_" + status) : status;
  $("#status").className = "tstatus s-" + status;
  const called = status === "called";
  $("#called").hidden = !called;
  if (called) {
    $("#called-window").textContent = t("called_window", { n: tk.window });
    $("#called-hint").textContent = tk.calls > 1 ? t("called_hint") + " · " + t("called_again", { n: tk.calls }) : t("called_hint");
    document.title = tk.number + " → " + t("called_window", { n: tk.window });
  } else {
    document.title = tk.number + " — " + t("track_title");
  }
  const waiting = status === "waiting";
  $("#progress").hidden = !waiting;
  if (waiting) {
    $("#ahead").textContent = tk.ahead == null ? "–" : tk.ahead;
    const key = waitKey(tk.wait);  // "即将叫号" / "约 N 分钟" / "暂无窗口办理": the kiosk's and the ticket's words
    $("#wait").textContent = key ? t(key, { n: tk.wait.minutes }) : "–";
    $("#wait").dataset.state = (tk.wait && tk.wait.state) || "";
  }
  let final = { done: "done_hint", no_show: "no_show_hint", cancelled: "cancelled_hint", expired: "expired_hint" }[status];
  final = final ? t(final) : "";
  if (waiting && tk.transfers > 0) final = t("transferred_hint", { service: screen.serviceName(tk.service) });
  $("#final").hidden = !final;
  $("#final").textContent = final;
  $("#windows").textContent = (tk.windows || []).map((n) => t("window_n", { n })).join(zh ? "、" : ", ");
  $("#windows-row").hidden = !waiting;
  $("#issued").textContent = tk.issued_at ? screen.formatNow(Date.parse(tk.issued_at)).hm : "";
  $("#alerts").hidden = !(waiting || called);
}

// ------------------------------------------------------------------------------------------- live
async function load() {
  try {
    return await api.get(cfg.track_url);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {  // the ticket is gone (a new day, a reset hall)
      gone = true;
      return { seq: live.seq || 0, ticket: view.ticket, expired: true };
    }
    throw err;
  }
}

function concernsQueue(ev, tk) {
  const other = ev.ticket;
  if (!other) return false;
  return other.service === tk.service || ev.from_service === tk.service ||
    (other.target_window && (tk.windows || []).includes(other.target_window));
}

function onEvent(ev) {
  const tk = view.ticket;
  if (ev.ticket && ev.ticket.id === tk.id) {
    const mine = ev.ticket;
    tk.status = mine.status;
    tk.calls = mine.calls || tk.calls;
    if (mine.window) tk.window = mine.window;
    if (ev.type === "ticket_called" || ev.type === "ticket_recalled") {
      tk.window = ev.window;
      render();
      signal(tk.id + "|" + ev.type + "|" + ev.ts);
    } else {
      render();
    }
    live.refreshSoon();  // the server's view (service after a transfer, ahead, outcome)
    return;
  }
  if (tk.status !== "waiting") return;
  // who serves changed (rare): at once, not throttled — "暂无窗口办理" must show within 2 s (issue 12)
  if (changesWhoServes(ev, tk)) live.resync("staffing");
  else if (concernsQueue(ev, tk)) live.refreshSoon();
}

// a clerk signing in or out, a window of this ticket pausing or resuming: the estimate may change (暂无窗口办理)
function changesWhoServes(ev, tk) {
  if (ev.type === "clerk_signed_in" || ev.type === "clerk_signed_out") return true;  // a stub on /display: no window
  return (ev.type === "window_paused" || ev.type === "window_resumed") && (tk.windows || []).includes(ev.window);
}

const live = new LiveClient({
  namespace: cfg.namespace, load, onEvent, resyncEveryMs: 60000, refreshMs: REFRESH_MS,
  onSnapshot: (snap) => { view = snap; render(); },
});
window.owTrack = { cfg, live, alerts, view: () => view, gone: () => gone };
screen.markConnection(live);
render();
live.start();
