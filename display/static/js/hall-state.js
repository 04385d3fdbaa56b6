/*
 * OneWindow (一窗通) — the hall reducer: the state the public screens show, kept current by the live client
 * (/assets/js/live.js) from the /display events.
 *
 * The state has the shape of GET /api/v1/display/state (the snapshot): {seq, day, now, windows: [{window, name,
 * paused, pause_reason, ticket}], recent_calls: [{id, number, service, window, kind, at}], waiting: {service: n},
 * window_waiting: {"n": n}}. `apply(state, ev)` changes it as the event says, so that a snapshot taken after the
 * event would look the same (waiting counts are inferred; the periodic snapshot corrects any drift). It returns
 * {call} (the recent-calls entry a call or recall added, or null), or RESYNC when the event belongs to another
 * business day than the state (the day rolled over: the page needs the new day's snapshot).
 *
 * A call is identified by `callKey` = ticket id | kind | time (the same for the event and for the snapshot's
 * recent-calls entry), which is how screens know a call they have already shown or spoken.
 */
import { RESYNC } from "/assets/js/live.js";

const CALLS = { ticket_called: "call", ticket_recalled: "recall" };

export function callKey(c) {
  return c.id + "|" + c.kind + "|" + c.at;
}

export function windowEntry(state, n) {
  return state.windows.find((w) => w.window === n) || null;
}

function dec(map, key) {
  if (map && map[key] > 0) map[key] -= 1;
}

function inc(map, key) {
  if (map) map[key] = (map[key] || 0) + 1;
}

/** The reducer for LiveClient: {init(snapshot) -> state, apply(state, event) -> {call} | RESYNC}. */
export function hallReducer({ recentLimit = 8 } = {}) {
  return {
    init(snap) {
      return structuredClone({
        seq: snap.seq, day: snap.day, now: snap.now, windows: snap.windows || [], recent_calls: snap.recent_calls || [],
        waiting: snap.waiting || {}, window_waiting: snap.window_waiting || {},
      });
    },
    apply(state, ev) {
      const t = ev.ticket;
      if (t && t.day && state.day && t.day !== state.day) return RESYNC;
      const w = typeof ev.window === "number" ? windowEntry(state, ev.window) : null;
      let call = null;
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
            if (state.window_waiting[String(ev.window)] > 0 && (t.transfers || 0) > 0) dec(state.window_waiting, String(ev.window));
            else dec(state.waiting, t.service);
          }
          if (w) {
            w.ticket = { id: t.id, number: t.number, service: t.service, window: ev.window, calls: t.calls || 1,
                         called_ms: t.called_ms, appointment: !!t.appointment };
          }
          call = { id: t.id, number: t.number, service: t.service, window: ev.window, kind: CALLS[ev.type], at: ev.ts };
          state.recent_calls.unshift(call);
          state.recent_calls.length = Math.min(state.recent_calls.length, recentLimit);
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
        case "no_show_undone":  // a 过号 taken back: the ticket waits again in its queue
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
      return { call };
    },
  };
}

/** The latest calls, one per ticket (a recall moves a ticket back to the top), newest first. */
export function latestCalls(state, limit) {
  const seen = new Set();
  const out = [];
  for (const c of state.recent_calls) {
    if (out.length >= limit) break;
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    out.push(c);
  }
  return out;
}
