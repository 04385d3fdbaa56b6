/*
 * OneWindow (一窗通) — the phone tracking page (/t/<token>), an ES module on the front-end layer.
 *
 * Its snapshot is GET /api/v1/track/<token> ({seq, ticket, expired}): only this ticket. It follows the public
 * /display events through the live client: one about its own ticket updates the page at once (and, on a call,
 * shows the window in large type, vibrates and beeps where the phone allows); events that may move the queue in
 * front of it (calls, cancellations, transfers, priority tickets of its service) refresh the people-ahead count
 * through the API (live.refreshSoon: at most one snapshot every REFRESH_MS). A remote ticket shows "not checked in"
 * until the kiosk activates it (the stream tells public screens only that *some* ticket was activated, rated or
 * lapsed: the page then asks the API about its own). Once the visit has ended (办件 or 咨询) the holder rates it here
 * (好差评: GET/POST /api/v1/track/<token>/rating — once, and one 追评 within its period). Exposes window.owTrack.
 */
import { $, h } from "/assets/js/dom.js";
import { ApiError, createApi, hallPath } from "/assets/js/api.js";
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
function statusOf(tk) {
  if (view.expired && tk.status === "waiting") return "expired";
  if (tk.remote && tk.status === "expired") return "lapsed";             // not checked in when it came up
  if (tk.remote && tk.status === "waiting" && !tk.arrived) return "not_arrived";
  return tk.status;
}

function render() {
  const tk = view.ticket;
  const status = statusOf(tk);
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
  const waiting = status === "waiting" || status === "not_arrived";
  $("#progress").hidden = !waiting;
  $("#arrive").hidden = status !== "not_arrived";
  if (status === "not_arrived" && !$("#arrive-qr").getAttribute("src")) $("#arrive-qr").src = hallPath("/kiosk/qr/") + cfg.token + ".svg";
  if (waiting) {
    $("#ahead").textContent = tk.ahead == null ? "–" : tk.ahead;
    const key = waitKey(tk.wait);  // "即将叫号" / "约 N 分钟" / "暂无窗口办理": the kiosk's and the ticket's words
    $("#wait").textContent = key ? t(key, { n: tk.wait.minutes }) : "–";
    $("#wait").dataset.state = (tk.wait && tk.wait.state) || "";
  }
  let final = { done: "done_hint", no_show: "no_show_hint", cancelled: "cancelled_hint", expired: "expired_hint",
    lapsed: "lapsed_hint" }[status];
  final = final ? t(final) : "";
  if (waiting && tk.transfers > 0) final = t("transferred_hint", { service: screen.serviceName(tk.service) });
  $("#final").hidden = !final;
  $("#final").textContent = final;
  $("#windows").textContent = (tk.windows || []).map((n) => t("window_n", { n })).join(zh ? "、" : ", ");
  $("#windows-row").hidden = !waiting;
  $("#issued").textContent = tk.issued_at ? screen.formatNow(Date.parse(tk.issued_at)).hm : "";
  $("#alerts").hidden = !(waiting || called);
  $("#again").hidden = !(tk.remote && (status === "lapsed" || status === "no_show"));
  $("#again").href = hallPath("/book") + (zh ? "" : "?lang=en") + "#remote";
  renderRating();
}

// ------------------------------------------------------------------------------------------- 好差评
const rate = { state: null, level: null, options: new Set(), followup: false, sending: false, loadedFor: "", badNote: false };

async function loadRating() {
  try {
    rate.state = await api.get(cfg.track_url + "/rating");
  } catch (err) {
    rate.state = null;
  }
  rate.loadedFor = view.ticket.status + "|" + (view.ticket.outcome || "");
  renderRating();
}

function levelForm(level) {
  return ((rate.state && rate.state.form) || []).find((f) => f.level === level);
}

function when(ms) {
  const f = screen.formatNow(ms);
  return f.date + " " + f.hm;
}

function renderRating() {
  const box = $("#rate");
  const st = rate.state;
  if (!st || st.state === "not_finished" || view.ticket.status !== "done") { box.hidden = true; return; }
  box.hidden = false;
  const labelOf = (level) => { const f = levelForm(level); return f ? screen.i18n.pick(f.label, f.label_en) : String(level); };
  let note = "";
  let formOpen = false;
  if (st.state === "open") {
    note = st.rate_until_ms ? t("rate_until", { when: when(st.rate_until_ms) }) : "";
    formOpen = true;
    rate.followup = false;
  } else if (st.state === "rated") {
    note = st.channel === "tablet" ? t("rated_by_tablet", { label: labelOf(st.rating) })
      : t("rated_by_phone", { label: labelOf(st.rating) });
    const sep = zh ? "" : " ";
    if (rate.badNote) note += sep + t("rate_bad_note");
    if (st.followup) note += sep + t("followup_done", { label: labelOf(st.followup) });
    else if (st.can_follow_up && st.follow_up_until_ms) note += sep + t("followup_offer", { when: when(st.follow_up_until_ms) });
    formOpen = rate.followup && st.can_follow_up;
  } else if (st.state === "default_rated") {
    note = t("rated_by_default");
  } else {
    note = t("rate_closed");
  }
  $("#rate-title").textContent = st.state === "open" || formOpen ? t(rate.followup ? "rate_followup_title" : "rate_title")
    : t("rate_thanks");
  $("#rate-note").textContent = note;
  $("#rate-form").hidden = !formOpen;
  $("#followup-open").hidden = !(st.state === "rated" && st.can_follow_up && !formOpen);
  box.dataset.state = st.state;
  if (formOpen) renderLevels();
}

function renderLevels() {
  const form = rate.state.form || [];
  $("#levels").replaceChildren(...form.map((f) => h("button", {
    type: "button", role: "radio", class: "level" + (f.bad ? " bad" : ""), "aria-checked": String(rate.level === f.level),
    dataset: { level: String(f.level) }, on: { click: () => pickLevel(f.level) },
  }, h("span", { text: screen.i18n.pick(f.label, f.label_en) }))));
  const f = levelForm(rate.level);
  $("#rate-detail").hidden = !f;
  if (!f) return;
  $("#rate-options-label").hidden = !f.options.length;
  $("#opts").replaceChildren(...f.options.map((o) => h("button", {
    type: "button", class: "opt", "aria-pressed": String(rate.options.has(o.code)), dataset: { code: o.code },
    on: { click: () => { rate.options.has(o.code) ? rate.options.delete(o.code) : rate.options.add(o.code); renderLevels(); } },
  }, screen.i18n.pick(o.label, o.label_en))));
  $("#rate-text-row").hidden = !f.text;
  $("#rate-text").maxLength = f.text_max || 0;
  $("#rate-text").placeholder = f.text ? t("rate_text_hint", { n: f.text_max }) : "";
  $("#rate-contact-row").hidden = !f.contact;
}

function pickLevel(level) {
  if (rate.level !== level) rate.options.clear();
  rate.level = level;
  $("#rate-error").hidden = true;
  renderLevels();
}

async function submitRating() {
  const f = levelForm(rate.level);
  if (!f || rate.sending) return;
  rate.sending = true;
  $("#rate-submit").disabled = true;
  $("#rate-error").hidden = true;
  const body = { level: rate.level, options: [...rate.options], ticket_id: view.ticket.id };
  if (rate.followup) body.followup = true;
  if (f.text && $("#rate-text").value.trim()) body.text = $("#rate-text").value.trim();
  if (f.contact && $("#rate-phone").value.trim()) body.contact_phone = $("#rate-phone").value.trim();
  try {
    await api.post(cfg.track_url + "/rating", body);
    rate.followup = false;
    rate.level = null;
    rate.options.clear();
    $("#rate-text").value = "";
    $("#rate-phone").value = "";
    if (f.bad) rate.badNote = true;
    await loadRating();
  } catch (err) {
    const code = err instanceof ApiError ? err.code : "other";
    $("#rate-error").textContent = screen.i18n.has("rate_e_" + code) ? t("rate_e_" + code) : t("rate_e_other");
    $("#rate-error").hidden = false;
    if (code === "already_rated" || code === "rating_closed" || code === "followup_closed") await loadRating();
  } finally {
    rate.sending = false;
    $("#rate-submit").disabled = false;
  }
}

// ------------------------------------------------------------------------------------------- a remote ticket's holder
// is not coming after all: withdraw it (POST /api/v1/tickets/<id>/cancel with its token) rather than let it lapse,
// which would count as a no-show. Two taps: the first asks.
$("#arrive-cancel").addEventListener("click", async () => {
  const b = $("#arrive-cancel");
  if (!b.classList.contains("sure")) {
    b.classList.add("sure");
    b.textContent = t("cancel_remote_sure");
    return;
  }
  b.disabled = true;
  try {
    const r = await api.post(`/api/v1/tickets/${encodeURIComponent(view.ticket.id)}/cancel`, { token: cfg.token });
    Object.assign(view.ticket, { status: r.ticket.status });
    render();
  } catch (err) {
    live.refreshSoon();
  } finally {
    b.disabled = false;
    b.classList.remove("sure");
    b.textContent = t("cancel_remote");
  }
});

$("#rate-form").addEventListener("submit", (ev) => { ev.preventDefault(); submitRating(); });
$("#followup-open").addEventListener("click", () => { rate.followup = true; rate.level = null; rate.options.clear(); renderRating(); });

function ratingMayHaveChanged() {
  const tk = view.ticket;
  if (tk.status !== "done") return;
  if (rate.loadedFor !== tk.status + "|" + (tk.outcome || "") || !rate.state) loadRating();
}

// ------------------------------------------------------------------------------------------- live
async function load() {
  try {
    return await api.get(cfg.track_url);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {  // the ticket is gone (a new day, a reset hall)
      gone = true;
      return { seq: live.seq || 0, entry: live.entry, ticket: view.ticket, expired: true };  // at the seq it shows
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

// events only staff see reach public screens as {seq, type, ts}: ask about this ticket when one may concern it
const ASK_ON = { ticket_activated: (tk) => tk.remote && !tk.arrived, ticket_expired: (tk) => tk.remote && tk.status === "waiting",
  ticket_rated: (tk) => tk.status === "done" && rate.state && rate.state.state === "open" };

function onEvent(ev) {
  const tk = view.ticket;
  if (!ev.ticket && ASK_ON[ev.type] && ASK_ON[ev.type](tk)) {
    if (ev.type === "ticket_rated") loadRating(); else live.refreshSoon();
    return;
  }
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
  onSnapshot: (snap) => { view = snap; render(); ratingMayHaveChanged(); },
});
window.owTrack = { cfg, live, alerts, view: () => view, gone: () => gone, rating: () => rate.state };
screen.markConnection(live);
render();
ratingMayHaveChanged();
live.start();
