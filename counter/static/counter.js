/*
 * OneWindow (一窗通) — the counter workstation (/counter), an ES module on the front-end layer: login, the window's
 * current ticket, actions with keyboard shortcuts, the live queue preview, today's figures, 办不成事 cases.
 *
 * Every action is one call to /api/v1/windows/<n>/… through the layer's API client (the session's CSRF token; a
 * fresh Idempotency-Key per action, sent again on its retries: an action whose answer was lost is answered, never
 * done twice), and the page shows that action's reply at once. The live client follows the /staff namespace: its
 * snapshot is GET /api/v1/windows/<n>/overview (at one seq); an event that changes this window's queues or state
 * asks for a fresh snapshot (throttled: a click costs one, however many events it causes), and one that changes
 * this window's figures asks for today's counts again.
 */
import { hallInfo } from "/assets/js/api.js";
import { $, $$, bootData, esc } from "/assets/js/dom.js";
import { createI18n } from "/assets/js/i18n.js";
import { LiveClient, NAMESPACES } from "/assets/js/live.js";
import { connectionBadge, staffSession, toaster } from "/assets/js/staff.js";
import { duration } from "/assets/js/time.js";
import strings from "./strings.js";

const BOOT = bootData();
/** events that move this window's figures (GET …/today) */
const COUNTED = new Set(["ticket_called", "ticket_recalled", "ticket_finished", "ticket_marked_no_show", "ticket_transferred",
  "ticket_rated", "case_recorded", "no_show_undone", "appeal_filed", "appeal_ruled"]);
/** events that may change what the overview shows (this window, its queues) */
const QUEUE_EVENTS = new Set(["ticket_issued", "ticket_called", "ticket_recalled", "ticket_finished", "ticket_marked_no_show",
  "ticket_transferred", "ticket_cancelled", "window_paused", "window_resumed", "no_show_undone"]);
const COUNTS_MS = 1000;
const POLL_MS = 15000;            // while the live connection is down, the overview is asked for this often

const i18n = createI18n(strings, { storageKey: "ow.lang" });
// the window this browser last signed in to, per hall when the server serves several (as device.js keeps tokens)
const WINDOW_KEY = "ow.window" + (hallInfo().live ? "@" + hallInfo().live : "");
const t = (key, vars) => i18n.t(key, vars);
const pick = (zh, en) => i18n.pick(zh, en);
const session = staffSession({ onSignedOut: (err) => signedOut(err) });
const api = session.api;
const toast = toaster($("#toast"));
const state = {
  me: null, window: null, counts: null, busy: false, caseBusy: false, clockOffset: 0, typed: "",
  countsTimer: null, countsGen: 0, countsApplied: 0, replies: 0,
  undo: null,          // {id, number, until}: the 过号 this window may still take back
  reason: null,        // the transfer reason chosen in the dialog
  bad: [],             // the clerk's 差评 of today (rectification records)
  appealing: null,
};
let live = null;
let badge = connectionBadge(null, $("#conn"), $("#conn-text"), i18n);
const overview = () => (live ? live.state : null);

const windowInfo = (n) => BOOT.windows.find((w) => w.number === n);
const serviceInfo = (code) => BOOT.services.find((s) => s.code === code);

function errorText(err) {
  const key = "e_" + err.code;
  const d = err.details || {};
  if (i18n.has(key)) return t(key, { s: d.retry_after || "", name: (d.holder && d.holder.name) || "" });
  return err.message || err.code;
}

// ------------------------------------------------------------------------------------------------ login
async function start() {
  i18n.apply();
  renderBrand();
  try {
    const me = await session.me();
    if (me.window == null) throw { code: "not_logged_in" };
    enterWork(me);
  } catch (e) {
    showLogin(e.code && e.code !== "not_logged_in" && e.code !== "network" ? errorText(e) : "");
  }
  document.body.classList.remove("is-loading");
}

function renderBrand() {
  $("#hall-name").textContent = pick(BOOT.hall.name, BOOT.hall.name_en);
  document.title = t("title") + " · " + pick(BOOT.hall.name, BOOT.hall.name_en);
}

function showLogin(message) {
  state.me = null; state.window = null;
  $("#work-view").hidden = true; $("#who").hidden = true; $("#logout").hidden = true;
  $("#login-view").hidden = false;
  $("#login-error").textContent = message || "";
  const w = new URLSearchParams(location.search).get("window") || localStorage.getItem(WINDOW_KEY);
  if (w && [...$("#window-select").options].some((o) => o.value === w)) $("#window-select").value = w;
  if (live) { live.stop(); live = null; }
  setTimeout(() => $("#username").focus(), 0);
}

function signedOut(err) {
  closeDialogs();
  showLogin(err ? errorText(err) : t("signed_out"));
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  $("#login-submit").disabled = true;
  $("#login-error").textContent = "";
  try {
    const me = await session.login({ username: form.username.value.trim(), password: form.password.value,
                                     window: Number(form.window.value) });
    form.password.value = "";
    localStorage.setItem(WINDOW_KEY, String(me.window));
    enterWork(me);
  } catch (e) {
    $("#login-error").textContent = errorText(e);
  } finally {
    $("#login-submit").disabled = false;
  }
});

$("#logout").addEventListener("click", async () => {
  try { await session.logout(); } catch (e) { /* signed out either way */ }
  signedOut(null);
});

function enterWork(me) {
  state.me = me; state.window = me.window; state.counts = null;
  $("#login-view").hidden = true; $("#work-view").hidden = false;
  $("#who").hidden = false; $("#logout").hidden = false;
  const w = windowInfo(me.window);
  $("#case-panel").hidden = !w.complaint;
  $(".case-key").hidden = !w.complaint;
  connect();
  render();
  refreshCounts();
  refreshBad();
}

// ------------------------------------------------------------------------------------------------ live data
/* The overview as the live client's state. A snapshot whose request started before this page applied an action's
   reply may predate that action: it keeps the window part the reply set (the action's own event brings the next
   snapshot). */
function overviewReducer() {
  return {
    init(snap, previous) {
      const next = structuredClone(snap);
      if (previous && snap.replies < state.replies) next.window = previous.window;
      return next;
    },
    apply(o, ev) {
      const mine = ev.window === state.window;
      const services = windowInfo(state.window).services;
      const ticket = ev.ticket || {};
      const touchesQueues = services.includes(ticket.service) || services.includes(ev.from_service) ||
        ticket.target_window === state.window || ev.to_window === state.window;
      const forMe = mine || (ev.rating && ev.rating.clerk === state.me.id);
      return { refresh: QUEUE_EVENTS.has(ev.type) && (mine || touchesQueues), counts: forMe && COUNTED.has(ev.type),
               bad: ev.type === "rectification_opened" || ev.type === "appeal_filed" || ev.type === "appeal_ruled" ||
                 (ev.type === "ticket_rated" && mine) };
    },
  };
}

function connect() {
  if (live) live.stop();
  const n = state.window;
  live = new LiveClient({
    namespace: NAMESPACES.staff,
    auth: () => ({ csrf: session.csrf }),
    load: async () => {
      const replies = state.replies;
      const o = await api.get(`/api/v1/windows/${n}/overview`);
      return { ...o, replies };
    },
    reducer: overviewReducer(),
  });
  live.subscribe((o, change) => {
    if (change.kind === "snapshot") state.clockOffset = Date.parse(o.now) - Date.now();
    else if (change.result) {
      if (change.result.refresh) live.refreshSoon();
      if (change.result.counts) countsSoon();
      if (change.result.bad) refreshBad();
    }
    render();
  });
  badge = connectionBadge(live, $("#conn"), $("#conn-text"), i18n);
  live.start();
}

function countsSoon() {
  clearTimeout(state.countsTimer);
  state.countsTimer = setTimeout(refreshCounts, COUNTS_MS);
}

// Answers can arrive out of order: only the answer to the most recently started request is applied.
async function refreshCounts() {
  if (!state.window) return;
  const gen = ++state.countsGen;
  try {
    const counts = (await api.get(`/api/v1/windows/${state.window}/today`)).counts;
    if (gen < state.countsApplied) return;
    state.countsApplied = gen;
    state.counts = counts;
    renderCounts();
  } catch (e) { if (e.status !== 401) console.warn("counts", e); }
}

// ------------------------------------------------------------------------------------------------ render

function allowed() {
  const o = overview();
  if (!o || state.busy) return {};
  const cur = o.window.current, paused = o.window.paused;
  return {
    "call-next": !cur && !paused && o.queues.total_waiting > 0,
    "recall": !!cur, "no-show": !!cur, "finish-handled": !!cur, "finish-consulted": !!cur, "transfer": !!cur,
    "call-number": !cur && !paused, "pause": paused || !cur,
  };
}

function render() {
  if (!state.me) return;
  const w = windowInfo(state.window);
  $("#who-window").textContent = t("window_label", { n: w.number, name: w.name });
  $("#who-clerk").textContent = state.me.name + "（" + state.me.id + "）";
  const o = overview();
  const can = allowed();
  document.querySelectorAll("#actions [data-action]").forEach((b) => { b.disabled = !can[b.dataset.action]; });
  if (!o) return;
  const win = o.window, cur = win.current;
  $("#pause-name").textContent = t(win.paused ? "a_resume" : "a_pause");
  $("#paused-banner").hidden = !win.paused;
  $("#paused-reason").textContent = win.pause_reason ? "· " + win.pause_reason : "";
  $("#current").dataset.state = cur ? "serving" : win.paused ? "paused" : "idle";
  $("#cur-number").textContent = cur ? cur.number : "";
  $("#cur-number").hidden = !cur;
  $("#cur-service").textContent = cur ? pick(cur.service_name, cur.service_name_en) : "";
  $("#cur-idle").hidden = !!cur;
  $("#cur-idle").querySelector("strong").textContent = t(win.paused ? "paused" : "idle");
  $("#cur-idle").querySelector("span").textContent = t(win.paused ? "paused_hint" : "idle_hint");
  $("#cur-facts").hidden = !cur;
  if (cur) {
    const waited = Date.parse(cur.called_at) - Date.parse(cur.issued_at);
    $("#cur-waited").textContent = t("minutes", { n: Math.max(0, Math.round(waited / 60000)) });
    $("#cur-calls").textContent = String(cur.calls);
    const tags = [];
    if (cur.priority) tags.push(`<span class="tag tag-priority">${esc(t("priority"))}</span>`);
    if (cur.transfers) tags.push(`<span class="tag">${esc(t("transferred"))}</span>`);
    if (cur.assisted) tags.push(`<span class="tag tag-assisted">${esc(t("assisted"))}</span>`);
    if (cur.appointment) tags.push(`<span class="tag tag-appointment">${esc(t("appointment", { slot: cur.slot || "" }))}</span>`);
    $("#cur-tags").innerHTML = tags.join("");
  }
  tick();
  renderQueues();
  renderCase();
  renderUndo();
}

function tick() {
  renderUndo();
  const now = new Date(Date.now() + state.clockOffset);
  $("#clock").textContent = now.toLocaleTimeString("zh-CN", { hour12: false });
  const cur = overview() && overview().window.current;
  if (cur && cur.called_at) $("#cur-serving").textContent = duration(now - Date.parse(cur.called_at));
}

function chips(list) {
  return list.map((e) => `<span class="chip${e.priority ? " chip-priority" : ""}${e.transferred ? " chip-transferred" : ""}"
    title="${esc(t("minutes", { n: e.waited_minutes }))}">${esc(e.number)}</span>`).join("");
}

function renderQueues() {
  const q = overview().queues;
  $("#total-waiting").textContent = t("total", { n: q.total_waiting });
  let html = "";
  if (q.transferred_in.waiting) {
    html += `<div class="q q-in"><div class="q-head"><span class="q-name">${esc(t("transferred_in"))}</span>
      <span class="q-count">${q.transferred_in.waiting}</span></div><div class="q-next">${chips(q.transferred_in.next)}</div></div>`;
  }
  for (const s of q.services) {
    html += `<div class="q" data-service="${esc(s.code)}"><div class="q-head">
        <span class="q-prefix">${esc(s.prefix)}</span><span class="q-name">${esc(pick(s.name, s.name_en))}</span>
        <span class="q-count">${s.waiting}</span></div>
      <div class="q-meta">${s.waiting ? esc(t("est", { n: s.estimated_wait_minutes })) + " · " + esc(t("longest", { n: s.longest_wait_minutes })) : esc(t("nobody"))}</div>
      <div class="q-next">${chips(s.next)}</div></div>`;
  }
  $("#queues").innerHTML = html;
}

function renderCounts() {
  const c = state.counts;
  if (!c) return;
  const w = windowInfo(state.window);
  const tiles = [["c_called", c.called], ["c_handled", c.handled], ["c_consulted", c.consulted],
    ["c_no_show", c.no_show], ["c_transferred", c.transferred], ["c_mean", c.mean_service_minutes == null ? "—" : c.mean_service_minutes],
    ["c_rated", c.rated], ["c_follow_up", c.follow_up]];
  if (w.complaint) tiles.push(["c_cases", c.cases]);
  $("#counts").classList.toggle("wide", tiles.length > 8);
  $("#counts").innerHTML = tiles.map(([k, v]) => `<div class="count" data-count="${k.slice(2)}"><span class="count-v">${esc(v)}</span><span class="count-k">${esc(t(k))}</span></div>`).join("");
}

function caseTicket() {
  const o = overview();
  if (!o) return null;
  if (o.window.current) return o.window.current.number;
  return o.last_finished ? o.last_finished.split("-")[1] : null;
}

function renderCase() {
  if ($("#case-panel").hidden) return;
  const number = caseTicket();
  $("#case-ticket").textContent = number ? t("case_for", { number }) : t("case_none");
  $("#case-submit").disabled = !number || state.caseBusy;
}

// ------------------------------------------------------------------------------------------------ actions
const PATHS = { "undo-no-show": "undo-no-show", "call-next": "call-next", "recall": "recall", "no-show": "no-show", "finish-handled": "finish",
  "finish-consulted": "finish", "transfer": "transfer", "call-number": "call", "pause": "pause", "resume": "resume" };
const DONE = { "undo-no-show": "ok_undone", "call-next": "ok_called", "call-number": "ok_called", "recall": "ok_recalled", "finish-handled": "ok_finished",
  "finish-consulted": "ok_consulted", "no-show": "ok_no_show", "transfer": "ok_transferred", "pause": "ok_paused",
  "resume": "ok_resumed" };

/* The window as the action's reply says it is now: a call or recall puts the ticket at the window; finishing,
   no-show and transfer free it; pause and resume answer the window itself. */
function applyReply(action, data) {
  const o = overview();
  if (!o) return;
  state.replies++;
  if (data.window) Object.assign(o.window, { current: data.window.current, paused: data.window.paused,
                                             pause_reason: data.window.pause_reason });
  else if (action === "call-next" || action === "call-number" || action === "recall") o.window.current = data.ticket;
  else {
    o.window.current = null;
    if (action.startsWith("finish") && data.ticket) o.last_finished = data.ticket.id;  // the case form's ticket
  }
  if (action === "no-show" && data.ticket && data.ticket.no_show && BOOT.no_show_undo_seconds > 0) {
    const at = Date.parse(data.ticket.no_show.at) - state.clockOffset;  // the server's time, on this page's clock
    state.undo = { id: data.ticket.id, number: data.ticket.number, until: at + BOOT.no_show_undo_seconds * 1000 };
  } else if (action === "call-next" || action === "call-number") {
    // the undo stays offered while its time lasts: the ticket waits again, it does not come back to this window
  }
}

async function act(action, body) {
  if (state.busy) return;
  state.busy = true; render();
  try {
    const data = await api.post(`/api/v1/windows/${state.window}/${PATHS[action]}`, body);
    applyReply(action, data);
    toast(t(DONE[action], { number: data.ticket ? data.ticket.number : "" }));
    return data;
  } catch (e) {
    toast(errorText(e), "error");
    if (e.code === "window_busy" || e.code === "no_ticket" || e.code === "queue_empty") live.resync("refused");
    throw e;
  } finally {
    state.busy = false;
    render();
  }
}

function run(action) {
  const can = allowed();
  if (action === "case") { if (!$("#case-panel").hidden) $("#case-department").focus(); return; }
  if (!can[action]) return;
  switch (action) {
    case "no-show": return openNoShow();
    case "finish-handled": return openFinish();
    case "finish-consulted": return act(action, { outcome: "consulted" }).catch(() => {});
    case "transfer": return openTransfer();
    case "call-number": return openCall();
    case "pause": return overview().window.paused ? act("resume").catch(() => {}) : openPause();
    default: return act(action).catch(() => {});
  }
}

$$("#actions [data-action]").forEach((b) => b.addEventListener("click", () => run(b.dataset.action)));

// ------------------------------------------------------------------------------------------------ dialogs
function closeDialogs() { document.querySelectorAll("dialog[open]").forEach((d) => d.close()); }
document.querySelectorAll("dialog [data-close]").forEach((b) => b.addEventListener("click", closeDialogs));
const openDialog = () => document.querySelector("dialog[open]");

/* Where typed digits choose in a dialog: in the transfer dialog the reason first (until one is chosen or typed),
   then the target — so that a keypad alone can transfer. */
function pickScope(dlg) {
  if (dlg.id !== "dlg-transfer") return dlg;
  return !state.reason && !$("#transfer-reason-text").value.trim() ? $("#transfer-reasons") : $("#transfer-targets");
}

function setTyped(v) {
  state.typed = v;
  const dlg = openDialog();
  if (dlg && dlg.id === "dlg-transfer") $("#transfer-typed").textContent = v ? "→ " + v : "";
  if (dlg) dlg.querySelectorAll("[data-index]").forEach((b) => b.classList.remove("selected"));
  if (dlg) pickScope(dlg).querySelectorAll("[data-index]").forEach((b) => b.classList.toggle("selected", b.dataset.index === v));
}

function transferTargets() {
  const out = [];
  const complaint = BOOT.complaint_service;
  const cur = overview() && overview().window.current;
  const own = cur ? cur.service : null;  // never offered: the core refuses it too (same_service)
  const services = [...BOOT.services].filter((s) => s.code !== own)
    .sort((a, b) => (b.code === complaint) - (a.code === complaint));
  for (const s of services) out.push({ kind: "service", value: s.code, complaint: s.code === complaint,
    label: t("to_service", { name: pick(s.name, s.name_en) }) + ` (${s.prefix})` });
  for (const w of BOOT.windows) if (w.number !== state.window) out.push({ kind: "window", value: w.number,
    complaint: w.complaint, label: t("to_window", { n: w.number, name: w.name }) });
  return out;
}

function openTransfer() {
  state.reason = null;
  $("#transfer-error").textContent = "";
  $("#transfer-reason-text").value = "";
  $("#transfer-reasons").innerHTML = BOOT.transfer_reasons.map((r, i) => `<button type="button" class="reason"
    data-index="${i + 1}" data-reason="${esc(r.code)}" aria-pressed="false"><span class="idx">${i + 1}</span>${esc(pick(r.zh, r.en))}</button>`).join("");
  $("#transfer-reasons").querySelectorAll(".reason").forEach((b) => b.addEventListener("click", () => {
    state.reason = state.reason === b.dataset.reason ? null : b.dataset.reason;
    setTyped("");
    $("#transfer-reasons").querySelectorAll(".reason").forEach((x) => {
      x.classList.toggle("on", x.dataset.reason === state.reason);
      x.setAttribute("aria-pressed", String(x.dataset.reason === state.reason));
    });
    $("#transfer-error").textContent = "";
  }));
  const targets = transferTargets();
  $("#transfer-targets").innerHTML = targets.map((x, i) => `<button type="button" class="target${x.complaint ? " target-complaint" : ""}"
    data-index="${i + 1}" data-kind="${x.kind}" data-value="${esc(x.value)}"><span class="idx">${i + 1}</span><span class="label">${esc(x.label)}</span>${x.complaint ? ` <span class="tag">${esc(t("complaint_tag"))}</span>` : ""}</button>`).join("");
  $("#transfer-targets").querySelectorAll(".target").forEach((b) => b.addEventListener("click", () => doTransfer(b)));
  setTyped("");
  $("#dlg-transfer").showModal();
}

function doTransfer(b) {
  const text = $("#transfer-reason-text").value.trim();
  if (!state.reason && !text) { $("#transfer-error").textContent = t("e_transfer_reason"); return; }
  closeDialogs();
  const body = b.dataset.kind === "service" ? { service: b.dataset.value } : { window: Number(b.dataset.value) };
  if (state.reason) body.reason = state.reason;
  if (text) body.reason_text = text;
  act("transfer", body).catch(() => {});
}

// ------------------------------------------------------------------------------------------------ 过号: confirm, undo
function openNoShow() {
  const cur = overview().window.current;
  const min = BOOT.min_calls_before_no_show || 1;
  const enough = cur.calls >= min;
  $("#noshow-text").textContent = t("noshow_text", { number: cur.number, calls: cur.calls });
  $("#noshow-error").textContent = enough ? "" : t("noshow_more", { calls: cur.calls, min });
  $("#noshow-confirm").disabled = !enough;
  $("#dlg-noshow").showModal();
  $("#noshow-confirm").focus();
}

$("#noshow-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await act("no-show");
    closeDialogs();
  } catch (e) {
    $("#noshow-error").textContent = errorText(e);
  }
});

function renderUndo() {
  const u = state.undo;
  // never more than the allowed time: the page's estimate of the server's clock may be off by a few ms
  const left = u ? Math.min(BOOT.no_show_undo_seconds, Math.ceil((u.until - Date.now()) / 1000)) : 0;
  if (!u || left <= 0) { state.undo = null; $("#undo-bar").hidden = true; return; }
  $("#undo-bar").hidden = false;
  $("#undo-text").textContent = t("undo_text", { number: u.number });
  $("#undo-left").textContent = t("undo_left", { s: left });
  $("#undo-button").disabled = state.busy;
}

$("#undo-button").addEventListener("click", async () => {
  const u = state.undo;
  if (!u) return;
  try {
    await act("undo-no-show", { ticket_id: u.id });
    state.undo = null;
  } catch (e) {
    if (e.code === "undo_expired" || e.code === "not_no_show") state.undo = null;
  }
  renderUndo();
});

// ------------------------------------------------------------------------------------------------ finish: 事项, 办件编号
function openFinish() {
  const cur = overview().window.current;
  const matters = (BOOT.matters || {})[cur.service] || [];
  $("#finish-matter").innerHTML = matters.length
    ? matters.map((m) => `<option value="${esc(m.code)}">${esc(m.name)} · ${esc(m.code)}</option>`).join("")
    : `<option value="">${esc(t("no_matter"))}</option>`;
  $("#finish-matter").disabled = !matters.length;
  $("#finish-case-no").value = "";
  $("#finish-error").textContent = "";
  $("#dlg-finish").showModal();
  $("#finish-case-no").focus();
}

$("#finish-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = { outcome: "handled" };
  const matter = $("#finish-matter").value;
  const caseNo = $("#finish-case-no").value.trim();
  if (matter) body.matter = matter;
  if (caseNo) body.case_no = caseNo;
  try {
    await act("finish-handled", body);
    closeDialogs();
  } catch (e) {
    $("#finish-error").textContent = errorText(e);
  }
});

// ------------------------------------------------------------------------------------------------ 差评 of the day, 申诉
async function refreshBad() {
  if (!state.window) return;
  try {
    state.bad = (await api.get(`/api/v1/windows/${state.window}/bad-ratings`)).records;
    renderBad();
  } catch (e) { if (e.status !== 401) console.warn("bad ratings", e); }
}

function renderBad() {
  $("#bad-panel").hidden = !state.bad.length;
  $("#bad-list").innerHTML = state.bad.map((r) => {
    const label = r.level === 1 ? "非常不满意" : "不满意";
    const what = [r.ticket && r.ticket.number, label, ...(r.options || []).map((o) => o.label)].filter(Boolean).join(" · ");
    const appealed = r.appeal ? `<span class="tag">${esc(t("appeal_filed"))}</span>` :
      (r.state === "open" ? `<button type="button" class="ghost small" data-appeal="${esc(r.id)}">${esc(t("appeal"))}</button>` : "");
    return `<li data-record="${esc(r.id)}"><span class="bad-what">${esc(what)}</span>${r.text ? `<span class="bad-text">“${esc(r.text)}”</span>` : ""}${appealed}</li>`;
  }).join("");
  $("#bad-list").querySelectorAll("[data-appeal]").forEach((b) => b.addEventListener("click", () => openAppeal(b.dataset.appeal)));
}

function openAppeal(id) {
  const r = state.bad.find((x) => x.id === id);
  if (!r) return;
  state.appealing = id;
  $("#appeal-what").textContent = t("appeal_what", { number: r.ticket ? r.ticket.number : "", label: r.level === 1 ? "非常不满意" : "不满意" });
  $("#appeal-reason").value = "";
  $("#appeal-error").textContent = "";
  $("#dlg-appeal").showModal();
  $("#appeal-reason").focus();
}

$("#appeal-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const reason = $("#appeal-reason").value.trim();
  if (!reason) { $("#appeal-error").textContent = t("e_missing_field"); return; }
  try {
    await api.post(`/api/v1/windows/${state.window}/appeals`, { record: state.appealing,
      grounds: ev.target.grounds.value, reason });
    closeDialogs();
    toast(t("appeal_sent"));
    refreshBad();
  } catch (e) {
    $("#appeal-error").textContent = errorText(e);
  }
});

function openCall() {
  const w = windowInfo(state.window);
  const prefixes = w.services.map((c) => serviceInfo(c));
  $("#call-prefixes").innerHTML = prefixes.map((s, i) => `<button type="button" class="prefix${i === 0 ? " selected" : ""}"
    data-prefix="${esc(s.prefix)}">${esc(s.prefix)} <small>${esc(pick(s.name, s.name_en))}</small></button>`).join("");
  $("#call-prefixes").querySelectorAll(".prefix").forEach((b) => b.addEventListener("click", () => {
    $("#call-prefixes").querySelectorAll(".prefix").forEach((x) => x.classList.toggle("selected", x === b));
    $("#call-input").focus();
  }));
  $("#call-input").value = ""; $("#call-error").textContent = "";
  $("#dlg-call").showModal();
  $("#call-input").focus();
}

$("#call-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  let v = $("#call-input").value.trim().toUpperCase();
  if (/^\d{1,4}$/.test(v)) {
    const sel = $("#call-prefixes").querySelector(".prefix.selected");
    v = (sel ? sel.dataset.prefix : "") + v.padStart(3, "0");
  } else if (/^[A-Z]\d{1,4}$/.test(v)) {
    v = v[0] + v.slice(1).padStart(3, "0");
  }
  try {
    await act("call-number", { number: v });
    closeDialogs();
  } catch (e) {
    $("#call-error").textContent = errorText(e);
    $("#call-input").select();
  }
});

function openPause() {
  $("#pause-reasons").innerHTML = BOOT.pause_reasons.map((r, i) => `<button type="button" class="target" data-index="${i + 1}"
    data-reason="${esc(r.zh)}"><span class="idx">${i + 1}</span>${esc(pick(r.zh, r.en))}</button>`).join("");
  $("#pause-reasons").querySelectorAll(".target").forEach((b) => b.addEventListener("click", () => {
    closeDialogs(); act("pause", { reason: b.dataset.reason }).catch(() => {});
  }));
  $("#pause-other").value = "";
  setTyped("");
  $("#dlg-pause").showModal();
}

$("#pause-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const typed = state.typed && $("#pause-reasons").querySelector(`[data-index="${state.typed}"]`);
  const reason = typed ? typed.dataset.reason : $("#pause-other").value.trim();
  closeDialogs();
  act("pause", { reason }).catch(() => {});
});

// ------------------------------------------------------------------------------------------------ 办不成事 case
$("#case-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  state.caseBusy = true; renderCase();
  try {
    const data = await api.post(`/api/v1/windows/${state.window}/case`, {
      department: f.department.value.trim(), problem: f.problem.value.trim(), action: f.action.value.trim(),
      resolved: f.resolved.value === "yes",
      ...(f.contact_name.value.trim() ? { contact_name: f.contact_name.value.trim() } : {}),
      ...(f.contact_phone.value.trim() ? { contact_phone: f.contact_phone.value.replace(/\s/g, "") } : {}) });
    toast(t("case_saved", { id: data.case.id }));
    f.reset();
  } catch (e) {
    toast(errorText(e), "error");
  } finally {
    state.caseBusy = false; renderCase();
  }
});

// ------------------------------------------------------------------------------------------------ keyboard
// Keypad-friendly: event.code tells the numeric keypad from the main keyboard (with NumLock on or off).
const KEYS = {
  F1: "call-next", NumpadAdd: "call-next",
  F2: "recall", NumpadMultiply: "recall",
  F3: "no-show", NumpadSubtract: "no-show",
  F4: "finish-handled", NumpadEnter: "finish-handled",
  F6: "finish-consulted", NumpadDecimal: "finish-consulted",
  F7: "transfer", NumpadDivide: "transfer",
  F8: "call-number", Numpad0: "call-number",
  F9: "pause", Numpad9: "pause",
  F10: "case",
};
const FUNCTION_KEYS = new Set(["F1", "F2", "F3", "F4", "F6", "F7", "F8", "F9", "F10"]);

function digitOf(ev) {
  const m = /^(?:Numpad|Digit)(\d)$/.exec(ev.code);
  return m ? m[1] : null;
}

function dialogKeys(ev, dlg) {
  if (["dlg-noshow", "dlg-finish", "dlg-appeal"].includes(dlg.id)) {
    if (ev.code === "NumpadEnter" && dlg.id !== "dlg-appeal") { ev.preventDefault(); dlg.querySelector("form").requestSubmit(); }
    return;
  }
  if (dlg.id === "dlg-transfer" && document.activeElement === $("#transfer-reason-text") && !ev.code.startsWith("Numpad")) return;
  if (dlg.id === "dlg-call") {
    if (ev.code === "NumpadEnter") { ev.preventDefault(); $("#call-form").requestSubmit(); }
    else if (/^Key[A-Z]$/.test(ev.code) && document.activeElement === $("#call-input") && $("#call-input").value === "") {
      const b = $("#call-prefixes").querySelector(`[data-prefix="${ev.code.slice(3)}"]`);
      if (b) { ev.preventDefault(); b.click(); }
    }
    return;
  }
  if (document.activeElement === $("#pause-other") && !ev.code.startsWith("Numpad")) return;
  const d = digitOf(ev);
  const scope = pickScope(dlg);
  if (d !== null) {
    ev.preventDefault();
    const next = (state.typed + d).slice(-2);
    setTyped(scope.querySelector(`[data-index="${next}"]`) ? next : d);
  } else if (ev.code === "Backspace") {
    ev.preventDefault(); setTyped(state.typed.slice(0, -1));
  } else if (ev.code === "Enter" || ev.code === "NumpadEnter") {
    ev.preventDefault();
    const b = state.typed && scope.querySelector(`[data-index="${state.typed}"]`);
    if (b) b.click(); else if (dlg.id === "dlg-pause") $("#pause-form").requestSubmit();
  }
}

document.addEventListener("keydown", (ev) => {
  if (!state.me) return;
  const dlg = openDialog();
  if (dlg) { if (ev.key !== "Escape") dialogKeys(ev, dlg); return; }
  const action = KEYS[ev.code];
  if (!action) return;
  const el = document.activeElement;
  const typing = el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  if (typing && !FUNCTION_KEYS.has(ev.code)) return;
  ev.preventDefault();
  if (ev.repeat) return;
  run(action);
});

i18n.switchButton($("#lang"));
i18n.onChange(() => { renderBrand(); if (state.me) render(); renderCounts(); });
setInterval(tick, 1000);
setInterval(() => { if (state.me && live && !live.connected) live.resync("poll"); }, POLL_MS);
window.owCounter = { live: () => live, i18n, state };
start();
