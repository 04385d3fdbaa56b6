/*
 * OneWindow (一窗通) — the hall state that screens show, kept current from the event stream.
 * Plain script: exposes window.OneWindowHall.
 *
 * The state has the shape of GET /api/v1/display/state (the snapshot): {seq, day, now, windows: [{window, name,
 * paused, pause_reason, ticket}], recent_calls: [{id, number, service, window, kind, at}], waiting: {service: n},
 * window_waiting: {"n": n}}. `apply(state, ev)` changes it as the event says, so that a snapshot taken after the
 * event would look the same (waiting counts are inferred; the periodic snapshot corrects any drift).
 *
 * A call is identified by `callKey` = ticket id | kind | time (the same for the event and for the snapshot's
 * recent-calls entry), which is how screens know a call they have already shown or spoken.
 */
(function (global) {
  "use strict";

  var CALLS = {ticket_called: "call", ticket_recalled: "recall"};

  function callKey(c) {
    return c.id + "|" + c.kind + "|" + c.at;
  }

  function windowEntry(state, n) {
    for (var i = 0; i < state.windows.length; i++) if (state.windows[i].window === n) return state.windows[i];
    return null;
  }

  function dec(map, key) {
    if (map && map[key] > 0) map[key] -= 1;
  }

  function inc(map, key) {
    if (map) map[key] = (map[key] || 0) + 1;
  }

  /* A deep copy of a snapshot, as the state to keep. */
  function fromSnapshot(snap) {
    return JSON.parse(JSON.stringify({
      seq: snap.seq, day: snap.day, now: snap.now, windows: snap.windows || [],
      recent_calls: snap.recent_calls || [], waiting: snap.waiting || {}, window_waiting: snap.window_waiting || {},
    }));
  }

  /*
   * Apply one event. Returns {call: recent-calls entry or null, resync: true when the event belongs to another
   * business day than the state (the day rolled over: the page must load a fresh snapshot)}.
   */
  function apply(state, ev, opts) {
    opts = opts || {};
    var out = {call: null, resync: false};
    var t = ev.ticket;
    if (t && t.day && state.day && t.day !== state.day) {
      out.resync = true;
      return out;
    }
    var w = typeof ev.window === "number" ? windowEntry(state, ev.window) : null;
    state.seq = ev.seq;
    switch (ev.type) {
      case "ticket_issued":
        if (t.target_window) inc(state.window_waiting, String(t.target_window));
        else inc(state.waiting, t.service);
        break;
      case "ticket_called":
      case "ticket_recalled":
        if (ev.type === "ticket_called") {
          // call-next takes the window's own (transferred-in) queue first
          if (state.window_waiting && state.window_waiting[String(ev.window)] > 0 && (t.transfers || 0) > 0) {
            dec(state.window_waiting, String(ev.window));
          } else {
            dec(state.waiting, t.service);
          }
        }
        if (w) {
          w.ticket = {id: t.id, number: t.number, service: t.service, window: ev.window, calls: t.calls || 1,
                      called_ms: t.called_ms};
        }
        out.call = {id: t.id, number: t.number, service: t.service, window: ev.window, kind: CALLS[ev.type],
                    at: ev.ts};
        state.recent_calls.unshift(out.call);
        state.recent_calls.length = Math.min(state.recent_calls.length, opts.recentLimit || 8);
        break;
      case "ticket_finished":
      case "ticket_marked_no_show":
        if (w && w.ticket && w.ticket.id === t.id) w.ticket = null;
        break;
      case "ticket_transferred":
        if (w && w.ticket && w.ticket.id === t.id) w.ticket = null;
        if (t.target_window) inc(state.window_waiting, String(t.target_window));
        else inc(state.waiting, t.service);
        break;
      case "ticket_cancelled":
        if (t.target_window) dec(state.window_waiting, String(t.target_window));
        else dec(state.waiting, t.service);
        break;
      case "window_paused":
        if (w) { w.paused = true; w.pause_reason = ev.reason || null; }
        break;
      case "window_resumed":
        if (w) { w.paused = false; w.pause_reason = null; }
        break;
      default:
        break;  // events the screens do not show (printer, ratings, …) only move seq
    }
    return out;
  }

  /* The latest calls, one per ticket (a recall moves a ticket back to the top), newest first. */
  function latestCalls(state, limit) {
    var seen = {}, out = [];
    for (var i = 0; i < state.recent_calls.length && out.length < limit; i++) {
      var c = state.recent_calls[i];
      if (seen[c.id]) continue;
      seen[c.id] = true;
      out.push(c);
    }
    return out;
  }

  // ------------------------------------------------------------------------------------- time in the hall

  /* The server's clock as seen by this page: set from a snapshot's `now` (ISO), read with now(). */
  function ServerClock() {
    this.offset = 0;
  }
  ServerClock.prototype.set = function (iso) {
    var ms = Date.parse(iso);
    if (!isNaN(ms)) this.offset = ms - Date.now();
  };
  ServerClock.prototype.now = function () {
    return Date.now() + this.offset;
  };

  var partsCache = {};
  function parts(ms, tz) {
    var fmt = partsCache[tz] || (partsCache[tz] = new Intl.DateTimeFormat("en-GB", {
      timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      second: "2-digit", weekday: "short", hourCycle: "h23",
    }));
    var out = {};
    fmt.formatToParts(new Date(ms)).forEach(function (p) { out[p.type] = p.value; });
    out.wd = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(out.weekday);
    return out;
  }

  /* "20261127": the business day in the hall's time zone (what snapshots call `day`). */
  function dayKey(ms, tz) {
    var p = parts(ms, tz);
    return p.year + p.month + p.day;
  }

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, k) { return values[k] == null ? "" : values[k]; });
  }

  /* {date: "2026年11月27日", weekday: "星期五", time: "10:05:09", hm: "10:05"} in the hall's zone and language. */
  function formatNow(ms, tz, t) {
    var p = parts(ms, tz);
    var y = p.year, m = p.month, d = p.day;
    if (t.html_lang === "zh-CN") { m = String(+m); d = String(+d); }
    return {
      date: fill(t.date_format, {y: y, m: m, d: d}),
      weekday: String(t.weekdays).split(",")[p.wd] || "",
      time: p.hour + ":" + p.minute + ":" + p.second,
      hm: p.hour + ":" + p.minute,
    };
  }

  global.OneWindowHall = {
    apply: apply, fromSnapshot: fromSnapshot, latestCalls: latestCalls, callKey: callKey,
    windowEntry: windowEntry, ServerClock: ServerClock, dayKey: dayKey, formatNow: formatNow, fill: fill,
  };
})(typeof window !== "undefined" ? window : this);
