"""The live client (shared/static/js/live.js) and the hall reducer (display/static/js/hall-state.js) in headless
Chromium, with a scripted socket and scripted snapshots: buffer while loading, ignore duplicates, resync on a gap,
reload on reconnect, throttled refreshes, change notifications."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_support import BROWSER_MARKS, page_errors, serve_static

pytestmark = BROWSER_MARKS

ROOT = Path(__file__).resolve().parent.parent
MOUNTS = {"/assets/": ROOT / "shared" / "static", "/display/static/": ROOT / "display" / "static"}

HARNESS = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>livestate harness</title></head><body>
<script type="module">
  import { LiveClient, RESYNC } from "/assets/js/live.js";
  import { callKey, hallReducer, latestCalls } from "/display/static/js/hall-state.js";
  Object.assign(window, { LiveClient, RESYNC, callKey, hallReducer, latestCalls });

  // A socket the test drives: fire("connect"), fire("disconnect", reason), push(event).
  window.makeSocket = function () {
    var handlers = {}, any = [];
    return {
      connected: false, active: true, connects: 0,
      on: function (n, f) { (handlers[n] = handlers[n] || []).push(f); },
      onAny: function (f) { any.push(f); },
      connect: function () { this.connects++; },
      disconnect: function () {},
      fire: function (n, a) { (handlers[n] || []).forEach(function (f) { f(a); }); },
      push: function (ev) { any.forEach(function (f) { f(ev.type, ev); }); },
      listeners: function () { return Object.keys(handlers).reduce(function (n, k) { return n + handlers[k].length; }, any.length); },
    };
  };
  // Snapshots the test hands out: every load() waits until resolveLoad(snap) or rejectLoad().
  window.setup = function (opts) {
    window.loads = 0; window.pending = []; window.applied = []; window.snaps = []; window.statuses = [];
    window.sock = makeSocket();
    window.live = new LiveClient(Object.assign({
      socket: sock,
      load: function () { loads++; return new Promise(function (res, rej) { pending.push({res: res, rej: rej}); }); },
      onSnapshot: function (s, info) { snaps.push({seq: s.seq, reason: info.reason}); },
      onEvent: function (ev) { applied.push(ev.seq); },
      onStatus: function (s) { statuses.push(s); },
      resyncEveryMs: 0, retryMinMs: 50, retryMaxMs: 200,
    }, opts || {}));
    live.start();
  };
  window.resolveLoad = function (snap) { pending.shift().res(snap); return new Promise(function (r) { setTimeout(r, 0); }); };
  window.rejectLoad = function () { pending.shift().rej(new Error("HTTP 503")); return new Promise(function (r) { setTimeout(r, 0); }); };
  window.ev = function (seq, type, extra) { return Object.assign({seq: seq, type: type || "ticket_issued", ts: 1000 + seq}, extra || {}); };
  // Resolves when cond() holds (checked every 20 ms); fails after `ms` — a condition, not a sleep.
  window.until = async function (cond, ms = 10000) {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error("condition not met in " + ms + " ms: " + cond);
      await new Promise(function (r) { setTimeout(r, 20); });
    }
  };
</script>
</body></html>
"""


@pytest.fixture(scope="module")
def base():
    with serve_static(ROOT, pages={"/harness.html": HARNESS}, mounts=MOUNTS) as url:
        yield url


@pytest.fixture()
def page(base, new_page):
    page = new_page((800, 600))
    page.goto(base + "/harness.html")
    page.wait_for_function("() => typeof window.LiveClient === 'function' && typeof window.hallReducer === 'function'")
    yield page
    assert [m for m in page_errors(page) if m.startswith("pageerror")] == []


def test_events_during_the_snapshot_are_buffered_then_applied_in_order(page):
    got = page.evaluate("""async () => {
        setup();
        sock.fire("connect");
        const loadsAfterConnect = loads;
        sock.push(ev(7)); sock.push(ev(5)); sock.push(ev(6));   // arrive while the snapshot loads, out of order
        const appliedWhileLoading = applied.slice();
        await resolveLoad({seq: 5});
        return {loadsAfterConnect, appliedWhileLoading, applied, seq: live.seq, ignored: live.stats.ignored,
                status: live.status, snaps};
    }""")
    assert got["loadsAfterConnect"] == 1
    assert got["appliedWhileLoading"] == []
    assert got["applied"] == [6, 7]          # 5 is already in the snapshot
    assert got["ignored"] == 1
    assert got["seq"] == 7
    assert got["status"] == "live"
    assert got["snaps"] == [{"seq": 5, "reason": "connect"}]


def test_duplicates_and_old_events_are_ignored(page):
    got = page.evaluate("""async () => {
        setup();
        sock.fire("connect");
        await resolveLoad({seq: 10});
        sock.push(ev(11));
        sock.push(ev(11)); sock.push(ev(9)); sock.push(ev(10));   // replays: never applied twice
        sock.push(ev(12));
        return {applied, ignored: live.stats.ignored, loads, gaps: live.stats.gaps};
    }""")
    assert got["applied"] == [11, 12]
    assert got["ignored"] == 3
    assert got["loads"] == 1 and got["gaps"] == 0


def test_a_gap_loads_a_fresh_snapshot_and_keeps_later_events(page):
    got = page.evaluate("""async () => {
        setup();
        sock.fire("connect");
        await resolveLoad({seq: 3});
        sock.push(ev(4));
        sock.push(ev(7));                 // 5 and 6 were lost: resync
        const loadsAfterGap = loads;
        sock.push(ev(8));                 // arrives while the new snapshot loads
        await resolveLoad({seq: 7});      // the snapshot covers 5..7
        return {loadsAfterGap, applied, seq: live.seq, gaps: live.stats.gaps, snaps};
    }""")
    assert got["loadsAfterGap"] == 2
    assert got["applied"] == [4, 8]
    assert got["seq"] == 8
    assert got["gaps"] == 1
    assert [s["reason"] for s in got["snaps"]] == ["connect", "gap"]


def test_a_snapshot_older_than_the_buffered_events_loads_again(page):
    got = page.evaluate("""async () => {
        setup();
        sock.fire("connect");
        await resolveLoad({seq: 1});
        sock.push(ev(4));                  // gap: 2, 3 missing
        sock.push(ev(5));
        await resolveLoad({seq: 2});       // still missing 3: try again a little later
        const appliedAfterStale = applied.slice();
        await until(() => pending.length > 0);
        await resolveLoad({seq: 3});
        return {appliedAfterStale, applied, loads, seq: live.seq};
    }""")
    assert got["appliedAfterStale"] == []
    assert got["applied"] == [4, 5]
    assert got["loads"] == 3
    assert got["seq"] == 5


def test_reconnect_reloads_and_a_reset_store_is_accepted(page):
    got = page.evaluate("""async () => {
        setup();
        sock.fire("connect");
        await resolveLoad({seq: 20});
        sock.push(ev(21));
        sock.fire("disconnect", "transport close");
        const statusOffline = live.status;
        sock.fire("connect");                 // same socket object reconnects: one more load, no new handlers
        const listeners = sock.listeners();
        await resolveLoad({seq: 24});         // events 22..24 happened while away: in the snapshot
        sock.push(ev(23));                    // a late replay: ignored
        sock.push(ev(25));
        sock.fire("disconnect", "transport close");
        sock.fire("connect");
        await resolveLoad({seq: 2});          // the store was reset: the lower seq is taken as it is
        sock.push(ev(3));
        return {statusOffline, listeners, applied, loads, seq: live.seq, status: live.status,
                connects: live.stats.connects, statuses};
    }""")
    assert got["statusOffline"] == "reconnecting"
    assert got["listeners"] == 4            # connect, disconnect, connect_error + onAny, registered once
    assert got["applied"] == [21, 25, 3]
    assert got["loads"] == 3 and got["connects"] == 3
    assert got["seq"] == 3 and got["status"] == "live"
    assert "reconnecting" in got["statuses"]


def test_a_failed_snapshot_is_retried_with_backoff(page):
    got = page.evaluate("""async () => {
        setup();
        sock.fire("connect");
        sock.push(ev(2));
        await rejectLoad();                    // e.g. 503 while Redis blips
        await until(() => pending.length > 0);
        const loadsAfterRetry = loads;
        await resolveLoad({seq: 1});
        return {loadsAfterRetry, applied, failures: live.stats.failures, status: live.status};
    }""")
    assert got["loadsAfterRetry"] == 2
    assert got["applied"] == [2]
    assert got["failures"] == 1
    assert got["status"] == "live"


def test_hall_state_reducer_never_shows_a_call_twice(page):
    """The hall reducer through the client: a replayed call is dropped by seq; the next day's event resyncs; every
    snapshot and applied event is notified to subscribers with the reducer's result."""
    got = page.evaluate("""async () => {
        const calls = [], changes = [];
        setup({reducer: hallReducer({recentLimit: 8}), onSnapshot: null, onEvent: null});
        live.subscribe((state, change) => {
            changes.push(change.kind);
            if (change.result && change.result.call) calls.push(callKey(change.result.call));
        });
        sock.fire("connect");
        await resolveLoad({seq: 1, day: "20261127", windows: [{window: 3, ticket: null, paused: false}],
                           recent_calls: [], waiting: {renshe: 2}, window_waiting: {"3": 0}});
        const t = {id: "20261127-A001", number: "A001", service: "renshe", day: "20261127", status: "called", calls: 1};
        const call = ev(2, "ticket_called", {ticket: t, window: 3});
        sock.push(call); sock.push(call);                                 // the same call delivered twice
        sock.push(ev(3, "ticket_recalled", {ticket: Object.assign({}, t, {calls: 2}), window: 3}));
        const state = live.state;
        const before = {recent: state.recent_calls.length, waiting: state.waiting.renshe,
                        current: state.windows[0].ticket.number, latest: latestCalls(state, 5).length};
        sock.push(ev(4, "ticket_issued", {ticket: {id: "20261128-A001", number: "A001", service: "renshe", day: "20261128"}}));
        return {calls, before, loads, changes};
    }""")
    assert got["calls"] == ["20261127-A001|call|1002", "20261127-A001|recall|1003"]
    assert got["before"] == {"recent": 2, "waiting": 1, "current": "A001", "latest": 1}
    assert got["loads"] == 2   # the next day's event asked for the new day's snapshot
    assert got["changes"] == ["snapshot", "event", "event"]   # the duplicate and the next day's event: no change


def test_refresh_soon_is_throttled(page):
    """Many events asking for a fresh snapshot load at most one per refreshMs (the first soon, the rest coalesced)."""
    got = page.evaluate("""async () => {
        setup({refreshMs: 300});
        sock.fire("connect");
        await resolveLoad({seq: 1});
        for (let i = 0; i < 20; i++) live.refreshSoon();
        await until(() => pending.length > 0);
        const first = loads;
        await resolveLoad({seq: 1});
        for (let i = 0; i < 10; i++) live.refreshSoon();
        const beforeWindow = loads;
        await until(() => pending.length > 0);
        await resolveLoad({seq: 1});
        return {first, beforeWindow, loads, reasons: snaps.map(s => s.reason)};
    }""")
    assert got["first"] == 2 and got["beforeWindow"] == 2 and got["loads"] == 3
    assert got["reasons"] == ["connect", "refresh", "refresh"]


def test_the_servers_resync_takes_its_seq_and_loads_the_state_at_once_then_throttled(page):
    """``resync`` {seq} (the relay could not build this page's view of the event at seq): it takes that seq, is not
    handed to the page, and loads a snapshot at once; events after it are applied in order meanwhile; a run of them
    (a view that keeps failing) loads at most one more snapshot per refreshMs."""
    got = page.evaluate("""async () => {
        setup({refreshMs: 400});
        sock.fire("connect");
        await resolveLoad({seq: 3});
        sock.push(ev(4));
        sock.push(ev(5, "resync", {event: "ticket_called", entry: "1-5"}));
        const seqAfter = live.seq, entryAfter = live.entry;
        await until(() => pending.length > 0);             // the snapshot, without another event
        const firstLoad = loads;
        sock.push(ev(6));                                  // arrives while it loads: buffered, then applied
        await resolveLoad({seq: 5});
        for (let i = 7; i <= 12; i++) sock.push(ev(i, "resync"));
        const burst = loads;
        await until(() => pending.length > 0);
        await resolveLoad({seq: 12});
        return {seqAfter, entryAfter, firstLoad, burst, loads, applied, seq: live.seq, told: live.stats.told,
                gaps: live.stats.gaps, reasons: snaps.map(s => s.reason)};
    }""")
    assert got["seqAfter"] == 5 and got["entryAfter"] == "1-5"
    assert got["firstLoad"] == 2 and got["burst"] == 2 and got["loads"] == 3
    assert got["applied"] == [4, 6]                        # the resyncs never reach the page's handler
    assert got["seq"] == 12 and got["told"] == 7 and got["gaps"] == 0
    assert got["reasons"] == ["connect", "told", "told"]


def test_a_reconnect_catches_up_with_the_missed_events_or_loads_a_snapshot(page):
    """Issue 15: on a reconnect the client asks the server (catch_up, acknowledged) for the events after its seq and
    applies them in order before the live ones that came meanwhile (no snapshot); when the server cannot give them all
    (resync) or does not answer, it loads a snapshot as before."""
    got = page.evaluate("""async () => {
        setup();
        const asks = [], changes = [];
        sock.timeout = function (ms) {
          return { emitWithAck: function (name, data) {
            return new Promise(function (res, rej) { asks.push({name: name, data: data, ms: ms, res: res, rej: rej}); });
          } };
        };
        live.subscribe(function (_s, change) { if (change.kind === "event") changes.push([change.event.seq, !!change.caughtUp]); });
        sock.fire("connect");                 // the first connect: a snapshot, never a catch-up
        await resolveLoad({seq: 5});
        sock.push(ev(6));
        sock.fire("disconnect", "transport close");
        sock.fire("connect");                 // a reconnect: catch up from 6
        const first = {asks: asks.length, name: asks[0].name, after: asks[0].data.after, status: live.status};
        sock.push(ev(9)); sock.push(ev(10));  // live events while the answer is on its way: held
        const appliedWhileAsking = applied.slice();
        asks[0].res({events: [ev(7), ev(8), ev(9)]});
        await until(() => applied.length === 5);
        const afterCatchUp = {applied: applied.slice(), loads, status: live.status, caughtUp: live.stats.caughtUp};
        sock.fire("disconnect", "transport close");
        sock.fire("connect");
        asks[1].res({resync: true});          // too many, or trimmed: a snapshot
        await until(() => pending.length === 1);
        await resolveLoad({seq: 30});
        sock.fire("disconnect", "transport close");
        sock.fire("connect");
        asks[2].rej(new Error("operation has timed out"));   // no answer: a snapshot
        await until(() => pending.length === 1);
        await resolveLoad({seq: 31});
        sock.push(ev(32));
        return {first, appliedWhileAsking, afterCatchUp, asks: asks.map(a => a.data.after), loads, applied,
                changes, status: live.status, snaps};
    }""")
    assert got["first"] == {"asks": 1, "name": "catch_up", "after": 6, "status": "syncing"}
    assert got["appliedWhileAsking"] == [6]
    assert got["afterCatchUp"] == {"applied": [6, 7, 8, 9, 10], "loads": 1, "status": "live", "caughtUp": 3}
    # 9 came both ways: the live copy is applied (it is no older than the answer), the caught-up copy skipped
    assert got["changes"][:5] == [[6, False], [7, True], [8, True], [9, False], [10, False]]
    assert got["asks"] == [6, 10, 30]
    assert got["loads"] == 3 and got["applied"] == [6, 7, 8, 9, 10, 32]
    assert [s["reason"] for s in got["snaps"]] == ["connect", "connect", "connect"]
    assert got["status"] == "live"


def test_a_reconnect_names_the_entry_it_saw_last_and_a_lost_one_loads_a_snapshot(page):
    """Issue 15: with its seq the client sends `entry`, the stream id of the event at that seq — from the last event
    applied (live or caught up), or from a snapshot that names it — so that a server whose stream went back and
    regrew while the page was away answers `resync` instead of events on top of lost ones; the page then loads its
    state. A snapshot without an entry (pages other than the hall display) leaves it unknown: `after` alone, as
    before."""
    got = page.evaluate("""async () => {
        setup();
        const asks = [];
        sock.timeout = function (ms) {
          return { emitWithAck: function (name, data) {
            return new Promise(function (res, rej) { asks.push({data: data, res: res, rej: rej}); });
          } };
        };
        const away = async function () { sock.fire("disconnect", "transport close"); sock.fire("connect"); };
        sock.fire("connect");
        await resolveLoad({seq: 5, entry: "1700000000000-4"});      // the hall snapshot names its entry
        await away();
        asks[0].res({events: [ev(6, "ticket_issued", {entry: "1700000000100-0"})]});
        await until(() => applied.length === 1);
        sock.push(ev(7, "ticket_called", {entry: "1700000000200-0"}));   // a live event: its entry is the last one
        await away();
        asks[1].res({resync: true});           // seq 7 is another event now (a failover lost it): a snapshot
        await until(() => pending.length === 1);
        await resolveLoad({seq: 8});           // a snapshot without an entry: not known
        await away();
        asks[2].res({events: []});
        await until(() => live.status === "live");
        sock.push(ev(9));                      // an event without one (an older server): not known either
        await away();
        return {asks: asks.map((a) => a.data), applied, seq: live.seq, loads, reasons: snaps.map((s) => s.reason)};
    }""")
    assert got["asks"] == [{"after": 5, "entry": "1700000000000-4"}, {"after": 7, "entry": "1700000000200-0"},
                           {"after": 8}, {"after": 9}]
    assert got["applied"] == [6, 7, 9] and got["seq"] == 9
    assert got["loads"] == 2 and got["reasons"] == ["connect", "connect"]


def test_a_rewound_stream_reloads_and_applies_the_events_that_reuse_a_seq(page):
    """A failover lost events 7 and 8 (the page applied them); the relay says the stream is back at 6, and the next
    event is a new 7: the page loads its state again, takes the lower snapshot and applies the new 7 and 8."""
    got = page.evaluate("""async () => {
        setup();
        sock.fire("connect");
        await resolveLoad({seq: 5});
        sock.push(ev(6)); sock.push(ev(7)); sock.push(ev(8));
        sock.push({seq: 6, type: "stream_rewound", ts: 2000});
        const loadsAfterRewind = loads;
        sock.push(ev(7, "ticket_called"));            // arrives while the snapshot loads: kept
        await resolveLoad({seq: 6});
        sock.push(ev(8, "ticket_called"));
        return {loadsAfterRewind, applied, seq: live.seq, reasons: snaps.map(s => s.reason),
                rewinds: live.stats.rewinds, status: live.status};
    }""")
    assert got["loadsAfterRewind"] == 2
    assert got["applied"] == [6, 7, 8, 7, 8]
    assert got["seq"] == 8
    assert got["reasons"] == ["connect", "rewound"]
    assert got["rewinds"] == 1 and got["status"] == "live"


def test_a_rewind_voids_a_snapshot_in_flight_and_is_ignored_when_nothing_shown_was_lost(page):
    got = page.evaluate("""async () => {
        setup();
        sock.fire("connect");
        await resolveLoad({seq: 3});
        sock.push({seq: 3, type: "stream_rewound", ts: 2000});   // the page shows nothing past 3: nothing to do
        const loadsAtThree = loads;
        sock.push(ev(9));                                         // a gap: a snapshot loads …
        sock.push({seq: 3, type: "stream_rewound", ts: 2001});   // … from before the loss, maybe: void, load again
        sock.push(ev(4, "ticket_called"));
        await resolveLoad({seq: 9});                              // the void load answers late: not taken
        const seqAfterVoid = live.seq;
        await resolveLoad({seq: 3});
        return {loadsAtThree, loads, seqAfterVoid, applied, seq: live.seq, snaps, rewinds: live.stats.rewinds};
    }""")
    assert got["loadsAtThree"] == 1 and got["loads"] == 3
    assert got["seqAfterVoid"] == 3
    assert got["applied"] == [4]
    assert got["seq"] == 4
    assert got["snaps"] == [{"seq": 3, "reason": "connect"}, {"seq": 3, "reason": "rewound"}]
    assert got["rewinds"] == 1


def test_a_reconnect_during_a_rewind_loads_a_snapshot_not_a_catch_up(page):
    """The stream went back and the page's snapshot failed while the socket was down: on reconnect the seq on screen
    predates the loss, so the page loads a snapshot (a catch-up from that seq would apply new events on lost ones,
    and leave the page buffering every later event)."""
    got = page.evaluate("""async () => {
        setup();
        const asks = [];
        sock.timeout = function (ms) {
          return { emitWithAck: function (name, data) { asks.push(name); return new Promise(function () {}); } };
        };
        sock.fire("connect");
        await resolveLoad({seq: 5});
        sock.push(ev(6)); sock.push(ev(7));
        sock.push({seq: 5, type: "stream_rewound", ts: 2000});   // 6 and 7 were lost
        sock.fire("disconnect", "transport close");
        await rejectLoad();                                        // the rewind's snapshot fails meanwhile
        sock.fire("connect");
        await until(() => pending.length === 1);
        await resolveLoad({seq: 6});
        sock.push(ev(7, "ticket_called"));
        return {asks, applied, seq: live.seq, status: live.status, reasons: snaps.map((s) => s.reason)};
    }""")
    assert got["asks"] == []
    assert got["applied"] == [6, 7, 7]
    assert got["seq"] == 7 and got["status"] == "live"
    assert got["reasons"] == ["connect", "connect"]
