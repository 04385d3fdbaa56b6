/*
 * OneWindow (一窗通) — the evaluation tablet of one window (好差评, /rate/<n>), an ES module on the front-end layer.
 *
 * The tablet is a device with a token bound to its window (docs/counter.md): paired once here (or opened as
 * /rate/<n>#pair=<token>), kept in this browser, sent as "Authorization: Bearer" on every rating call and in the
 * handshake of the /staff namespace, where it hears only its own window's rating_opened / rating_closed. Its live
 * snapshot is GET /api/v1/windows/<n>/rating (which rating is open now); each of those events loads it again, so a
 * reload or a network drop loses nothing. An open rating offers the five levels for [counter] rating_seconds, then
 * thanks and resets; once a level with a form is chosen, the server holds the rating for [counter]
 * rating_detail_seconds so the reason being typed is not lost when the first time runs out.
 */
import { $, $$, bootData, h } from "/assets/js/dom.js";
import { ApiError, createApi } from "/assets/js/api.js";
import { pairedDevice } from "/assets/js/device.js";
import { createI18n } from "/assets/js/i18n.js";
import { LiveClient, NAMESPACES, RESYNC } from "/assets/js/live.js";
import strings from "./rate-strings.js";

const BOOT = bootData();
const WINDOW = BOOT.window;
const THANKS_MS = 5000;
const ERROR_MS = 4000;
const RATING_EVENTS = new Set(["rating_opened", "rating_closed"]);

const device = pairedDevice("ow.rate.token." + WINDOW);
const api = createApi({ token: () => device.token() });
const i18n = createI18n(strings, { storageKey: "ow.rate.lang" });
const t = (key, vars) => i18n.t(key, vars);
const st = { rating: null, deadline: 0, total: 0, timer: null, resetTimer: null, sending: false };
let live = null;

function applyLang() {
  $("#hall-name").textContent = i18n.pick(BOOT.hall.name, BOOT.hall.name_en);
  for (const b of $$(".level")) {
    const level = BOOT.levels.find((l) => l.level === Number(b.dataset.level));
    b.querySelector(".label").textContent = i18n.pick(level.label, level.label_en);
  }
  $("#window-no").textContent = t("window_no", { n: WINDOW });
  document.title = t("title") + " · " + t("window_no", { n: WINDOW });
  if (st.rating) showTicket();
  if (document.body.dataset.state === "detail") renderDetail();
}

function show(view) {
  document.body.dataset.state = view;
  for (const v of ["pair", "idle", "open", "detail", "thanks", "error"]) $("#view-" + v).hidden = v !== view;
}

// ------------------------------------------------------------------------------------------- pairing
async function whoIs(token) {
  const who = await device.whoIs(api, token);
  if (who.ok) return who.device.kind === "tablet" && who.device.window === WINDOW ? "ok" : "pair_other";
  return who.reason === "bad" ? "pair_bad" : "e_network";
}

function unpair(messageKey) {
  device.forget();
  if (live) { live.stop(); live = null; }
  clearInterval(st.timer); clearTimeout(st.resetTimer);
  st.rating = null;
  $("#pair-error").hidden = !messageKey;
  $("#pair-error").textContent = messageKey ? t(messageKey) : "";
  show("pair");
}

function idle() {
  clearInterval(st.timer); clearTimeout(st.resetTimer);
  st.rating = null;
  show(device.token() ? "idle" : "pair");
}

// ------------------------------------------------------------------------------------------- the rating
function showTicket() {
  const r = st.rating;
  $("#ticket").textContent = t("ticket", { number: r.number, service: i18n.pick(r.service_name, r.service_name_en) });
}

function open(rating) {
  if (st.rating && st.rating.ticket_id === rating.ticket_id && ["open", "detail"].includes(document.body.dataset.state)) {
    st.deadline = Date.now() + rating.seconds_left * 1000;
    return;
  }
  clearInterval(st.timer); clearTimeout(st.resetTimer);
  st.rating = rating;
  st.total = rating.rating_seconds * 1000;
  st.deadline = Date.now() + rating.seconds_left * 1000;
  showTicket();
  for (const b of $$(".level")) { b.disabled = false; b.classList.remove("chosen"); }
  show("open");
  countdown();
  st.timer = setInterval(countdown, 200);
}

function countdown() {
  const left = st.deadline - Date.now();
  if (left <= 0) { idle(); return; }
  $("#countdown-bar").style.width = Math.max(0, Math.min(100, (left / st.total) * 100)) + "%";
  $("#left").textContent = t("left", { s: Math.ceil(left / 1000) });
  $("#detail-left").textContent = $("#left").textContent;
}

/* A level chosen: its content options as tap choices (ratings.rating_form), free text where the level takes it,
   and — after 不满意 / 非常不满意 — the reason (asked for) and an optional call-back phone. */
const PHONE = /^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/;

function formOf(level) {
  return (st.form || BOOT.rating_form || []).find((f) => f.level === level) || { options: [], text: false, contact: false };
}

function chooseLevel(level, button) {
  if (!st.rating || st.sending) return;
  const f = formOf(level);
  for (const b of $$(".level")) b.classList.toggle("chosen", b === button);
  if (!f.options.length && !f.text && !f.contact) { send(level, {}); return; }
  st.level = level;
  renderDetail();
  $("#detail-text").value = ""; $("#detail-phone").value = ""; $("#detail-error").textContent = "";
  show("detail");
  holdForDetail();
}

/* The reason takes longer than a tap: the server holds this rating open for [counter] rating_detail_seconds (once),
   and the countdown follows what it granted. Without an answer the countdown stays as it was. */
async function holdForDetail() {
  const rating = st.rating;
  if (!rating || rating.held) return;
  try {
    const data = await api.post(`/api/v1/windows/${WINDOW}/rating/hold`, { ticket_id: rating.ticket_id });
    if (st.rating !== rating) return;
    rating.held = true;
    const left = data.seconds_left * 1000;
    if (Date.now() + left > st.deadline) { st.deadline = Date.now() + left; st.total = Math.max(st.total, left); }
  } catch (err) {
    if (err.status === 409 && st.rating === rating && err.code === "already_rated") idle();
  }
}

function renderDetail() {
  const f = formOf(st.level);
  if (!f.label) return;
  const label = i18n.pick(f.label, f.label_en);
  $("#detail-title").textContent = t(f.bad ? "detail_bad" : "detail_good", { label });
  $("#detail-hint").textContent = t(f.bad ? "detail_hint_bad" : "detail_hint_good");
  const chosen = new Set($$("#options .option.on").map((b) => b.dataset.code));
  $("#options").replaceChildren(...f.options.map((o) => h("button", {
    type: "button", class: "option" + (chosen.has(o.code) ? " on" : ""), dataset: { code: o.code },
    "aria-pressed": chosen.has(o.code) ? "true" : "false", text: i18n.pick(o.label, o.label_en),
    on: { click: (ev) => { const b = ev.currentTarget; b.classList.toggle("on"); b.setAttribute("aria-pressed", String(b.classList.contains("on"))); } },
  })));
  $("#text-field").hidden = !f.text;
  $("#phone-field").hidden = !f.contact;
  $("#phone-note").hidden = !f.contact;
  document.body.dataset.bad = f.bad ? "1" : "";
}

function submitDetail() {
  const f = formOf(st.level);
  const options = $$("#options .option.on").map((b) => b.dataset.code);
  const text = f.text ? $("#detail-text").value.trim() : "";
  const phone = f.contact ? $("#detail-phone").value.replace(/[\s]/g, "") : "";
  if (f.bad && !options.length && !text) { $("#detail-error").textContent = t("e_reason"); return; }
  if (phone && !PHONE.test(phone)) { $("#detail-error").textContent = t("e_phone"); $("#detail-phone").focus(); return; }
  const extra = {};
  if (options.length) extra.options = options;
  if (text) extra.text = text;
  if (phone) extra.contact_phone = phone;
  send(st.level, extra);
}

$("#detail-submit").addEventListener("click", submitDetail);
$("#detail-back").addEventListener("click", () => {
  if (!st.rating) return idle();
  for (const b of $$(".level")) b.classList.remove("chosen");
  show("open");
});

async function send(level, extra) {
  if (!st.rating || st.sending) return;
  st.sending = true;
  for (const b of $$(".level")) b.disabled = true;
  $("#detail-submit").disabled = true;
  clearInterval(st.timer);
  try {
    const data = await api.post(`/api/v1/windows/${WINDOW}/rating`, { ticket_id: st.rating.ticket_id, level, ...extra });
    $("#thanks-text").textContent = t(data.follow_up ? "thanks_follow" : "thanks_text", { label: i18n.pick(data.label, data.label_en) });
    st.rating = null;
    show("thanks");
    st.resetTimer = setTimeout(idle, THANKS_MS);
  } catch (err) {
    st.rating = null;
    if (err.status === 0) {
      $("#error-text").textContent = t("e_network");
      show("error");
      st.resetTimer = setTimeout(async () => {
        if (live) await live.resync("error");
        if (document.body.dataset.state === "error") idle();
      }, ERROR_MS);
    } else {
      $("#error-text").textContent = i18n.has("e_" + err.code) ? t("e_" + err.code) : (err.message || t("e_network"));
      show("error");
      st.resetTimer = setTimeout(idle, ERROR_MS);
    }
  } finally {
    st.sending = false;
    $("#detail-submit").disabled = false;
  }
}

// ------------------------------------------------------------------------------------------- live
function follow() {
  if (live) return;
  live = new LiveClient({
    namespace: NAMESPACES.staff,
    auth: () => ({ token: device.token() }),
    resyncEveryMs: 60000,
    load: async () => {
      try {
        return await api.get(`/api/v1/windows/${WINDOW}/rating`);
      } catch (err) {
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) unpair("pair_lost");
        throw err;
      }
    },
    onSnapshot: (snap) => {
      if (snap.form) st.form = snap.form;
      if (snap.rating) open(snap.rating);
      else if (["open", "detail"].includes(document.body.dataset.state)) idle();
    },
    onEvent: (ev) => (RATING_EVENTS.has(ev.type) ? RESYNC : undefined),  // which rating is open: the server says
  });
  live.onStatus((status) => { $("#conn").dataset.state = status === "live" ? "on" : "off"; });
  live.start();
}

for (const b of $$(".level")) b.addEventListener("click", () => chooseLevel(Number(b.dataset.level), b));
i18n.switchButton($("#lang"));
i18n.onChange(applyLang);

$("#pair-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const value = $("#pair-token").value.trim();
  if (!value) return;
  $("#pair-go").disabled = true;
  const who = await whoIs(value);
  $("#pair-go").disabled = false;
  if (who === "ok") {
    device.store(value);
    $("#pair-token").value = "";
    $("#pair-error").hidden = true;
    idle();
    follow();
  } else {
    $("#pair-error").textContent = t(who);
    $("#pair-error").hidden = false;
  }
});

async function start() {
  device.takeLink();  // /rate/<n>#pair=<token>
  if (!device.token()) { unpair(""); return; }
  const who = await whoIs(device.token());
  if (who === "ok" || who === "e_network") { idle(); follow(); } else unpair(who === "pair_bad" ? "pair_lost" : who);
}

window.addEventListener("hashchange", start);
window.owRate = { live: () => live };
i18n.apply();
applyLang();
start();
for (const id of ["#detail-phone", "#detail-text"]) $(id).addEventListener("input", () => { $("#detail-error").textContent = ""; });
