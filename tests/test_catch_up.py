"""Catching a reconnecting screen up (issue 15, several processes): the events after a seq, read back from the stream
(shared/catch_up.py), and the ``catch_up`` event of the /display and /staff namespaces that answers them in each
audience's view — or ``resync`` when they cannot all be given."""

from __future__ import annotations

import pytest

from display.namespace import DISPLAY_NAMESPACE, STAFF_NAMESPACE
from hall_support import TABLET_TOKENS, login, tablet
from stats_support import supervisor
from shared.catch_up import catch_up


def issue(engine, n: int) -> list[dict]:
    return [engine.issue("renshe").ticket for _ in range(n)]


def seq(engine) -> int:
    return int(engine.redis.get(engine.keys.seq) or 0)


def test_the_events_after_a_seq_in_order(engine):
    assert catch_up(engine, 0).complete and catch_up(engine, 0).events == []   # an empty hall: nothing missed
    issue(engine, 250)  # more than two pages read back
    last = seq(engine)
    for after in (0, 1, 37, last - 1, last):
        found = catch_up(engine, after)
        assert found.complete
        assert [e.seq for e in found.events] == list(range(after + 1, last + 1))
    assert [e.data["ticket"]["number"] for e in catch_up(engine, last - 2).events] == ["A249", "A250"]


def test_too_many_trimmed_or_a_reset_store_give_no_events(engine):
    issue(engine, 30)
    last = seq(engine)
    assert not catch_up(engine, 0, limit=29).complete                 # 30 missed: over the limit
    assert catch_up(engine, 0, limit=30).complete
    assert not catch_up(engine, last + 5).complete                   # the client is ahead: the store was reset
    ids = [entry_id for entry_id, _f in engine.redis.xrange(engine.keys.events)]
    engine.redis.xtrim(engine.keys.events, minid=ids[10], approximate=False)  # archived and trimmed
    assert not catch_up(engine, 3).complete and catch_up(engine, 3).events == []
    assert [e.seq for e in catch_up(engine, 10).events] == list(range(11, last + 1))
    engine.redis.delete(engine.keys.events)
    assert not catch_up(engine, 5).complete                          # nothing left to read back from


@pytest.fixture
def socketio(app):
    return app.extensions["socketio"]


def test_the_display_namespace_answers_public_views_once_per_connection(app, socketio, engine):
    issue(engine, 2)
    start = seq(engine)
    ticket = issue(engine, 1)[0]
    sio = socketio.test_client(app, namespace=DISPLAY_NAMESPACE)
    answer = sio.emit("catch_up", {"after": start}, namespace=DISPLAY_NAMESPACE, callback=True)
    assert [e["seq"] for e in answer["events"]] == [start + 1]
    event = answer["events"][0]
    assert event["type"] == "ticket_issued" and event["ticket"]["number"] == ticket["number"]
    assert "token" not in event["ticket"] and "kiosk" not in event       # the public view, as the relay sends it
    # one read of the stream per connection: a client cannot make the server read in a loop
    assert sio.emit("catch_up", {"after": 0}, namespace=DISPLAY_NAMESPACE, callback=True) == {"resync": True}
    assert sio.emit("clock", {}, namespace=DISPLAY_NAMESPACE, callback=True)["process"]  # still answered


def test_a_view_that_cannot_be_built_answers_resync_and_is_logged_once(app, socketio, engine, monkeypatch, caplog):
    """As the relay puts ``resync`` in place of an event whose view failed, catch_up answers ``resync`` (the screen
    loads a snapshot) instead of an error or silence (before: the handler raised, the screen waited 5 s)."""
    import display.relay

    start = seq(engine)
    ticket = issue(engine, 2)[1]
    view = display.relay.public_payload

    def failing(event):
        if event.seq == start + 2:
            raise ValueError(f"cannot read {event.data['ticket']}")
        return view(event)

    monkeypatch.setattr(display.relay, "public_payload", failing)
    sio = socketio.test_client(app, namespace=DISPLAY_NAMESPACE)
    assert sio.emit("catch_up", {"after": start}, namespace=DISPLAY_NAMESPACE, callback=True) == {"resync": True}
    [line] = [r.getMessage() for r in caplog.records if r.name == "display.relay"]
    assert f"/display failed for 1 event(s) (ticket_issued #{start + 2}): ValueError" in line
    assert ticket["id"] not in line and "cannot read" not in line


@pytest.mark.parametrize("bad", [None, {}, {"after": -1}, {"after": "3"}, {"after": True}, {"after": 1.5}, [1],
                                 {"after": 1, "entry": 5}, {"after": 1, "entry": "1-2-3"}, {"after": 1, "entry": "-"},
                                 {"after": 1, "entry": ["1-0"]}, {"after": 1, "entry": "+"},
                                 {"after": 1, "entry": "18446744073709551616-0"}, {"after": 1, "entry": "1-0\n"},
                                 {"after": 1, "entry": "١-0"}])
def test_bad_catch_up_requests_are_refused(app, socketio, bad):
    sio = socketio.test_client(app, namespace=DISPLAY_NAMESPACE)
    answer = sio.emit("catch_up", bad, namespace=DISPLAY_NAMESPACE, callback=True)
    assert answer["error"]["code"] == "bad_request"
    assert sio.is_connected(DISPLAY_NAMESPACE)


def test_the_staff_namespace_answers_each_room_its_view(app, socketio, engine):
    start = seq(engine)
    issued = engine.issue("renshe").ticket
    engine.call_next(1, "clerk1")
    engine.finish(1, "handled", "clerk1")
    c = app.test_client()
    r = login(c, "clerk2", 2)
    staff = socketio.test_client(app, namespace=STAFF_NAMESPACE, auth={"csrf": r.get_json()["csrf_token"]},
                                 flask_test_client=c)
    tablet = socketio.test_client(app, namespace=STAFF_NAMESPACE, auth={"token": TABLET_TOKENS[1]})
    seen = staff.emit("catch_up", {"after": start}, namespace=STAFF_NAMESPACE, callback=True)["events"]
    assert [e["type"] for e in seen][:3] == ["ticket_issued", "ticket_called", "ticket_finished"]
    assert seen[0]["ticket"]["id"] == issued["id"] and "token" not in seen[0]["ticket"]
    assert seen[1]["clerk"] == "clerk1"                                  # staff see who called
    heard = tablet.emit("catch_up", {"after": start}, namespace=STAFF_NAMESPACE, callback=True)["events"]
    assert [e["type"] for e in heard][:3] == ["ticket_issued", "ticket_called", "rating_opened"]
    assert heard[0] == {"seq": start + 1, "type": "ticket_issued", "ts": heard[0]["ts"],   # a stub: no ticket
                        "entry": heard[0]["entry"]}
    assert heard[2]["ticket_id"] == issued["id"] and heard[2]["window"] == 1


# --- the entry the screen saw last (issue 15: a reconnect after a failover that lost events) ---------------------


def entries(engine) -> list[tuple[str, int]]:
    """(stream id, seq) of every event in the hall's stream, oldest first."""
    return [(entry_id, int(fields["seq"])) for entry_id, fields in engine.redis.xrange(engine.keys.events)]


def lose_newest(engine, n: int) -> None:
    """What a failover without WAIT leaves on the new primary: the ``n`` newest events never reached it, and the seq
    counter is back where its stream ends (the next event reuses the first lost seq, under a new stream id)."""
    lost = entries(engine)[-n:]
    engine.redis.xdel(engine.keys.events, *[entry_id for entry_id, _ in lost])
    engine.redis.set(engine.keys.seq, lost[0][1] - 1)


def ask(app, socketio, request: dict, namespace: str = DISPLAY_NAMESPACE) -> dict:
    """``catch_up`` on a fresh connection (one per connection), as a reconnecting screen asks."""
    return socketio.test_client(app, namespace=namespace).emit("catch_up", request, namespace=namespace,
                                                               callback=True)


@pytest.mark.parametrize("regrown", [0, 1, 4], ids=["exactly to its seq", "one past", "four past"])
def test_a_screen_back_after_a_lossy_failover_is_not_caught_up_onto_events_it_did_not_see(app, socketio, engine,
                                                                                           regrown):
    """The screen saw up to seq ``seen`` (the last two events were then lost in a failover it had no socket for:
    it never heard ``stream_rewound``); by the time it reconnects the stream has regrown to ``seen`` or past it,
    so the seq alone looks fine. With the entry id of the event it saw last, the server sees that seq ``seen`` is
    now another event and answers ``resync``: the screen loads the state instead of adding the new events on top
    of the lost tickets. A client that sends only ``after`` is answered as before (by seq)."""
    start = seq(engine)
    issue(engine, 4)
    seen = seq(engine)
    shown = ask(app, socketio, {"after": start})["events"]  # what the screen applied: the events as sent
    assert [e["seq"] for e in shown] == list(range(start + 1, seen + 1))
    last = entries(engine)[-1][0]  # the entry of the event it saw last
    lose_newest(engine, 2)
    issue(engine, 2 + regrown)  # seqs seen - 1 and seen again, under new stream ids; then ``regrown`` more
    assert seq(engine) == seen + regrown and entries(engine)[-1 - regrown][1] == seen
    assert ask(app, socketio, {"after": seen, "entry": last}) == {"resync": True}
    assert shown[-1]["entry"] == last  # it had it from the event itself
    found = catch_up(engine, seen, entry=last)
    assert not found.complete and found.events == []
    # an older client, with the seq alone: answered as before (the hole this entry closes)
    old = ask(app, socketio, {"after": seen})
    assert [e["seq"] for e in old["events"]] == list(range(seen + 1, seen + regrown + 1))
    # a screen that saw the events after the loss (their new entries) is caught up as usual
    now = entries(engine)
    again = ask(app, socketio, {"after": now[-1 - regrown][1], "entry": now[-1 - regrown][0]})
    assert [(e["entry"], e["seq"]) for e in again["events"]] == now[len(now) - regrown:]
    # a staff page asking the same on /staff (its events carry the same entries)
    c = app.test_client()
    r = login(c, "clerk2", 2)
    staff = socketio.test_client(app, namespace=STAFF_NAMESPACE, auth={"csrf": r.get_json()["csrf_token"]},
                                 flask_test_client=c)
    assert staff.emit("catch_up", {"after": seen, "entry": last}, namespace=STAFF_NAMESPACE,
                      callback=True) == {"resync": True}


def test_a_reconnect_with_its_entry_gets_exactly_the_missed_events(app, socketio, engine):
    """A normal reconnect (no failover): the events after the entry the screen saw last, each with its own entry,
    exactly those, in the public view; and the same from the stream however many pages back."""
    issue(engine, 6)
    stream = entries(engine)
    entry, after = stream[2]
    answer = ask(app, socketio, {"after": after, "entry": entry})
    assert [(e["entry"], e["seq"]) for e in answer["events"]] == stream[3:]
    assert all(e["type"] == "ticket_issued" and "token" not in e["ticket"] for e in answer["events"])
    top_entry, top = stream[-1]
    assert ask(app, socketio, {"after": top, "entry": top_entry}) == {"events": []}   # nothing missed
    issue(engine, 240)
    last = seq(engine)
    for entry, after in (stream[0], stream[-1]):
        found = catch_up(engine, after, entry=entry)
        assert found.complete and [e.seq for e in found.events] == list(range(after + 1, last + 1))
        assert [e.id for e in found.events] == [i for i, _ in entries(engine)][after - stream[0][1] + 1:]
    assert not catch_up(engine, stream[0][1], limit=last - stream[0][1] - 1, entry=stream[0][0]).complete  # too many
    assert catch_up(engine, stream[0][1], limit=last - stream[0][1], entry=stream[0][0]).complete
    assert not catch_up(engine, stream[0][1], entry=stream[1][0]).complete     # an entry that is not that seq's
    engine.redis.xtrim(engine.keys.events, minid=stream[3][0], approximate=False)  # archived and trimmed
    assert not catch_up(engine, stream[2][1], entry=stream[2][0]).complete


def test_the_display_snapshot_names_the_entry_at_its_seq(app, engine):
    """A screen whose last state is the hall snapshot (no event since) knows which entry that seq is, too."""
    client = app.test_client()
    assert client.get("/api/v1/display/state").get_json()["entry"] is None   # an empty hall: no event yet
    issue(engine, 3)
    snap = client.get("/api/v1/display/state").get_json()
    assert (snap["entry"], snap["seq"]) == entries(engine)[-1]
    lose_newest(engine, 1)
    issue(engine, 1)
    again = client.get("/api/v1/display/state").get_json()
    assert again["seq"] == snap["seq"] and again["entry"] != snap["entry"]   # the same seq, another event
    assert catch_up(engine, snap["seq"], entry=again["entry"]).complete
    assert not catch_up(engine, snap["seq"], entry=snap["entry"]).complete


# every page that follows the hall live (live.js) starts from a snapshot: each one names the entry at its seq
SNAPSHOTS = {
    "hall display and window screens": lambda h: h["public"].get("/api/v1/display/state"),
    "counter": lambda h: h["clerk"].get("/api/v1/windows/1/overview"),
    "tracking page": lambda h: h["public"].get(f"/api/v1/track/{h['token']}"),
    "rating tablet": lambda h: h["public"].get("/api/v1/windows/1/rating", headers=tablet(1)),
    "supervisor overview": lambda h: h["supervisor"].get("/api/v1/supervisor/overview"),
    "kiosk services": lambda h: h["public"].get("/api/v1/services"),
}


@pytest.mark.parametrize("snapshot", list(SNAPSHOTS))
def test_every_live_snapshot_names_the_entry_at_its_seq(app, engine, clerk_client, snapshot):
    """A page whose last state is its snapshot (no event since) sends that snapshot's ``entry`` with ``catch_up``:
    every live page's snapshot returns the stream entry of the event at its seq, read with that seq — and none when
    the stream does not end at that seq (the newest event gone, or the whole stream), so that page asks by seq."""
    hall = {"public": app.test_client(), "clerk": clerk_client(1), "supervisor": supervisor(app),
            "token": engine.issue("renshe").ticket["token"]}
    engine.call_next(1, "clerk1")

    def read() -> tuple[str | None, int]:
        r = SNAPSHOTS[snapshot](hall)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        return body["entry"], body["seq"]

    first = read()
    assert first == entries(engine)[-1]                           # the event at its seq: the stream's newest
    lose_newest(engine, 1)
    issue(engine, 1)                                              # the same seq again, another event
    again = read()
    assert again == entries(engine)[-1] and again[1] == first[1] and again[0] != first[0]
    assert catch_up(engine, again[1], entry=again[0]).complete
    engine.redis.xdel(engine.keys.events, again[0])               # the stream ends before the seq: no entry
    assert read() == (None, seq(engine))
    engine.redis.delete(engine.keys.events)                       # no stream at all (a store restored without it)
    assert read() == (None, seq(engine))
