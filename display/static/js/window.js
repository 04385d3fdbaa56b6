/*
 * OneWindow (一窗通) — the small screen above one window (/display/window/<n>). Needs livestate.js and
 * hallstate.js (and announcer.js with ?voice=1). Same protocol as the hall display: snapshot on every
 * (re)connect, events by seq, a gap loads a fresh snapshot. Exposes window.owWindow.
 */
(function () {
  "use strict";

  var H = window.OneWindowHall;
  var cfg = JSON.parse(document.getElementById("ow-config").textContent);
  var t = cfg.t, zh = cfg.lang === "zh", tz = cfg.hall.timezone;
  var number = cfg.window;
  var FLASH_MS = 10000;
  var me = cfg.windows.filter(function (w) { return w.number === number; })[0];
  var services = {};
  cfg.services.forEach(function (s) { services[s.code] = s; });

  var clock = new H.ServerClock();
  var state = null;
  var seen = new Set();
  var flashUntil = 0;
  var shown = [];

  function $(id) { return document.getElementById(id); }
  function name(code) { var s = services[code]; return s ? (zh ? s.name : (s.name_en || s.name)) : code; }

  var announcer = null;
  if (cfg.voice && cfg.voice.enabled && window.OneWindowAnnouncer) {
    announcer = new window.OneWindowAnnouncer({repeat: cfg.voice.repeat, english: cfg.voice.english,
                                               baseUrl: cfg.voice.base});
  }

  function called(call) {
    var key = H.callKey(call);
    if (seen.has(key)) return;
    seen.add(key);
    flashUntil = Date.now() + FLASH_MS;
    shown.push({key: key, number: call.number, kind: call.kind});
    if (announcer) announcer.announce({number: call.number, window: call.window, kind: call.kind, id: key});
    setTimeout(render, FLASH_MS + 50);
  }

  function onSnapshot(snap) {
    clock.set(snap.now);
    var first = state === null;
    state = H.fromSnapshot(snap);
    state.recent_calls.forEach(function (c) {
      if (c.window !== number) return;
      var key = H.callKey(c);
      if (first || clock.now() - c.at > 60000) seen.add(key);
      else called(c);  // a call made while this screen was away
    });
    render();
  }

  function onEvent(ev) {
    if (!state) return;
    var r = H.apply(state, ev, {recentLimit: cfg.recent_calls});
    if (r.resync) return "resync";
    if (r.call && r.call.window === number) called(r.call);
    render();
  }

  function render() {
    if (!state) return;
    var w = H.windowEntry(state, number) || {};
    var stage = $("stage");
    var mode = w.paused ? "paused" : (w.ticket ? "serving" : "idle");
    stage.className = "stage " + mode + (mode === "serving" && flashUntil > Date.now() ? " flash" : "");
    $("label").textContent = mode === "paused" ? t.paused : (mode === "serving" ? t.serving : t.idle);
    $("current").textContent = mode === "serving" ? w.ticket.number : "";
    $("reason").textContent = mode === "paused" ? (w.pause_reason || "") : (mode === "serving" ? name(w.ticket.service) : "");
    var waiting = (state.window_waiting[String(number)] || 0);
    me.services.forEach(function (s) { waiting += state.waiting[s] || 0; });
    $("waiting").textContent = H.fill(t.waiting_here, {n: waiting});
  }

  function tick() { $("time").textContent = H.formatNow(clock.now(), tz, t).hm; }

  var statusTimer = null;
  function onStatus(status) {
    var mark = $("ow-status");
    clearTimeout(statusTimer);
    if (status === "live") { mark.hidden = true; return; }
    statusTimer = setTimeout(function () { mark.hidden = false; }, 1500);
  }

  $("services").textContent = t.services + (zh ? "：" : ": ") + me.services.map(name).join(zh ? "、" : ", ");
  var live = new window.OneWindowLive({
    namespace: cfg.namespace, url: cfg.state_url, onSnapshot: onSnapshot, onEvent: onEvent, onStatus: onStatus,
  });
  window.owWindow = {cfg: cfg, live: live, shown: shown, announcer: announcer, state: function () { return state; }};
  tick();
  setInterval(tick, 1000);
  live.start();
})();
