"""The /staff Socket.IO namespace: who may join (a live staff session with its CSRF token, a window's tablet) and
who may not (a phone, a kiosk, a keypad, an ended session, a cross-site page without the CSRF token); what each
audience hears of the same events (the relay's views)."""

from __future__ import annotations

import pytest

from hall_support import KEYPAD_TOKEN, KIOSK_TOKEN, TABLET_TOKENS, login
from display.namespace import RATING_CLOSED, RATING_OPENED, STAFF_NAMESPACE
from display.relay import Relay


@pytest.fixture
def socketio(app):
    return app.extensions["socketio"]


def join(socketio, app, auth=None, client=None):
    """A Socket.IO test client on /staff (with ``client``'s cookies); None when the server refused it."""
    sio = socketio.test_client(app, namespace=STAFF_NAMESPACE, auth=auth, flask_test_client=client)
    return sio if sio.is_connected(STAFF_NAMESPACE) else None


def signed_in(app, window=1, username=None):
    c = app.test_client()
    r = login(c, username or f"clerk{window}", window)
    assert r.status_code == 200, r.get_json()
    return c, r.get_json()["csrf_token"]


def test_a_phone_kiosk_or_keypad_cannot_join(app, socketio):
    assert join(socketio, app) is None                                   # a stranger's phone: nothing at all
    assert join(socketio, app, {"csrf": "guess"}) is None
    assert join(socketio, app, client=app.test_client()) is None          # a browser without a session
    for token in (KIOSK_TOKEN, KEYPAD_TOKEN, "no-such-token"):
        assert join(socketio, app, {"token": token}) is None


def test_a_session_joins_only_with_its_csrf_token_and_not_after_logout(app, socketio):
    c, csrf = signed_in(app)
    assert join(socketio, app, client=c) is None                          # a cross-site page has the cookie only
    assert join(socketio, app, {"csrf": "x" + csrf}, client=c) is None
    sio = join(socketio, app, {"csrf": csrf}, client=c)
    assert sio is not None
    sio.disconnect(namespace=STAFF_NAMESPACE)
    assert c.post("/api/v1/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert join(socketio, app, {"csrf": csrf}, client=c) is None


def test_each_audience_hears_its_own_view_of_the_same_events(app, socketio, engine):
    c, csrf = signed_in(app)
    staff = join(socketio, app, {"csrf": csrf}, client=c)
    tablet1 = join(socketio, app, {"token": TABLET_TOKENS[1]})
    tablet2 = join(socketio, app, {"token": TABLET_TOKENS[2]})
    public = socketio.test_client(app, namespace="/display")
    assert staff and tablet1 and tablet2 and public.is_connected("/display")
    for sio in (staff, tablet1, tablet2):
        sio.get_received(STAFF_NAMESPACE)
    public.get_received("/display")

    first = engine.last_seq()
    engine.issue("renshe")
    ticket = engine.call_next(1, "clerk1")
    engine.finish(1, "handled", "clerk1")
    relay = Relay(socketio, "redis://unused", engine.keys.events, windows=engine.config.windows)
    for event in engine.events_since():
        if event.seq > first:
            relay.emit(event)

    def heard(sio, ns=STAFF_NAMESPACE):
        return [(m["name"], m["args"][0]) for m in sio.get_received(ns)]

    got_staff, got_public = heard(staff), heard(public, "/display")
    got_t1, got_t2 = heard(tablet1), heard(tablet2)
    kinds = ["ticket_issued", "ticket_called", "ticket_finished"]
    assert [n for n, _ in got_staff] == [n for n, _ in got_public] == kinds
    seqs = [p["seq"] for _, p in got_staff]
    assert seqs == [first + 1, first + 2, first + 3]
    for audience in (got_public, got_t1, got_t2):                          # every audience sees every seq: no gaps
        assert [p["seq"] for _, p in audience] == seqs
    called = dict(got_staff)["ticket_called"]
    assert called["clerk"] == "clerk1" and called["window"] == 1 and called["ticket"]["id"] == ticket["id"]
    assert "token" not in called["ticket"]                                 # the holder's key stays with the holder
    public_called = dict(got_public)["ticket_called"]
    assert "clerk" not in public_called and "token" not in public_called["ticket"]
    assert got_t1[:2] == [("ticket_issued", {"seq": seqs[0], "type": "ticket_issued", "ts": got_t1[0][1]["ts"],
                                             "entry": got_t1[0][1]["entry"]}),
                          ("ticket_called", {"seq": seqs[1], "type": "ticket_called", "ts": got_t1[1][1]["ts"],
                                             "entry": got_t1[1][1]["entry"]})]
    assert got_t1[2][0] == RATING_OPENED and got_t1[2][1]["ticket_id"] == ticket["id"] and got_t1[2][1]["window"] == 1
    assert [n for n, _ in got_t2] == kinds and set(got_t2[2][1]) == {"seq", "type", "ts", "entry"}  # not its window

    from shared import ratings
    ratings.rate(engine, 1, ticket["id"], 5)
    [rated] = [e for e in engine.events_since() if e.type == "ticket_rated"]
    relay.emit(rated)
    assert [n for n, _ in heard(tablet1)] == [RATING_CLOSED]
    assert dict(heard(staff))["ticket_rated"]["level"] == 5
    assert set(dict(heard(public, "/display"))["ticket_rated"]) == {"seq", "type", "ts", "entry"}
