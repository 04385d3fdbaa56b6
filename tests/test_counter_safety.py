"""Clerk safety at the counter (issue 12) and the finish / rating / appeal edges of 好差评 (issue 13), through the
HTTP API: 过号 needs its calls and can be undone by its window for a short time (the ticket returns to its place),
a transfer needs a reason and never goes to the ticket's own service, finish takes the 事项 and 办件编号, the tablet
takes content options, text and a call-back phone (masked on the event stream), a case records a contact, and a
clerk appeals their own 差评. Every bad input is a 4xx with a code and changes nothing; a retried action (the same
Idempotency-Key) has one effect."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from hall_support import KIOSK_TOKEN, TABLET_TOKENS, tablet
from shared.engine import Engine

DAY = "20261127"


def issue(client, service="renshe", priority=False):
    headers = {"Authorization": f"Bearer {KIOSK_TOKEN}"} if priority else {}
    r = client.post("/api/v1/tickets", json={"service": service, "priority": priority}, headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["ticket"]


def events_of(redis_client, kind):
    out = []
    for _id, fields in redis_client.xrange("ow:{testhall}:events"):
        if fields["type"] == kind:
            out.append(json.loads(fields["data"]))
    return out


def queue(redis_client, service="renshe"):
    return redis_client.zrange(f"ow:{{testhall}}:q:{DAY}:{service}", 0, -1)


def ticket_raw(redis_client, ticket_id):
    return json.loads(redis_client.hget(f"ow:{{testhall}}:tickets:{DAY}", ticket_id))


def error(r, status, code):
    assert r.status_code == status, (r.status_code, r.get_json())
    assert r.get_json()["error"]["code"] == code, r.get_json()


# ------------------------------------------------------------------------------------------------ 过号 and its undo
def test_undone_no_show_returns_to_its_place_in_its_band_once(client, clerk_client, redis_client, clock):
    first, second, third = issue(client), issue(client), issue(client)
    prio = issue(client, priority=True)
    c1 = clerk_client(1)
    called = c1.post("/api/v1/windows/1/call-next").get_json()["ticket"]
    assert called["id"] == prio["id"]  # the priority band first
    c1.post("/api/v1/windows/1/finish", json={"outcome": "handled"})
    called = c1.post("/api/v1/windows/1/call-next").get_json()["ticket"]
    assert called["id"] == first["id"]
    r = c1.post("/api/v1/windows/1/no-show")
    assert r.status_code == 200 and r.get_json()["ticket"]["status"] == "no_show"
    assert r.get_json()["ticket"]["no_show"]["window"] == 1
    issue(client, priority=True)  # a priority ticket arrives meanwhile
    assert first["id"] not in queue(redis_client)
    before = len(redis_client.xrange("ow:{testhall}:events"))

    clock.set(clock.now() + timedelta(seconds=40))
    key = {"Idempotency-Key": "click-undo-0001"}
    r = c1.post("/api/v1/windows/1/undo-no-show", json={"ticket_id": first["id"]}, headers=key)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["ticket"]["status"] == "waiting" and r.get_json()["ticket"]["ahead"] == 1
    again = c1.post("/api/v1/windows/1/undo-no-show", json={"ticket_id": first["id"]}, headers=key)
    assert again.status_code == 200 and again.get_json() == r.get_json()  # the retry: answered from the first run
    # back in its place: behind the priority ticket (its band), before the normal tickets issued after it
    order = queue(redis_client)
    assert order[1:] == [first["id"], second["id"], third["id"]]
    assert len(events_of(redis_client, "no_show_undone")) == 1
    assert len(redis_client.xrange("ow:{testhall}:events")) == before + 1
    undone = events_of(redis_client, "no_show_undone")[0]
    assert undone["window"] == 1 and undone["ticket"]["id"] == first["id"] and undone["ticket"]["status"] == "waiting"
    # undone once: a second (new) undo is refused and changes nothing
    error(c1.post("/api/v1/windows/1/undo-no-show", json={"ticket_id": first["id"]}), 409, "not_no_show")
    # statistics: the no-show no longer counts for the window
    counts = c1.get("/api/v1/windows/1/today").get_json()["counts"]
    assert counts["no_show"] == 0
    # and it is called again in its order (after the priority ticket)
    c1.post("/api/v1/windows/1/call-next")
    c1.post("/api/v1/windows/1/finish", json={"outcome": "handled"})
    assert c1.post("/api/v1/windows/1/call-next").get_json()["ticket"]["id"] == first["id"]


def test_undo_refused_after_the_time_by_another_window_and_for_bad_input(client, clerk_client, redis_client, clock):
    t1, t2 = issue(client), issue(client)
    c1, c2 = clerk_client(1), clerk_client(2)
    c1.post("/api/v1/windows/1/call-next")
    c1.post("/api/v1/windows/1/no-show")
    c2.post("/api/v1/windows/2/call-next")  # t2 at window 2, still called
    snapshot = (redis_client.hgetall(f"ow:{{testhall}}:tickets:{DAY}"), queue(redis_client),
                redis_client.xlen("ow:{testhall}:events"))

    error(c2.post("/api/v1/windows/2/undo-no-show", json={"ticket_id": t1["id"]}), 403, "wrong_window")
    error(c2.post("/api/v1/windows/2/undo-no-show", json={"ticket_id": t2["id"]}), 409, "not_no_show")
    error(c1.post("/api/v1/windows/1/undo-no-show", json={}), 400, "missing_field")
    error(c1.post("/api/v1/windows/1/undo-no-show", json={"ticket_id": 7}), 400, "wrong_type")
    error(c1.post("/api/v1/windows/1/undo-no-show", json={"ticket_id": "nonsense"}), 404, "not_found")
    error(c1.post("/api/v1/windows/1/undo-no-show", json={"ticket_id": f"{DAY}-A999"}), 404, "not_found")
    error(c1.post("/api/v1/windows/1/undo-no-show", json={"ticket_id": "20261126-A001"}), 409, "undo_expired")
    error(c1.post("/api/v1/windows/1/undo-no-show", json={"ticket_id": t1["id"], "x": 1}), 400, "unknown_field")
    error(c2.post("/api/v1/windows/1/undo-no-show", json={"ticket_id": t1["id"]}), 403, "wrong_window")
    clock.set(clock.now() + timedelta(seconds=61))
    error(c1.post("/api/v1/windows/1/undo-no-show", json={"ticket_id": t1["id"]}), 409, "undo_expired")
    assert (redis_client.hgetall(f"ow:{{testhall}}:tickets:{DAY}"), queue(redis_client),
            redis_client.xlen("ow:{testhall}:events")) == snapshot
    assert ticket_raw(redis_client, t1["id"])["status"] == "no_show"


def test_no_show_needs_the_configured_calls(redis_client, hall_config, clock):
    config = replace(hall_config, counter=replace(hall_config.counter, min_calls_before_no_show=2))
    engine = Engine(redis_client, config, clock)
    t = engine.issue("renshe").ticket
    engine.call_next(1, "clerk1")
    from shared.errors import ConflictError
    with pytest.raises(ConflictError) as refused:
        engine.no_show(1, "clerk1")
    assert refused.value.code == "too_few_calls"
    assert ticket_raw(redis_client, t["id"])["status"] == "called"
    assert not events_of(redis_client, "ticket_marked_no_show")
    engine.recall(1, "clerk1")
    assert engine.no_show(1, "clerk1")["status"] == "no_show"


def test_a_transferred_in_ticket_goes_back_to_the_window_queue_it_came_from(client, clerk_client, redis_client):
    t = issue(client)
    c1, c2 = clerk_client(1), clerk_client(2)
    c1.post("/api/v1/windows/1/call-next")
    r = c1.post("/api/v1/windows/1/transfer", json={"window": 2, "reason": "cannot_handle"})
    assert r.status_code == 200, r.get_json()
    c2.post("/api/v1/windows/2/call-next")
    c2.post("/api/v1/windows/2/no-show")
    r = c2.post("/api/v1/windows/2/undo-no-show", json={"ticket_id": t["id"]})
    assert r.status_code == 200, r.get_json()
    assert redis_client.zrange(f"ow:{{testhall}}:wq:{DAY}:2", 0, -1) == [t["id"]]
    assert r.get_json()["ticket"]["windows"] == [2]


# ------------------------------------------------------------------------------------------------ transfer
def test_transfer_needs_a_reason_never_its_own_service_and_carries_the_reason(client, clerk_client, redis_client):
    t = issue(client)
    c1 = clerk_client(1)
    c1.post("/api/v1/windows/1/call-next")
    before = (ticket_raw(redis_client, t["id"]), redis_client.xlen("ow:{testhall}:events"))
    error(c1.post("/api/v1/windows/1/transfer", json={"service": "shichang"}), 400, "missing_field")
    error(c1.post("/api/v1/windows/1/transfer", json={"service": "shichang", "reason_text": "   "}), 400,
          "missing_field")
    error(c1.post("/api/v1/windows/1/transfer", json={"service": "shichang", "reason": "bogus"}), 400,
          "invalid_value")
    error(c1.post("/api/v1/windows/1/transfer", json={"service": "shichang", "reason": "other",
                                                      "reason_text": "x" * 201}), 400, "invalid_value")
    error(c1.post("/api/v1/windows/1/transfer", json={"service": "renshe", "reason": "other"}), 422, "same_service")
    assert (ticket_raw(redis_client, t["id"]), redis_client.xlen("ow:{testhall}:events")) == before
    key = {"Idempotency-Key": "click-transfer-1"}
    body = {"service": "bubancheng", "reason": "complaint", "reason_text": "材料被退回三次"}
    r = c1.post("/api/v1/windows/1/transfer", json=body, headers=key)
    assert r.status_code == 200, r.get_json()
    assert c1.post("/api/v1/windows/1/transfer", json=body, headers=key).get_json() == r.get_json()
    moved = events_of(redis_client, "ticket_transferred")
    assert len(moved) == 1
    assert moved[0]["reason"] == {"code": "complaint", "label": "反映办不成事", "label_en": "Can't-get-it-done complaint",
                                  "text": "材料被退回三次"}
    from shared.stats.facts import DayFacts  # noqa: F401  (the fold keeps it: statistics see the reason)
    stats = client.application.extensions["onewindow"].stats
    stats.live.refresh()
    facts = stats.live.days({"2026-11-27"})["2026-11-27"]
    assert [(tr.reason, tr.reason_text) for tr in facts.transfers] == [("complaint", "材料被退回三次")]


# ------------------------------------------------------------------------------------------------ finish
def test_finish_takes_the_matter_and_case_number(client, clerk_client, redis_client):
    issue(client), issue(client)
    c1 = clerk_client(1)
    c1.post("/api/v1/windows/1/call-next")
    before = redis_client.xlen("ow:{testhall}:events")
    error(c1.post("/api/v1/windows/1/finish", json={"outcome": "handled", "matter": "nope"}), 422, "unknown_matter")
    error(c1.post("/api/v1/windows/1/finish", json={"outcome": "handled", "case_no": "有空格 x"}), 400, "invalid_value")
    error(c1.post("/api/v1/windows/1/finish", json={"outcome": "handled", "matter": 3}), 400, "wrong_type")
    assert redis_client.xlen("ow:{testhall}:events") == before
    r = c1.post("/api/v1/windows/1/finish", json={"outcome": "handled", "matter": "340404-RS-002",
                                                   "case_no": " SB-2026-0001 "})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["ticket"]["matter"] == {"code": "340404-RS-002", "name": "社会保障卡申领"}
    assert r.get_json()["ticket"]["case_no"] == "SB-2026-0001"
    c1.post("/api/v1/windows/1/call-next")
    r = c1.post("/api/v1/windows/1/finish", json={"outcome": "consulted"})
    assert r.get_json()["ticket"]["matter"]["code"] == "340404-RS-001"  # the service's first by default


# ------------------------------------------------------------------------------------------------ rating and case
def test_tablet_rating_with_reason_and_call_back_phone_masked_on_the_stream(client, clerk_client, redis_client, app):
    t = issue(client)
    c1 = clerk_client(1)
    c1.post("/api/v1/windows/1/call-next")
    c1.post("/api/v1/windows/1/finish", json={"outcome": "handled"})
    form = client.get("/api/v1/windows/1/rating", headers=tablet(1)).get_json()["form"]
    bad = next(f for f in form if f["level"] == 2)
    assert bad["options"] and bad["contact"] and bad["text"]
    code = bad["options"][0]["code"]
    good_code = next(f for f in form if f["level"] == 5)["options"][0]["code"]
    before = redis_client.xlen("ow:{testhall}:events")
    body = {"ticket_id": t["id"], "level": 2}
    error(client.post("/api/v1/windows/1/rating", json={**body, "options": [good_code]}, headers=tablet(1)), 400,
          "invalid_option")
    error(client.post("/api/v1/windows/1/rating", json={**body, "options": "x"}, headers=tablet(1)), 400, "wrong_type")
    error(client.post("/api/v1/windows/1/rating", json={**body, "contact_phone": "12345"}, headers=tablet(1)), 400,
          "invalid_value")
    error(client.post("/api/v1/windows/1/rating", json={"ticket_id": t["id"], "level": 5, "contact_phone": "13812345678"},
                      headers=tablet(1)), 400, "contact_not_allowed")
    assert redis_client.xlen("ow:{testhall}:events") == before
    r = client.post("/api/v1/windows/1/rating", json={**body, "options": [code], "text": "等了很久没人理",
                                                      "contact_phone": "138 1234 5678"}, headers=tablet(1))
    assert r.status_code == 201, r.get_json()
    raw = json.dumps(redis_client.xrange("ow:{testhall}:events"), ensure_ascii=False)
    assert "13812345678" not in raw and "138****5678" in raw
    rec = r.get_json()["rectification"]["id"]
    stored = json.loads(redis_client.hget("ow:{testhall}:rect", rec) or "{}") or next(
        json.loads(v) for v in redis_client.hgetall(Engine(redis_client, app.config["CONFIG"]).keys.rectifications)
        .values() if json.loads(v)["id"] == rec)
    assert stored["contact"]["phone"] == "13812345678"  # kept in clear for the supervisor's call-back only
    rating = events_of(redis_client, "ticket_rated")[0]
    assert rating["rating"]["options"] == [code] and rating["rating"]["text"] == "等了很久没人理"
    assert rec


def test_case_records_a_contact_masked_for_the_clerk(client, clerk_client, redis_client):
    issue(client, service="bubancheng")
    c7 = clerk_client(7)
    c7.post("/api/v1/windows/7/call-next")
    body = {"department": "市场监管", "problem": "营业执照变更被退回", "resolved": False}
    error(c7.post("/api/v1/windows/7/case", json={**body, "contact_phone": "abc"}), 400, "invalid_value")
    assert not events_of(redis_client, "case_recorded")
    r = c7.post("/api/v1/windows/7/case", json={**body, "contact_name": "王小明", "contact_phone": "13912345678"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["case"]["contact"] == {"name": "王**", "phone": "139****5678"} or \
        "13912345678" not in json.dumps(r.get_json(), ensure_ascii=False)
    raw = json.dumps(redis_client.xrange("ow:{testhall}:events"), ensure_ascii=False)
    assert "13912345678" not in raw and "139****5678" in raw


# ------------------------------------------------------------------------------------------------ appeal
def test_clerk_sees_and_appeals_their_own_bad_rating_once(client, clerk_client, redis_client):
    t = issue(client)
    c1 = clerk_client(1)
    c1.post("/api/v1/windows/1/call-next")
    c1.post("/api/v1/windows/1/finish", json={"outcome": "handled"})
    r = client.post("/api/v1/windows/1/rating", json={"ticket_id": t["id"], "level": 1}, headers=tablet(1))
    assert r.status_code == 201, r.get_json()
    records = c1.get("/api/v1/windows/1/bad-ratings").get_json()["records"]
    assert [x["ticket"]["id"] for x in records] == [t["id"]]
    rid = records[0]["id"]
    assert clerk_client(2).get("/api/v1/windows/2/bad-ratings").get_json()["records"] == []
    error(c1.post("/api/v1/windows/1/appeals", json={"record": rid, "grounds": "angry", "reason": "x"}), 400,
          "invalid_value")
    error(c1.post("/api/v1/windows/1/appeals", json={"record": rid, "grounds": "malicious"}), 400, "missing_field")
    error(clerk_client(2).post("/api/v1/windows/2/appeals", json={"record": rid, "grounds": "malicious",
                                                                   "reason": "不是我"}), 403, "not_your_rating")
    assert not events_of(redis_client, "appeal_filed")
    key = {"Idempotency-Key": "click-appeal-1"}
    body = {"record": rid, "grounds": "malicious", "reason": "该群众未办理业务即给差评"}
    r = c1.post("/api/v1/windows/1/appeals", json=body, headers=key)
    assert r.status_code == 201, r.get_json()
    assert c1.post("/api/v1/windows/1/appeals", json=body, headers=key).get_json() == r.get_json()
    assert len(events_of(redis_client, "appeal_filed")) == 1
    error(c1.post("/api/v1/windows/1/appeals", json=body), 409, "already_appealed")


def test_assisted_flag_travels_with_the_ticket(client, clerk_client, redis_client):
    t = issue(client)
    raw = ticket_raw(redis_client, t["id"])
    raw["assisted"] = {"by": "guide1"}  # as the guide's operation sets it
    redis_client.hset(f"ow:{{testhall}}:tickets:{DAY}", t["id"], json.dumps(raw))
    c1 = clerk_client(1)
    assert c1.post("/api/v1/windows/1/call-next").get_json()["ticket"]["assisted"] is True
    assert c1.get("/api/v1/windows/1/overview").get_json()["window"]["current"]["assisted"] is True
    _ = TABLET_TOKENS
