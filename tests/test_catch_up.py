"""Catching a reconnecting screen up (issue 15, several processes): the events after a seq, read back from the stream
(shared/catch_up.py), and the ``catch_up`` event of the /display and /staff namespaces that answers them in each
audience's view — or ``resync`` when they cannot all be given."""

from __future__ import annotations

import pytest

from display.namespace import DISPLAY_NAMESPACE, STAFF_NAMESPACE
from hall_support import TABLET_TOKENS, login
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
    assert sio.emit("clock", {}, namespace=DISPLAY_NAMESPACE, callback=True)["process"] > 0


@pytest.mark.parametrize("bad", [None, {}, {"after": -1}, {"after": "3"}, {"after": True}, {"after": 1.5}, [1]])
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
    assert heard[0] == {"seq": start + 1, "type": "ticket_issued", "ts": heard[0]["ts"]}   # a stub: no ticket
    assert heard[2]["ticket_id"] == issued["id"] and heard[2]["window"] == 1
