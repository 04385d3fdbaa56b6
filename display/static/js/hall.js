/*
 * OneWindow (一窗通) — the hall display page (/display), an ES module on the front-end layer.
 *
 * Shows the latest calls very large (newest highlighted, flashing for deaf visitors), recent calls, waiting per
 * service, date/time, the hall's name and notice; speaks each call and recall through the Announcer. The live
 * client keeps the hall state (hall-state.js) in seq order.
 *
 * A call is flashed and spoken once (by its callKey): live events, and calls this page missed while disconnected
 * (caught up on reconnect, or revealed by a snapshot) if they are less than CATCH_UP_MS old. The first snapshot after the page opens is
 * shown silently. For tests and diagnostics the page exposes window.owDisplay.
 */
import { $, $$, esc } from "/assets/js/dom.js";
import { createApi } from "/assets/js/api.js";
import { LiveClient } from "/assets/js/live.js";
import { ServerClock, dayKey } from "/assets/js/time.js";
import { Announcer } from "./announcer.js";
import { callKey, hallReducer, latestCalls, windowEntry } from "./hall-state.js";
import { openScreen } from "./screen.js";

const screen = openScreen();
const { boot: cfg, t, tz } = screen;
const zh = screen.i18n.lang === "zh";
const LATEST = cfg.layout === "portrait" ? 5 : 3;  // calls in the big panel (the first is the hero)
const FLASH_MS = 12000;
const CATCH_UP_MS = 60000;
const DAY_CHECK_MS = 60000;
const SERVICES_MS = 60000;      // how often the page asks which services are open (the closed state)

const api = createApi();
const clock = new ServerClock();
const seen = new Set();         // callKeys already shown (never flash or speak a call twice)
const freshUntil = new Map();   // callKey -> time until which it flashes
const shown = [];               // every call this page announced, in order (for tests and diagnostics)
let lastDayCheck = 0;
let opening = null;             // /api/v1/services: which services issue tickets now, and when they open next
let firstSnapshot = true;

const live = new LiveClient({
  namespace: cfg.namespace, load: () => api.get(cfg.state_url), reducer: hallReducer({ recentLimit: cfg.recent_calls }),
});
const state = () => live.state;

// ------------------------------------------------------------------------------------------------ voice
let announcer = null;
let audioCtx = null;
if (cfg.voice && cfg.voice.enabled) {
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    audioCtx = Ctx ? new Ctx() : null;
  } catch (e) { audioCtx = null; }
  announcer = new Announcer({ repeat: cfg.voice.repeat, english: cfg.voice.english, baseUrl: cfg.voice.base, audioContext: audioCtx });
}

const voiceButton = $("#enable-voice");
function checkAudio() {
  if (audioCtx) voiceButton.hidden = audioCtx.state === "running" || audioCtx.state === "closed";
}
if (audioCtx) {
  audioCtx.addEventListener("statechange", checkAudio);
  // With --autoplay-policy=no-user-gesture-required this resumes at once; otherwise the button stays.
  const resumed = audioCtx.state === "running" ? Promise.resolve() : audioCtx.resume();
  Promise.race([resumed, new Promise((r) => setTimeout(r, 800))]).then(checkAudio, checkAudio);
  voiceButton.addEventListener("click", () => announcer.unlock().then(checkAudio, checkAudio));
}

// ------------------------------------------------------------------------------------------------ calls
function announceCall(call, now) {
  const key = callKey(call);
  if (seen.has(key)) return;
  seen.add(key);
  freshUntil.set(key, now + FLASH_MS);
  shown.push({ key, number: call.number, window: call.window, kind: call.kind });
  if (shown.length > 500) shown.splice(0, shown.length - 500);
  if (announcer) announcer.announce({ number: call.number, window: call.window, kind: call.kind, id: key });
  setTimeout(render, FLASH_MS + 50);
}

function onSnapshot(snap) {
  clock.set(snap.now);
  tick();  // the hall's date and time now, not the screen's own until the next second
  const now = Date.now();
  for (const c of state().recent_calls.slice().reverse()) {  // oldest first
    const key = callKey(c);
    if (firstSnapshot || seen.has(key)) { seen.add(key); continue; }
    // A call made while this page was away: show and speak it if it is recent enough to matter.
    if (clock.now() - c.at <= CATCH_UP_MS) announceCall(c, now);
    else seen.add(key);
  }
  firstSnapshot = false;
  // Forget calls that left the recent list: they cannot come back (older seq), so memory stays small.
  const keep = new Set(state().recent_calls.map(callKey));
  for (const k of seen) if (!keep.has(k)) { seen.delete(k); freshUntil.delete(k); }
}

live.subscribe((_state, change) => {
  if (change.kind === "snapshot") onSnapshot(change.snapshot);
  else if (change.result && change.result.call) {
    // a call this page missed while away (caught up on reconnect): spoken only if recent enough to matter
    if (change.caughtUp && clock.now() - change.event.ts > CATCH_UP_MS) seen.add(callKey(change.result.call));
    else announceCall(change.result.call, Date.now());
  }
  render();
});

// ------------------------------------------------------------------------------------------------ closed
async function loadServices() {
  try {
    const body = await api.get(cfg.services_url);
    if (body && body.services) { opening = body.services; render(); }
  } catch (e) { /* keep the last answer; the live state still shows */ }
}

/* Closed: no service issues tickets, nobody waits and no window is serving (the last citizens of the day are
   still shown being called until they are done). */
function hallClosed() {
  const s = state();
  if (!opening || !opening.length || opening.some((o) => o.open)) return false;
  const waiting = [...Object.values(s.waiting), ...Object.values(s.window_waiting)].reduce((a, n) => a + (n || 0), 0);
  return !waiting && !s.windows.some((w) => w.ticket);
}

function dayList(days) {
  const names = t("day_names").split(",");
  const runs = [];
  let start = days[0];
  let prev = days[0];
  for (const d of days.slice(1).concat([null])) {
    if (d === prev + 1) { prev = d; continue; }
    runs.push(start === prev ? names[start] : (prev === start + 1 ? names[start] + t("day_join") + names[prev]
      : t("day_range", { a: names[start], b: names[prev] })));
    start = prev = d;
  }
  return runs.join(t("day_join"));
}

function nextOpening() {
  let first = null;
  for (const s of opening) if (s.opens_at && (!first || s.opens_at < first)) first = s.opens_at;
  if (!first) return "";
  const at = Date.parse(first);
  const f = screen.formatNow(at);
  const md = t("month_day", { m: +first.slice(5, 7), d: +first.slice(8, 10) });
  const today = dayKey(clock.now(), tz) === dayKey(at, tz);
  return t("closed_next", { when: (today ? "" : md + " " + f.weekday + " ") + f.hm });
}

function closedHTML() {
  const rows = cfg.services.map((s) => {
    const hours = (s.hours || []).map((h) => `<span class="days">${esc(dayList(h.days))}</span> ` +
      esc(h.periods.join(" ").replace(/-/g, "–"))).join("<br>");
    return `<li><span class="svc"><i>${esc(s.prefix)}</i>${esc(screen.serviceName(s.code))}</span>` +
      `<span class="hours">${hours}</span></li>`;
  }).join("");
  return `<div class="closed-panel"><div class="closed-title">${esc(t("closed"))}</div>` +
    `<div class="closed-next">${esc(nextOpening())}</div>` +
    `<h3>${esc(t("closed_hours"))}</h3><ul class="closed-hours">${rows}</ul></div>`;
}

// ------------------------------------------------------------------------------------------------ render
// 预约: an appointment's ticket (the call carries the flag, or the ticket at its window does), marked by its number
function bookedMark(c) {
  const s = state();
  const w = s ? windowEntry(s, c.window) : null;
  const booked = c.appointment || (w && w.ticket && w.ticket.id === c.id && w.ticket.appointment);
  return booked ? `<span class="appt">${esc(t("appointment"))}</span>` : "";
}

function callHTML(c, cls) {
  const key = callKey(c);
  const flashing = (freshUntil.get(key) || 0) > Date.now();
  const recall = c.kind === "recall" ? `<span class="tag">${esc(t("recall"))}</span>` : "";
  const win = zh ? `<b>${esc(c.window)}</b>号窗口` : `Window <b>${esc(c.window)}</b>`;
  return `<div class="call ${cls}${flashing ? " flash" : ""}" data-key="${esc(key)}">` +
    `<span class="num">${esc(c.number)}${bookedMark(c)}</span><span class="arrow" aria-hidden="true">&#10140;</span>` +
    `<span class="win">${win}</span><span class="svc">${esc(screen.serviceName(c.service))}${recall}</span></div>`;
}

function render() {
  const s = state();
  if (!s) return;
  const calls = latestCalls(s, 50);
  // "正在叫号" shows only tickets still at their window: a finished, transferred or no-show ticket leaves it at
  // once (its event cleared the window) and stays only in the history below.
  const atWindow = (c) => { const w = windowEntry(s, c.window); return !!(w && w.ticket && w.ticket.id === c.id); };
  let latest = calls.filter(atWindow);
  const hero = $("#hero");
  const closed = hallClosed();
  document.body.classList.toggle("closed", closed);
  if (closed) {
    hero.className = "hero closed";
    hero.innerHTML = closedHTML();
    latest = [];
  } else if (latest.length) {
    hero.className = "hero";
    hero.innerHTML = callHTML(latest[0], "big");
  } else {
    hero.className = "hero empty";
    hero.innerHTML = `<div class="welcome"><div>${esc(t("welcome"))}</div><small>${esc(t("no_calls"))}</small></div>`;
  }
  $("#latest").innerHTML = latest.slice(1, LATEST).map((c) => `<li>${callHTML(c, "mid")}</li>`).join("");
  const shown = new Set(latest.slice(0, LATEST).map((c) => c.id));
  $("#recent").innerHTML = (closed ? [] : calls.filter((c) => !shown.has(c.id))).map((c) => `<li><span class="num">${esc(c.number)}${bookedMark(c)}</span>` +
    `<span class="win">${esc(t("window_n", { n: c.window }))}</span>` +
    `<span class="at">${esc(screen.formatNow(c.at).hm)}</span></li>`).join("");
  $("#waiting").innerHTML = cfg.services.map((svc) => {
    const n = s.waiting[svc.code] || 0;
    return `<li class="${n ? "" : "zero"}"><span class="svc"><i>${esc(svc.prefix)}</i>${esc(screen.serviceName(svc.code))}</span>` +
      `<span class="n">${n}${zh ? "<small>人</small>" : ""}</span></li>`;
  }).join("");
  fit();
}

/* Make everything fit its panel: shrink a call that is too wide (a long window number), drop recent calls that
   do not fit, shrink the waiting list when a hall has many services. */
function fit() {
  const panel = $(".closed-panel");
  const calls = $(".calls");
  if (panel) {
    panel.style.removeProperty("--k");
    for (let k = 0.95; k > 0.4 && calls.scrollHeight > calls.clientHeight + 1; k -= 0.05) panel.style.setProperty("--k", k.toFixed(2));
  }
  for (const el of $$(".call.big, .call.mid")) {
    el.style.removeProperty("--k");
    if (el.scrollWidth > el.clientWidth + 1) el.style.setProperty("--k", (el.clientWidth / el.scrollWidth * 0.97).toFixed(3));
  }
  const recent = $("#recent");
  const box = recent.parentNode;
  while (recent.lastElementChild && box.scrollHeight > box.clientHeight + 1) recent.removeChild(recent.lastElementChild);
  const waiting = $("#waiting");
  const wbox = waiting.parentNode;
  waiting.style.removeProperty("--k");
  for (let k = 0.95; k > 0.5 && wbox.scrollHeight > wbox.clientHeight + 1; k -= 0.05) waiting.style.setProperty("--k", k.toFixed(2));
}

// ------------------------------------------------------------------------------------------------ clock
function tick() {
  const now = clock.now();
  const f = screen.formatNow(now);
  $("#date").textContent = f.date;
  $("#weekday").textContent = f.weekday;
  $("#time").textContent = f.time;
  // A new business day with no event yet: load the new day's snapshot (at most once a minute).
  if (state() && live.connected && dayKey(now, tz) !== state().day && Date.now() - lastDayCheck > DAY_CHECK_MS) {
    lastDayCheck = Date.now();
    live.resync("day");
  }
}

// The notice scrolls (a seamless loop of two copies) only when it does not fit.
const noticeText = $("#notice").textContent;
function fitNotice() {
  const track = $(".notice-track");
  const span = $("#notice");
  span.textContent = noticeText;
  const scroll = span.scrollWidth > track.clientWidth;
  track.classList.toggle("scroll", scroll);
  if (scroll) {
    const one = span.scrollWidth;
    span.innerHTML = `${esc(noticeText)}<i></i>${esc(noticeText)}<i></i>`;
    span.style.setProperty("--marquee", Math.max(10, Math.round(one / (120 * window.innerWidth / 1920))) + "s");
  }
  render();
}

window.owDisplay = {
  cfg, live, announcer, audio: audioCtx, shown, seen, clock,
  state,
  closed: () => !!state() && hallClosed(),
  opening: () => opening,
};
screen.markConnection(live);
tick();
setInterval(tick, 1000);
fitNotice();
window.addEventListener("resize", fitNotice);
document.fonts.addEventListener("loadingdone", fitNotice);  // the web font came: measure again in it
live.start();
loadServices();
setInterval(loadServices, SERVICES_MS);
