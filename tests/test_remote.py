"""Remote tickets: taken on the phone, waiting "not yet arrived", activated at the kiosk; one whose holder has not
checked in when its turn comes is skipped by call-next — never called — and expires."""

from __future__ import annotations

import pytest
from reception_support import ADULT, OTHER, SENIOR, events_of, person, with_remote, with_rules

from shared import remote
from shared.checkin import check_in
from shared.engine import Engine
from shared.errors import ConflictError, RuleRefusedError


@pytest.fixture
def hall(redis_client, hall_config, clock):
    return Engine(redis_client, with_remote(with_remote(hall_config), "shichang"), clock)


def test_a_remote_ticket_not_activated_in_time_is_skipped_and_never_called(hall, redis_client):
    far = remote.take(hall, "renshe", person(hall.config, ADULT), phone="13812345678").ticket
    assert (far["remote"], far["arrived"], far["status"], far["ahead"], far["number"]) == (True, False, "waiting", 0, "A001")
    walk_in = hall.issue("renshe").ticket
    with pytest.raises(ConflictError) as err:  # calling it by number waits for its holder too
        hall.call_number(1, "A001")
    assert err.value.code == "not_arrived"
    called = hall.call_next(1)
    assert called["id"] == walk_in["id"]  # A001's turn came first: skipped
    assert hall.get_ticket(far["id"])["status"] == "expired"
    [expired] = events_of(redis_client, "ticket_expired")
    assert (expired["ticket"]["id"], expired["reason"]) == (far["id"], "not_arrived")
    # never called: not now, not later, not by number, and checking in is too late
    hall.finish(1, "handled")
    with pytest.raises(ConflictError) as err:
        hall.call_next(1)
    assert err.value.code == "queue_empty"
    with pytest.raises(ConflictError):
        hall.call_number(1, "A001")
    with pytest.raises(RuleRefusedError) as err:
        check_in(hall, identity=person(hall.config, ADULT))
    assert err.value.code == "remote_expired" and "远程取号已失效" in err.value.details["message_zh"]
    assert far["id"] not in {e["ticket"]["id"] for e in events_of(redis_client, "ticket_called")}


def test_a_remote_ticket_activated_before_its_turn_keeps_its_place(hall, redis_client):
    mine = remote.take(hall, "renshe", person(hall.config, ADULT)).ticket
    others = [hall.issue("renshe").ticket for _ in range(2)]
    result = check_in(hall, code=f"http://127.0.0.1:8000/t/{mine['token']}", kiosk="lobby-1")
    assert result["items"][0]["outcome"] == "activated" and result["tickets"][0]["arrived"] is True
    assert events_of(redis_client, "ticket_activated")[0]["ticket"]["id"] == mine["id"]
    assert [hall.call_next(n)["id"] for n in (1, 2, 5)] == [mine["id"], *(t["id"] for t in others)]
    assert check_in(hall, code=mine["token"])["items"][0]["outcome"] == "already"


def test_skipping_happens_only_when_the_ticket_would_be_called(hall):
    """A lapsed remote ticket of a service the window does not call now is left alone."""
    waiting = remote.take(hall, "shichang", person(hall.config, ADULT)).ticket
    hall.issue("renshe")
    hall.call_next(1)  # window 1 serves renshe only
    assert hall.get_ticket(waiting["id"])["status"] == "waiting"
    check_in(hall, identity=person(hall.config, ADULT))
    assert hall.call_next(4)["id"] == waiting["id"]


def test_remote_quota_and_per_id_rules(redis_client, hall_config, clock):
    config = with_rules(with_remote(hall_config, daily_quota=2), max_open=1, noshow_limit=1, ban_days=3)
    engine = Engine(redis_client, config, clock)
    remote.take(engine, "renshe", person(config, ADULT))
    with pytest.raises(RuleRefusedError) as err:
        remote.take(engine, "renshe", person(config, ADULT))
    assert err.value.code == "id_open_limit"
    remote.take(engine, "renshe", person(config, OTHER))
    with pytest.raises(RuleRefusedError) as err:
        remote.take(engine, "renshe", person(config, SENIOR))
    assert err.value.code == "remote_quota_reached" and "远程取号名额已满" in err.value.details["message_zh"]
    engine.issue("renshe", identity=person(config, SENIOR))  # the hall still issues
    engine.call_next(1)  # both remote tickets lapse: a no-show each
    clock.advance(days=1)
    with pytest.raises(RuleRefusedError) as err:
        remote.take(engine, "renshe", person(config, ADULT))
    assert err.value.code == "id_banned"
    with pytest.raises(RuleRefusedError) as err:
        remote.take(Engine(redis_client, hall_config, clock), "renshe", person(config, ADULT))
    assert err.value.code == "remote_disabled"


def test_cancelling_a_remote_ticket(hall):
    t = remote.take(hall, "renshe", person(hall.config, ADULT)).ticket
    assert hall.cancel(t["id"])["status"] == "cancelled"
    with pytest.raises(ConflictError):
        hall.call_next(1)


def test_a_cancelled_remote_ticket_cannot_be_checked_in(hall):
    t = remote.take(hall, "renshe", person(hall.config, ADULT)).ticket
    hall.cancel(t["id"])
    with pytest.raises(RuleRefusedError) as err:
        check_in(hall, code=t["token"])
    assert err.value.code == "ticket_closed" and err.value.details["message_zh"]
    with pytest.raises(Exception) as err:  # by card: nothing of today to check in
        check_in(hall, identity=person(hall.config, ADULT))
    assert err.value.code == "nothing_booked"
