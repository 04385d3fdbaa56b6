"""好差评 from the evaluation device: only the ticket just finished at that window, only in time, only once."""

from __future__ import annotations

import json

import pytest

from hall_support import tablet
from shared import ratings
from hall_support import state_fingerprint


def _rated_events(redis_client):
    return [json.loads(f["data"]) for _i, f in redis_client.xrange("ow:{testhall}:events") if f["type"] == "ticket_rated"]


@pytest.fixture
def finished(client, clerk_client):
    """Window 1 has just finished A001 (A002 waits); returns (clerk client, ticket id)."""
    client.post("/api/v1/tickets", json={"service": "renshe"})
    client.post("/api/v1/tickets", json={"service": "renshe"})
    return _finish_next(clerk_client)


def _finish_next(clerk_client):
    """Window 1 calls and finishes its next ticket; returns (clerk client, ticket id)."""
    c = clerk_client(1)
    c.post("/api/v1/windows/1/call-next")
    t = c.post("/api/v1/windows/1/finish", json={"outcome": "handled"}).get_json()["ticket"]
    return c, t["id"]


# ------------------------------------------------------------------------------------------------ who may rate
def test_nobody_else_rates_or_sees_the_ticket_to_rate(client, redis_client, finished):
    """Issue 9, item 4: a phone rated G001 '1' with no credentials and the real tablet then got 409 already_rated."""
    from hall_support import KEYPAD_TOKEN, KIOSK_TOKEN

    _c, ticket_id = finished
    before = state_fingerprint(redis_client)
    r = client.get("/api/v1/windows/1/rating")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "device_required"
    r = client.post("/api/v1/windows/1/rating", json={"ticket_id": ticket_id, "level": 1})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "device_required"
    for headers, code in ((tablet(2), "wrong_window"), ({"Authorization": f"Bearer {KEYPAD_TOKEN}"}, "wrong_device"),
                          ({"Authorization": f"Bearer {KIOSK_TOKEN}"}, "wrong_device")):
        assert client.get("/api/v1/windows/1/rating", headers=headers).get_json()["error"]["code"] == code
        r = client.post("/api/v1/windows/1/rating", headers=headers, json={"ticket_id": ticket_id, "level": 1})
        assert r.status_code == 403 and r.get_json()["error"]["code"] == code
    assert state_fingerprint(redis_client) == before
    r = client.post("/api/v1/windows/1/rating", headers=tablet(1), json={"ticket_id": ticket_id, "level": 5})
    assert r.status_code == 201 and _rated_events(redis_client)[0]["rating"]["channel"] == "tablet"


def test_the_holder_rates_from_the_phone_with_the_tracking_token(client, clerk_client, redis_client):
    mine = client.post("/api/v1/tickets", json={"service": "renshe"}).get_json()["ticket"]
    other = client.post("/api/v1/tickets", json={"service": "renshe"}).get_json()["ticket"]
    _c, ticket_id = _finish_next(clerk_client)
    assert ticket_id == mine["id"]
    before = state_fingerprint(redis_client)
    for token in (other["token"], mine["token"][:-1] + ("A" if mine["token"][-1] != "A" else "B"), "x"):
        r = client.post("/api/v1/windows/1/rating", json={"ticket_id": mine["id"], "level": 1, "token": token})
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "wrong_token", token
    assert state_fingerprint(redis_client) == before
    r = client.post("/api/v1/windows/1/rating", json={"ticket_id": mine["id"], "level": 4, "token": mine["token"]})
    assert r.status_code == 201 and r.get_json()["level"] == 4
    [ev] = _rated_events(redis_client)
    assert ev["rating"]["channel"] == "phone" and ev["ticket"]["id"] == mine["id"] and "token" not in ev["ticket"]
    # once: neither the phone again nor the tablet
    r = client.post("/api/v1/windows/1/rating", json={"ticket_id": mine["id"], "level": 1, "token": mine["token"]})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_rated"
    r = client.post("/api/v1/windows/1/rating", headers=tablet(1), json={"ticket_id": mine["id"], "level": 1})
    assert r.status_code == 409
    # the other ticket's token rates only that ticket, and only once its visit has ended
    r = client.post("/api/v1/windows/1/rating", json={"ticket_id": other["id"], "level": 5, "token": other["token"]})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_finished"


@pytest.mark.parametrize("level,label,follow_up", [(5, "非常满意", False), (4, "满意", False), (3, "基本满意", False),
                                                    (2, "不满意", True), (1, "非常不满意", True)])
def test_rating_is_recorded_as_an_event(client, redis_client, finished, level, label, follow_up):
    _c, ticket_id = finished
    r = client.post("/api/v1/windows/1/rating", headers=tablet(1), json={"ticket_id": ticket_id, "level": level})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["label"] == label and r.get_json()["follow_up"] is follow_up
    [ev] = _rated_events(redis_client)
    assert ev["ticket"]["id"] == ticket_id and ev["window"] == 1 and ev["level"] == level and ev["label"] == label
    assert ev["follow_up"] is follow_up and ev["clerk"] == "clerk1" and "token" not in ev["ticket"]


def test_the_tablet_is_offered_the_open_ticket(client, finished, clock):
    _c, ticket_id = finished
    state = client.get("/api/v1/windows/1/rating", headers=tablet(1)).get_json()
    assert state["rating"]["ticket_id"] == ticket_id and state["rating"]["number"] == "A001"
    assert state["rating"]["seconds_left"] == 30 and [lv["level"] for lv in state["levels"]] == [5, 4, 3, 2, 1]
    assert client.get("/api/v1/windows/2/rating", headers=tablet(2)).get_json()["rating"] is None
    clock.advance(seconds=31)
    assert client.get("/api/v1/windows/1/rating", headers=tablet(1)).get_json()["rating"] is None


def test_only_once(client, redis_client, finished):
    _c, ticket_id = finished
    assert client.post("/api/v1/windows/1/rating", headers=tablet(1), json={"ticket_id": ticket_id, "level": 5}).status_code == 201
    before = state_fingerprint(redis_client)
    r = client.post("/api/v1/windows/1/rating", headers=tablet(1), json={"ticket_id": ticket_id, "level": 1})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_rated"
    assert state_fingerprint(redis_client) == before
    assert client.get("/api/v1/windows/1/rating", headers=tablet(1)).get_json()["rating"] is None
    assert len(_rated_events(redis_client)) == 1


def test_only_within_the_rating_time(client, redis_client, finished, clock):
    _c, ticket_id = finished
    clock.advance(seconds=31)  # [counter] rating_seconds = 30
    before = state_fingerprint(redis_client)
    r = client.post("/api/v1/windows/1/rating", headers=tablet(1), json={"ticket_id": ticket_id, "level": 4})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "rating_closed"
    assert state_fingerprint(redis_client) == before


def test_just_in_time(client, finished, clock):
    _c, ticket_id = finished
    clock.advance(seconds=29.9)
    assert client.post("/api/v1/windows/1/rating", headers=tablet(1), json={"ticket_id": ticket_id, "level": 4}).status_code == 201


def test_only_the_ticket_just_finished_at_that_window(client, clerk_client, redis_client, finished):
    c, first = finished
    c.post("/api/v1/windows/1/call-next")
    second = c.post("/api/v1/windows/1/finish", json={"outcome": "consulted"}).get_json()["ticket"]["id"]
    client.post("/api/v1/tickets", json={"service": "renshe"})
    before = state_fingerprint(redis_client)
    for window, ticket_id in ((1, first), (2, second), (1, "20261127-A003"), (1, "20261126-A002"),
                              (1, "not-a-ticket")):
        r = client.post(f"/api/v1/windows/{window}/rating", headers=tablet(window), json={"ticket_id": ticket_id, "level": 5})
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_last_finished", (window, ticket_id)
    assert state_fingerprint(redis_client) == before
    r = client.post("/api/v1/windows/1/rating", headers=tablet(1), json={"ticket_id": second, "level": 5})
    assert r.status_code == 201


def test_no_show_opens_no_rating(client, clerk_client):
    client.post("/api/v1/tickets", json={"service": "renshe"})
    c = clerk_client(1)
    t = c.post("/api/v1/windows/1/call-next").get_json()["ticket"]
    c.post("/api/v1/windows/1/no-show")
    r = client.post("/api/v1/windows/1/rating", headers=tablet(1), json={"ticket_id": t["id"], "level": 5})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_last_finished"


@pytest.mark.parametrize("body,status,code", [
    ({"level": 5}, 400, "missing_field"),
    ({"ticket_id": "X", "level": 0}, 400, "invalid_value"),
    ({"ticket_id": "X", "level": 6}, 400, "invalid_value"),
    ({"ticket_id": "X", "level": "5"}, 400, "wrong_type"),
    ({"ticket_id": "X", "level": True}, 400, "wrong_type"),
    ({"ticket_id": "X", "level": 4.5}, 400, "wrong_type"),
    ({"ticket_id": "X", "level": 5, "comment": "hi"}, 400, "unknown_field"),
])
def test_bad_rating_bodies(client, redis_client, finished, body, status, code):
    _c, ticket_id = finished
    body = {**body, "ticket_id": ticket_id} if "ticket_id" in body else body
    before = state_fingerprint(redis_client)
    r = client.post("/api/v1/windows/1/rating", headers=tablet(1), json=body)
    assert r.status_code == status and r.get_json()["error"]["code"] == code
    assert state_fingerprint(redis_client) == before


def test_unknown_window(client):
    assert client.post("/api/v1/windows/42/rating", json={"ticket_id": "x", "level": 5}).status_code == 404
    assert client.get("/api/v1/windows/42/rating").status_code == 404
    assert client.get("/rate/42").status_code == 404


def test_levels_are_the_five_labels():
    assert [(lv.value, lv.label) for lv in ratings.LEVELS] == [
        (5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意")]


# ----------------------------------------------------------------------- the reason typed after the rating time
def test_a_held_rating_outlives_the_rating_time_for_the_reason(client, redis_client, finished, clock):
    """A citizen who chose 不满意 at second 25 and types the reason for a minute is not turned away at second 30: the
    tablet held the rating ([counter] rating_detail_seconds, 120 by default), once, for that ticket only."""
    _c, ticket_id = finished
    clock.advance(seconds=25)
    r = client.post("/api/v1/windows/1/rating/hold", headers=tablet(1), json={"ticket_id": ticket_id})
    assert r.status_code == 200 and r.get_json() == {"ticket_id": ticket_id, "seconds_left": 120}
    clock.advance(seconds=60)  # 85 s after the finish: past rating_seconds, within the hold
    state = client.get("/api/v1/windows/1/rating", headers=tablet(1)).get_json()["rating"]
    assert state["ticket_id"] == ticket_id and state["seconds_left"] == 60
    again = client.post("/api/v1/windows/1/rating/hold", headers=tablet(1), json={"ticket_id": ticket_id})
    assert again.get_json()["seconds_left"] == 60  # a hold is given once and never extended
    r = client.post("/api/v1/windows/1/rating", headers=tablet(1),
                    json={"ticket_id": ticket_id, "level": 2, "text": "材料清单与窗口要求不一致"})
    assert r.status_code == 201 and r.get_json()["rating"]["text"] == "材料清单与窗口要求不一致"
    assert len(_rated_events(redis_client)) == 1


def test_a_hold_ends(client, redis_client, finished, clock):
    _c, ticket_id = finished
    client.post("/api/v1/windows/1/rating/hold", headers=tablet(1), json={"ticket_id": ticket_id})
    clock.advance(seconds=121)
    before = state_fingerprint(redis_client)
    r = client.post("/api/v1/windows/1/rating", headers=tablet(1), json={"ticket_id": ticket_id, "level": 2, "text": "慢"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "rating_closed"
    r = client.post("/api/v1/windows/1/rating/hold", headers=tablet(1), json={"ticket_id": ticket_id})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "rating_closed"
    assert state_fingerprint(redis_client) == before


def test_only_the_tablet_holds_only_an_open_rating(client, clerk_client, redis_client, finished, clock):
    c, ticket_id = finished
    before = state_fingerprint(redis_client)
    r = client.post("/api/v1/windows/1/rating/hold", json={"ticket_id": ticket_id})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "device_required"
    r = client.post("/api/v1/windows/1/rating/hold", headers=tablet(2), json={"ticket_id": ticket_id})
    assert r.status_code == 403
    r = client.post("/api/v1/windows/1/rating/hold", headers=tablet(1), json={"ticket_id": "20261127-A002"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_last_finished"
    r = client.post("/api/v1/windows/1/rating/hold", headers=tablet(1), json={"ticket": ticket_id})
    assert r.status_code == 400
    clock.advance(seconds=31)  # too late to start: a hold does not reopen a closed rating
    r = client.post("/api/v1/windows/1/rating/hold", headers=tablet(1), json={"ticket_id": ticket_id})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "rating_closed"
    assert state_fingerprint(redis_client) == before


def test_a_rated_ticket_is_not_held(client, redis_client, finished):
    _c, ticket_id = finished
    client.post("/api/v1/windows/1/rating", headers=tablet(1), json={"ticket_id": ticket_id, "level": 5})
    r = client.post("/api/v1/windows/1/rating/hold", headers=tablet(1), json={"ticket_id": ticket_id})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_rated"
