/*
 * OneWindow (一窗通) — 全市监管, the city supervisors' page (/city), an ES module on the front-end layer: every hall's
 * live overview (asked for every few seconds: GET /city/api/v1/overview) with the city's totals, and the figures of
 * a day / week / month / year / custom range summed across halls and compared hall by hall (GET
 * /city/api/v1/report), with charts drawn by the server (put inline by charts.js) and the CSV of the same numbers.
 *
 * The session is the city's own (POST /city/api/v1/login …, through the layer's staffSession with the city's paths):
 * a hall's clerk or supervisor is no city supervisor.
 */
import { chartLoader } from "/assets/js/charts.js";
import { $, $$, bootData, esc } from "/assets/js/dom.js";
import { figureWords, periodBar } from "/assets/js/figures.js";
import { createI18n } from "/assets/js/i18n.js";
import { transferBy, transferCard } from "/assets/js/transfers.js";
import { lastAsker, staffSession, toaster } from "/assets/js/staff.js";
import strings from "./city-strings.js";

const BOOT = bootData();
const API = "/city/api/v1";
const POLL_MS = BOOT.poll_ms || 5000;   // the live overview, this often
const FIGURES_MS = 30000;               // figures of a range that includes today, this often

const i18n = createI18n(strings, { storageKey: "ow.city.lang" });
const t = (key, vars) => i18n.t(key, vars);
const en = () => i18n.en;
const { dur, pct, num, errText } = figureWords(i18n);
const session = staffSession({
  paths: { me: API + "/me", login: API + "/login", logout: API + "/logout" },
  onSignedOut: () => showLogin(),
});
const api = session.api;
const toast = toaster($("#toast"));
const lastAsked = lastAsker(api, (e) => toast(errText(e), "error"));  // answers may come back out of order: the last ask wins
const charts = chartLoader(api, { lang: () => i18n.lang, failed: (e) => t("chart_failed", { m: errText(e) }) });
const state = { me: null, overview: null, report: null, period: "day", timers: {}, polling: false, failures: 0 };

/* ----------------------------------------------------------------------------------------- formatting */
const hallName = (h) => i18n.pick(h.name || h.label, h.name_en || h.label_en);
const rowName = (r) => i18n.pick(r.label, r.label_en);

/* ----------------------------------------------------------------------------------------- language */
function applyLang() {
  $("#city-name").textContent = i18n.pick(BOOT.city.name, BOOT.city.name_en);
  document.title = t("title") + " · " + i18n.pick(BOOT.city.name, BOOT.city.name_en);
  const sel = $("#r-by"), cur = sel.value || "service";
  sel.innerHTML = BOOT.groupings.map((g) => `<option value="${g}">${esc(t("by_" + g))}</option>`).join("");
  sel.value = cur;
  showConn();
  renderOverview(); renderReport(); loadCharts();
}
i18n.switchButton($("#lang"));
i18n.onChange(applyLang);

/* ----------------------------------------------------------------------------------------- session */
async function start() {
  i18n.apply();
  applyLang();
  setInterval(() => {
    $("#clock").textContent = new Date().toLocaleTimeString(en() ? "en-GB" : "zh-CN", { hour12: false });
  }, 1000);
  try {
    signedIn(await session.me());
  } catch (e) {
    showLogin(e.status === 403 ? errText(e) : "");
  }
  document.body.classList.remove("is-loading");
}
function showLogin(message) {
  Object.values(state.timers).forEach(clearInterval);
  state.timers = {};
  state.me = null;
  $("#login").hidden = false; $("#app").hidden = true; $("#logout").hidden = true; $("#who").hidden = true;
  const err = $("#login-error"); err.hidden = !message; err.textContent = message || "";
  state.failures = 0; showConn();
  $("#username").focus();
}
function signedIn(me) {
  state.me = me;
  $("#login").hidden = true; $("#app").hidden = false; $("#logout").hidden = false;
  $("#who").hidden = false; $("#who").textContent = me.name;
  pollOverview();
  loadReport();
  state.timers.poll = setInterval(pollOverview, POLL_MS);
  state.timers.figures = setInterval(() => { if (coversToday()) loadReport(true); }, FIGURES_MS);
}
$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await session.login({ username: $("#username").value.trim(), password: $("#password").value });
    $("#password").value = "";
    signedIn(await session.me());
  } catch (e) {
    showLogin(errText(e));
  }
});
$("#logout").addEventListener("click", async () => {
  await session.logout().catch(() => {});
  location.reload();
});

/* ----------------------------------------------------------------------------------------- the live city */
function showConn() {
  const badge = $("#conn");
  const stateName = !state.me ? "off" : state.overview && state.failures === 0 ? "on" : "wait";
  badge.dataset.state = stateName;
  $("#conn-text").textContent = t("conn_" + stateName);
}
async function pollOverview() {
  if (state.polling || !state.me || document.hidden) return;  // a hidden tab asks again when it is shown
  state.polling = true;
  try {
    state.overview = await api.get(API + "/overview");
    state.failures = 0;
    renderOverview();
  } catch (e) {
    state.failures += 1;
    if (e.status === 401) showLogin();
  } finally {
    state.polling = false;
    showConn();
  }
}
function alertText(a) {
  const s = i18n.pick(a.service_name, a.service_name_en);
  if (a.kind === "no_window") return t("a_no_window", { s, n: a.waiting });
  if (a.kind === "wait") return t("a_wait", { s, t: dur(a.longest_wait_s) });
  if (a.kind === "printer") return t("a_printer", { k: a.kiosk });
  if (a.kind === "help") return t("a_help", { k: a.kiosk });
  return t("a_other");
}
function renderOverview() {
  const o = state.overview;
  if (!o) return;
  const tot = o.totals;
  $("#live-as-of").textContent = t("as_of", { t: o.now.slice(11, 19) });
  const tiles = [
    ["halls", num(tot.halls), tot.halls_unavailable ? t("k_halls_sub", { n: tot.halls_unavailable }) : ""],
    ["waiting", num(tot.waiting)], ["serving", num(tot.serving)],
    ["windows", num(tot.windows_open), t("k_windows_sub", { n: tot.windows })], ["paused", num(tot.paused)],
    ["alerts", num(tot.alerts)], ["longest", tot.waiting ? dur(tot.longest_wait_s) : "—"],
  ];
  $("#city-kpis").innerHTML = tiles.map(([k, v, sub]) => `<div class="kpi" data-kpi="${k}"><div class="kpi-label">` +
    `${esc(t("k_" + k))}</div><div class="kpi-value">${esc(v)}</div>${sub ? `<div class="kpi-sub">${esc(sub)}</div>` : ""}</div>`).join("");
  $("#halls").innerHTML = o.halls.map((h) => {
    const base = (BOOT.halls.find((b) => b.id === h.hall) || {}).base;
    const link = base !== undefined ? `<a class="desk" href="${esc(base)}/supervisor" title="${esc(t("open_desk"))}">↗</a>` : "";
    const head = `<div class="h-head"><h3>${esc(hallName(h))}</h3>${link}`;
    if (!h.available) {
      return `<article class="hall card" data-hall="${esc(h.hall)}" data-available="false">${head}</div>` +
        `<p class="unavailable">${esc(t("hall_unavailable"))}</p></article>`;
    }
    const s = h.summary, v = h.overview;
    const kind = `<span class="daykind" data-rest="${s.rest_day}">${esc(t("kind_" + s.day_kind))}` +
      `${s.rest_day && s.day_kind !== "holiday" ? " · " + esc(t("rest")) : ""}</span>`;
    const figures = [["waiting", s.waiting], ["serving", s.serving], ["windows", `${s.windows_open}/${s.windows}`],
      ["alerts", s.alerts]].map(([k, val]) => `<div class="h-fig" data-fig="${k}"><b>${esc(String(val))}</b>` +
      `<span>${esc(t("k_" + k))}</span></div>`).join("");
    const queues = v.services.filter((q) => q.waiting > 0);
    const table = queues.length ? `<table class="grid mini"><thead><tr><th>${esc(t("service"))}</th>` +
      `<th class="num">${esc(t("waiting"))}</th><th class="num">${esc(t("longest"))}</th></tr></thead><tbody>` +
      queues.map((q) => `<tr data-service="${esc(q.code)}"><td>${esc(i18n.pick(q.name, q.name_en))}</td>` +
        `<td class="num">${q.waiting}</td><td class="num">${esc(dur(q.longest_wait_s))}</td></tr>`).join("") +
      "</tbody></table>" : `<p class="muted">${esc(t("no_queue"))}</p>`;
    const alerts = v.alerts.map((a) => `<li class="alert ${esc(a.kind)}">${esc(alertText(a))}</li>`).join("");
    return `<article class="hall card" data-hall="${esc(h.hall)}" data-available="true" data-alerts="${s.alerts}">` +
      `${head}${kind}</div><div class="h-figs">${figures}</div>${table}` +
      `${alerts ? `<ul class="alerts">${alerts}</ul>` : ""}</article>`;
  }).join("");
}

document.addEventListener("visibilitychange", () => { if (!document.hidden) pollOverview(); });

/* ----------------------------------------------------------------------------------------- figures */
function rangeQuery() {
  if (state.period === "custom") return `from=${$("#r-from").value}&to=${$("#r-to").value}`;
  return `period=${state.period}`;
}
function coversToday() {
  const r = state.report, today = state.overview && state.overview.day;
  return r && today && r.from <= today && today <= r.to;
}
periodBar(state, () => loadReport());
async function loadReport(quiet = false) {
  const q = rangeQuery() + "&by=" + $("#r-by").value;
  const report = await lastAsked("report", API + "/report?" + q, { quiet });
  if (!report) return;
  state.report = report;
  $("#r-from").value = state.report.from; $("#r-to").value = state.report.to;
  renderReport();
  loadCharts(quiet);
  loadTransfers(quiet);
}

/* 转办分析 of the same range: the halls' transfers summed (shared/stats/city.py city_transfers), windows per hall */
const drawTransfers = transferCard(i18n, { tz: BOOT.tz });
const transferQuery = () => `from=${state.report.from}&to=${state.report.to}&by=${transferBy($("#r-by").value)}`;
async function loadTransfers(quiet = false) {
  const x = await lastAsked("transfers", API + "/transfers?" + transferQuery(), { quiet });
  if (!x) return;
  state.transfers = x;
  renderTransfers();
}
function renderTransfers() {
  if (state.transfers) drawTransfers(state.transfers, `${API}/transfers.csv?${transferQuery()}&lang=${i18n.lang}`);
}
const COLUMNS = ["issued", "handled", "consulted", "no_show", "wait_mean", "wait_median", "wait_p90", "service_mean",
  "completion", "satisfaction", "ratings", "active"];
function cells(f) {
  return [num(f.issued), num(f.handled), num(f.consulted), num(f.no_show), dur(f.wait.mean_s), dur(f.wait.median_s),
    dur(f.wait.p90_s), dur(f.service_time.mean_s), pct(f.completion_rate), pct(f.satisfaction_rate), num(f.ratings),
    pct(f.active_rating_rate)].map((c, i) => `<td class="num" data-col="${COLUMNS[i]}">${esc(c)}</td>`).join("");
}
function fillTable(table, first, rows, total) {
  $("thead", table).innerHTML = `<tr><th>${esc(t(first))}</th>` + COLUMNS.map((c) => `<th class="num">${esc(t(c))}</th>`).join("") + "</tr>";
  $("tbody", table).innerHTML = rows.map((r) => `<tr data-key="${esc(r.key)}"><th scope="row">${esc(rowName(r))}</th>${cells(r.figures)}</tr>`).join("");
  $("tfoot", table).innerHTML = `<tr data-key="total"><th scope="row">${esc(t("total"))}</th>${cells(total.figures)}</tr>`;
}
function renderReport() {
  const r = state.report;
  if (!r) return;
  $("#r-range").textContent = r.from === r.to ? r.from : `${r.from} — ${r.to}`;
  $("#r-csv").href = `${API}/report.csv?${rangeQuery()}&by=${r.by}&lang=${i18n.lang}`;
  fillTable($("#compare"), "hall", r.halls, r.total);
  $("#rows-card").hidden = r.by === "hall" || r.by === "total";
  $("#rows-by").textContent = t("by_" + r.by);
  fillTable($("#report"), "name", r.rows, r.total);
  renderTransfers();
}
/** Every chart for the report shown; `quiet` (the background refresh): a chart already shown stays if it fails. */
function loadCharts(quiet = false) {
  const r = state.report;
  if (!r) return;
  $$("[data-chart]").forEach((el) => {
    const by = el.dataset.chart === "transfers" ? `&by=${transferBy($("#r-by").value)}` : "";
    charts.show(el, `${API}/charts/${el.dataset.chart}.svg?from=${r.from}&to=${r.to}${by}`, { quiet });
  });
}

start();
