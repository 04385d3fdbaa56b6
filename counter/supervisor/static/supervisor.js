/* 值班主任工作台 — the supervisor page: today's figures and the live hall, reports with CSV and charts (SVG drawn
 * by the server), follow-ups, and the calendar (weekend rota, holidays, 调休).
 * Live: the /display Socket.IO namespace carries every event (private ones as {seq, type, ts}); each event makes
 * the page re-read the supervisor overview (and today's figures) over HTTP, so staff-only data never rides the
 * public channel. State changes send the session's CSRF token in X-CSRF-Token. */
(function () {
  "use strict";

  const BOOT = JSON.parse(document.getElementById("boot").textContent);
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  const T = {
    zh: {
      title: "值班主任工作台", conn_off: "未连接", conn_on: "实时", conn_wait: "连接中…", logout: "退出登录",
      login_title: "值班主任登录", login_hint: "使用具有主管权限的工作人员账号登录（无需选择窗口）。",
      username: "账号", password: "密码", login: "登录",
      tab_dashboard: "今日总览", tab_reports: "统计报表", tab_followups: "回访督办", tab_schedule: "排班与节假日",
      today_figures: "今日数据", windows: "窗口状态", queues: "排队情况", service: "业务", waiting: "等候人数",
      longest_wait: "最长等候", open_windows: "开放窗口", cumulative: "累计数据",
      p_day: "今日", p_week: "本周", p_month: "本月", p_year: "本年", p_cumulative: "累计", from: "从", to: "至",
      group_by: "分组", export_csv: "导出 CSV", report: "统计报表",
      report_note: "办件、咨询、过号按办结窗口计；转办按转出窗口计；取号、取消按业务计。等候=取号至首次叫号；办理=最后一次叫号至办结。满意率=（非常满意+满意+基本满意）÷评价数。办结率=办结÷受理，未办结=尚未解决的“办不成事”。",
      followups: "差评回访与“办不成事”督办", f_open: "待处理", f_done: "已处理", f_all: "全部", f_kind: "类型",
      f_ticket: "号码", window: "窗口", clerk: "工作人员", f_content: "内容", f_age: "已过时间", f_action: "处理",
      f_none: "没有需要处理的事项。", calendar: "近期安排", s_show_all: "显示所有日期", date: "日期", kind: "类型",
      open_services: "开放业务", edit_day: "设置", k_rota: "值班轮岗（指定开放业务与窗口）",
      k_holiday: "节假日（全天不开放）", k_workday: "调休上班（按工作日时间）",
      hours: "办理时间（可选，如 09:00-12:00, 14:00-17:00）", note: "备注", save: "保存", restore: "恢复默认", cancel: "取消",
      // dynamic
      issued: "取号", handled: "办件", consulted: "咨询", no_show: "过号", transfers: "转办", cancelled: "取消",
      unserved: "未服务", wait_mean: "平均等候", wait_median: "等候中位数", wait_p90: "等候P90",
      service_mean: "平均办理", service_median: "办理中位数", service_p90: "办理P90", completion: "办结率",
      satisfaction: "满意率", ratings_n: "{n} 条评价", accepted_open: "受理 {a}，未办结 {o}", name: "名称",
      median_p90: "中位数 {m}\nP90 {p}", st_serving: "办理中", st_idle: "空闲", st_paused: "暂停", st_closed: "未开窗",
      off_rota: "今日不在岗", serving_for: "已办理 {t}", nobody: "—", paused_for: "暂停：{r}",
      alert_wait: "{s}：有群众已等候 {t}（超过 {m} 分钟），当前 {n} 人排队", alert_printer: "取号机 {k} 打印机故障：{f}。{msg}",
      pf_offline: "打印机离线", pf_paper_out: "缺纸", pf_cover_open: "纸仓盖未关", pf_timeout: "打印超时", pf_error: "打印出错",
      k_workday_day: "工作日", k_weekend: "周末", k_holiday_day: "节假日", k_makeup: "调休上班",
      src_config: "按配置", src_rota: "主管设置", src_holiday: "主管设置", src_workday: "主管设置",
      closed_all: "不开放", edit: "编辑", level: "评价", case: "办不成事", rating: "差评", resolve: "标记已处理",
      resolve_note: "处理说明（可选）", confirm: "确认", done_by: "{by} 于 {at} 处理", since_start: "（自 {d} 起）",
      saved: "已保存", cleared: "已恢复默认", resolved: "已标记处理", err_generic: "操作失败：{m}",
      e_bad_credentials: "账号或密码错误", e_not_supervisor: "该账号没有主管权限", e_rate_limited: "尝试次数过多，请稍后再试",
      e_csrf_failed: "页面已过期，请刷新", e_day_in_past: "不能修改已过去的日期", e_empty_rota: "请至少选择一个业务和一个窗口",
      e_service_without_window: "所选业务没有对应的开放窗口", e_window_without_service: "所选窗口不办理所选的任何业务",
      e_already_workday: "这一天本来就是工作日", e_no_hours: "该业务当天没有办理时间，请填写办理时间",
      e_no_entry: "这一天没有主管设置", e_already_resolved: "已经处理过了", e_already_followed_up: "已经回访过了",
      e_invalid_value: "输入有误：{m}", e_invalid_range: "日期范围有误",
      min: "分钟", sec: "秒", weekdays: ["日", "一", "二", "三", "四", "五", "六"], people: "人", chart_alt: "图表",
      dept: "部门", problem: "问题", action: "处理",
    },
    en: {
      title: "Supervisor desk", conn_off: "Offline", conn_on: "Live", conn_wait: "Connecting…", logout: "Sign out",
      login_title: "Supervisor sign-in", login_hint: "Sign in with a staff account that has the supervisor role (no window needed).",
      username: "Username", password: "Password", login: "Sign in",
      tab_dashboard: "Today", tab_reports: "Reports", tab_followups: "Follow-ups", tab_schedule: "Rota & holidays",
      today_figures: "Today", windows: "Windows", queues: "Queues", service: "Service", waiting: "Waiting",
      longest_wait: "Longest wait", open_windows: "Open windows", cumulative: "Cumulative",
      p_day: "Today", p_week: "This week", p_month: "This month", p_year: "This year", p_cumulative: "Cumulative",
      from: "From", to: "To", group_by: "Group by", export_csv: "Export CSV", report: "Report",
      report_note: "Handled, consulted and no-shows count where the ticket ended; transfers where they left; issued and cancelled per service. Wait = issue to first call; service = last call to finish. Satisfaction = (very satisfied + satisfied + fairly satisfied) ÷ ratings. Completion = completed ÷ accepted; open = unresolved can't-get-it-done cases.",
      followups: "Bad ratings and can't-get-it-done cases", f_open: "Open", f_done: "Done", f_all: "All", f_kind: "Kind",
      f_ticket: "Ticket", window: "Window", clerk: "Clerk", f_content: "Details", f_age: "Age", f_action: "Action",
      f_none: "Nothing to follow up.", calendar: "Coming days", s_show_all: "Show every day", date: "Date", kind: "Kind",
      open_services: "Open services", edit_day: "Set", k_rota: "Rota (only these services and windows)",
      k_holiday: "Holiday (closed all day)", k_workday: "Make-up working day (weekday hours)",
      hours: "Hours (optional, e.g. 09:00-12:00, 14:00-17:00)", note: "Note", save: "Save", restore: "Restore default",
      cancel: "Cancel",
      issued: "Issued", handled: "Handled", consulted: "Consulted", no_show: "No-show", transfers: "Transfers",
      cancelled: "Cancelled", unserved: "Unserved", wait_mean: "Mean wait", wait_median: "Median wait", wait_p90: "P90 wait",
      service_mean: "Mean service", service_median: "Median service", service_p90: "P90 service", completion: "Completion",
      satisfaction: "Satisfaction", ratings_n: "{n} ratings", accepted_open: "accepted {a}, open {o}", name: "Name",
      median_p90: "median {m}\nP90 {p}", st_serving: "Serving", st_idle: "Idle", st_paused: "Paused", st_closed: "Closed",
      off_rota: "not on today's rota", serving_for: "serving for {t}", nobody: "—", paused_for: "Paused: {r}",
      alert_wait: "{s}: a citizen has waited {t} (over {m} min); {n} waiting", alert_printer: "Kiosk {k} printer fault: {f}. {msg}",
      pf_offline: "printer offline", pf_paper_out: "out of paper", pf_cover_open: "cover open", pf_timeout: "print timed out", pf_error: "print error",
      k_workday_day: "Working day", k_weekend: "Weekend", k_holiday_day: "Holiday", k_makeup: "Make-up day",
      src_config: "config", src_rota: "set by supervisor", src_holiday: "set by supervisor", src_workday: "set by supervisor",
      closed_all: "Closed", edit: "Edit", level: "Rating", case: "Can't-get-it-done", rating: "Bad rating",
      resolve: "Mark resolved", resolve_note: "Note (optional)", confirm: "Confirm", done_by: "by {by} at {at}",
      since_start: "(since {d})", saved: "Saved", cleared: "Default restored", resolved: "Marked resolved",
      err_generic: "Failed: {m}", e_bad_credentials: "Wrong username or password",
      e_not_supervisor: "This account is not a supervisor", e_rate_limited: "Too many attempts; try again later",
      e_csrf_failed: "The page is out of date; reload it", e_day_in_past: "A past day cannot be changed",
      e_empty_rota: "Choose at least one service and one window", e_service_without_window: "A chosen service has no open window",
      e_window_without_service: "A chosen window serves none of the chosen services",
      e_already_workday: "That day is already a working day", e_no_hours: "That service has no hours that day: give hours",
      e_no_entry: "There is no supervisor entry for that day", e_already_resolved: "Already resolved",
      e_already_followed_up: "Already followed up", e_invalid_value: "Invalid input: {m}", e_invalid_range: "Invalid date range",
      min: "min", sec: "s", weekdays: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"], people: "", chart_alt: "chart",
      dept: "Department", problem: "Problem", action: "Action",
    },
  };

  const state = {
    lang: localStorage.getItem("ow.supervisor.lang") === "en" ? "en" : "zh",
    me: null, csrf: null, tab: "dashboard", period: "day", fstatus: "open", overview: null, today: null,
    calendar: null, editing: null, socket: null, timers: {},
  };

  function t(key, vars) {
    let s = (T[state.lang][key] !== undefined ? T[state.lang][key] : T.zh[key]);
    if (s === undefined) return key;
    if (vars) Object.keys(vars).forEach((k) => { s = s.split("{" + k + "}").join(vars[k]); });
    return s;
  }
  const en = () => state.lang === "en";
  const svcName = (s) => (en() ? (s.service_name_en || s.name_en || s.service_name || s.name) : (s.service_name || s.name));
  const esc = (v) => String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g,
    (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

  function dur(s) {
    if (s === null || s === undefined) return "—";
    s = Math.round(s);
    if (s < 60) return s + (en() ? "s" : "秒");
    const m = Math.floor(s / 60), r = s % 60;
    if (m < 60) return en() ? `${m}m ${r}s` : `${m}分${r}秒`;
    const h = Math.floor(m / 60);
    if (h < 24) return en() ? `${h}h ${m % 60}m` : `${h}小时${m % 60}分`;
    const d = Math.floor(h / 24);
    return en() ? `${d}d ${h % 24}h` : `${d}天${h % 24}小时`;
  }
  const pct = (v) => (v === null || v === undefined ? "—" : (v === 100 ? "100" : Number(v).toFixed(1)) + "%");
  const list = (xs) => xs.join(en() ? ", " : "、");
  const num = (v) => (v === null || v === undefined ? "—" : String(v));

  /* ----------------------------------------------------------------------------------------- HTTP */
  async function api(path, opts) {
    opts = opts || {};
    const headers = {"Accept": "application/json"};
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (opts.method && opts.method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
    const r = await fetch(path, {method: opts.method || "GET", headers, credentials: "same-origin",
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined});
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const err = (data && data.error) || {code: "http_" + r.status, message: r.statusText};
      const e = new Error(err.message); e.code = err.code; e.status = r.status; throw e;
    }
    return data;
  }
  function errText(e) {
    const key = "e_" + (e.code || "");
    return T[state.lang][key] ? t(key, {m: e.message}) : t("err_generic", {m: e.message || e.code});
  }
  function toast(text, bad) {
    const el = $("#toast");
    el.textContent = text; el.hidden = false; el.classList.toggle("bad", !!bad);
    clearTimeout(state.timers.toast);
    state.timers.toast = setTimeout(() => { el.hidden = true; }, 3000);
  }

  /* ----------------------------------------------------------------------------------------- language */
  function applyLang() {
    document.documentElement.lang = en() ? "en" : "zh-CN";
    $$("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    $$("[data-zh]").forEach((el) => { el.textContent = en() ? el.dataset.en : el.dataset.zh; });
    connText();
    $("#lang").textContent = en() ? "中文" : "English";
    $("#lang").lang = en() ? "zh-CN" : "en";
    document.title = t("title") + " · " + (en() ? (BOOT.hall.name_en || BOOT.hall.name) : BOOT.hall.name);
    fillGroupings();
    if (state.me) renderAll();
  }
  function fillGroupings() {
    const labels = {zh: {total: "汇总", day: "按日", week: "按周", month: "按月", daytype: "工作日 / 周末延时服务",
      service: "按业务", window: "按窗口", clerk: "按工作人员", hour: "按小时"},
    en: {total: "Total", day: "By day", week: "By week", month: "By month", daytype: "Working vs rest days",
      service: "By service", window: "By window", clerk: "By clerk", hour: "By hour"}};
    const sel = $("#r-by"), cur = sel.value || "service";
    sel.innerHTML = BOOT.groupings.map((g) => `<option value="${g}">${labels[state.lang][g]}</option>`).join("");
    sel.value = cur;
  }

  /* ----------------------------------------------------------------------------------------- session */
  async function start() {
    applyLang();
    setInterval(tick, 1000); tick();
    try {
      const me = await api("/api/v1/me");
      if (me.role !== "supervisor") throw Object.assign(new Error("not a supervisor"), {code: "not_supervisor"});
      signedIn(me);
    } catch (e) {
      showLogin(e.code === "not_supervisor" ? errText(e) : "");
    }
    document.body.classList.remove("is-loading");
  }
  function showLogin(message) {
    $("#login").hidden = false; $("#app").hidden = true; $("#logout").hidden = true; $("#who").hidden = true;
    const err = $("#login-error"); err.hidden = !message; err.textContent = message || "";
    $("#username").focus();
  }
  function signedIn(me) {
    state.me = me; state.csrf = me.csrf_token;
    $("#login").hidden = true; $("#app").hidden = false; $("#logout").hidden = false;
    $("#who").hidden = false; $("#who").textContent = me.name;
    connect();
    refreshDashboard(); refreshFollowups(); loadCalendar();
    state.timers.poll = setInterval(() => { refreshOverview(); }, 20000);
  }
  $("#login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("/api/v1/login", {method: "POST", body: {username: $("#username").value.trim(), password: $("#password").value}});
      if (r.clerk.role !== "supervisor") {
        state.csrf = r.csrf_token;
        await api("/api/v1/logout", {method: "POST", body: {}}).catch(() => {});
        throw Object.assign(new Error("not a supervisor"), {code: "not_supervisor"});
      }
      $("#password").value = "";
      signedIn({id: r.clerk.username, name: r.clerk.name, role: r.clerk.role, csrf_token: r.csrf_token});
    } catch (e) {
      // a clerk's account needs a window to sign in: on this page that means "not a supervisor"
      showLogin(errText(e.code === "missing_field" ? Object.assign(e, {code: "not_supervisor"}) : e));
    }
  });
  $("#logout").addEventListener("click", async () => {
    await api("/api/v1/logout", {method: "POST", body: {}}).catch(() => {});
    location.reload();
  });
  $("#lang").addEventListener("click", () => {
    state.lang = en() ? "zh" : "en";
    localStorage.setItem("ow.supervisor.lang", state.lang);
    applyLang();
  });
  function tick() {
    const d = new Date();
    $("#clock").textContent = d.toLocaleTimeString(en() ? "en-GB" : "zh-CN", {hour12: false});
  }

  /* ----------------------------------------------------------------------------------------- live */
  function connect() {
    if (typeof window.io !== "function") return;
    const s = state.socket = window.io("/display");
    const conn = (st) => { $("#conn").dataset.state = st; connText(); };
    conn("wait");
    s.on("connect", () => { conn("on"); refreshOverview(); });
    s.on("disconnect", () => conn("off"));
    s.on("connect_error", () => conn("off"));
    s.onAny(() => {
      later("overview", refreshOverview, 300);
      later("today", refreshToday, 1500);
      if (state.tab === "followups") later("followups", refreshFollowups, 1500);
    });
  }
  function connText() {
    const st = $("#conn").dataset.state;
    $("#conn-text").textContent = t(st === "on" ? "conn_on" : (st === "wait" ? "conn_wait" : "conn_off"));
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
    if (name === "dashboard") refreshDashboard();
  }

  function renderAll() {
    renderToday(); renderOverview(); renderCumulative();
    if (state.report) renderReport();
    renderFollowups(); renderCalendar();
    $$("img[data-chart]").forEach((img) => { if (img.dataset.src) img.src = chartSrc(img.dataset.src); });
  }

  /* ----------------------------------------------------------------------------------------- dashboard */
  function refreshDashboard() { refreshToday(); refreshOverview(); refreshCumulative(); }
  async function refreshToday() {
    try {
      state.today = await api("/api/v1/supervisor/report?period=day");
      renderToday();
      const img = $("#dash-load");
      img.dataset.src = `/api/v1/supervisor/charts/load.svg?period=day`;
      img.src = chartSrc(img.dataset.src);
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
    $("#today-label").textContent = state.today.from + (en() ? " " : " 星期") + T[state.lang].weekdays[d.getDay()];
  }
  async function refreshOverview() {
    try { state.overview = await api("/api/v1/supervisor/overview"); renderOverview(); }
    catch (e) { if (e.status === 401) showLogin(); }
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
    $("#queues tbody").innerHTML = o.services.map((s) =>
      `<tr data-service="${s.code}" class="${s.longest_wait_s >= o.alert_wait_minutes * 60 && s.waiting ? "late" : ""}${s.open_today ? "" : " closed"}">` +
      `<td><span class="prefix">${esc(s.prefix)}</span> ${esc(en() ? (s.name_en || s.name) : s.name)}</td>` +
      `<td class="num">${s.waiting}</td><td class="num">${s.waiting ? esc(dur(s.longest_wait_s)) : "—"}</td>` +
      `<td>${s.windows_open.length ? list(s.windows_open) : "—"}</td></tr>`).join("");
    $("#alerts").innerHTML = o.alerts.map((a) => {
      if (a.kind === "wait") return `<div class="alert wait" data-alert="wait">${esc(t("alert_wait", {s: en() ? (a.service_name_en || a.service_name) : a.service_name, t: dur(a.longest_wait_s), m: Math.round(a.threshold_s / 60), n: a.waiting}))}</div>`;
      return `<div class="alert printer" data-alert="printer">${esc(t("alert_printer", {k: a.kiosk, f: T[state.lang]["pf_" + a.fault] ? t("pf_" + a.fault) : a.fault, msg: a.message || ""}))}</div>`;
    }).join("");
  }
  async function refreshCumulative() {
    try { state.cumulative = await api("/api/v1/supervisor/cumulative"); renderCumulative(); } catch (e) { /* shown next time */ }
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
  function chartSrc(path) { return path + (path.includes("?") ? "&" : "?") + "lang=" + state.lang + "&_=" + Date.now(); }
  $$("#periods [data-period]").forEach((b) => b.addEventListener("click", () => {
    state.period = b.dataset.period;
    $$("#periods [data-period]").forEach((x) => x.classList.toggle("on", x === b));
    loadReport();
  }));
  ["#r-from", "#r-to"].forEach((id) => $(id).addEventListener("change", () => {
    state.period = "custom";
    $$("#periods [data-period]").forEach((x) => x.classList.remove("on"));
    loadReport();
  }));
  $("#r-by").addEventListener("change", loadReport);
  async function loadReport() {
    if (state.period === "cumulative" && !state.cumulative) await refreshCumulative();
    const q = rangeQuery() + "&by=" + $("#r-by").value;
    try {
      state.report = await api("/api/v1/supervisor/report?" + q);
    } catch (e) { toast(errText(e), true); return; }
    $("#r-from").value = state.report.from; $("#r-to").value = state.report.to;
    $("#r-csv").href = "/api/v1/supervisor/report.csv?" + q + "&lang=" + state.lang;
    renderReport();
    const range = `from=${state.report.from}&to=${state.report.to}`;
    [["#chart-load", "load"], ["#chart-wait", "wait"], ["#chart-satisfaction", "satisfaction"]].forEach(([id, name]) => {
      const img = $(id);
      img.dataset.src = `/api/v1/supervisor/charts/${name}.svg?${range}`;
      img.src = chartSrc(img.dataset.src);
      img.alt = t("chart_alt");
    });
  }
  function renderReport() {
    const r = state.report;
    if (!r) return;
    $("#r-range").textContent = r.from === r.to ? r.from : `${r.from} — ${r.to}`;
    $("#r-csv").href = "/api/v1/supervisor/report.csv?" + rangeQuery() + "&by=" + $("#r-by").value + "&lang=" + state.lang;
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
  }

  /* ----------------------------------------------------------------------------------------- follow-ups */
  $$("#f-status [data-status]").forEach((b) => b.addEventListener("click", () => {
    state.fstatus = b.dataset.status;
    $$("#f-status [data-status]").forEach((x) => x.classList.toggle("on", x === b));
    refreshFollowups();
  }));
  async function refreshFollowups() {
    try {
      state.followups = await api("/api/v1/supervisor/followups?status=" + state.fstatus);
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
        await api(`/api/v1/supervisor/followups/${form.dataset.kind}/${encodeURIComponent(form.dataset.ref)}/resolve`,
          {method: "POST", body: {note: $("input", form).value}});
        toast(t("resolved"));
        refreshFollowups(); refreshToday(); refreshCumulative();
      } catch (e) { toast(errText(e), true); }
    }));
  }

  /* ----------------------------------------------------------------------------------------- calendar */
  $("#s-all").addEventListener("change", renderCalendar);
  async function loadCalendar() {
    try { state.calendar = await api("/api/v1/supervisor/schedule?days=42"); renderCalendar(); }
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
        `<td>${d.day} <span class="muted">${(en() ? "" : "周") + T[state.lang].weekdays[day.getDay()]}</span></td>` +
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
      await api("/api/v1/supervisor/schedule/" + state.editing, {method: "PUT", body});
      toast(t("saved")); $("#editor").hidden = true; state.editing = null; loadCalendar(); refreshOverview();
    } catch (e) { const el = $("#e-error"); el.hidden = false; el.textContent = errText(e); }
  });
  $("#e-clear").addEventListener("click", async () => {
    try {
      await api("/api/v1/supervisor/schedule/" + state.editing, {method: "DELETE", body: {}});
      toast(t("cleared")); $("#editor").hidden = true; state.editing = null; loadCalendar(); refreshOverview();
    } catch (e) { const el = $("#e-error"); el.hidden = false; el.textContent = errText(e); }
  });

  start();
})();
