"""好差评 at the core: a visit is rated once (tablet or phone), a 追评 only as configured, the content of a rating is
the level's, a 差评's call-back number stays masked, the 事项 and 办件编号 chosen at finish travel with the rating."""

from __future__ import annotations

import json

import pytest
from haocaiping_support import events_of, serve, stored_ticket, with_haocaiping
from hall_support import refused

from shared import idempotency, ratings
from shared.engine import Engine
from shared.errors import ConflictError, NotFoundError, PermissionDeniedError, UnprocessableError, ValidationError


# ------------------------------------------------------------------------------------------------ finish: 事项, 办件编号
def test_finish_records_the_matter_default_first_and_the_case_number(engine):
    first = serve(engine, 1)
    assert first["done"]["matter"] == {"code": "340404-RS-001", "name": "失业保险金申领"}  # the service's first
    picked = serve(engine, 1, matter="340404-RS-002", case_no="SB2026112700042")
    assert picked["done"]["matter"]["name"] == "社会保障卡申领" and picked["done"]["case_no"] == "SB2026112700042"
    none = serve(engine, 4, "shichang")  # a service without matters: none recorded
    assert "matter" not in none["done"]
    [fin] = [e for e in events_of(engine.redis, "ticket_finished") if e["ticket"]["id"] == picked["id"]]
    assert fin["ticket"]["matter"]["code"] == "340404-RS-002" and fin["ticket"]["case_no"] == "SB2026112700042"


def test_finish_refuses_a_matter_of_another_service_and_a_bad_case_number(engine, redis_client):
    engine.issue("renshe")
    engine.call_next(1, "clerk1")
    refused(redis_client, UnprocessableError, "unknown_matter", engine.finish, 1, "handled", "clerk1",
            matter="340404-SC-001")
    refused(redis_client, ValidationError, "invalid_value", engine.finish, 1, "handled", "clerk1",
            case_no="办件 42")
    refused(redis_client, ValidationError, "invalid_value", engine.finish, 1, "handled", "clerk1", matter="x" * 65)
    assert engine.finish(1, "handled", "clerk1", matter="340404-RS-002")["matter"]["code"] == "340404-RS-002"


# ------------------------------------------------------------------------------------------------ one rating per visit
def test_tablet_rating_carries_content_matter_and_case(engine, redis_client):
    v = serve(engine, 1, matter="340404-RS-002", case_no="SB-42")
    r = ratings.rate(engine, 1, v["id"], 5, options=["101", "105"])
    assert (r["level"], r["label"], r["follow_up"], r["rectification"]) == (5, "非常满意", False, None)
    rating = r["rating"]
    assert rating["id"] == f"{v['id']}-1" and rating["assess"] == 1 and rating["channel"] == "tablet"
    assert (rating["matter_code"], rating["matter_name"], rating["case_no"]) == ("340404-RS-002", "社会保障卡申领", "SB-42")
    assert [o["label"] for o in rating["options"]] == ["服务态度好", "一次性告知"]
    assert (rating["clerk"], rating["window"], rating["outcome"], rating["default"]) == ("clerk1", 1, "handled", False)
    [ev] = events_of(redis_client, "ticket_rated")
    assert ev["rating"]["id"] == rating["id"] and ev["rating"]["options"] == ["101", "105"]
    assert ev["level"] == 5 and ev["window"] == 1 and ev["clerk"] == "clerk1" and "token" not in ev["ticket"]


def test_consultations_are_rated_too(engine):
    v = serve(engine, 1, outcome="consulted")
    assert ratings.rate(engine, 1, v["id"], 4)["rating"]["outcome"] == "consulted"


@pytest.mark.parametrize("level,options,text,code", [
    (5, ["201"], "", "invalid_option"),  # a problem option with a good level
    (2, ["101"], "", "invalid_option"),  # a praise option with a bad level
    (2, ["201", "201"], "", "invalid_option"),  # twice
    (2, ["nosuch"], "", "invalid_option"),
    (5, [], "很好", "text_not_allowed"),  # free text only for the low levels (text_levels = [2, 1])
])
def test_content_must_be_the_levels(engine, redis_client, level, options, text, code):
    v = serve(engine, 1)
    refused(redis_client, ValidationError, code, ratings.rate, engine, 1, v["id"], level, options=options, text=text)
    assert ratings.rate(engine, 1, v["id"], level)["level"] == level  # the same visit, rated properly


def test_text_is_bounded_and_levels_are_checked(engine, redis_client):
    v = serve(engine, 1)
    refused(redis_client, ValidationError, "invalid_value", ratings.rate, engine, 1, v["id"], 1, text="字" * 201)
    for bad in (0, 6, True, "5", 4.0):
        refused(redis_client, ValidationError, "invalid_value", ratings.rate, engine, 1, v["id"], bad)
    refused(redis_client, ValidationError, "wrong_type", ratings.rate, engine, 1, v["id"], 2, options="201")


def test_one_rating_per_visit_whatever_the_channel(engine, redis_client):
    v = serve(engine, 1)
    ratings.rate(engine, 1, v["id"], 4)
    refused(redis_client, ConflictError, "already_rated", ratings.rate, engine, 1, v["id"], 1)
    refused(redis_client, ConflictError, "already_rated", ratings.rate_by_token, engine, v["token"], 1)
    w = serve(engine, 1)
    ratings.rate_by_token(engine, w["token"], 5)  # the phone first …
    refused(redis_client, ConflictError, "already_rated", ratings.rate, engine, 1, w["id"], 5)  # … then the tablet
    assert len(events_of(redis_client, "ticket_rated")) == 2


def test_a_resent_rating_is_one_rating(engine, redis_client):
    v = serve(engine, 1)
    for _copy in range(2):  # the same request twice (a tablet retrying with its Idempotency-Key)
        with idempotency.using(idempotency.keyed("test", "rate once")):
            assert ratings.rate(engine, 1, v["id"], 2, options=["207"])["level"] == 2
    assert len(events_of(redis_client, "ticket_rated")) == 1
    assert len(events_of(redis_client, "rectification_opened")) == 1


# ------------------------------------------------------------------------------------------------ the phone
def test_phone_rating_needs_the_visits_own_token(engine, redis_client):
    mine, other = serve(engine, 1), serve(engine, 1)
    refused(redis_client, NotFoundError, "not_found", ratings.rate_by_token, engine, "20261127" + "x" * 22, 5)
    refused(redis_client, NotFoundError, "not_found", ratings.rate_by_token, engine, "not a token", 5)
    refused(redis_client, NotFoundError, "not_found", ratings.rate_by_token, engine, other["token"][:-1] + "_", 5)
    # another ticket's token for this ticket (the edge passes the ticket it shows and the token it holds)
    refused(redis_client, PermissionDeniedError, "wrong_token", ratings.rate, engine, 1, mine["id"], 5,
            tracking_token=other["token"])
    r = ratings.rate_by_token(engine, mine["token"], 3, options=["102"])
    assert r["rating"]["channel"] == "phone" and r["ticket"]["id"] == mine["id"]
    assert stored_ticket(engine, other["id"]).get("rating") is None


def test_phone_rates_only_a_served_visit_and_only_until_the_default(engine, redis_client, clock):
    waiting = engine.issue("renshe").ticket
    refused(redis_client, ConflictError, "not_finished", ratings.rate_by_token, engine, waiting["token"], 5)
    engine.call_next(1, "clerk1")
    engine.no_show(1, "clerk1")
    refused(redis_client, ConflictError, "not_finished", ratings.rate_by_token, engine, waiting["token"], 5)
    v = serve(engine, 1)
    clock.advance(days=7, seconds=1)  # [haocaiping] default_days = 7
    refused(redis_client, ConflictError, "rating_closed", ratings.rate_by_token, engine, v["token"], 5)
    assert ratings.visit_rating_state(engine, v["token"])["state"] == "closed"


def test_phone_page_state(engine, clock):
    v = serve(engine, 1)
    s = ratings.visit_rating_state(engine, v["token"])
    assert (s["state"], s["can_rate"], s["can_follow_up"]) == ("open", True, False)
    ratings.rate(engine, 1, v["id"], 4)
    s = ratings.visit_rating_state(engine, v["token"])
    assert (s["state"], s["rating"], s["can_follow_up"]) == ("rated", 4, True)
    ratings.rate_by_token(engine, v["token"], 5, followup=True)
    s = ratings.visit_rating_state(engine, v["token"])
    assert (s["followup"], s["can_follow_up"]) == (5, False)
    with pytest.raises(NotFoundError):
        ratings.visit_rating_state(engine, "20261127" + "y" * 22)


# ------------------------------------------------------------------------------------------------ 追评
def test_followup_rules(engine, redis_client, clock):
    v = serve(engine, 1)
    refused(redis_client, ConflictError, "not_rated", ratings.rate_by_token, engine, v["token"], 2, followup=True)
    ratings.rate(engine, 1, v["id"], 5)
    clock.advance(days=14, hours=23)  # within followup_days = 15 of the first rating
    r = ratings.rate_by_token(engine, v["token"], 2, options=["206"], text="材料清单与窗口说法不一",
                              contact_phone="138 1234 5678", followup=True)
    assert r["rating"]["id"] == f"{v['id']}-2" and r["rating"]["assess"] == 2 and r["follow_up"] is True
    assert r["rectification"]["id"].startswith("ZG")
    refused(redis_client, ConflictError, "already_rated", ratings.rate_by_token, engine, v["token"], 1, followup=True)
    t = stored_ticket(engine, v["id"])
    assert (t["rating"], t["followup"]) == (5, 2)  # the first rating stays; the 追评 is its own

    late = serve(engine, 1)
    ratings.rate_by_token(engine, late["token"], 4)
    clock.advance(days=15, seconds=1)
    refused(redis_client, ConflictError, "followup_closed", ratings.rate_by_token, engine, late["token"], 3,
            followup=True)
    refused(redis_client, ValidationError, "wrong_type", ratings.rate_by_token, engine, late["token"], 3, followup=1)


def test_no_followup_when_the_hall_takes_none(redis_client, hall_config, clock):
    engine = Engine(redis_client, with_haocaiping(hall_config, followup_days=0), clock)
    v = serve(engine, 1)
    ratings.rate(engine, 1, v["id"], 5)
    refused(redis_client, ConflictError, "followup_closed", ratings.rate_by_token, engine, v["token"], 5,
            followup=True)


def test_no_followup_on_a_default_rating(engine, redis_client, clock):
    v = serve(engine, 1)
    clock.advance(days=7)
    assert ratings.apply_default_ratings(engine).rated == [v["id"]]
    refused(redis_client, ConflictError, "not_rated", ratings.rate_by_token, engine, v["token"], 1, followup=True)
    refused(redis_client, ConflictError, "already_rated", ratings.rate_by_token, engine, v["token"], 1)


# ------------------------------------------------------------------------------------------------ 差评 and privacy
def test_a_bad_rating_opens_a_rectification_and_keeps_the_number_private(engine, redis_client):
    from shared import rectification

    v = serve(engine, 1)
    r = ratings.rate(engine, 1, v["id"], 1, options=["201", "207"], text="等了一个多小时", contact_name="李先生",
                     contact_phone="+86 139-0000-1234".replace("-", ""))
    rid = r["rectification"]["id"]
    assert r["follow_up"] is True and r["rectification"]["deadlines"] == {
        "verify": "2026-11-30", "rectify": "2026-12-04", "reply": "2026-12-18"}  # Fri → Mon, Fri, Fri (1、5、15)
    seen = rectification.get_record(engine, rid)
    assert seen["contact"] == {"name": "李**", "phone": "139****1234"} and seen["has_contact"]
    assert rectification.get_record(engine, rid, reveal=True)["contact"] == {"name": "李先生", "phone": "13900001234"}
    assert seen["kind"] == "rating" and seen["ref"] == f"{v['id']}-1" and seen["level"] == 1
    assert seen["text"] == "等了一个多小时" and [o["code"] for o in seen["options"]] == ["201", "207"]
    [opened] = events_of(redis_client, "rectification_opened")
    assert opened["rectification"]["contact"] == {"name": "李**", "phone": "139****1234"}
    stream = json.dumps([f for _i, f in redis_client.xrange("ow:{testhall}:events")], ensure_ascii=False)
    assert "13900001234" not in stream and "李先生" not in stream  # nothing in clear on the audit log
    assert "13900001234" not in json.dumps(r, ensure_ascii=False)
    assert "13900001234" not in redis_client.hget(engine.keys.tickets("20261127"), v["id"])


@pytest.mark.parametrize("phone", ["12345", "1381234567", "23812345678", "138-1234-567x", "0554"])
def test_bad_phone_numbers_are_refused(engine, redis_client, phone):
    v = serve(engine, 1)
    refused(redis_client, ValidationError, "invalid_value", ratings.rate, engine, 1, v["id"], 2, contact_phone=phone)


def test_a_contact_only_with_a_bad_rating(engine, redis_client):
    v = serve(engine, 1)
    refused(redis_client, ValidationError, "contact_not_allowed", ratings.rate, engine, 1, v["id"], 3,
            contact_phone="13812345678")


@pytest.mark.parametrize("phone,masked", [("13812345678", "138****5678"), ("0554-6661234", "0554-***1234"),
                                          ("010-87654321", "010-****4321"), ("", "")])
def test_masking(phone, masked):
    from shared.privacy import mask_name, mask_phone, normalize_phone

    assert mask_phone(normalize_phone(phone)) == masked
    assert normalize_phone("0086 138 1234 5678") == "13812345678" and normalize_phone("(0554)6661234") == "0554-6661234"
    assert (mask_name("王芳"), mask_name("欧阳娜娜"), mask_name("")) == ("王*", "欧***", "")


def test_rating_form_lists_each_levels_content():
    from hall_support import HALL_TOML
    from shared.config import load_config

    form = {f["level"]: f for f in ratings.rating_form(load_config(HALL_TOML))}
    assert [o["label"] for o in form[5]["options"]][:3] == ["服务态度好", "办事效率高", "业务水平高"]
    assert "未一次性告知" in [o["label"] for o in form[1]["options"]]
    assert (form[5]["text"], form[2]["text"], form[1]["text_max"]) == (False, True, 200)
    assert (form[3]["contact"], form[2]["contact"], form[2]["bad"]) == (False, True, True)
