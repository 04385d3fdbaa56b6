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

  const I18N = {
    zh: {
      idle_title: "欢迎您对我们的服务进行评价", idle_text: "业务办结后，请在此屏幕上为本窗口的服务打分。",
      open_title: "请您为本次服务评价", thanks_title: "感谢您的评价！", thanks_text: "您的评价：{label}。我们会不断改进服务。",
      thanks_follow: "您的评价：{label}。工作人员将尽快回访，了解您遇到的问题。", left: "{s} 秒后自动关闭",
      foot: "一窗通 · 好差评", window_no: "{n}号窗口", ticket: "（{number} {service}）",
      e_rating_closed: "评价时间已过，感谢您的光临", e_already_rated: "本次服务已评价，感谢您",
      e_not_last_finished: "本次评价已结束，感谢您", e_network: "网络异常，请稍后再试",
    },
    en: {
      idle_title: "Please rate our service", idle_text: "When your business is done, rate this window's service here.",
      open_title: "How was our service?", thanks_title: "Thank you for your rating!",
      thanks_text: "You rated: {label}. We keep improving.", thanks_follow: "You rated: {label}. Our staff will contact you to follow up.",
      left: "closes in {s} s", foot: "OneWindow · service rating", window_no: "Window {n}", ticket: "({number} {service})",
      e_rating_closed: "The time to rate has passed. Thank you!", e_already_rated: "This service has been rated. Thank you!",
      e_not_last_finished: "This rating has ended. Thank you!", e_network: "Network problem; please try again",
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
    for (const v of ["idle", "open", "thanks", "error"]) $("view-" + v).hidden = v !== view;
  }

  function idle() {
    clearInterval(st.timer); clearTimeout(st.resetTimer);
    st.rating = null;
    show("idle");
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
      const r = await fetch(`/api/v1/windows/${WINDOW}/rating`, { cache: "no-store", headers: { Accept: "application/json" } });
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
        method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
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
  setInterval(() => { if (document.body.dataset.state === "idle") refresh(); }, POLL_MS);
  applyLang();
  idle();
  refresh();
})();
