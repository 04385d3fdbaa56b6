/* OneWindow evaluation device (好差评) for one window: when the clerk finishes a ticket there (ticket_finished on the
 * /display namespace), offer the five levels for [counter] rating_seconds, then thank and reset. On every (re)connect
 * the page asks the server which rating is open, so a reload or a network drop loses nothing. */
(function () {
  "use strict";

  const BOOT = JSON.parse(document.getElementById("boot").textContent);
  const WINDOW = BOOT.window;
  const THANKS_MS = 5000;
  const ERROR_MS = 4000;
  const POLL_MS = 10000;
  // The tablet is a device with a token bound to this window (docs/counter.md): paired once here (or opened as
  // /rate/<n>#pair=<token>), kept in local storage, sent as "Authorization: Bearer" on every rating call.
  const TOKEN_KEY = "ow.rate.token." + WINDOW;

  const I18N = {
    zh: {
      idle_title: "欢迎您对我们的服务进行评价", idle_text: "业务办结后，请在此屏幕上为本窗口的服务打分。",
      open_title: "请您为本次服务评价", thanks_title: "感谢您的评价！", thanks_text: "您的评价：{label}。我们会不断改进服务。",
      thanks_follow: "您的评价：{label}。工作人员将尽快回访，了解您遇到的问题。", left: "{s} 秒后自动关闭",
      foot: "一窗通 · 好差评", window_no: "{n}号窗口", ticket: "（{number} {service}）",
      e_rating_closed: "评价时间已过，感谢您的光临", e_already_rated: "本次服务已评价，感谢您",
      e_not_last_finished: "本次评价已结束，感谢您", e_network: "网络异常，请稍后再试",
      pair_title: "本评价器尚未配对", pair_text: "只有本窗口登记过的评价器才能收集评价。请工作人员输入本窗口评价器的设备令牌。",
      pair_button: "配对", pair_bad: "令牌无效，请核对后重新输入。", pair_other: "这不是本窗口评价器的令牌。",
      pair_lost: "本评价器的令牌已失效，请重新配对。",
    },
    en: {
      idle_title: "Please rate our service", idle_text: "When your business is done, rate this window's service here.",
      open_title: "How was our service?", thanks_title: "Thank you for your rating!",
      thanks_text: "You rated: {label}. We keep improving.", thanks_follow: "You rated: {label}. Our staff will contact you to follow up.",
      left: "closes in {s} s", foot: "OneWindow · service rating", window_no: "Window {n}", ticket: "({number} {service})",
      e_rating_closed: "The time to rate has passed. Thank you!", e_already_rated: "This service has been rated. Thank you!",
      e_not_last_finished: "This rating has ended. Thank you!", e_network: "Network problem; please try again",
      pair_title: "This rating tablet is not paired", pair_text: "Only this window's registered tablet can collect ratings. Staff: enter the device token of this window's tablet.",
      pair_button: "Pair", pair_bad: "This token is not valid. Please check it and try again.",
      pair_other: "This is not the token of this window's tablet.", pair_lost: "This tablet's token is no longer valid. Please pair it again.",
    },
  };

  const $ = (id) => document.getElementById(id);
  const st = { lang: localStorage.getItem("ow.rate.lang") || "zh", rating: null, deadline: 0, timer: null, resetTimer: null, sending: false };

  function t(key, vars) {
    let s = I18N[st.lang][key] || I18N.zh[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split("{" + k + "}").join(v);
    return s;
  }
  const pick = (zh, en) => (st.lang === "en" && en ? en : zh);

  function applyLang() {
    document.documentElement.lang = st.lang === "en" ? "en" : "zh-CN";
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll(".hall[data-zh]").forEach((el) => { el.textContent = pick(el.dataset.zh, el.dataset.en); });
    document.querySelectorAll(".level").forEach((b) => { b.querySelector(".label").textContent = pick(b.dataset.zh, b.dataset.en); });
    $("window-no").textContent = t("window_no", { n: WINDOW });
    $("lang").textContent = st.lang === "en" ? "中文" : "English";
    if (st.rating) showTicket();
  }

  function show(view) {
    document.body.dataset.state = view;
    for (const v of ["pair", "idle", "open", "thanks", "error"]) $("view-" + v).hidden = v !== view;
  }

  // ------------------------------------------------------------------------------------------- pairing
  function token() { try { return localStorage.getItem(TOKEN_KEY); } catch (e) { return null; } }
  function storeToken(value) {
    try { if (value) localStorage.setItem(TOKEN_KEY, value); else localStorage.removeItem(TOKEN_KEY); } catch (e) { /* */ }
  }
  const authorized = (headers) => Object.assign({ Authorization: "Bearer " + (token() || "") }, headers || {});

  async function whoIs(value) {
    try {
      const r = await fetch("/api/v1/me", { cache: "no-store", credentials: "omit", headers: { Authorization: "Bearer " + value } });
      const body = await r.json().catch(() => null);
      if (r.status === 200 && body && body.device && body.device.kind === "tablet" && body.device.window === WINDOW) return "ok";
      if (r.status === 200) return "pair_other";
      return r.status === 401 ? "pair_bad" : "e_network";
    } catch (e) { return "e_network"; }
  }

  function unpair(messageKey) {
    storeToken(null);
    clearInterval(st.timer); clearTimeout(st.resetTimer);
    st.rating = null;
    $("pair-error").hidden = !messageKey;
    $("pair-error").textContent = messageKey ? t(messageKey) : "";
    show("pair");
  }

  function idle() {
    clearInterval(st.timer); clearTimeout(st.resetTimer);
    st.rating = null;
    show(token() ? "idle" : "pair");
  }

  function showTicket() {
    const r = st.rating;
    $("ticket").textContent = t("ticket", { number: r.number, service: pick(r.service_name, r.service_name_en) });
  }

  function open(rating) {
    if (st.rating && st.rating.ticket_id === rating.ticket_id && document.body.dataset.state === "open") {
      st.deadline = Date.now() + rating.seconds_left * 1000;
      return;
    }
    clearInterval(st.timer); clearTimeout(st.resetTimer);
    st.rating = rating;
    st.total = rating.rating_seconds * 1000;
    st.deadline = Date.now() + rating.seconds_left * 1000;
    showTicket();
    document.querySelectorAll(".level").forEach((b) => { b.disabled = false; b.classList.remove("chosen"); });
    show("open");
    countdown();
    st.timer = setInterval(countdown, 200);
  }

  function countdown() {
    const left = st.deadline - Date.now();
    if (left <= 0) { idle(); return; }
    $("countdown-bar").style.width = Math.max(0, Math.min(100, (left / st.total) * 100)) + "%";
    $("left").textContent = t("left", { s: Math.ceil(left / 1000) });
  }

  async function refresh() {
    try {
      if (!token()) return;
      const r = await fetch(`/api/v1/windows/${WINDOW}/rating`, { cache: "no-store", headers: authorized({ Accept: "application/json" }) });
      if (r.status === 401 || r.status === 403) { unpair("pair_lost"); return; }
      if (!r.ok) return;
      const data = await r.json();
      if (data.rating) open(data.rating);
      else if (document.body.dataset.state === "open") idle();
    } catch (e) { /* offline: keep what is shown */ }
  }

  async function rate(level, button) {
    if (!st.rating || st.sending) return;
    st.sending = true;
    document.querySelectorAll(".level").forEach((b) => { b.disabled = true; });
    button.classList.add("chosen");
    clearInterval(st.timer);
    try {
      const r = await fetch(`/api/v1/windows/${WINDOW}/rating`, {
        method: "POST", headers: authorized({ "Content-Type": "application/json", Accept: "application/json" }),
        body: JSON.stringify({ ticket_id: st.rating.ticket_id, level }) });
      const data = await r.json().catch(() => ({}));
      if (r.ok) {
        const label = pick(data.label, data.label_en);
        $("thanks-text").textContent = t(data.follow_up ? "thanks_follow" : "thanks_text", { label });
        st.rating = null;
        show("thanks");
        st.resetTimer = setTimeout(idle, THANKS_MS);
      } else {
        const code = (data.error && data.error.code) || "";
        $("error-text").textContent = I18N.zh["e_" + code] ? t("e_" + code) : ((data.error && data.error.message) || t("e_network"));
        st.rating = null;
        show("error");
        st.resetTimer = setTimeout(idle, ERROR_MS);
      }
    } catch (e) {
      $("error-text").textContent = t("e_network");
      show("error");
      st.resetTimer = setTimeout(() => refresh().then(() => { if (document.body.dataset.state === "error") idle(); }), ERROR_MS);
    } finally {
      st.sending = false;
    }
  }

  document.querySelectorAll(".level").forEach((b) => b.addEventListener("click", () => rate(Number(b.dataset.level), b)));
  $("lang").addEventListener("click", () => {
    st.lang = st.lang === "en" ? "zh" : "en";
    localStorage.setItem("ow.rate.lang", st.lang);
    applyLang();
  });

  if (typeof io === "function") {
    const socket = io("/display", { reconnectionDelay: 500, reconnectionDelayMax: 5000 });
    socket.on("connect", () => { $("conn").dataset.state = "on"; refresh(); });
    socket.on("disconnect", () => { $("conn").dataset.state = "off"; });
    socket.on("ticket_finished", (data) => { if (data && data.window === WINDOW) refresh(); });
  }
  $("pair-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const value = $("pair-token").value.trim();
    if (!value) return;
    $("pair-go").disabled = true;
    const who = await whoIs(value);
    $("pair-go").disabled = false;
    if (who === "ok") {
      storeToken(value);
      $("pair-token").value = "";
      $("pair-error").hidden = true;
      idle();
      refresh();
    } else {
      $("pair-error").textContent = t(who);
      $("pair-error").hidden = false;
    }
  });

  async function start() {
    const m = /(?:^#|&)pair=([^&]+)/.exec(location.hash || "");
    if (m) {  // /rate/<n>#pair=<token>: a fragment never reaches the server or its logs
      storeToken(decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    if (!token()) { unpair(""); return; }
    const who = await whoIs(token());
    if (who === "ok" || who === "e_network") { idle(); refresh(); }
    else unpair(who === "pair_bad" ? "pair_lost" : who);
  }

  window.addEventListener("hashchange", start);
  setInterval(() => { if (document.body.dataset.state === "idle") refresh(); }, POLL_MS);
  applyLang();
  start();
})();
