/*
 * OneWindow (一窗通) — the phone tracking page (/t/<token>). Needs livestate.js and hallstate.js.
 *
 * Its snapshot is GET /api/v1/track/<token> ({seq, ticket, expired}): only this ticket. It listens to the public
 * /display events: one about its own ticket updates the page at once (and, on a call, shows the window in large
 * type, vibrates and beeps where the phone allows); events that may move the queue in front of it (calls,
 * cancellations, transfers, priority tickets of its service) refresh the people-ahead count through the API, at
 * most once every REFRESH_MS. Exposes window.owTrack.
 */
(function () {
  "use strict";

  var H = window.OneWindowHall;
  var cfg = JSON.parse(document.getElementById("ow-config").textContent);
  var t = cfg.t, zh = cfg.lang === "zh", tz = cfg.hall.timezone;
  var REFRESH_MS = 3000;
  var services = {};
  cfg.services.forEach(function (s) { services[s.code] = s; });

  var view = cfg.initial;          // {seq, ticket, expired}
  var alerted = new Set();         // call keys already signalled (vibrate/beep once per call)
  var alerts = [];                 // log of signalled calls (tests, diagnostics)
  var audioCtx = null;
  var refreshTimer = null, lastRefresh = 0;
  var gone = false;

  function $(id) { return document.getElementById(id); }
  function name(code) { var s = services[code]; return s ? (zh ? s.name : (s.name_en || s.name)) : code; }

  // ------------------------------------------------------------------------------------------- alerts
  function beep() {
    if (!audioCtx || audioCtx.state !== "running") return false;
    var now = audioCtx.currentTime;
    [0, 0.35, 0.7].forEach(function (offset) {
      var osc = audioCtx.createOscillator(), gain = audioCtx.createGain();
      osc.type = "sine";
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.5, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.25);
      osc.connect(gain).connect(audioCtx.destination);
      osc.start(now + offset);
      osc.stop(now + offset + 0.3);
    });
    return true;
  }

  function vibrate() {
    try { return !!(navigator.vibrate && navigator.vibrate([400, 150, 400, 150, 400])); } catch (e) { return false; }
  }

  function signal(key) {
    if (alerted.has(key)) return;
    alerted.add(key);
    alerts.push({key: key, vibrated: vibrate(), beeped: beep()});
  }

  // A phone lets a page make sound (and vibrate) only after a tap: this button is that tap.
  $("alerts").addEventListener("click", function () {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (Ctx && !audioCtx) audioCtx = new Ctx();
      if (audioCtx && audioCtx.state === "suspended") audioCtx.resume();
    } catch (e) { audioCtx = null; }
    try { if (navigator.vibrate) navigator.vibrate(60); } catch (e) { /* not allowed */ }
    var b = $("alerts");
    b.textContent = t.alerts_on;
    b.classList.add("on");
    b.disabled = true;
  });

  // ------------------------------------------------------------------------------------------- render
  function render() {
    var tk = view.ticket;
    var status = view.expired && tk.status === "waiting" ? "expired" : tk.status;
    document.body.dataset.status = status;
    $("number").textContent = tk.number;
    $("service").textContent = name(tk.service);
    $("status").textContent = t["status_" + status] || status;
    $("status").className = "tstatus s-" + status;
    var called = status === "called";
    $("called").hidden = !called;
    if (called) {
      $("called-window").textContent = H.fill(t.called_window, {n: tk.window});
      $("called-hint").textContent = tk.calls > 1 ? t.called_hint + " · " + H.fill(t.called_again, {n: tk.calls})
                                                  : t.called_hint;
      document.title = tk.number + " → " + H.fill(t.called_window, {n: tk.window});
    } else {
      document.title = tk.number + " — " + t.track_title;
    }
    var waiting = status === "waiting";
    $("progress").hidden = !waiting;
    if (waiting) {
      $("ahead").textContent = tk.ahead == null ? "–" : tk.ahead;
      $("wait").textContent = tk.estimated_wait_minutes == null ? "–" :
        H.fill(t.about_minutes, {n: tk.estimated_wait_minutes});
    }
    var final = {done: t.done_hint, no_show: t.no_show_hint, cancelled: t.cancelled_hint, expired: t.expired_hint}[status];
    if (waiting && tk.transfers > 0) final = H.fill(t.transferred_hint, {service: name(tk.service)});
    $("final").hidden = !final;
    $("final").textContent = final || "";
    $("windows").textContent = (tk.windows || []).map(function (n) { return H.fill(t.window_n, {n: n}); })
      .join(zh ? "、" : ", ");
    $("windows-row").hidden = !waiting;
    $("issued").textContent = tk.issued_at ? H.formatNow(Date.parse(tk.issued_at), tz, t).hm : "";
    $("alerts").hidden = !(waiting || called);
  }

  // ------------------------------------------------------------------------------------------- live
  function refreshSoon() {
    if (refreshTimer) return;
    var wait = Math.max(0, lastRefresh + REFRESH_MS - Date.now());
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      lastRefresh = Date.now();
      live.resync("refresh");
    }, wait);
  }

  function load() {
    return window.fetch(cfg.track_url, {cache: "no-store"}).then(function (res) {
      if (res.status === 404) {
        gone = true;
        return {seq: live.seq || 0, ticket: view.ticket, expired: true};
      }
      if (!res.ok) throw new Error("HTTP " + res.status);
      return res.json();
    });
  }

  function onSnapshot(snap) {
    view = snap;
    render();
  }

  function concernsQueue(ev, tk) {
    var other = ev.ticket;
    if (!other) return false;
    return other.service === tk.service || ev.from_service === tk.service ||
      (other.target_window && (tk.windows || []).indexOf(other.target_window) >= 0);
  }

  function onEvent(ev) {
    var tk = view.ticket;
    if (ev.ticket && ev.ticket.id === tk.id) {
      var mine = ev.ticket;
      tk.status = mine.status;
      tk.calls = mine.calls || tk.calls;
      if (mine.window) tk.window = mine.window;
      if (ev.type === "ticket_called" || ev.type === "ticket_recalled") {
        tk.window = ev.window;
        render();
        signal(tk.id + "|" + ev.type + "|" + ev.ts);
      } else {
        render();
      }
      refreshSoon();  // the server's view (service after a transfer, ahead, outcome)
      return;
    }
    if (tk.status === "waiting" && concernsQueue(ev, tk)) refreshSoon();
  }

  var statusTimer = null;
  function onStatus(status) {
    clearTimeout(statusTimer);
    var mark = $("ow-status");
    if (status === "live") { mark.hidden = true; return; }
    statusTimer = setTimeout(function () { mark.hidden = false; }, 1500);
  }

  var live = new window.OneWindowLive({
    namespace: cfg.namespace, load: load, onSnapshot: onSnapshot, onEvent: onEvent, onStatus: onStatus,
    resyncEveryMs: 60000,
  });
  window.owTrack = {cfg: cfg, live: live, alerts: alerts, view: function () { return view; },
                    gone: function () { return gone; }};
  render();
  live.start();
})();
