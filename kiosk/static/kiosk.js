/* OneWindow lobby kiosk: service tiles (live), the 绿色通道 priority path, issuing with one request_id per
 * tap-intent (retries reuse it: the API is idempotent on request_id), the ticket screen, and citizen-language
 * errors. zh-CN by default; English returns to Chinese after each visit (ticket screen closed or idle). */
(function () {
  "use strict";

  var BOOT = JSON.parse(document.getElementById("boot").textContent);
  // The kiosk is a device with a token (docs/kiosk.md): paired once (typed on the pairing screen, or opened as
  // /kiosk#pair=<token>), kept in this browser's local storage, sent as "Authorization: Bearer" on every API call.
  // Which kiosk this is (its id, for printing and health) is what the server says the token belongs to.
  var TOKEN_KEY = "ow.kiosk.token";
  var KIOSK = null;
  var IDLE_MS = (BOOT.idle_seconds || 60) * 1000;
  var TICKET_MS = 15000;          // the ticket stays on screen this long (printed)
  var TICKET_FAILED_MS = 45000;   // … and longer when it did not print: time to take a photo
  var REFRESH_THROTTLE_MS = 1500; // at most one services fetch per this, however busy the hall
  var POLL_MS = 30000;            // opening hours change with the clock, not only with events
  var REQUEST_TIMEOUT_MS = 15000;
  var RETRY_DELAYS_MS = [800, 2000];  // automatic retries after a network hiccup, same request_id
  var INTENT_REUSE_MS = 120000;   // a new tap on the same service after a failed attempt reuses its request_id
  var TIMEZONE = BOOT.timezone || "Asia/Shanghai";

  var TEXT = {
    zh: {
      subtitle: "自助取号服务", choose: "请选择您要办理的业务", choosePriority: "绿色通道 · 请选择您要办理的业务",
      back: "返回", priorityTitle: "绿色通道", prioritySub: "老年人、残疾人、孕妇、军人 · 优先取号",
      priorityNote: "老年人、残疾人、孕妇、军人优先办理，请到窗口出示相关证件",
      printerDown: "打印机暂时无法出票：取号后请拍照或扫码保存您的号码",
      issued: "取号成功", yourNumber: "您的号码", aheadLabel: "前面等候", waitLabel: "预计等候",
      scan: "扫码查看排队进度", missed: "过号请重新取号", done: "完成", ok: "知道了",
      busy: "正在为您取号，请稍候…", retrying: "网络不稳定，正在重试…",
      offline: "网络连接中断，正在重新连接…", loading: "正在获取业务信息，请稍候…",
      langButton: "English", waiting: "等候", people: "人", about: "约", minutes: "分钟", none: "无需等候",
      persons: function (n) { return n + " 人"; },
      waitMinutes: function (m) { return m === 0 ? "即将叫号" : "约 " + m + " 分钟"; },
      tileWait: function (n, m) { return n === 0 ? "当前无人等候" : "等候 " + n + " 人 · 约 " + m + " 分钟"; },
      windows: function (list) { return list.length ? list.join("、") + " 号窗口" : ""; },
      goTo: function (list) { return list.length ? "请到 " + list.join("、") + " 号窗口办理" : "请留意叫号屏幕"; },
      closedBadge: "暂停取号",
      reasons: {
        holiday: "今日为节假日，暂停取号", closed_today: "今日不开放", not_yet_open: "尚未开始取号",
        closed_for_break: "午间休息", closed_for_day: "今日取号已结束", quota_reached: "今日号源已取完",
        rota_closed: "今日暂停办理", other: "暂停取号"
      },
      opensToday: function (t) { return t + " 开始取号"; },
      opensTomorrow: function (t) { return "明天 " + t + " 开始取号"; },
      opensOn: function (d, t) {
        var day = d.soon ? (d.nextWeek ? "下周" : "周") + "日一二三四五六".charAt(d.weekday) : d.month + "月" + d.day + "日";
        return day + " " + t + " 开始取号";
      },
      printed: "请取走下方打印的号票，留意叫号屏幕",
      preview: "预览模式：未连接打印机。请拍照或扫码保存您的号码",
      priorityWait: "绿色通道 · 优先叫号",
      replayed: "如未拿到纸质号票，请拍照或扫码保存您的号码",
      printFailed: "抱歉，打印机暂时无法出票。请拍照或扫码保存您的号码，凭号码同样可以办理。工作人员已收到提醒。",
      closedSentence: function (name, reason, next) { return "“" + name + "”" + reason + (next ? "，" + next : "") + "。请选择其他业务或咨询工作人员。"; },
      quotaSentence: function (name) { return "“" + name + "”今日号源已取完，请明天再来，或咨询工作人员。"; },
      errNetwork: "网络连接中断，暂时无法取号。请稍后再试，或咨询工作人员。",
      errServer: "系统繁忙，暂时无法取号。请稍后再试，或咨询工作人员。",
      errUnknownService: "该业务暂不可办理，请选择其他业务或咨询工作人员。",
      errGeneric: "暂时无法取号，请咨询现场工作人员。",
      pairTitle: "本设备尚未登记为自助取号机",
      pairText: "未登记的设备不能取号、打印号票。请工作人员输入本取号机的设备令牌（由管理员用 onewindow hash-token 生成）。",
      pairLabel: "设备令牌", pairButton: "登记本设备",
      pairBad: "令牌无效，请核对后重新输入。", pairNotKiosk: "这不是取号机的令牌（可能是评价器或呼叫器的令牌）。",
      pairNetwork: "无法连接服务器，请检查网络后重试。", pairLost: "本设备的令牌已失效，请重新登记。"
    },
    en: {
      subtitle: "Self-service tickets", choose: "Please choose a service", choosePriority: "Priority lane · Please choose a service",
      back: "Back", priorityTitle: "Priority lane", prioritySub: "Seniors, people with disabilities, pregnant women, military",
      priorityNote: "Served first: seniors, people with disabilities, pregnant women and military personnel. Please show your ID at the window.",
      printerDown: "The printer is not working: after taking a ticket, please photograph it or scan its QR code",
      issued: "Your ticket", yourNumber: "Your number", aheadLabel: "Ahead of you", waitLabel: "Estimated wait",
      scan: "Scan to follow your place in the queue", missed: "If you miss your call, please take a new ticket",
      done: "Done", ok: "OK", busy: "Getting your ticket…", retrying: "The network is unsteady, trying again…",
      offline: "Network connection lost, reconnecting…", loading: "Loading services, please wait…",
      langButton: "中文", waiting: "Waiting", people: "", about: "about", minutes: "min", none: "No wait",
      persons: function (n) { return n === 0 ? "No one" : n === 1 ? "1 person" : n + " people"; },
      waitMinutes: function (m) { return m === 0 ? "Called soon" : "about " + m + " min"; },
      tileWait: function (n, m) { return n === 0 ? "No one waiting" : n + " waiting · about " + m + " min"; },
      windows: function (list) { return list.length ? (list.length === 1 ? "Window " : "Windows ") + list.join(", ") : ""; },
      goTo: function (list) { return list.length ? "Please go to " + (list.length === 1 ? "window " : "windows ") + list.join(", ") : "Please watch the call screen"; },
      closedBadge: "Not issuing",
      reasons: {
        holiday: "Closed today for the public holiday", closed_today: "Not open today", not_yet_open: "Not open yet",
        closed_for_break: "Lunch break", closed_for_day: "Closed for today", quota_reached: "All of today's tickets are taken",
        rota_closed: "Not available today", other: "Not issuing tickets now"
      },
      opensToday: function (t) { return "Opens at " + t; },
      opensTomorrow: function (t) { return "Opens tomorrow at " + t; },
      opensOn: function (d, t) {
        var day = d.soon ? ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"][d.weekday]
          : d.day + " " + ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.month - 1];
        return "Opens " + day + " at " + t;
      },
      printed: "Please take your printed ticket below and watch the call screen",
      preview: "Preview mode, no printer connected: please photograph this screen or scan the QR code",
      priorityWait: "Priority lane · called first",
      replayed: "If you did not get a paper ticket, please photograph this screen or scan the QR code",
      printFailed: "Sorry, the printer cannot print right now. Please photograph this screen or scan the QR code: your number is valid without paper. Staff have been alerted.",
      closedSentence: function (name, reason, next) { return name + ": " + reason.charAt(0).toLowerCase() + reason.slice(1) + (next ? " (" + next.charAt(0).toLowerCase() + next.slice(1) + ")" : "") + ". Please choose another service or ask a member of staff."; },
      quotaSentence: function (name) { return name + ": all of today's tickets have been taken. Please come back tomorrow or ask a member of staff."; },
      errNetwork: "The network is down, so no ticket could be issued. Please try again in a moment or ask a member of staff.",
      errServer: "The system is busy and could not issue a ticket. Please try again in a moment or ask a member of staff.",
      errUnknownService: "This service is not available. Please choose another one or ask a member of staff.",
      errGeneric: "A ticket cannot be issued right now. Please ask a member of staff.",
      pairTitle: "This device is not registered as a ticket kiosk",
      pairText: "An unregistered device cannot issue or print tickets. Staff: enter this kiosk's device token (made by the administrator with onewindow hash-token).",
      pairLabel: "Device token", pairButton: "Register this device",
      pairBad: "This token is not valid. Please check it and try again.",
      pairNotKiosk: "This is not a kiosk token (it may belong to a rating tablet or a keypad).",
      pairNetwork: "The server cannot be reached. Check the network and try again.",
      pairLost: "This device's token is no longer valid. Please register it again."
    }
  };

  var $ = function (id) { return document.getElementById(id); };
  var root = $("kiosk");
  var state = {
    lang: "zh", priority: false, services: BOOT.services, busy: false, pending: null, screen: "pair",
    printerDown: false, connected: true
  };
  var timers = { idle: null, ticket: null, countdown: null, refresh: null, dialog: null, health: null };
  var lastRefresh = 0;

  function t(key) { return TEXT[state.lang][key]; }

  // ------------------------------------------------------------------------------------------ time and dates
  var partsFmt = new Intl.DateTimeFormat("en-CA", {
    timeZone: TIMEZONE, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    weekday: "short", hourCycle: "h23"
  });
  function hallNow() {
    var p = {};
    partsFmt.formatToParts(new Date()).forEach(function (x) { p[x.type] = x.value; });
    var wd = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(p.weekday);
    return { date: p.year + "-" + p.month + "-" + p.day, year: +p.year, month: +p.month, day: +p.day,
             time: p.hour + ":" + p.minute, weekday: wd };
  }
  function addDays(isoDate, n) {
    var d = new Date(isoDate + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }
  // "2026-11-27T14:00:00+08:00": the hall-local date and time are the string's own fields
  function opensText(iso) {
    if (!iso) return "";
    var date = iso.slice(0, 10), time = iso.slice(11, 16), today = hallNow().date;
    if (date === today) return t("opensToday")(time);
    if (date === addDays(today, 1)) return t("opensTomorrow")(time);
    // within a week the weekday is enough (周一 / 下周一 when it is past this week's Sunday)
    var d = new Date(date + "T00:00:00Z"), now = new Date(today + "T00:00:00Z");
    var days = Math.round((d - now) / 86400000), iso = function (x) { return (x.getUTCDay() + 6) % 7; };
    return t("opensOn")({ month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay(),
                          soon: days > 0 && days < 7, nextWeek: iso(d) <= iso(now) }, time);
  }
  function renderClock() {
    var n = hallNow();
    $("clock-time").textContent = n.time;
    if (state.lang === "zh") {
      $("clock-date").textContent = n.year + "年" + n.month + "月" + n.day + "日 星期" + "日一二三四五六".charAt(n.weekday);
    } else {
      $("clock-date").textContent = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][n.weekday] + ", " + n.day + " " +
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][n.month - 1] + " " + n.year;
    }
  }

  // ------------------------------------------------------------------------------------------ rendering
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function nameOf(s) { return state.lang === "en" && s.name_en ? s.name_en : s.name; }
  function otherNameOf(s) { return state.lang === "en" ? s.name : (s.name_en || ""); }

  function renderTexts() {
    root.setAttribute("data-lang", state.lang);
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    Array.prototype.forEach.call(document.querySelectorAll("[data-t]"), function (node) {
      var value = TEXT[state.lang][node.getAttribute("data-t")];
      if (typeof value === "string") node.textContent = value;
    });
    $("prompt").textContent = state.priority ? t("choosePriority") : t("choose");
    $("lang").textContent = t("langButton");
    $("lang").lang = state.lang === "zh" ? "en" : "zh-CN";
    $("hall-name").textContent = state.lang === "en" && BOOT.hall_en ? BOOT.hall_en : BOOT.hall;
    $("notice").textContent = state.lang === "en" && BOOT.notice_en ? BOOT.notice_en : BOOT.notice;
    renderClock();
  }

  function renderTiles() {
    var box = $("tiles");
    box.textContent = "";
    root.classList.toggle("priority-mode", state.priority);
    $("priority").hidden = state.priority;
    $("back").hidden = !state.priority;
    $("priority-note").hidden = !state.priority;
    $("printer-note").hidden = !state.printerDown;
    if (!state.services) {
      box.appendChild(el("div", "tiles-loading", t("loading")));
      return;
    }
    var count = state.services.length;
    box.setAttribute("data-size", count <= 4 ? "few" : count <= 9 ? "some" : "many");
    state.services.forEach(function (s) {
      var tile = el("button", "tile" + (s.open ? "" : " closed"));
      tile.type = "button";
      tile.setAttribute("data-service", s.code);
      tile.disabled = !s.open;
      tile.setAttribute("aria-disabled", s.open ? "false" : "true");
      tile.appendChild(el("span", "tile-prefix", s.prefix));
      var body = el("span", "tile-body");
      body.appendChild(el("span", "tile-name", nameOf(s)));
      var other = otherNameOf(s);
      if (other) body.appendChild(el("span", "tile-name-other", other));
      if (s.open) {
        var wait = el("span", "tile-wait");
        wait.appendChild(el("span", "tile-wait-text", state.priority ? t("priorityWait")
          : t("tileWait")(s.waiting, s.estimated_wait_minutes)));
        body.appendChild(wait);
        if (s.windows && s.windows.length) body.appendChild(el("span", "tile-windows", t("windows")(s.windows)));
      } else {
        var why = el("span", "tile-closed");
        why.appendChild(el("span", "tile-closed-badge", t("closedBadge")));
        why.appendChild(el("span", "tile-reason", reasonText(s.closed_reason)));
        body.appendChild(why);
        var next = opensText(s.opens_at);
        if (next) body.appendChild(el("span", "tile-next", next));
      }
      tile.appendChild(body);
      if (s.open) tile.appendChild(el("span", "tile-go", "›"));
      tile.addEventListener("click", function () { takeTicket(s.code); });
      box.appendChild(tile);
    });
  }

  function reasonText(code) { return t("reasons")[code] || t("reasons").other; }

  function render() { renderTexts(); renderTiles(); if (state.ticket) renderTicket(); }

  // ------------------------------------------------------------------------------------------ live data
  function fetchJSON(url, options, timeoutMs) {
    var ctrl = window.AbortController ? new AbortController() : null;
    var timer = ctrl ? setTimeout(function () { ctrl.abort(); }, timeoutMs || REQUEST_TIMEOUT_MS) : null;
    var opts = Object.assign({ cache: "no-store", credentials: "same-origin" }, options || {});
    var token = deviceToken();
    if (token) opts.headers = Object.assign({ Authorization: "Bearer " + token }, opts.headers || {});
    if (ctrl) opts.signal = ctrl.signal;
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        return { status: r.status, body: body };
      });
    }).finally(function () { if (timer) clearTimeout(timer); });
  }

  function refreshServices() {
    lastRefresh = Date.now();
    return fetchJSON("/api/v1/services", null, 10000).then(function (res) {
      if (res.status === 200 && res.body && res.body.services) {
        state.services = res.body.services;
        setNetwork(true);
        if (state.screen === "start") renderTiles();
      } else {
        setNetwork(false);
      }
    }).catch(function () { setNetwork(false); });
  }

  // throttled: many events in a burst cause one fetch now and one at the end of the burst
  function scheduleRefresh() {
    if (timers.refresh) return;
    var wait = Math.max(0, REFRESH_THROTTLE_MS - (Date.now() - lastRefresh));
    timers.refresh = setTimeout(function () { timers.refresh = null; refreshServices(); }, wait);
  }

  function setNetwork(ok) {
    state.connected = ok;
    $("net").hidden = ok;
  }

  function connectSocket() {
    if (typeof window.io !== "function") return;
    // WebSocket first; where a proxy refuses the upgrade, long-polling takes over (tryAllTransports)
    var socket = window.io("/display", { transports: ["websocket", "polling"], tryAllTransports: true });
    socket.on("connect", function () { state.live = true; setNetwork(true); scheduleRefresh(); });
    socket.on("disconnect", function () { setNetwork(false); });
    socket.onAny(function () { scheduleRefresh(); });
  }

  // ------------------------------------------------------------------------------------------ issuing
  function newRequestId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return "k" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // One intent per tap; a retry (automatic, or the citizen tapping the same service again after a failure)
  // sends the same request_id, so the server hands back the ticket it may already have made.
  function intentFor(code) {
    var p = state.pending;
    if (p && p.service === code && p.priority === state.priority && Date.now() - p.at < INTENT_REUSE_MS) return p;
    state.pending = { service: code, priority: state.priority, requestId: newRequestId(), at: Date.now() };
    return state.pending;
  }

  function serviceByCode(code) {
    return (state.services || []).filter(function (s) { return s.code === code; })[0] || null;
  }

  function takeTicket(code) {
    if (state.busy || state.screen !== "start") return;
    var svc = serviceByCode(code);
    if (!svc || !svc.open) return;
    state.busy = true;
    var intent = intentFor(code);
    showBusy(t("busy"));
    var body = JSON.stringify({ service: code, priority: intent.priority, lang: state.lang,
                                request_id: intent.requestId, kiosk: KIOSK });
    attempt(0);

    function attempt(n) {
      fetchJSON("/api/v1/tickets", { method: "POST", headers: { "Content-Type": "application/json" }, body: body })
        .then(function (res) {
          if ((res.status === 200 || res.status === 201) && res.body && res.body.ticket) {
            finish();
            state.pending = null;
            setNetwork(true);
            showTicket(res.body);
          } else if (res.status >= 500 && n < RETRY_DELAYS_MS.length) {
            retry(n);
          } else if (res.status === 401) {  // the token was withdrawn: this is no longer a registered kiosk
            finish();
            state.pending = null;
            unpair(t("pairLost"));
          } else {
            finish();
            if (res.status < 500) state.pending = null;  // a definite answer: the next tap is a new intent
            showError(errorSentence(res.body && res.body.error, svc, res.status));
            refreshServices();
          }
        })
        .catch(function () {
          if (n < RETRY_DELAYS_MS.length) { retry(n); return; }
          finish();
          setNetwork(false);
          showError(t("errNetwork"));
        });
    }
    function retry(n) {
      showBusy(t("retrying"));
      setTimeout(function () { attempt(n + 1); }, RETRY_DELAYS_MS[n]);
    }
    function finish() { state.busy = false; hideBusy(); }
  }

  function errorSentence(err, svc, status) {
    if (status >= 500 || !err) return status >= 500 ? t("errServer") : t("errGeneric");
    var details = err.details || {};
    var name = svc ? nameOf(svc) : "";
    if (err.code === "quota_reached" || details.reason === "quota_reached") return t("quotaSentence")(name);
    if (err.code === "service_closed") {
      return t("closedSentence")(name, reasonText(details.reason), opensText(details.opens_at));
    }
    if (err.code === "unknown_service") return t("errUnknownService");
    if (status === 429) return t("errServer");
    return t("errGeneric");
  }

  // ------------------------------------------------------------------------------------------ ticket screen
  function showTicket(result) {
    state.ticket = result;
    state.screen = "ticket";
    root.setAttribute("data-screen", "ticket");
    $("start").hidden = true;
    $("ticket").hidden = false;
    var ticket = result.ticket;
    var img = $("t-qr");
    img.setAttribute("data-tries", "0");
    img.src = "/kiosk/qr/" + encodeURIComponent(ticket.token) + ".svg";
    var outcome = (result.print || {}).status;
    if (outcome === "failed") {
      state.printerDown = true;
      watchPrinter();
    } else if (outcome === "printed" || outcome === "preview") {
      state.printerDown = false;
    }
    renderTicket();
    startCountdown(outcome === "failed" || outcome === "preview" ? TICKET_FAILED_MS : TICKET_MS);
  }

  function renderTicket() {
    var result = state.ticket;
    if (!result) return;
    var ticket = result.ticket;
    var outcome = (result.print || {}).status;
    var svc = { name: ticket.service_name, name_en: ticket.service_name_en };
    $("t-number").textContent = ticket.number;
    $("t-service").textContent = nameOf(svc);
    $("t-service-en").textContent = otherNameOf(svc);
    $("t-priority").hidden = !ticket.priority;
    $("t-windows").textContent = t("goTo")(ticket.windows || []);
    $("t-ahead").textContent = ticket.ahead === null || ticket.ahead === undefined ? "—" : t("persons")(ticket.ahead);
    $("t-wait").textContent = ticket.estimated_wait_minutes === null || ticket.estimated_wait_minutes === undefined
      ? "—" : t("waitMinutes")(ticket.estimated_wait_minutes);
    var note = $("t-print");
    note.className = "print-note " + (outcome || "unknown");
    note.textContent = outcome === "failed" ? t("printFailed") : outcome === "preview" ? t("preview")
      : outcome === "printed" ? t("printed") : t("replayed");
    $("ticket").classList.toggle("print-failed", outcome === "failed");
    $("ticket").classList.toggle("priority", !!ticket.priority);
  }

  function startCountdown(ms) {
    clearTimeout(timers.ticket);
    clearInterval(timers.countdown);
    var until = Date.now() + ms;
    var tick = function () {
      var left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      $("countdown").textContent = "(" + left + ")";
    };
    tick();
    timers.countdown = setInterval(tick, 250);
    timers.ticket = setTimeout(endVisit, ms);
  }

  // the visit is over: back to the start screen, in Chinese, out of the priority path
  function endVisit() {
    if (!KIOSK) return;  // not paired: the pairing screen stays
    clearTimeout(timers.ticket);
    clearInterval(timers.countdown);
    hideDialog();
    state.ticket = null;
    state.screen = "start";
    state.priority = false;
    state.lang = "zh";
    root.setAttribute("data-screen", "start");
    $("ticket").hidden = true;
    $("start").hidden = false;
    $("t-qr").removeAttribute("src");
    render();
    refreshServices();
  }

  $("t-qr").addEventListener("error", function () {
    var img = $("t-qr"), tries = +(img.getAttribute("data-tries") || 0);
    if (tries >= 5 || !state.ticket) return;
    img.setAttribute("data-tries", String(tries + 1));
    setTimeout(function () {
      if (state.ticket) img.src = "/kiosk/qr/" + encodeURIComponent(state.ticket.ticket.token) + ".svg?r=" + (tries + 1);
    }, 1000 * (tries + 1));
  });

  // after a failed print, ask the printer now and then until it works again (then the warning goes away)
  function watchPrinter() {
    if (timers.health) return;
    timers.health = setInterval(function () {
      fetchJSON("/api/v1/kiosks/" + encodeURIComponent(KIOSK) + "/health", null, 10000).then(function (res) {
        var printer = res.body && res.body.printer;
        if (res.status === 200 && res.body.status === "ok" && printer && !printer.fault) {
          state.printerDown = false;
          clearInterval(timers.health);
          timers.health = null;
          if (state.screen === "start") renderTiles();
        }
      }).catch(function () {});
    }, POLL_MS);
  }

  // ------------------------------------------------------------------------------------------ overlays
  function showBusy(text) { $("busy-text").textContent = text; $("busy").hidden = false; }
  function hideBusy() { $("busy").hidden = true; }
  function showError(text) {
    $("dialog-text").textContent = text;
    $("dialog").hidden = false;
    clearTimeout(timers.dialog);
    timers.dialog = setTimeout(hideDialog, 20000);
  }
  function hideDialog() { $("dialog").hidden = true; clearTimeout(timers.dialog); }

  // ------------------------------------------------------------------------------------------ wiring
  function poke() {
    clearTimeout(timers.idle);
    timers.idle = setTimeout(function () {
      if (state.busy) { poke(); return; }
      if (state.screen === "pair") return;
      if (state.lang !== "zh" || state.priority || state.screen !== "start" || !$("dialog").hidden) endVisit();
    }, IDLE_MS);
  }

  $("lang").addEventListener("click", function () {
    state.lang = state.lang === "zh" ? "en" : "zh";
    render();
  });
  $("priority").addEventListener("click", function () { state.priority = true; render(); });
  $("back").addEventListener("click", function () { state.priority = false; render(); });
  $("done").addEventListener("click", endVisit);
  $("dialog-ok").addEventListener("click", hideDialog);
  document.addEventListener("pointerdown", poke, true);
  document.addEventListener("keydown", poke, true);
  document.addEventListener("contextmenu", function (e) { e.preventDefault(); });  // long press: no menu

  // ------------------------------------------------------------------------------------------ pairing
  function deviceToken() {
    try { return window.localStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }
  function storeToken(token) {
    try {
      if (token) window.localStorage.setItem(TOKEN_KEY, token); else window.localStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* private mode: paired for this page only */ }
  }

  // Ask the server which device a token is: {ok, kiosk} | {ok: false, reason}
  function whoIs(token) {
    return fetch("/api/v1/me", { cache: "no-store", credentials: "omit",
                                 headers: { Authorization: "Bearer " + token } })
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (body) {
          if (r.status === 200 && body && body.device && body.device.kind === "kiosk") return { ok: true, kiosk: body.device.kiosk };
          if (r.status === 200) return { ok: false, reason: "pairNotKiosk" };
          if (r.status === 401) return { ok: false, reason: "pairBad" };
          return { ok: false, reason: "pairNetwork" };
        });
      }, function () { return { ok: false, reason: "pairNetwork" }; });
  }

  function showPairing(message) {
    state.screen = "pair";
    root.setAttribute("data-screen", "pair");
    $("pair").hidden = false;
    $("start").hidden = true;
    $("ticket").hidden = true;
    renderTexts();
    $("pair-error").hidden = !message;
    $("pair-error").textContent = message || "";
  }

  function unpair(message) {
    storeToken(null);
    KIOSK = null;
    showPairing(message);
  }

  function paired(kiosk) {
    KIOSK = kiosk;
    state.screen = "start";
    root.setAttribute("data-screen", "start");
    root.setAttribute("data-kiosk", kiosk);
    $("pair").hidden = true;
    $("start").hidden = false;
    $("pair-token").value = "";
    render();
  }

  $("pair-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var token = $("pair-token").value.trim();
    if (!token) return;
    $("pair-go").disabled = true;
    whoIs(token).then(function (who) {
      $("pair-go").disabled = false;
      if (who.ok) { storeToken(token); paired(who.kiosk); }
      else showPairing(t(who.reason));
    });
  });

  function start() {
    var m = /(?:^#|&)pair=([^&]+)/.exec(window.location.hash || "");
    if (m) {  // /kiosk#pair=<token>: the token never reaches the server's logs (a fragment is not sent)
      storeToken(decodeURIComponent(m[1]));
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    var token = deviceToken();
    if (!token) { showPairing(""); return; }
    whoIs(token).then(function (who) {
      if (who.ok) paired(who.kiosk);
      else if (who.reason === "pairNetwork") { showPairing(t("pairNetwork")); setTimeout(start, 5000); }
      else unpair(t(who.reason === "pairBad" ? "pairLost" : who.reason));
    });
  }

  window.addEventListener("hashchange", start);  // a pairing link opened on a kiosk that shows the page already
  renderTexts();
  poke();
  if (!state.services) refreshServices();
  connectSocket();
  setInterval(refreshServices, POLL_MS);
  setInterval(renderClock, 5000);
  window.onewindowKiosk = { state: state, refresh: refreshServices, endVisit: endVisit,
                            kiosk: function () { return KIOSK; } };
  start();
})();
