/*
 * OneWindow (一窗通) — the phone's booking page (/book, /b/<code>), an ES module on the front-end layer.
 *
 * Book: service → day → slot → ID (and name, phone) → the place is held (POST /api/v1/bookings) → confirm → the
 * booking code and its QR. My booking: look up by code (the codes booked on this phone are remembered in local
 * storage), cancel, move to another slot. Remote ticket: service + ID → POST /api/v1/remote-tickets → the
 * ticket's tracking page (/t/<token>), which follows the queue live. Every action is one API call with its own
 * Idempotency-Key (api.js keeps it for retries). Exposes window.owBook for tests.
 */
import { $, $$, bootData, h } from "/assets/js/dom.js";
import { ApiError, createApi, hallInfo, hallPath } from "/assets/js/api.js";
import { createI18n } from "/assets/js/i18n.js";
import strings from "./phone-strings.js";

const cfg = bootData();
const i18n = createI18n(strings, { lang: new URLSearchParams(location.search).get("lang"), storageKey: "ow-phone-lang" });
const t = (key, vars) => i18n.t(key, vars);
const api = createApi();
const STORE = "ow-phone-bookings" + (hallInfo().live ? "@" + hallInfo().live : "");  // per hall when several
const services = cfg.phone_services || [];

const state = {
  tab: "book", service: null, day: null, slot: null, days: [], slots: [], held: null, booking: null,
  moveDay: null, timer: null, busy: false,
};

// ------------------------------------------------------------------------------------------- helpers
function parts(iso) {  // "2026-11-30" or an ISO time → {y, m, d, wd} (the date as written: the hall's own)
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  return { y, m, d, wd: new Date(Date.UTC(y, m - 1, d)).getUTCDay() };
}

function dayLabel(iso) {
  const p = parts(iso);
  const today = cfg.today || "";
  const next = today ? new Date(Date.UTC(...today.split("-").map((x, i) => Number(x) - (i === 1 ? 1 : 0))) + 86400000)
    .toISOString().slice(0, 10) : "";
  const rel = iso === today ? t("today") : iso === next ? t("tomorrow") : "";
  return { top: rel || t("weekday").split(",")[p.wd], date: t("md", { m: p.m, d: p.d }) };
}

function serviceName(code, b) {
  const s = services.find((x) => x.code === code);
  if (s) return i18n.pick(s.name, s.name_en);
  return b ? i18n.pick(b.service_name, b.service_name_en) : code;
}

function hm(iso) { return iso.slice(11, 16); }

function whenText(b) {
  const d = dayLabel(b.day);
  return d.date + " " + d.top + " " + b.slot + "–" + hm(b.end);
}

function say(message, kind = "error") {
  const box = $("#msg");
  box.textContent = message || "";
  box.className = "pmsg " + kind;
  box.hidden = !message;
  if (message) box.scrollIntoView({ block: "nearest" });
}

function errorText(err) {
  if (err instanceof ApiError) {
    if (i18n.has("e_" + err.code)) return t("e_" + err.code);
    const d = err.details || {};
    if (d.message_zh) return i18n.pick(d.message_zh, d.message_en);
  }
  return t("e_other");
}

async function act(button, fn) {
  if (state.busy) return;
  state.busy = true;
  const label = button ? button.textContent : "";
  if (button) { button.disabled = true; button.textContent = t("working"); }
  say("");
  try {
    await fn();
  } catch (err) {
    say(errorText(err));
    window.owBook.errors.push(err instanceof ApiError ? err.code : String(err));
  } finally {
    state.busy = false;
    if (button) { button.disabled = false; button.textContent = label; }
  }
}

function remembered() {
  try { return JSON.parse(localStorage.getItem(STORE) || "[]"); } catch (e) { return []; }
}

function remember(b) {
  const list = remembered().filter((x) => x.code !== b.code);
  list.unshift({ code: b.code, service: b.service, day: b.day, slot: b.slot });
  try { localStorage.setItem(STORE, JSON.stringify(list.slice(0, 5))); } catch (e) { /* private mode */ }
}

function facts(dl, rows) {
  dl.replaceChildren(...rows.filter(Boolean).map(([k, v]) => h("div", {}, h("dt", { text: t(k) }), h("dd", { text: v }))));
}

// ------------------------------------------------------------------------------------------- tabs
function showTab(tab, { reset = false } = {}) {
  state.tab = tab;
  if (reset && tab === "mine") { $("#lookup").hidden = false; $("#booking").hidden = true; }
  for (const b of $$(".ptab")) b.setAttribute("aria-selected", String(b.dataset.tab === tab));
  for (const p of $$(".panel")) p.hidden = p.dataset.panel !== tab;
  say("");
  if (tab === "mine") renderRecent();
}

// ------------------------------------------------------------------------------------------- book: pickers
function renderServices() {
  const list = services.filter((s) => s.booking);
  $("#services").replaceChildren(...(list.length ? list.map((s) => h("button", {
    type: "button", class: "choice" + (state.service === s.code ? " on" : ""), dataset: { service: s.code },
    on: { click: () => pickService(s.code) },
  }, h("b", { text: i18n.pick(s.name, s.name_en) }))) : [h("p", { class: "empty", text: t("no_services") })]));
  $("#picked-service").textContent = state.service ? " · " + serviceName(state.service) : "";
}

function dayButtons(days, picked, onPick) {
  return days.map((d) => {
    const label = dayLabel(d.day);
    const usable = d.open && d.left > 0;
    return h("button", {
      type: "button", class: "day" + (picked === d.day ? " on" : ""), disabled: !usable, dataset: { day: d.day },
      on: { click: () => onPick(d.day) },
    }, h("span", { class: "wd", text: label.top }), h("b", { text: label.date }),
    h("small", { text: d.open ? t("places_left", { n: d.left }) : t("day_closed") }));
  });
}

function slotButtons(slots, onPick, current) {
  if (!slots.length || !slots.some((s) => s.bookable)) return [h("p", { class: "empty", text: t("no_slots") })];
  return slots.filter((s) => s.bookable || s.left === 0).map((s) => h("button", {
    type: "button", class: "slot" + (current === s.start ? " on" : ""), disabled: !s.bookable,
    dataset: { start: s.start.slice(0, 16) }, on: { click: () => onPick(s) },
  }, h("b", { text: s.slot }), h("small", { text: t("places_left", { n: s.left }) })));
}

async function loadDays(service) {
  return (await api.get(`/api/v1/phone/services/${encodeURIComponent(service)}/days`)).days;
}

async function loadSlots(service, day) {
  return (await api.get(`/api/v1/phone/services/${encodeURIComponent(service)}/slots?day=${day}`)).slots;
}

function pickService(code) {
  act(null, async () => {
    state.service = code; state.day = null; state.slot = null; state.slots = [];
    state.days = await loadDays(code);
    const first = state.days.find((d) => d.open && d.left > 0);
    if (first) { state.day = first.day; state.slots = await loadSlots(code, first.day); }
    step("day");
  });
}

function pickDay(day) {
  act(null, async () => {
    state.day = day; state.slot = null;
    state.slots = await loadSlots(state.service, day);
    renderBook();
  });
}

function pickSlot(slot) {
  state.slot = slot;
  step("person");
  $("#id-number").focus();
}

function step(name) {
  for (const s of ["service", "day", "person", "confirm"]) $("#step-" + s).hidden = true;
  $("#step-service").hidden = !(name === "service" || name === "day");
  $("#step-day").hidden = name !== "day";
  $("#step-person").hidden = name !== "person";
  $("#step-confirm").hidden = name !== "confirm";
  renderBook();
}

function renderBook() {
  renderServices();
  $("#days").replaceChildren(...dayButtons(state.days, state.day, pickDay));
  $("#slots").replaceChildren(...slotButtons(state.slots, pickSlot, state.slot && state.slot.start));
  if (state.slot) {
    const d = dayLabel(state.day);
    $("#picked-slot").textContent = serviceName(state.service) + " · " + d.date + " " + d.top + " " +
      state.slot.slot + "–" + hm(state.slot.end);
  }
  if (state.held) renderHeld();
}

// ------------------------------------------------------------------------------------------- book: hold, confirm
function renderHeld() {
  const b = state.held;
  facts($("#confirm-facts"), [["service", serviceName(b.service, b)], ["when", whenText(b)],
    ["person", b.id_masked]]);
  const left = Math.max(0, Math.round((Date.parse(b.hold_until) - Date.now()) / 1000));
  $("#hold-left").textContent = left > 0 ? t("hold_left", { s: left }) : t("hold_gone");
  $("#confirm").disabled = left <= 0;
}

async function hold() {
  const body = {
    service: state.service, start: state.slot.start.slice(0, 16), id_number: $("#id-number").value.trim(),
    name: $("#name").value.trim(), phone: $("#phone").value.trim(), lang: i18n.lang,
  };
  try {
    state.held = (await api.post("/api/v1/bookings", body)).booking;
  } catch (err) {
    if (err instanceof ApiError && ["slot_full", "slot_unavailable"].includes(err.code)) {
      state.slots = await loadSlots(state.service, state.day).catch(() => state.slots);
      state.slot = null;
      step("day");
    }
    throw err;
  }
  remember(state.held);
  clearInterval(state.timer);
  state.timer = setInterval(renderHeld, 1000);
  step("confirm");
}

async function confirmHeld() {
  const b = (await api.post(`/api/v1/bookings/${state.held.code}/confirm`)).booking;
  clearInterval(state.timer);
  state.held = null;
  $("#id-number").value = "";
  showTab("mine");
  showBooking(b);
  history.replaceState(null, "", hallPath("/b/") + b.code + location.search);
  step("service");
}

// ------------------------------------------------------------------------------------------- my booking
function showBooking(b) {
  state.booking = b;
  remember(b);
  $("#lookup").hidden = true;
  $("#booking").hidden = false;
  $("#booking-title").textContent = b.state === "confirmed" ? t("done_title") : t("state_" + b.state);
  $("#booking").dataset.state = b.state;
  $("#booking-code").textContent = b.code;
  $("#booking-qr").src = b.qr_svg;
  $("#booking-qr").hidden = !["held", "confirmed"].includes(b.state);
  facts($("#booking-facts"), [
    ["state", t("state_" + b.state)], ["service", serviceName(b.service, b)], ["when", whenText(b)],
    ["person", b.id_masked],
    b.check_in && b.state === "confirmed" ? ["check_in_label", t("check_in_window", { from: hm(b.check_in.opens), to: hm(b.check_in.closes) })] : null,
  ]);
  const changeable = b.state === "confirmed" || b.state === "held";
  $("#booking-actions").hidden = !changeable;
  $("#reschedule").hidden = b.state !== "confirmed";
  $("#cancel-ask").hidden = true;
  $("#move").hidden = true;
}

async function lookup(code) {
  const b = (await api.get(`/api/v1/bookings/${encodeURIComponent(code.trim())}`)).booking;
  showBooking(b);
}

function renderRecent() {
  const list = remembered();
  $("#recent").hidden = !list.length;
  $("#recent-list").replaceChildren(...list.map((x) => h("button", {
    type: "button", class: "recent-item", dataset: { code: x.code },
    on: { click: () => act(null, () => lookup(x.code)) },
  }, h("b", { text: x.code }), h("span", { text: serviceName(x.service) + " · " + dayLabel(x.day).date + " " + x.slot }))));
}

async function cancelBooking() {
  const b = (await api.post(`/api/v1/bookings/${state.booking.code}/cancel`)).booking;
  showBooking(b);
  say(t("cancelled_done"), "ok");
}

function renderMove(days, slots) {
  $("#move-days").replaceChildren(...dayButtons(days, state.moveDay, (day) => act(null, async () => {
    state.moveDay = day;
    renderMove(days, await loadSlots(state.booking.service, day));
  })));
  $("#move-slots").replaceChildren(...slotButtons(slots, (s) => act(null, async () => {
    const b = (await api.post(`/api/v1/bookings/${state.booking.code}/reschedule`, { start: s.start.slice(0, 16) })).booking;
    showBooking(b);
    say(t("rescheduled_done"), "ok");
  }), state.booking.start));
}

async function openMove() {
  const days = await loadDays(state.booking.service);
  state.moveDay = state.booking.day;
  renderMove(days, await loadSlots(state.booking.service, state.moveDay));
  $("#booking-actions").hidden = true;
  $("#move").hidden = false;
}

// ------------------------------------------------------------------------------------------- remote ticket
let remoteService = null;

function renderRemote() {
  const list = services.filter((s) => s.remote);
  if (!remoteService && list.length === 1) remoteService = list[0].code;
  $("#remote-services").replaceChildren(...(list.length ? list.map((s) => h("button", {
    type: "button", class: "choice" + (remoteService === s.code ? " on" : ""), dataset: { service: s.code },
    on: { click: () => { remoteService = s.code; renderRemote(); } },
  }, h("b", { text: i18n.pick(s.name, s.name_en) }))) : [h("p", { class: "empty", text: t("no_remote") })]));
  $("#take-remote").disabled = !remoteService;
}

async function takeRemote() {
  const r = await api.post("/api/v1/remote-tickets", {
    service: remoteService, id_number: $("#remote-id").value.trim(), phone: $("#remote-phone").value.trim(),
    lang: i18n.lang,
  });
  location.assign(r.tracking_url + (i18n.lang === "en" ? "?lang=en" : ""));
}

// ------------------------------------------------------------------------------------------- wiring
for (const b of $$(".ptab")) b.addEventListener("click", () => showTab(b.dataset.tab, { reset: true }));
$("#step-person").addEventListener("submit", (ev) => { ev.preventDefault(); act($("#hold"), hold); });
$("#person-back").addEventListener("click", () => step("day"));
$("#confirm").addEventListener("click", () => act($("#confirm"), confirmHeld));
// going back gives the held place up at once (else the person's own hold would block another slot that day)
$("#confirm-back").addEventListener("click", () => act($("#confirm-back"), async () => {
  clearInterval(state.timer);
  const held = state.held;
  state.held = null;
  if (held) await api.post(`/api/v1/bookings/${held.code}/cancel`).catch(() => null);
  state.slots = await loadSlots(state.service, state.day);
  state.slot = null;
  step("day");
}));
$("#lookup").addEventListener("submit", (ev) => { ev.preventDefault(); act($("#lookup-go"), () => lookup($("#code").value)); });
$("#cancel").addEventListener("click", () => { $("#cancel-ask").hidden = false; $("#booking-actions").hidden = true; });
$("#cancel-no").addEventListener("click", () => showBooking(state.booking));
$("#cancel-yes").addEventListener("click", () => act($("#cancel-yes"), cancelBooking));
$("#reschedule").addEventListener("click", () => act($("#reschedule"), openMove));
$("#move-back").addEventListener("click", () => showBooking(state.booking));
$("#remote").addEventListener("submit", (ev) => { ev.preventDefault(); act($("#take-remote"), takeRemote); });

function applyLang() {
  $("#hall-name").textContent = i18n.pick(cfg.hall.name, cfg.hall.name_en);
  document.title = t("page_title") + " — " + i18n.pick(cfg.hall.name, cfg.hall.name_en);
  document.body.classList.toggle("lang-en", i18n.lang === "en");
  document.body.classList.toggle("lang-zh", i18n.lang !== "en");
  renderBook();
  renderRemote();
  renderRecent();
  if (state.booking) showBooking(state.booking);
}

i18n.switchButton($("#lang"));
i18n.onChange(applyLang);
i18n.apply();
window.owBook = { cfg, state, errors: [], i18n };
applyLang();
if (cfg.code) {
  showTab("mine");
  $("#code").value = cfg.code;
  act($("#lookup-go"), () => lookup(cfg.code));
} else {
  showTab(location.hash === "#remote" ? "remote" : location.hash === "#mine" ? "mine" : "book");
}
