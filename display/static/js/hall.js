/*
 * OneWindow (一窗通) — the hall display page (/display). Needs livestate.js, hallstate.js, announcer.js.
 *
 * Shows the latest calls very large (newest highlighted, flashing for deaf visitors), recent calls, waiting per
 * service, date/time, the hall's name and notice; speaks each call and recall through the Announcer.
 *
 * A call is flashed and spoken once (by its callKey): live events, and calls a snapshot reveals that this page
 * missed while disconnected if they are less than CATCH_UP_MS old. The first snapshot after the page opens is
 * shown silently. For tests and diagnostics the page exposes window.owDisplay.
 */
(function () {
  "use strict";

  var H = window.OneWindowHall;
  var cfg = JSON.parse(document.getElementById("ow-config").textContent);
  var t = cfg.t;
  var tz = cfg.hall.timezone;
  var zh = cfg.lang === "zh";
  var LATEST = cfg.layout === "portrait" ? 5 : 3;  // calls in the big panel (the first is the hero)
  var FLASH_MS = 12000;
  var CATCH_UP_MS = 60000;
  var STATUS_GRACE_MS = 1500;
  var DAY_CHECK_MS = 60000;
  var SERVICES_MS = 60000;      // how often the page asks which services are open (the closed state)

  var services = {};
  cfg.services.forEach(function (s) { services[s.code] = s; });

  var clock = new H.ServerClock();
  var state = null;
  var seen = new Set();         // callKeys already shown (never flash or speak a call twice)
  var freshUntil = {};          // callKey -> time until which it flashes
  var shown = [];               // every call this page announced, in order (for tests and diagnostics)
  var lastDayCheck = 0;
  var opening = null;           // /api/v1/services: which services issue tickets now, and when they open next

  function $(id) { return document.getElementById(id); }

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[c];
    });
  }

  function serviceName(code) {
    var s = services[code];
    if (!s) return code;
    return zh ? s.name : (s.name_en || s.name);
  }

  function windowLabel(n) {
    return H.fill(t.window_n, {n: n});
  }

  // ------------------------------------------------------------------------------------------------ voice
  var announcer = null, audioCtx = null;
  if (cfg.voice && cfg.voice.enabled && window.OneWindowAnnouncer) {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      audioCtx = Ctx ? new Ctx() : null;
    } catch (e) { audioCtx = null; }
    announcer = new window.OneWindowAnnouncer({
      repeat: cfg.voice.repeat, english: cfg.voice.english, baseUrl: cfg.voice.base, audioContext: audioCtx,
    });
  }

  var voiceButton = $("enable-voice");
  function checkAudio() {
    if (!audioCtx) return;
    voiceButton.hidden = audioCtx.state === "running" || audioCtx.state === "closed";
  }
  if (audioCtx) {
    audioCtx.addEventListener("statechange", checkAudio);
    // With --autoplay-policy=no-user-gesture-required this resumes at once; otherwise the button stays.
    var resumed = audioCtx.state === "running" ? Promise.resolve() : audioCtx.resume();
    Promise.race([resumed, new Promise(function (r) { setTimeout(r, 800); })]).then(checkAudio, checkAudio);
    voiceButton.addEventListener("click", function () {
      announcer.unlock().then(checkAudio, checkAudio);
    });
  }

  function speak(call) {
    if (!announcer) return;
    announcer.announce({number: call.number, window: call.window, kind: call.kind, id: H.callKey(call)});
  }

  // ------------------------------------------------------------------------------------------------ calls
  function announceCall(call, now) {
    var key = H.callKey(call);
    if (seen.has(key)) return;
    seen.add(key);
    freshUntil[key] = now + FLASH_MS;
    shown.push({key: key, number: call.number, window: call.window, kind: call.kind});
    if (shown.length > 500) shown.splice(0, shown.length - 500);
    speak(call);
    setTimeout(render, FLASH_MS + 50);
  }

  function onSnapshot(snap, info) {
    clock.set(snap.now);
    var first = state === null;
    state = H.fromSnapshot(snap);
    var now = Date.now();
    var missed = state.recent_calls.slice().reverse();  // oldest first
    missed.forEach(function (c) {
      var key = H.callKey(c);
      if (first || seen.has(key)) { seen.add(key); return; }
      // A call made while this page was away: show and speak it if it is recent enough to matter.
      if (clock.now() - c.at <= CATCH_UP_MS) announceCall(c, now);
      else seen.add(key);
    });
    // Forget calls that left the recent list: they cannot come back (older seq), so memory stays small.
    var keep = new Set(state.recent_calls.map(H.callKey));
    seen.forEach(function (k) { if (!keep.has(k)) { seen.delete(k); delete freshUntil[k]; } });
    render();
  }

  function onEvent(ev) {
    if (!state) return;
    var r = H.apply(state, ev, {recentLimit: cfg.recent_calls});
    if (r.resync) return "resync";
    if (r.call) announceCall(r.call, Date.now());
    render();
  }

  // ------------------------------------------------------------------------------------------------ closed
  function loadServices() {
    fetch(cfg.services_url, {cache: "no-store", credentials: "same-origin"}).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (body) {
      if (body && body.services) { opening = body.services; render(); }
    }).catch(function () { /* keep the last answer; the live state still shows */ });
  }

  /* Closed: no service issues tickets, nobody waits and no window is serving (the last citizens of the day are
     still shown being called until they are done). */
  function hallClosed() {
    if (!opening || !opening.length || opening.some(function (s) { return s.open; })) return false;
    var waiting = 0;
    Object.keys(state.waiting).forEach(function (k) { waiting += state.waiting[k] || 0; });
    Object.keys(state.window_waiting).forEach(function (k) { waiting += state.window_waiting[k] || 0; });
    return !waiting && !state.windows.some(function (w) { return w.ticket; });
  }

  function dayList(days) {
    var names = String(t.day_names).split(",");
    var runs = [], start = days[0], prev = days[0];
    days.slice(1).concat([null]).forEach(function (d) {
      if (d === prev + 1) { prev = d; return; }
      runs.push(start === prev ? names[start] : (prev === start + 1 ? names[start] + t.day_join + names[prev] :
        H.fill(t.day_range, {a: names[start], b: names[prev]})));
      start = prev = d;
    });
    return runs.join(t.day_join);
  }

  function nextOpening() {
    var first = null;
    opening.forEach(function (s) { if (s.opens_at && (!first || s.opens_at < first)) first = s.opens_at; });
    if (!first) return "";
    var at = Date.parse(first), f = H.formatNow(at, tz, t);
    var md = H.fill(t.month_day, {m: +first.slice(5, 7), d: +first.slice(8, 10)});
    var today = H.dayKey(clock.now(), tz) === H.dayKey(at, tz);
    return H.fill(t.closed_next, {when: (today ? "" : md + " " + f.weekday + " ") + f.hm});
  }

  function closedHTML() {
    var rows = cfg.services.map(function (s) {
      var hours = (s.hours || []).map(function (h) {
        return "<span class=\"days\">" + esc(dayList(h.days)) + "</span> " + esc(h.periods.join(" ").replace(/-/g, "–"));
      }).join("<br>");
      return "<li><span class=\"svc\"><i>" + esc(s.prefix) + "</i>" + esc(zh ? s.name : (s.name_en || s.name)) +
        "</span><span class=\"hours\">" + hours + "</span></li>";
    }).join("");
    return "<div class=\"closed-panel\"><div class=\"closed-title\">" + esc(t.closed) + "</div>" +
      "<div class=\"closed-next\">" + esc(nextOpening()) + "</div>" +
      "<h3>" + esc(t.closed_hours) + "</h3><ul class=\"closed-hours\">" + rows + "</ul></div>";
  }

  // ------------------------------------------------------------------------------------------------ render
  function callHTML(c, cls) {
    var key = H.callKey(c);
    var flashing = freshUntil[key] && freshUntil[key] > Date.now();
    var recall = c.kind === "recall" ? "<span class=\"tag\">" + esc(t.recall) + "</span>" : "";
    return "<div class=\"call " + cls + (flashing ? " flash" : "") + "\" data-key=\"" + esc(key) + "\">" +
      "<span class=\"num\">" + esc(c.number) + "</span>" +
      "<span class=\"arrow\" aria-hidden=\"true\">&#10140;</span>" +
      "<span class=\"win\">" + (zh ? "<b>" + esc(c.window) + "</b>号窗口" : "Window <b>" + esc(c.window) + "</b>") +
      "</span>" +
      "<span class=\"svc\">" + esc(serviceName(c.service)) + recall + "</span>" +
      "</div>";
  }

  function render() {
    if (!state) return;
    var latest = H.latestCalls(state, 50);
    var hero = $("hero");
    var closed = hallClosed();
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
      hero.innerHTML = "<div class=\"welcome\"><div>" + esc(t.welcome) + "</div><small>" + esc(t.no_calls) +
        "</small></div>";
    }
    $("latest").innerHTML = latest.slice(1, LATEST).map(function (c) {
      return "<li>" + callHTML(c, "mid") + "</li>";
    }).join("");
    $("recent").innerHTML = latest.slice(LATEST).map(function (c) {
      return "<li><span class=\"num\">" + esc(c.number) + "</span><span class=\"win\">" +
        esc(windowLabel(c.window)) + "</span>" +
        "<span class=\"at\">" + esc(H.formatNow(c.at, tz, t).hm) + "</span></li>";
    }).join("");
    $("waiting").innerHTML = cfg.services.map(function (s) {
      var n = state.waiting[s.code] || 0;
      return "<li class=\"" + (n ? "" : "zero") + "\"><span class=\"svc\"><i>" + esc(s.prefix) + "</i>" +
        esc(zh ? s.name : (s.name_en || s.name)) + "</span><span class=\"n\">" + n +
        (zh ? "<small>人</small>" : "") + "</span></li>";
    }).join("");
    fit();
  }

  /* Make everything fit its panel: shrink a call that is too wide (a long window number), drop recent calls
     that do not fit, shrink the waiting list when a hall has many services. */
  function fit() {
    var panel = document.querySelector(".closed-panel"), calls = document.querySelector(".calls");
    if (panel) {
      panel.style.removeProperty("--k");
      for (var s = 0.95; s > 0.4 && calls.scrollHeight > calls.clientHeight + 1; s -= 0.05) panel.style.setProperty("--k", s.toFixed(2));
    }
    Array.prototype.forEach.call(document.querySelectorAll(".call.big, .call.mid"), function (el) {
      el.style.removeProperty("--k");
      if (el.scrollWidth > el.clientWidth + 1) el.style.setProperty("--k", (el.clientWidth / el.scrollWidth * 0.97).toFixed(3));
    });
    var recent = $("recent"), box = recent.parentNode;
    while (recent.lastElementChild && box.scrollHeight > box.clientHeight + 1) recent.removeChild(recent.lastElementChild);
    var waiting = $("waiting"), wbox = waiting.parentNode;
    waiting.style.removeProperty("--k");
    for (var k = 0.95; k > 0.5 && wbox.scrollHeight > wbox.clientHeight + 1; k -= 0.05) {
      waiting.style.setProperty("--k", k.toFixed(2));
    }
  }

  // ------------------------------------------------------------------------------------------------ clock
  function tick() {
    var now = clock.now();
    var f = H.formatNow(now, tz, t);
    $("date").textContent = f.date;
    $("weekday").textContent = f.weekday;
    $("time").textContent = f.time;
    // A new business day with no event yet: load the new day's snapshot (at most once a minute).
    if (state && live.connected && H.dayKey(now, tz) !== state.day && Date.now() - lastDayCheck > DAY_CHECK_MS) {
      lastDayCheck = Date.now();
      live.resync("day");
    }
  }

  // ------------------------------------------------------------------------------------------------ status
  var statusTimer = null;
  function onStatus(status) {
    var mark = $("ow-status");
    clearTimeout(statusTimer);
    if (status === "live") {
      mark.hidden = true;
      return;
    }
    statusTimer = setTimeout(function () { mark.hidden = false; }, STATUS_GRACE_MS);
  }

  // The notice scrolls (a seamless loop of two copies) only when it does not fit.
  var noticeText = $("notice").textContent;
  function fitNotice() {
    var track = document.querySelector(".notice-track"), span = $("notice");
    span.textContent = noticeText;
    var scroll = span.scrollWidth > track.clientWidth;
    track.classList.toggle("scroll", scroll);
    if (scroll) {
      var one = span.scrollWidth;
      span.innerHTML = esc(noticeText) + "<i></i>" + esc(noticeText) + "<i></i>";
      span.style.setProperty("--marquee", Math.max(10, Math.round(one / (120 * window.innerWidth / 1920))) + "s");
    }
    render();
  }

  var live = new window.OneWindowLive({
    namespace: cfg.namespace, url: cfg.state_url, onSnapshot: onSnapshot, onEvent: onEvent, onStatus: onStatus,
  });

  window.owDisplay = {
    cfg: cfg, live: live, announcer: announcer, audio: audioCtx, shown: shown, seen: seen, clock: clock,
    state: function () { return state; },
    closed: function () { return !!state && hallClosed(); },
    opening: function () { return opening; },
  };
  tick();
  setInterval(tick, 1000);
  fitNotice();
  window.addEventListener("resize", fitNotice);
  live.start();
  loadServices();
  setInterval(loadServices, SERVICES_MS);
})();
