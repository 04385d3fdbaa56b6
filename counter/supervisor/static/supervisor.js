/*
 * OneWindow (一窗通) — 值班主任工作台, the supervisor desk (/supervisor), an ES module on the front-end layer: today's
 * figures and the live hall, reports with CSV and charts (SVG drawn by the server, put inline by charts.js), follow-ups, and the calendar
 * (weekend rota, holidays, 调休).
 *
 * Live: the live client on the /staff namespace (the session's CSRF token in the handshake) with GET
 * /api/v1/supervisor/overview as its snapshot; any event asks for a fresh one (throttled), and for today's figures
 * and the follow-ups a little later. State changes go through the layer's API client (CSRF token, Idempotency-Key).
 */
import { hallPath } from "/assets/js/api.js";
import { chartLoader } from "/assets/js/charts.js";
import { $, $$, bootData, esc } from "/assets/js/dom.js";
import { figureWords, periodBar } from "/assets/js/figures.js";
import { createI18n } from "/assets/js/i18n.js";
import { transferBy, transferCard } from "/assets/js/transfers.js";
import { LiveClient, NAMESPACES } from "/assets/js/live.js";
import { connectionBadge, lastAsker, staffSession, toaster } from "/assets/js/staff.js";
import { waitKey } from "/assets/js/wait-strings.js";
import strings from "./supervisor-strings.js";

const BOOT = bootData();
const OVERVIEW_MS = 1000;          // at most one overview snapshot per this, however busy the hall
const FIGURES_MS = 1500;           // today's figures and the follow-ups, after a burst of events
const CLOCK_MS = 20000;            // waits grow with the clock, not only with events

const i18n = createI18n(strings, { storageKey: "ow.supervisor.lang" });
const t = (key, vars) => i18n.t(key, vars);
const en = () => i18n.en;
const { dur, pct, num, errText } = figureWords(i18n);
const session = staffSession({ onSignedOut: () => showLogin() });
const api = session.api;
const toast = toaster($("#toast"));
const lastAsked = lastAsker(api, (e) => toast(errText(e), "error"));  // answers may come back out of order: the last ask wins
const charts = chartLoader(api, { lang: () => i18n.lang, failed: (e) => t("chart_failed", { m: errText(e) }) });
const state = {
  me: null, tab: "dashboard", period: "day", fstatus: "open", overview: null, today: null,
  calendar: null, editing: null, timers: {}, rstate: "open", obstate: "pending", revealed: {},
};
let live = null;
connectionBadge(null, $("#conn"), $("#conn-text"), i18n);

const svcName = (s) => (en() ? (s.service_name_en || s.name_en || s.service_name || s.name) : (s.service_name || s.name));
const weekday = (d) => t("weekdays").split(",")[d.getDay()];

const list = (xs) => xs.join(en() ? ", " : "、");

/* ----------------------------------------------------------------------------------------- language */
function applyLang() {
  $("#hall-name").textContent = i18n.pick(BOOT.hall.name, BOOT.hall.name_en);
  document.title = t("title") + " · " + i18n.pick(BOOT.hall.name, BOOT.hall.name_en);
  fillGroupings();
  if (state.me) renderAll();
}
function fillGroupings() {
  const sel = $("#r-by");
  const cur = sel.value || "service";
  sel.innerHTML = BOOT.groupings.map((g) => `<option value="${g}">${esc(t("by_" + g))}</option>`).join("");
  sel.value = cur;
}

/* ----------------------------------------------------------------------------------------- session */
async function start() {
  i18n.apply();
  applyLang();
  setInterval(tick, 1000); tick();
  try {
    const me = await session.me();
    if (me.role === "guide") signedInGuide(me);
    else if (me.role !== "supervisor") throw Object.assign(new Error("not a supervisor"), { code: "not_supervisor" });
    else signedIn(me);
  } catch (e) {
    showLogin(e.code === "not_supervisor" ? errText(e) : "");
  }
  document.body.classList.remove("is-loading");
}
function showLogin(message) {
  if (live) { live.stop(); live = null; }
  clearInterval(state.timers.poll);
  state.me = null;
  $("#login").hidden = false; $("#app").hidden = true; $("#logout").hidden = true; $("#who").hidden = true;
  const err = $("#login-error"); err.hidden = !message; err.textContent = message || "";
  $("#username").focus();
}
function signedIn(me) {
  state.me = me;
  $("#login").hidden = true; $("#app").hidden = false; $("#logout").hidden = false;
  $("#who").hidden = false; $("#who").textContent = me.name;
  connect();
  refreshDashboard(); refreshFollowups(); loadCalendar();
  state.timers.poll = setInterval(() => live && live.resync("clock"), CLOCK_MS);
}
/* a guide (导办) in the lobby: only the 帮办代办 form of this desk (no figures, no live hall) */
function signedInGuide(me) {
  state.me = me;
  document.body.classList.add("guide");
  $("#login").hidden = true; $("#app").hidden = false; $("#logout").hidden = false;
  $("#who").hidden = false; $("#who").textContent = me.name;
  $("#assist-number").focus();
}
$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    const me = await session.login({ username: $("#username").value.trim(), password: $("#password").value });
    if (me.role === "guide") { $("#password").value = ""; signedInGuide(me); return; }
    if (me.role !== "supervisor") {
      await session.logout().catch(() => {});
      throw Object.assign(new Error("not a supervisor"), { code: "not_supervisor" });
    }
    $("#password").value = "";
    signedIn(me);
  } catch (e) {
    // a clerk's account needs a window to sign in: on this page that means "not a supervisor"
    showLogin(errText(e.code === "missing_field" ? Object.assign(e, { code: "not_supervisor" }) : e));
  }
});
$("#logout").addEventListener("click", async () => {
  await session.logout().catch(() => {});
  location.reload();
});
i18n.switchButton($("#lang"));
i18n.onChange(applyLang);
function tick() {
  $("#clock").textContent = new Date().toLocaleTimeString(en() ? "en-GB" : "zh-CN", { hour12: false });
}

/* ----------------------------------------------------------------------------------------- live */
function connect() {
  if (live) live.stop();
  live = new LiveClient({
    namespace: NAMESPACES.staff,
    auth: () => ({ csrf: session.csrf }),
    load: () => api.get("/api/v1/supervisor/overview"),
    refreshMs: OVERVIEW_MS,
    onSnapshot: (o) => { state.overview = o; renderOverview(); },
    onEvent: () => {
      live.refreshSoon();
      later("today", refreshToday, FIGURES_MS);
      if (state.tab === "followups") later("followups", refreshFollowups, FIGURES_MS);
      if (state.tab === "hcp") later("hcp", refreshHcp, FIGURES_MS);
    },
  });
  connectionBadge(live, $("#conn"), $("#conn-text"), i18n);
  live.start();
}
function later(name, fn, ms) {
  if (state.timers[name]) return;
  state.timers[name] = setTimeout(() => { state.timers[name] = null; fn(); }, ms);
}

/* ----------------------------------------------------------------------------------------- tabs */
$$(".tabs [data-tab]").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
function showTab(name) {
  state.tab = name;
  $$(".tabs [data-tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
  $$(".tab").forEach((s) => { s.hidden = s.id !== "tab-" + name; });
  if (name === "reports") loadReport();
  if (name === "followups") refreshFollowups();
  if (name === "schedule") loadCalendar();
  if (name === "hcp") refreshHcp();
  if (name === "dashboard") refreshDashboard();
}

function renderAll() {
  renderToday(); renderOverview(); renderCumulative();
  if (state.report) renderReport();
  renderFollowups(); renderCalendar(); renderRects(); renderOutbox();
  charts.reload();
}

/* ----------------------------------------------------------------------------------------- dashboard */
function refreshDashboard() { refreshToday(); refreshOverview(); refreshCumulative(); }
async function refreshToday() {
  // the chart first, while the report is on its way: shown after it, a chart that waited in the hidden tab was
  // fetched twice when the dashboard was shown (once on getting a size, once here), the first answer dropped
  charts.show($("#dash-load"), "/api/v1/supervisor/charts/load.svg?period=day");
  try {
    state.today = await api.get("/api/v1/supervisor/report?period=day");
    renderToday();
  } catch (e) { if (e.status === 401) showLogin(); }
}
function kpiTiles(f, host) {
  const tiles = [
    ["issued", num(f.issued)], ["handled", num(f.handled)], ["consulted", num(f.consulted)],
    ["no_show", num(f.no_show)], ["transfers", num(f.transfers)], ["cancelled", num(f.cancelled)],
    ["wait_mean", dur(f.wait.mean_s), t("median_p90", {m: dur(f.wait.median_s), p: dur(f.wait.p90_s)})],
    ["service_mean", dur(f.service_time.mean_s), t("median_p90", {m: dur(f.service_time.median_s), p: dur(f.service_time.p90_s)})],
    ["completion", pct(f.completion_rate), t("accepted_open", {a: f.accepted, o: f.open_cases})],
    ["satisfaction", pct(f.satisfaction_rate), t("ratings_n", {n: f.ratings})],
  ];
  host.innerHTML = tiles.map(([k, v, sub]) => `<div class="kpi" data-kpi="${k}"><div class="kpi-label">${esc(t(k))}</div>` +
    `<div class="kpi-value">${esc(v)}</div>${sub ? `<div class="kpi-sub">${esc(sub)}</div>` : ""}</div>`).join("");
}
function renderToday() {
  if (!state.today) return;
  kpiTiles(state.today.total.figures, $("#kpis"));
  const d = new Date(state.today.from + "T00:00:00");
  $("#today-label").textContent = state.today.from + (en() ? " " : " 星期") + weekday(d);
}
function refreshOverview() {
  if (live) live.resync("changed");
}
function renderOverview() {
  const o = state.overview;
  if (!o) return;
  const kinds = {workday: "k_workday_day", weekend: "k_weekend", holiday: "k_holiday_day", makeup: "k_makeup"};
  const kindEl = $("#today-kind");
  kindEl.textContent = t(kinds[o.day_kind] || "k_workday_day");
  kindEl.dataset.rest = String(o.rest_day);
  $("#windows").innerHTML = o.windows.map((w) => {
    let detail = "";
    if (w.current) detail = `<div class="w-ticket">${esc(w.current.number)}</div><div class="w-sub">${esc(svcName(w.current))} · ${esc(t("serving_for", {t: dur(w.current.serving_s)}))}</div>`;
    else if (w.status === "paused") detail = `<div class="w-sub">${esc(t("paused_for", {r: w.pause_reason || "—"}))}</div>`;
    else if (!w.on_rota) detail = `<div class="w-sub">${esc(t("off_rota"))}</div>`;
    return `<div class="wcard" data-window="${w.number}" data-status="${w.status}">` +
      `<div class="w-head"><span class="w-no">${w.number}</span><span class="w-name">${esc(en() ? "Window " + w.number : w.name)}</span>` +
      `<span class="w-status">${esc(t("st_" + w.status))}</span></div>` +
      `<div class="w-clerk">${esc(w.clerk_name || t("nobody"))}</div>${detail}</div>`;
  }).join("");
  $("#queues tbody").innerHTML = o.services.map((s) => {
    const w = s.wait || null, serving = (w && w.windows) || s.windows_open;
    const cls = [s.longest_wait_s >= o.alert_wait_minutes * 60 && s.waiting ? "late" : "", s.open_today ? "" : "closed",
      s.waiting && w && w.state === "no_window" ? "no-window" : ""].filter(Boolean).join(" ");
    // the citizens' estimate for a new ticket, in the kiosk's and the phone's words (shared wait-strings.js)
    const est = waitKey(w) ? t(waitKey(w), { n: w.minutes }) : "—";
    return `<tr data-service="${s.code}" class="${cls}">` +
      `<td><span class="prefix">${esc(s.prefix)}</span> ${esc(en() ? (s.name_en || s.name) : s.name)}</td>` +
      `<td class="num">${s.waiting}</td><td class="num">${s.waiting ? esc(dur(s.longest_wait_s)) : "—"}</td>` +
      `<td>${serving.length ? list(serving) : "—"}</td>` +
      `<td class="est" data-state="${w ? w.state : ""}">${esc(est)}</td></tr>`;
  }).join("");
  const overdue = o.rectifications_overdue || { count: 0 };
  const overdueAlert = overdue.count ? [`<div class="alert overdue" data-alert="overdue" role="button" tabindex="0">${esc(t("alert_overdue", {n: overdue.count, d: overdue.oldest_due || ""}))}</div>`] : [];
  $("#alerts").innerHTML = o.alerts.map((a) => {
    if (a.kind === "help") return `<div class="alert help" data-alert="help" data-kiosk="${esc(a.kiosk)}">${esc(t("alert_help", {k: a.kiosk, t: dur(a.waiting_s)}))} ` +
      `<button type="button" class="small" data-help-kiosk="${esc(a.kiosk)}" data-help-request="${esc(a.request)}">${esc(t("help_handled"))}</button></div>`;
    if (a.kind === "no_window") return `<div class="alert no_window" data-alert="no_window" data-service="${esc(a.service)}">${esc(t("alert_no_window", {s: en() ? (a.service_name_en || a.service_name) : a.service_name, n: a.waiting}))}</div>`;
    if (a.kind === "wait") return `<div class="alert wait" data-alert="wait">${esc(t("alert_wait", {s: en() ? (a.service_name_en || a.service_name) : a.service_name, t: dur(a.longest_wait_s), m: Math.round(a.threshold_s / 60), n: a.waiting}))}</div>`;
    return `<div class="alert printer" data-alert="printer">${esc(t("alert_printer", {k: a.kiosk, f: i18n.has("pf_" + a.fault) ? t("pf_" + a.fault) : a.fault, msg: a.message || ""}))}</div>`;
  }).concat(overdueAlert).join("");
  const badge = $("#hcp-count");
  badge.hidden = !overdue.count; badge.textContent = overdue.count;
  const link = $("#alerts [data-alert=overdue]");
  if (link) {
    const go = () => { state.rstate = "overdue"; markOn("#rect-state", "state", "overdue"); showTab("hcp"); };
    link.addEventListener("click", go);
    link.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); go(); } });
  }
  $$("#alerts [data-help-request]").forEach((b) => b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await api.post(`/api/v1/supervisor/help/${encodeURIComponent(b.dataset.helpKiosk)}/${encodeURIComponent(b.dataset.helpRequest)}/handled`, {});
      toast(t("help_done"));
    } catch (e) { toast(errText(e), "error"); }
    live && live.refreshSoon();
  }));
}
async function refreshCumulative() {
  try { state.cumulative = await api.get("/api/v1/supervisor/cumulative"); renderCumulative(); } catch (e) { /* shown next time */ }
}
function renderCumulative() {
  const c = state.cumulative;
  if (!c) return;
  $("#cum-range").textContent = t("since_start", {d: c.from});
  $("#cum-sentence").textContent = en() ? c.sentence_en : c.sentence;
  const f = c.total, r = c.rest_days;
  const tiles = [[t("handled"), f.handled], [t("consulted"), f.consulted],
    [(en() ? "Weekend " : "周末延时") + t("handled"), r.handled], [(en() ? "Weekend " : "周末延时") + t("consulted"), r.consulted],
    [t("completion"), pct(f.completion_rate)], [t("satisfaction"), pct(f.satisfaction_rate)]];
  $("#cum-kpis").innerHTML = tiles.map(([k, v]) => `<div class="kpi"><div class="kpi-label">${esc(k)}</div><div class="kpi-value">${esc(v)}</div></div>`).join("");
}

/* ----------------------------------------------------------------------------------------- reports */
function rangeQuery() {
  if (state.period === "custom") return `from=${$("#r-from").value}&to=${$("#r-to").value}`;
  if (state.period === "cumulative") return `from=${(state.cumulative && state.cumulative.from) || ""}&to=${(state.cumulative && state.cumulative.to) || ""}`;
  return `period=${state.period}`;
}
periodBar(state, () => loadReport());
async function loadReport() {
  if (state.period === "cumulative" && !state.cumulative) await refreshCumulative();
  const range = rangeQuery();  // the charts take the range as the report does (the server works out the dates)
  const by = $("#r-by").value;
  // the charts first, while the report is on its way (as the dashboard's): a chart that waited in the hidden tab is
  // fetched once when the tab is shown, not once on getting a size and again when the report has come back
  const hcpBy = ["window", "clerk", "service", "matter"].includes(by) ? by : "window";
  [["#chart-load", "load"], ["#chart-wait", "wait"], ["#chart-satisfaction", "satisfaction"],
   ["#chart-haocaiping", "haocaiping"]].forEach(([id, name]) => {
    charts.show($(id), `/api/v1/supervisor/charts/${name}.svg?${range}` + (name === "haocaiping" ? "&by=" + hcpBy : ""));
  });
  charts.show($("#chart-transfers"), `/api/v1/supervisor/charts/transfers.svg?${range}&by=${transferBy(by)}`);
  const q = range + "&by=" + by;
  const report = await lastAsked("report", "/api/v1/supervisor/report?" + q);
  if (!report) return;
  state.report = report;
  $("#r-from").value = state.report.from; $("#r-to").value = state.report.to;
  $("#r-csv").href = hallPath("/api/v1/supervisor/report.csv?") + q + "&lang=" + i18n.lang;
  renderReport();
  loadTransfers();
}
function renderReport() {
  const r = state.report;
  if (!r) return;
  $("#r-range").textContent = r.from === r.to ? r.from : `${r.from} — ${r.to}`;
  $("#r-csv").href = hallPath("/api/v1/supervisor/report.csv?") + rangeQuery() + "&by=" + $("#r-by").value + "&lang=" + i18n.lang;
  const cols = ["issued", "handled", "consulted", "no_show", "transfers", "cancelled", "unserved", "wait_mean",
    "wait_median", "wait_p90", "service_mean", "service_median", "service_p90", "completion", "satisfaction"];
  $("#report thead").innerHTML = "<tr><th>" + esc(t("name")) + "</th>" + cols.map((c) => `<th class="num">${esc(t(c))}</th>`).join("") + "</tr>";
  const cells = (f) => [num(f.issued), num(f.handled), num(f.consulted), num(f.no_show), num(f.transfers),
    num(f.cancelled), num(f.unserved), dur(f.wait.mean_s), dur(f.wait.median_s), dur(f.wait.p90_s),
    dur(f.service_time.mean_s), dur(f.service_time.median_s), dur(f.service_time.p90_s),
    pct(f.completion_rate) + (f.accepted ? ` (${f.completed}/${f.accepted})` : ""),
    pct(f.satisfaction_rate) + (f.ratings ? ` (${f.ratings})` : "")];
  const row = (x, cls) => `<tr class="${cls || ""}" data-key="${esc(x.key)}"><th>${esc(en() ? x.label_en : x.label)}</th>` +
    cells(x.figures).map((v) => `<td class="num">${esc(v)}</td>`).join("") + "</tr>";
  $("#report tbody").innerHTML = r.rows.map((x) => row(x)).join("");
  $("#report tfoot").innerHTML = row(r.total, "total");
  renderHcpReport();
  renderTransfers();
}

/* 好差评 figures of the same report (shared/stats computes them: figures.py) */
const HCP_COLS = ["satisfaction_rate", "satisfaction_rate_with_default", "default_ratings", "rated_visits",
  "active_rating_rate", "bad_ratings", "invalid_ratings", "rectifications", "rectification_rate", "on_time_rate",
  "callback_rate", "overdue", "assisted"];
function renderHcpReport() {
  const r = state.report;
  if (!r) return;
  $("#r-hcp-range").textContent = $("#r-range").textContent;
  $("#report-hcp thead").innerHTML = "<tr><th>" + esc(t("name")) + "</th>" +
    HCP_COLS.map((c) => `<th class="num" data-col="${c}">${esc(t("h_" + c))}</th>`).join("") + "</tr>";
  const cell = (f, c) => (c.endsWith("_rate") || c === "satisfaction_rate_with_default" ? pct(f[c]) : num(f[c]));
  const row = (x, cls) => `<tr class="${cls || ""}" data-key="${esc(x.key)}"><th>${esc(en() ? x.label_en : x.label)}</th>` +
    HCP_COLS.map((c) => `<td class="num" data-col="${c}">${esc(cell(x.figures, c))}</td>`).join("") + "</tr>";
  $("#report-hcp tbody").innerHTML = r.rows.map((x) => row(x)).join("");
  $("#report-hcp tfoot").innerHTML = row(r.total, "total");
}

/* 转办分析: transfers of the same period by reason, from-window (or the report's grouping) and target, with the share
   transferred (shared/stats/transfers.py computes them) */
const drawTransfers = transferCard(i18n, { tz: BOOT.tz });
function xferQuery() {
  return `from=${state.report.from}&to=${state.report.to}&by=${transferBy($("#r-by").value)}`;
}
async function loadTransfers() {
  if (!state.report) return;
  const q = xferQuery();
  const x = await lastAsked("transfers", "/api/v1/supervisor/transfers?" + q);
  if (!x) return;
  state.transfers = x;
  renderTransfers();
}
function renderTransfers() {
  if (state.transfers) drawTransfers(state.transfers, hallPath("/api/v1/supervisor/transfers.csv?") + xferQuery() + "&lang=" + i18n.lang);
}

/* ----------------------------------------------------------------------------------------- follow-ups */
$$("#f-status [data-status]").forEach((b) => b.addEventListener("click", () => {
  state.fstatus = b.dataset.status;
  $$("#f-status [data-status]").forEach((x) => x.classList.toggle("on", x === b));
  refreshFollowups();
}));
async function refreshFollowups() {
  try {
    state.followups = await api.get("/api/v1/supervisor/followups?status=" + state.fstatus);
    if (state.fstatus === "open") state.openCount = state.followups.items.length;
    renderFollowups();
  } catch (e) { if (e.status === 401) showLogin(); }
}
function renderFollowups() {
  const badge = $("#followup-count");
  if (state.openCount !== undefined) { badge.hidden = !state.openCount; badge.textContent = state.openCount; }
  const f = state.followups;
  if (!f) return;
  $("#f-empty").hidden = f.items.length > 0;
  $("#followups tbody").innerHTML = f.items.map((i) => {
    const content = i.kind === "rating"
      ? `<span class="level l${i.level}">${esc(en() ? i.level_label_en : i.level_label)}</span>`
      : `<div><b>${esc(i.department)}</b> · ${esc(i.problem)}</div>` + (i.action ? `<div class="muted">${esc(t("action"))}：${esc(i.action)}</div>` : "");
    const action = i.status === "done"
      ? `<span class="muted">${esc(t("done_by", {by: i.resolved_by, at: (i.resolved_at || "").replace("T", " ").slice(0, 16)}))}</span>` +
        (i.resolution_note ? `<div>${esc(i.resolution_note)}</div>` : "")
      : `<form class="resolve" data-kind="${i.kind}" data-ref="${esc(i.ref)}"><input maxlength="500" placeholder="${esc(t("resolve_note"))}">` +
        `<button type="submit" class="small">${esc(t("resolve"))}</button></form>`;
    return `<tr data-ref="${esc(i.ref)}" data-status="${i.status}"><td><span class="tag ${i.kind}">${esc(t(i.kind))}</span></td>` +
      `<td>${esc(i.number)}<div class="muted">${esc(i.day)}</div></td><td>${esc(svcName(i))}</td>` +
      `<td>${esc(i.window || "—")}</td><td>${esc(i.clerk_name || "—")}</td><td>${content}</td>` +
      `<td>${i.status === "open" ? esc(dur(i.age_s)) : "—"}</td><td>${action}</td></tr>`;
  }).join("");
  $$("#followups form.resolve").forEach((form) => form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api.post(`/api/v1/supervisor/followups/${form.dataset.kind}/${encodeURIComponent(form.dataset.ref)}/resolve`,
        {note: $("input", form).value});
      toast(t("resolved"));
      refreshFollowups(); refreshToday(); refreshCumulative();
    } catch (e) { toast(errText(e), "error"); }
  }));
}

/* ----------------------------------------------------------------------------------------- 帮办代办 */
$("#assist-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const number = $("#assist-number").value.trim().toUpperCase();
  const out = $("#assist-result");
  try {
    const r = await api.post(`/api/v1/supervisor/tickets/${encodeURIComponent(number)}/assist`, {note: $("#assist-note").value.trim()});
    out.className = "assist-result";
    out.textContent = t(r.changed ? "assist_done" : "assist_already", {n: r.ticket.number});
    $("#assist-number").value = ""; $("#assist-note").value = "";
    later("today", refreshToday, FIGURES_MS);
  } catch (e) {
    out.className = "assist-result bad";
    out.textContent = errText(e);
  }
  out.hidden = false;
});

/* ----------------------------------------------------------------------------------------- 好差评 */
function markOn(group, attr, value) {
  $$(`${group} [data-${attr}]`).forEach((x) => x.classList.toggle("on", x.dataset[attr] === value));
}
$$("#rect-state [data-state]").forEach((b) => b.addEventListener("click", () => {
  state.rstate = b.dataset.state; markOn("#rect-state", "state", state.rstate); refreshRects();
}));
$$("#outbox-state [data-state]").forEach((b) => b.addEventListener("click", () => {
  state.obstate = b.dataset.state; markOn("#outbox-state", "state", state.obstate); refreshOutbox();
}));
function refreshHcp() { refreshRects(); refreshOutbox(); }
async function refreshRects() {
  const q = state.rstate === "overdue" ? "state=open&overdue=1" : "state=" + state.rstate;
  try {
    const r = await api.get("/api/v1/supervisor/rectifications?" + q);
    state.rects = r.items; state.rectsToday = r.today;
    renderRects();
  } catch (e) { if (e.status === 401) showLogin(); }
}
const hm = (ms) => (ms ? new Date(ms).toLocaleString(en() ? "en-GB" : "zh-CN", {hour12: false, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZone: BOOT.tz}) : "—");  // the hall's time
function contactText(r) {
  const c = state.revealed[r.id] || r.contact || {};
  return [c.name, c.phone].filter(Boolean).join(" ");
}
function renderRects() {
  const items = state.rects;
  if (!items) return;
  $("#rect-empty").hidden = items.length > 0;
  const svc = Object.fromEntries(BOOT.services.map((s) => [s.code, s]));
  $("#rects").innerHTML = items.map((r) => {
    const s = svc[r.service] || {name: r.service, name_en: r.service};
    const what = r.kind === "rating"
      ? `<span class="level l${r.level}">${esc(t("lv_" + r.level))}</span>` +
        (r.options.length ? " · " + esc(r.options.map((o) => o.label).join("、")) : "") + (r.text ? " · “" + esc(r.text) + "”" : "")
      : `<b>${esc(r.department || "")}</b> · ${esc(r.problem || "")}`;
    const contact = r.has_contact
      ? `<span class="contact" data-contact="${esc(r.id)}">☎ ${esc(contactText(r))}</span>` +
        (state.revealed[r.id] ? "" : ` <button type="button" class="small ghost" data-reveal="${esc(r.id)}">${esc(t("reveal"))}</button>`)
      : `<span class="muted">${esc(t("no_contact"))}</span>`;
    const steps = r.steps.map((st) => `<div class="step" data-step="${st.step}" data-done="${st.done}" data-overdue="${st.overdue}">` +
      `<b>${esc(en() ? st.label_en : st.label)}</b> <span class="due">${esc(t("due", {d: st.due || "—"}))}</span>` +
      `<div class="muted">${st.done ? esc(t(st.on_time ? "step_done_on_time" : "step_done_late", {by: st.by || "", at: hm(st.at_ms)})) + (st.note ? " · " + esc(st.note) : "") : (st.overdue ? esc(t("step_overdue")) : esc(t("step_todo")))}</div></div>`).join("");
    const calls = r.callbacks.length
      ? r.callbacks.map((c) => esc(t("cb_" + c.outcome)) + (c.note ? "（" + esc(c.note) + "）" : "") + " " + hm(c.at_ms)).join("；")
      : esc(t("no_callbacks"));
    let appeal = "";
    if (r.appeal) {
      const a = r.appeal;
      appeal = `<div class="appeal" data-appeal="${a.state}">${esc(t("appeal_line", {by: a.by, g: t("g_" + a.grounds), r: a.reason || ""}))}` +
        (a.state === "pending" ? "" : " — " + esc(t("appeal_" + a.state, {by: a.ruled_by || ""})) + (a.ruling ? "：" + esc(a.ruling) : "")) + "</div>";
    }
    const open = r.state === "open";
    const actions = open ? `<div class="rect-actions">` +
      (r.appeal && r.appeal.state === "pending"
        ? `<form class="rule" data-id="${esc(r.id)}"><input maxlength="500" placeholder="${esc(t("ruling_note"))}">` +
          `<button type="submit" class="small" data-upheld="true">${esc(t("uphold"))}</button>` +
          `<button type="submit" class="small ghost danger" data-upheld="false">${esc(t("reject"))}</button></form>`
        : (r.next_step ? `<form class="step-form" data-id="${esc(r.id)}" data-step="${r.next_step}"><input maxlength="500" placeholder="${esc(t("step_note"))}">` +
          `<button type="submit" class="small">${esc(t("complete_step", {s: t("st_name_" + r.next_step)}))}</button></form>` : "")) +
      `<form class="callback" data-id="${esc(r.id)}"><select>${["satisfied", "unsatisfied", "unreachable", "declined"].map((o) => `<option value="${o}">${esc(t("cb_" + o))}</option>`).join("")}</select>` +
      `<input maxlength="500" placeholder="${esc(t("callback_note"))}"><button type="submit" class="small ghost">${esc(t("log_callback"))}</button></form></div>` : "";
    return `<div class="rect" data-id="${esc(r.id)}" data-state="${r.state}" data-overdue="${r.overdue}">` +
      `<div class="rect-head"><span class="rid">${esc(r.id)}</span><span class="tag ${r.kind}">${esc(t(r.kind))}</span>` +
      `<span>${esc((r.ticket || {}).number || "")} · ${esc(en() ? (s.name_en || s.name) : s.name)}${r.matter ? " · " + esc(r.matter.name || r.matter.code) : ""}</span>` +
      `<span>${esc(t("window"))} ${esc(r.window || "—")} · ${esc(r.clerk || "—")}</span>${contact}` +
      `<span class="muted nowrap">${esc(t("opened_at", {at: hm(r.opened_ms)}))}</span></div>` +
      `<div class="rect-body">${what}</div><div class="steps">${steps}</div>` +
      `<div class="muted">${esc(t("callbacks"))}：${calls}</div>${appeal}${actions}</div>`;
  }).join("");
  $$("#rects [data-reveal]").forEach((b) => b.addEventListener("click", async () => {
    try {
      const r = await api.get(`/api/v1/supervisor/rectifications/${encodeURIComponent(b.dataset.reveal)}?reveal=1`);
      state.revealed[r.record.id] = r.record.contact;
      renderRects();
    } catch (e) { toast(errText(e), "error"); }
  }));
  $$("#rects form.step-form").forEach((f) => f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    rectAction(`/api/v1/supervisor/rectifications/${encodeURIComponent(f.dataset.id)}/steps/${f.dataset.step}`, {note: $("input", f).value.trim()}, "step_saved");
  }));
  $$("#rects form.callback").forEach((f) => f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    rectAction(`/api/v1/supervisor/rectifications/${encodeURIComponent(f.dataset.id)}/callbacks`, {outcome: $("select", f).value, note: $("input", f).value.trim()}, "callback_saved");
  }));
  $$("#rects form.rule").forEach((f) => f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const upheld = (ev.submitter || {}).dataset ? ev.submitter.dataset.upheld === "true" : false;
    rectAction(`/api/v1/supervisor/rectifications/${encodeURIComponent(f.dataset.id)}/ruling`, {upheld, note: $("input", f).value.trim()}, "ruling_saved");
  }));
}
async function rectAction(path, body, done) {
  try {
    await api.post(path, body);
    toast(t(done));
    refreshRects();
    if (live) live.resync("changed");
  } catch (e) { toast(errText(e), "error"); }
}
async function refreshOutbox() {
  try {
    state.outbox = await api.get("/api/v1/supervisor/outbox?state=" + state.obstate);
    renderOutbox();
  } catch (e) { if (e.status === 401) showLogin(); }
}
function renderOutbox() {
  const o = state.outbox;
  if (!o) return;
  ["pending", "failed", "sent"].forEach((k) => { $("#ob-n-" + k).textContent = o.counts[k]; });
  $("#outbox-enabled").textContent = o.enabled ? "" : t("ob_disabled");
  $("#outbox-empty").hidden = o.items.length > 0;
  $("#outbox tbody").innerHTML = o.items.map((e) => {
    const p = e.payload || {};
    const level = p.level ? t("lv_" + p.level) + (p.channel === "default" ? t("ob_default") : "") : "—";
    const when = e.state === "sent" ? e.sent_ms : (e.last_attempt_ms || e.created_ms);
    const action = e.state === "failed" ? `<button type="button" class="small" data-resend="${esc(e.id)}">${esc(t("resend"))}</button>`
      : `<span class="ob-state ${e.state}">${esc(t("ob_" + e.state))}</span>`;
    return `<tr data-id="${esc(e.id)}" data-state="${e.state}"><td class="nowrap">${esc(e.id)}</td><td>${esc(e.partition)}</td>` +
      `<td>${esc(level)}</td><td class="num">${e.attempts}${e.resent ? " · " + esc(t("ob_resent", {n: e.resent})) : ""}</td>` +
      `<td class="nowrap">${hm(when)}</td><td class="ob-error">${esc(e.last_error || "—")}</td><td>${action}</td></tr>`;
  }).join("");
  $$("#outbox [data-resend]").forEach((b) => b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await api.post(`/api/v1/supervisor/outbox/${encodeURIComponent(b.dataset.resend)}/resend`, {});
      toast(t("resent"));
    } catch (e) { toast(errText(e), "error"); }
    refreshOutbox();
  }));
}

/* ----------------------------------------------------------------------------------------- calendar */
$("#s-all").addEventListener("change", renderCalendar);
async function loadCalendar() {
  try { state.calendar = await api.get("/api/v1/supervisor/schedule?days=42"); renderCalendar(); }
  catch (e) { if (e.status === 401) showLogin(); }
}
function renderCalendar() {
  const c = state.calendar;
  if (!c) return;
  $("#s-stop").textContent = en() ? `Ticket issuing stops ${c.stop_issuing_minutes} min before each closing time.`
    : `每个时段结束前 ${c.stop_issuing_minutes} 分钟停止取号。`;
  const all = $("#s-all").checked;
  const kinds = {workday: "k_workday_day", weekend: "k_weekend", holiday: "k_holiday_day", makeup: "k_makeup"};
  const byCode = Object.fromEntries(BOOT.services.map((s) => [s.code, s]));
  $("#calendar tbody").innerHTML = c.days.filter((d) => all || d.kind !== "workday" || d.entry).map((d) => {
    const day = new Date(d.day + "T00:00:00");
    const services = BOOT.services.map((s) => s.code).filter((code) => d.services[code]);
    const chips = services.length ? services.map((code) => `<span class="chip" title="${esc(d.services[code].join(", "))}">${esc(en() ? (byCode[code].name_en || byCode[code].name) : byCode[code].name)}</span>`).join("") : `<span class="muted">${esc(t("closed_all"))}</span>`;
    return `<tr data-day="${d.day}" data-kind="${d.kind}" class="${d.rest_day ? "rest" : ""}${d.entry ? " set" : ""}">` +
      `<td>${d.day} <span class="muted">${(en() ? "" : "周") + weekday(day)}</span></td>` +
      `<td><span class="kind ${d.kind}">${esc(t(kinds[d.kind]))}</span><div class="muted small">${esc(t("src_" + d.source))}${d.note ? " · " + esc(d.note) : ""}</div></td>` +
      `<td>${chips}</td><td>${d.windows.length ? list(d.windows) : "—"}</td>` +
      `<td><button type="button" class="small ghost" data-edit="${d.day}">${esc(t("edit"))}</button></td></tr>`;
  }).join("");
  $$("#calendar [data-edit]").forEach((b) => b.addEventListener("click", () => openEditor(b.dataset.edit)));
  renderEditorChoices();
}
function renderEditorChoices() {
  const d = state.editing && state.calendar && state.calendar.days.find((x) => x.day === state.editing);
  const entry = d && d.entry;
  const chosenS = entry && entry.kind === "rota" ? entry.services : (d ? Object.keys(d.services) : []);
  const chosenW = entry && entry.kind === "rota" ? entry.windows : (d ? d.windows : []);
  $("#e-services").innerHTML = BOOT.services.map((s) => `<label class="check"><input type="checkbox" value="${s.code}"${chosenS.includes(s.code) ? " checked" : ""}> ${esc(en() ? (s.name_en || s.name) : s.name)}</label>`).join("");
  $("#e-windows").innerHTML = BOOT.windows.map((w) => `<label class="check"><input type="checkbox" value="${w.number}"${chosenW.includes(w.number) ? " checked" : ""}> ${w.number} ${esc(en() ? "" : w.name)}</label>`).join("");
}
function openEditor(day) {
  state.editing = day;
  const d = state.calendar.days.find((x) => x.day === day);
  const entry = d.entry;
  $("#editor").hidden = false;
  $("#e-day").textContent = day;
  const kind = entry ? entry.kind : "rota";
  $$("#editor [name=kind]").forEach((r) => { r.checked = r.value === kind; });
  $("#e-hours").value = entry && entry.hours ? entry.hours.join(", ") : "";
  $("#e-note").value = entry ? entry.note : "";
  $("#e-clear").hidden = !entry;
  $("#e-error").hidden = true;
  renderEditorChoices(); toggleRota();
}
function toggleRota() {
  const kind = ($("#editor [name=kind]:checked") || {}).value;
  $(".rota-fields").hidden = kind !== "rota";
}
$$("#editor [name=kind]").forEach((r) => r.addEventListener("change", toggleRota));
$("#e-cancel").addEventListener("click", () => { $("#editor").hidden = true; state.editing = null; });
$("#editor").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const kind = $("#editor [name=kind]:checked").value;
  const body = {kind, note: $("#e-note").value.trim()};
  if (kind === "rota") {
    body.services = $$("#e-services input:checked").map((i) => i.value);
    body.windows = $$("#e-windows input:checked").map((i) => Number(i.value));
    const hours = $("#e-hours").value.split(/[,，;\s]+/).map((x) => x.trim()).filter(Boolean);
    if (hours.length) body.hours = hours;
  }
  try {
    await api.put("/api/v1/supervisor/schedule/" + state.editing, body);
    toast(t("saved")); $("#editor").hidden = true; state.editing = null; loadCalendar(); refreshOverview();
  } catch (e) { const el = $("#e-error"); el.hidden = false; el.textContent = errText(e); }
});
$("#e-clear").addEventListener("click", async () => {
  try {
    await api.del("/api/v1/supervisor/schedule/" + state.editing, {});
    toast(t("cleared")); $("#editor").hidden = true; state.editing = null; loadCalendar(); refreshOverview();
  } catch (e) { const el = $("#e-error"); el.hidden = false; el.textContent = errText(e); }
});


start();
