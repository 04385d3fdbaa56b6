/* OneWindow counter workstation: login, the window's current ticket, actions with keyboard shortcuts, live queue
 * preview over Socket.IO (/display namespace; snapshot re-fetch on every (re)connect), 办不成事 case form.
 * Every action is one call to /api/v1/windows/<n>/…; the session's CSRF token goes in X-CSRF-Token. Every POST
 * carries a fresh Idempotency-Key; after a network error or a 503 it is sent again with the same key, so an action
 * whose answer was lost is answered, never done twice. */
(function () {
  "use strict";

  const BOOT = JSON.parse(document.getElementById("boot").textContent);
  const NS = "/display";
  const OWN_WINDOW_EVENTS = new Set(["ticket_called", "ticket_recalled", "ticket_finished", "ticket_marked_no_show",
    "ticket_transferred", "window_paused", "window_resumed"]);

  const I18N = {
    zh: {
      title: "窗口工作台", conn_on: "实时连接", conn_off: "未连接", conn_wait: "重新连接中…", logout: "退出登录",
      login_title: "窗口登录", login_hint: "使用工作人员账号登录，并选择您所在的窗口。", username: "账号", password: "密码",
      window: "窗口", login: "登录", current: "当前办理", waited: "已等候", serving: "办理用时", calls: "呼叫次数",
      idle: "空闲", idle_hint: "按 F1 或小键盘 + 呼叫下一位", paused: "暂停服务中", paused_hint: "按 F9 或小键盘 9 恢复",
      a_call_next: "呼叫下一位", a_recall: "重呼", a_no_show: "过号", a_handled: "办结（办件）", a_consulted: "咨询",
      a_transfer: "转移", a_call_number: "指定呼叫", a_pause: "暂停", a_resume: "恢复服务", a_pause_resume: "暂停/恢复",
      keys_title: "快捷键", k_close: "关闭对话框", queue_title: "排队情况", today_title: "本窗口今日",
      case_title: "办不成事登记", case_department: "涉及部门", case_problem: "反映的问题", case_action: "处理情况",
      case_resolved: "当场解决", case_open: "未解决，转跟踪督办", case_submit: "保存登记", case_saved: "已登记 {id}",
      case_for: "号码 {number}", case_none: "（请先呼叫号码）",
      transfer_title: "转移当前号码", transfer_hint: "点击目标，或输入序号后按回车（Esc 取消）。",
      call_title: "指定呼叫", call_hint: "选择字母，输入号码（如 012）后按回车。", call: "呼叫", cancel: "取消",
      pause_title: "暂停服务", pause_hint: "选择原因（数字键），或填写其他原因后按回车。", pause_other: "其他原因",
      pause_go: "暂停", to_service: "转 {name}", to_window: "转 {n}号窗口 · {name}", complaint_tag: "办不成事",
      window_label: "{n}号窗口 · {name}", minutes: "{n} 分钟", waiting_n: "等候 {n} 人", est: "预计 {n} 分钟",
      longest: "最长已等 {n} 分钟", transferred_in: "转入本窗口", nobody: "暂无等候", total: "共 {n} 人等候",
      c_called: "呼叫", c_handled: "办件", c_consulted: "咨询", c_no_show: "过号", c_transferred: "转移",
      c_mean: "平均办理(分)", c_rated: "评价", c_follow_up: "需回访", c_cases: "办不成事",
      priority: "优先", transferred: "转入", calls_n: "第 {n} 次",
      ok_called: "已呼叫 {number}", ok_recalled: "已重呼 {number}", ok_finished: "{number} 已办结",
      ok_consulted: "{number} 咨询已结束", ok_no_show: "{number} 已过号", ok_transferred: "{number} 已转移",
      ok_paused: "已暂停服务", ok_resumed: "已恢复服务", signed_out: "已退出登录",
      e_queue_empty: "当前没有等候的号码", e_window_busy: "请先办结、转移或过号当前号码",
      e_window_paused: "窗口已暂停，请先恢复", e_bad_credentials: "账号或密码错误",
      e_rate_limited: "登录失败次数过多，请 {s} 秒后再试", e_window_held: "该窗口已由 {name} 登录，请其退出或联系值班主任释放",
      e_session_expired: "登录已过期，请重新登录", e_window_released: "本窗口登录已结束，请重新登录", e_session_revoked: "账号信息已变更，请重新登录",
      e_not_logged_in: "请先登录", e_csrf_failed: "页面已过期，请刷新", e_not_found: "没有这个号码",
      e_invalid_number: "号码格式应为字母加三位数字，如 A012", e_wrong_window: "该号码不属于本窗口",
      e_invalid_transition: "该号码当前不能呼叫", e_no_ticket: "请先呼叫号码", e_missing_field: "请填写必填项",
      e_network: "网络错误，请重试", e_unknown_prefix: "没有这个字母的业务",
    },
    en: {
      title: "Counter", conn_on: "Live", conn_off: "Offline", conn_wait: "Reconnecting…", logout: "Sign out",
      login_title: "Window sign-in", login_hint: "Sign in with your staff account and choose your window.",
      username: "Username", password: "Password", window: "Window", login: "Sign in", current: "Now serving",
      waited: "Waited", serving: "Serving for", calls: "Calls", idle: "Idle", idle_hint: "Press F1 or Num + to call the next ticket",
      paused: "Paused", paused_hint: "Press F9 or Num 9 to resume",
      a_call_next: "Call next", a_recall: "Recall", a_no_show: "No-show", a_handled: "Finish (handled)",
      a_consulted: "Consulted", a_transfer: "Transfer", a_call_number: "Call number", a_pause: "Pause",
      a_resume: "Resume", a_pause_resume: "Pause/resume", keys_title: "Shortcuts", k_close: "close a dialog",
      queue_title: "Queue", today_title: "This window today", case_title: "Can't-get-it-done case",
      case_department: "Department", case_problem: "Problem", case_action: "What was done",
      case_resolved: "Resolved on the spot", case_open: "Not resolved: follow up", case_submit: "Save case",
      case_saved: "Case {id} saved", case_for: "ticket {number}", case_none: "(call a ticket first)",
      transfer_title: "Transfer the current ticket", transfer_hint: "Click a target, or type its number and Enter (Esc cancels).",
      call_title: "Call a number", call_hint: "Pick the letter, type the number (e.g. 012), press Enter.", call: "Call",
      cancel: "Cancel", pause_title: "Pause the window", pause_hint: "Pick a reason (digit keys) or type another and press Enter.",
      pause_other: "Other reason", pause_go: "Pause", to_service: "To {name}", to_window: "To window {n} · {name}",
      complaint_tag: "complaints", window_label: "Window {n} · {name}", minutes: "{n} min", waiting_n: "{n} waiting",
      est: "est. {n} min", longest: "longest {n} min", transferred_in: "Transferred to this window", nobody: "Nobody waiting",
      total: "{n} waiting", c_called: "Called", c_handled: "Handled", c_consulted: "Consulted", c_no_show: "No-show",
      c_transferred: "Transferred", c_mean: "Mean min", c_rated: "Ratings", c_follow_up: "Follow-up", c_cases: "Cases",
      priority: "Priority", transferred: "Transferred", calls_n: "call {n}",
      ok_called: "Called {number}", ok_recalled: "Recalled {number}", ok_finished: "{number} finished",
      ok_consulted: "{number} consulted", ok_no_show: "{number} marked no-show", ok_transferred: "{number} transferred",
      ok_paused: "Window paused", ok_resumed: "Window resumed", signed_out: "Signed out",
      e_queue_empty: "Nobody is waiting", e_window_busy: "Finish, transfer or no-show the current ticket first",
      e_window_paused: "The window is paused: resume first", e_bad_credentials: "Wrong username or password",
      e_rate_limited: "Too many failed logins; try again in {s} s", e_window_held: "{name} is signed in to this window; ask them to sign out or a supervisor to release it",
      e_session_expired: "Your session expired; sign in again", e_window_released: "Your sign-in to this window ended; sign in again", e_session_revoked: "Your account was changed; sign in again",
      e_not_logged_in: "Please sign in", e_csrf_failed: "The page is out of date; reload it", e_not_found: "No such ticket today",
      e_invalid_number: "A number is a letter and three digits, like A012", e_wrong_window: "That ticket is not for this window",
      e_invalid_transition: "That ticket cannot be called now", e_no_ticket: "Call a ticket first",
      e_missing_field: "Fill in the required fields", e_network: "Network error; try again",
      e_unknown_prefix: "No service uses that letter",
    },
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    lang: localStorage.getItem("ow.lang") || "zh",
    me: null, csrf: null, window: null, overview: null, counts: null, busy: false,
    clockOffset: 0, socket: null, typed: "", refreshTimer: null, countsTimer: null,
    overviewGen: 0, overviewApplied: 0, countsGen: 0, countsApplied: 0,
  };

  // ------------------------------------------------------------------------------------------------ i18n
  function t(key, vars) {
    let s = (I18N[state.lang] && I18N[state.lang][key]) || I18N.zh[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split("{" + k + "}").join(v);
    return s;
  }
  const pick = (zh, en) => (state.lang === "en" && en ? en : zh);

  function applyLang() {
    document.documentElement.lang = state.lang === "en" ? "en" : "zh-CN";
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    document.querySelectorAll("[data-zh]").forEach((el) => { el.textContent = pick(el.dataset.zh, el.dataset.en); });
    $("lang").textContent = state.lang === "en" ? "中文" : "English";
    $("lang").lang = state.lang === "en" ? "zh-CN" : "en";
    setConn(state.connState || "off");
    if (state.me) render();
  }

  // ------------------------------------------------------------------------------------------------ HTTP
  const RETRY_DELAYS_MS = [500, 1500, 3000];  // a POST whose answer was lost (network, 503) is sent again, same key

  // 128 random bits as hex; crypto.getRandomValues works on plain-http hall networks (randomUUID does not)
  function idempotencyKey() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "c" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function api(method, path, body) {
    const headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
    const retries = method === "POST" ? RETRY_DELAYS_MS.length : 0;
    if (method === "POST") headers["Idempotency-Key"] = idempotencyKey();  // one per click, kept for its retries
    let r;
    for (let attempt = 0; ; attempt++) {
      try {
        r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
          credentials: "same-origin", cache: "no-store" });
      } catch (e) {
        if (attempt < retries) { await pause(RETRY_DELAYS_MS[attempt]); continue; }
        throw { code: "network", message: String(e) };
      }
      if (r.status === 503 && attempt < retries) { await pause(RETRY_DELAYS_MS[attempt]); continue; }
      break;
    }
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const err = (data && data.error) || { code: "http_" + r.status, message: r.statusText };
      err.status = r.status;
      if (r.status === 401 && state.me) { signedOut(err); }
      throw err;
    }
    return data;
  }

  function errorText(err) {
    const key = "e_" + err.code;
    const d = err.details || {};
    if (I18N.zh[key]) return t(key, { s: d.retry_after || "", name: (d.holder && d.holder.name) || "" });
    return err.message || err.code;
  }

  let toastTimer = null;
  function toast(text, kind) {
    const el = $("toast");
    el.textContent = text;
    el.dataset.kind = kind || "ok";
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, kind === "error" ? 5000 : 2500);
  }

  // ------------------------------------------------------------------------------------------------ login
  async function start() {
    applyLang();
    try {
      const me = await api("GET", "/api/v1/me");
      if (me.window == null) throw { code: "not_logged_in" };
      enterWork(me);
    } catch (e) {
      showLogin(e.code && e.code !== "not_logged_in" && e.code !== "network" ? errorText(e) : "");
    }
    document.body.classList.remove("is-loading");
  }

  function showLogin(message) {
    state.me = null; state.csrf = null; state.window = null;
    $("work-view").hidden = true; $("who").hidden = true; $("logout").hidden = true;
    $("login-view").hidden = false;
    $("login-error").textContent = message || "";
    const params = new URLSearchParams(location.search);
    const w = params.get("window") || localStorage.getItem("ow.window");
    if (w && [...$("window-select").options].some((o) => o.value === w)) $("window-select").value = w;
    if (state.socket) { state.socket.disconnect(); state.socket = null; }
    setTimeout(() => $("username").focus(), 0);
  }

  function signedOut(err) {
    closeDialogs();
    showLogin(err ? errorText(err) : t("signed_out"));
  }

  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    $("login-submit").disabled = true;
    $("login-error").textContent = "";
    try {
      const data = await api("POST", "/api/v1/login", {
        username: form.username.value.trim(), password: form.password.value, window: Number(form.window.value) });
      form.password.value = "";
      localStorage.setItem("ow.window", String(data.window));
      enterWork({ id: data.clerk.username, name: data.clerk.name, role: data.clerk.role, window: data.window,
        csrf_token: data.csrf_token });
    } catch (e) {
      $("login-error").textContent = errorText(e);
    } finally {
      $("login-submit").disabled = false;
    }
  });

  $("logout").addEventListener("click", async () => {
    try { await api("POST", "/api/v1/logout"); } catch (e) { /* signed out either way */ }
    signedOut(null);
  });

  function windowInfo(n) { return BOOT.windows.find((w) => w.number === n); }
  function serviceInfo(code) { return BOOT.services.find((s) => s.code === code); }

  function enterWork(me) {
    state.me = me; state.csrf = me.csrf_token; state.window = me.window;
    state.overview = null; state.counts = null;
    $("login-view").hidden = true; $("work-view").hidden = false;
    $("who").hidden = false; $("logout").hidden = false;
    const w = windowInfo(me.window);
    $("case-panel").hidden = !w.complaint;
    document.querySelector(".case-key").hidden = !w.complaint;
    render();
    refreshAll();
    connect();
  }

  // ------------------------------------------------------------------------------------------------ live data
  function connect() {
    if (state.socket || typeof io !== "function") return;
    const socket = io(NS, { reconnectionDelay: 500, reconnectionDelayMax: 5000 });
    state.socket = socket;
    socket.on("connect", () => { setConn("on"); refreshAll(); });
    socket.on("disconnect", () => setConn("wait"));
    socket.io.on("reconnect_attempt", () => setConn("wait"));
    socket.onAny((type, data) => {
      if (!state.me) return;
      const ownWindow = data && data.window === state.window;
      scheduleRefresh(ownWindow && OWN_WINDOW_EVENTS.has(type));
    });
  }

  function setConn(s) {
    state.connState = s;
    $("conn").dataset.state = s;
    $("conn-text").textContent = t(s === "on" ? "conn_on" : s === "wait" ? "conn_wait" : "conn_off");
  }

  function scheduleRefresh(withCounts) {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refreshOverview, 200);
    if (withCounts) {
      clearTimeout(state.countsTimer);
      state.countsTimer = setTimeout(refreshCounts, 400);
    }
  }

  async function refreshAll() { await Promise.all([refreshOverview(), refreshCounts()]); }

  // Responses can arrive out of order (a refresh triggered by an event may overtake the one after an action):
  // only the answer to the most recently started request is applied.
  async function refreshOverview() {
    if (!state.window) return;
    const gen = ++state.overviewGen;
    try {
      const o = await api("GET", `/api/v1/windows/${state.window}/overview`);
      if (gen < state.overviewApplied) return;
      state.overviewApplied = gen;
      state.clockOffset = Date.parse(o.now) - Date.now();
      state.overview = o;
      render();
    } catch (e) { if (e.status !== 401) console.warn("overview", e); }
  }

  async function refreshCounts() {
    if (!state.window) return;
    const gen = ++state.countsGen;
    try {
      const counts = (await api("GET", `/api/v1/windows/${state.window}/today`)).counts;
      if (gen < state.countsApplied) return;
      state.countsApplied = gen;
      state.counts = counts;
      renderCounts();
    } catch (e) { if (e.status !== 401) console.warn("counts", e); }
  }

  // ------------------------------------------------------------------------------------------------ render
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  function fmtDuration(ms) {
    if (ms == null || !isFinite(ms) || ms < 0) return "—";
    const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const mm = String(m).padStart(2, "0"), ss = String(sec).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  function allowed() {
    const o = state.overview;
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
    $("who-window").textContent = t("window_label", { n: w.number, name: w.name });
    $("who-clerk").textContent = state.me.name + "（" + state.me.id + "）";
    const o = state.overview;
    const can = allowed();
    document.querySelectorAll("#actions [data-action]").forEach((b) => { b.disabled = !can[b.dataset.action]; });
    if (!o) return;
    const win = o.window, cur = win.current;
    $("pause-name").textContent = t(win.paused ? "a_resume" : "a_pause");
    $("paused-banner").hidden = !win.paused;
    $("paused-reason").textContent = win.pause_reason ? "· " + win.pause_reason : "";
    $("current").dataset.state = cur ? "serving" : win.paused ? "paused" : "idle";
    $("cur-number").textContent = cur ? cur.number : "";
    $("cur-number").hidden = !cur;
    $("cur-service").textContent = cur ? pick(cur.service_name, cur.service_name_en) : "";
    $("cur-idle").hidden = !!cur;
    $("cur-idle").querySelector("strong").textContent = t(win.paused ? "paused" : "idle");
    $("cur-idle").querySelector("span").textContent = t(win.paused ? "paused_hint" : "idle_hint");
    $("cur-facts").hidden = !cur;
    if (cur) {
      const waited = Date.parse(cur.called_at) - Date.parse(cur.issued_at);
      $("cur-waited").textContent = t("minutes", { n: Math.max(0, Math.round(waited / 60000)) });
      $("cur-calls").textContent = String(cur.calls);
      const tags = [];
      if (cur.priority) tags.push(`<span class="tag tag-priority">${esc(t("priority"))}</span>`);
      if (cur.transfers) tags.push(`<span class="tag">${esc(t("transferred"))}</span>`);
      $("cur-tags").innerHTML = tags.join("");
    }
    tick();
    renderQueues();
    renderCase();
  }

  function tick() {
    const now = new Date(Date.now() + state.clockOffset);
    $("clock").textContent = now.toLocaleTimeString("zh-CN", { hour12: false });
    const cur = state.overview && state.overview.window.current;
    if (cur && cur.called_at) $("cur-serving").textContent = fmtDuration(now - Date.parse(cur.called_at));
  }

  function chips(list) {
    return list.map((e) => `<span class="chip${e.priority ? " chip-priority" : ""}${e.transferred ? " chip-transferred" : ""}"
      title="${esc(t("minutes", { n: e.waited_minutes }))}">${esc(e.number)}</span>`).join("");
  }

  function renderQueues() {
    const q = state.overview.queues;
    $("total-waiting").textContent = t("total", { n: q.total_waiting });
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
    $("queues").innerHTML = html;
  }

  function renderCounts() {
    const c = state.counts;
    if (!c) return;
    const w = windowInfo(state.window);
    const tiles = [["c_called", c.called], ["c_handled", c.handled], ["c_consulted", c.consulted],
      ["c_no_show", c.no_show], ["c_transferred", c.transferred], ["c_mean", c.mean_service_minutes == null ? "—" : c.mean_service_minutes],
      ["c_rated", c.rated], ["c_follow_up", c.follow_up]];
    if (w.complaint) tiles.push(["c_cases", c.cases]);
    $("counts").classList.toggle("wide", tiles.length > 8);
    $("counts").innerHTML = tiles.map(([k, v]) => `<div class="count" data-count="${k.slice(2)}"><span class="count-v">${esc(v)}</span><span class="count-k">${esc(t(k))}</span></div>`).join("");
  }

  function caseTicket() {
    const o = state.overview;
    if (!o) return null;
    if (o.window.current) return o.window.current.number;
    return o.last_finished ? o.last_finished.split("-")[1] : null;
  }

  function renderCase() {
    if ($("case-panel").hidden) return;
    const number = caseTicket();
    $("case-ticket").textContent = number ? t("case_for", { number }) : t("case_none");
    $("case-submit").disabled = !number || state.caseBusy;
  }

  // ------------------------------------------------------------------------------------------------ actions
  async function act(action, body) {
    if (state.busy) return;
    state.busy = true; render();
    const n = state.window;
    const paths = { "call-next": "call-next", "recall": "recall", "no-show": "no-show", "finish-handled": "finish",
      "finish-consulted": "finish", "transfer": "transfer", "call-number": "call", "pause": "pause", "resume": "resume" };
    try {
      const data = await api("POST", `/api/v1/windows/${n}/${paths[action]}`, body);
      const number = data.ticket ? data.ticket.number : "";
      const msg = { "call-next": "ok_called", "call-number": "ok_called", "recall": "ok_recalled",
        "finish-handled": "ok_finished", "finish-consulted": "ok_consulted", "no-show": "ok_no_show",
        "transfer": "ok_transferred", "pause": "ok_paused", "resume": "ok_resumed" }[action];
      toast(t(msg, { number }));
      return data;
    } catch (e) {
      toast(errorText(e), "error");
      throw e;
    } finally {
      state.busy = false;
      await refreshAll();
    }
  }

  function run(action) {
    const can = allowed();
    if (action === "case") { if (!$("case-panel").hidden) $("case-department").focus(); return; }
    if (!can[action]) return;
    switch (action) {
      case "finish-handled": return act(action, { outcome: "handled" }).catch(() => {});
      case "finish-consulted": return act(action, { outcome: "consulted" }).catch(() => {});
      case "transfer": return openTransfer();
      case "call-number": return openCall();
      case "pause": return state.overview.window.paused ? act("resume").catch(() => {}) : openPause();
      default: return act(action).catch(() => {});
    }
  }

  document.querySelectorAll("#actions [data-action]").forEach((b) => b.addEventListener("click", () => run(b.dataset.action)));

  // ------------------------------------------------------------------------------------------------ dialogs
  function closeDialogs() { document.querySelectorAll("dialog[open]").forEach((d) => d.close()); }
  document.querySelectorAll("dialog [data-close]").forEach((b) => b.addEventListener("click", closeDialogs));
  const openDialog = () => document.querySelector("dialog[open]");

  function setTyped(v) {
    state.typed = v;
    const dlg = openDialog();
    if (dlg && dlg.id === "dlg-transfer") $("transfer-typed").textContent = v ? "→ " + v : "";
    if (dlg) dlg.querySelectorAll("[data-index]").forEach((b) => b.classList.toggle("selected", b.dataset.index === v));
  }

  function transferTargets() {
    const out = [];
    const complaint = BOOT.complaint_service;
    const services = [...BOOT.services].sort((a, b) => (b.code === complaint) - (a.code === complaint));
    for (const s of services) out.push({ kind: "service", value: s.code, complaint: s.code === complaint,
      label: t("to_service", { name: pick(s.name, s.name_en) }) + ` (${s.prefix})` });
    for (const w of BOOT.windows) if (w.number !== state.window) out.push({ kind: "window", value: w.number,
      complaint: w.complaint, label: t("to_window", { n: w.number, name: w.name }) });
    return out;
  }

  function openTransfer() {
    const targets = transferTargets();
    $("transfer-targets").innerHTML = targets.map((x, i) => `<button type="button" class="target${x.complaint ? " target-complaint" : ""}"
      data-index="${i + 1}" data-kind="${x.kind}" data-value="${esc(x.value)}"><span class="idx">${i + 1}</span>${esc(x.label)}${x.complaint ? ` <span class="tag">${esc(t("complaint_tag"))}</span>` : ""}</button>`).join("");
    $("transfer-targets").querySelectorAll(".target").forEach((b) => b.addEventListener("click", () => doTransfer(b)));
    setTyped("");
    $("dlg-transfer").showModal();
  }

  function doTransfer(b) {
    closeDialogs();
    const body = b.dataset.kind === "service" ? { service: b.dataset.value } : { window: Number(b.dataset.value) };
    act("transfer", body).catch(() => {});
  }

  function openCall() {
    const w = windowInfo(state.window);
    const prefixes = w.services.map((c) => serviceInfo(c));
    $("call-prefixes").innerHTML = prefixes.map((s, i) => `<button type="button" class="prefix${i === 0 ? " selected" : ""}"
      data-prefix="${esc(s.prefix)}">${esc(s.prefix)} <small>${esc(pick(s.name, s.name_en))}</small></button>`).join("");
    $("call-prefixes").querySelectorAll(".prefix").forEach((b) => b.addEventListener("click", () => {
      $("call-prefixes").querySelectorAll(".prefix").forEach((x) => x.classList.toggle("selected", x === b));
      $("call-input").focus();
    }));
    $("call-input").value = ""; $("call-error").textContent = "";
    $("dlg-call").showModal();
    $("call-input").focus();
  }

  $("call-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let v = $("call-input").value.trim().toUpperCase();
    if (/^\d{1,4}$/.test(v)) {
      const sel = $("call-prefixes").querySelector(".prefix.selected");
      v = (sel ? sel.dataset.prefix : "") + v.padStart(3, "0");
    } else if (/^[A-Z]\d{1,4}$/.test(v)) {
      v = v[0] + v.slice(1).padStart(3, "0");
    }
    try {
      await act("call-number", { number: v });
      closeDialogs();
    } catch (e) {
      $("call-error").textContent = errorText(e);
      $("call-input").select();
    }
  });

  function openPause() {
    $("pause-reasons").innerHTML = BOOT.pause_reasons.map((r, i) => `<button type="button" class="target" data-index="${i + 1}"
      data-reason="${esc(r.zh)}"><span class="idx">${i + 1}</span>${esc(pick(r.zh, r.en))}</button>`).join("");
    $("pause-reasons").querySelectorAll(".target").forEach((b) => b.addEventListener("click", () => {
      closeDialogs(); act("pause", { reason: b.dataset.reason }).catch(() => {});
    }));
    $("pause-other").value = "";
    setTyped("");
    $("dlg-pause").showModal();
  }

  $("pause-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const typed = state.typed && $("pause-reasons").querySelector(`[data-index="${state.typed}"]`);
    const reason = typed ? typed.dataset.reason : $("pause-other").value.trim();
    closeDialogs();
    act("pause", { reason }).catch(() => {});
  });

  // ------------------------------------------------------------------------------------------------ 办不成事 case
  $("case-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    state.caseBusy = true; renderCase();
    try {
      const data = await api("POST", `/api/v1/windows/${state.window}/case`, {
        department: f.department.value.trim(), problem: f.problem.value.trim(), action: f.action.value.trim(),
        resolved: f.resolved.value === "yes" });
      toast(t("case_saved", { id: data.case.id }));
      f.reset();
      refreshCounts();
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
    if (dlg.id === "dlg-call") {
      if (ev.code === "NumpadEnter") { ev.preventDefault(); $("call-form").requestSubmit(); }
      else if (/^Key[A-Z]$/.test(ev.code) && document.activeElement === $("call-input") && $("call-input").value === "") {
        const b = $("call-prefixes").querySelector(`[data-prefix="${ev.code.slice(3)}"]`);
        if (b) { ev.preventDefault(); b.click(); }
      }
      return;
    }
    if (document.activeElement === $("pause-other") && !ev.code.startsWith("Numpad")) return;
    const d = digitOf(ev);
    if (d !== null) {
      ev.preventDefault();
      const next = (state.typed + d).slice(-2);
      setTyped(dlg.querySelector(`[data-index="${next}"]`) ? next : d);
    } else if (ev.code === "Backspace") {
      ev.preventDefault(); setTyped(state.typed.slice(0, -1));
    } else if (ev.code === "Enter" || ev.code === "NumpadEnter") {
      ev.preventDefault();
      const b = state.typed && dlg.querySelector(`[data-index="${state.typed}"]`);
      if (b) b.click(); else if (dlg.id === "dlg-pause") $("pause-form").requestSubmit();
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

  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "en" ? "zh" : "en";
    localStorage.setItem("ow.lang", state.lang);
    applyLang();
    renderCounts();
  });

  setInterval(tick, 1000);
  setInterval(() => { if (state.me && (!state.socket || !state.socket.connected)) refreshOverview(); }, 15000);
  start();
})();
