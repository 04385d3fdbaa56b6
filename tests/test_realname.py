"""Real-name tickets: the 身份证号 checked by GB 11643, kept only as a keyed hash, and the per-ID rules decided in the
issuing script — one open ticket per person and service, a daily cap, 绿色通道 by age — with refusals in Chinese and
English."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from datetime import date

import pytest
from reception_support import ADULT, NEARLY, OTHER, SENIOR, events_of, person, with_rules

from shared import identity
from shared.cardreader import identify_card
from shared.cardreader_sim import make_number
from shared.engine import Engine
from shared.errors import RuleRefusedError, ValidationError
from shared.identity import check_char, check_number, identify, mask

TODAY = date(2026, 11, 27)


# ------------------------------------------------------------------------------------------------ GB 11643
def test_check_character_of_the_standards_examples():
    assert check_char("11010519491231002") == "X"  # GB 11643-1999's own example: 11010519491231002X
    assert check_char("44052418800101001") == "4"
    assert check_number("11010519491231002x", today=TODAY) == ("11010519491231002X", date(1949, 12, 31))
    assert check_number(" 1101 0519 4912 3100 2X ", today=TODAY)[0] == "11010519491231002X"
    assert check_number("１１０１０５１９４９１２３１００２Ｘ", today=TODAY)[0] == "11010519491231002X"  # full-width


@pytest.mark.parametrize("text, code", [
    ("11010519491231002", "id_format"),  # 17 characters
    ("11010519491231002XX", "id_format"),
    ("1101051949123100X2", "id_format"),  # X only last
    ("01010519491231002X", "id_format"),
    ("110105194912310021", "id_check_digit"),  # one digit off
    ("110105194912310029", "id_check_digit"),
    (make_number(born=date(2030, 1, 1)), "id_birth_date"),  # born in the future
    ("11010519490230" + "002", "id_birth_date"),  # 30 February (check character computed below)
    (make_number(born=date(1899, 12, 31)), "id_birth_date"),
])
def test_invalid_numbers_are_refused_without_echoing_them(text, code):
    if len(text) == 17:
        text = text if code == "id_format" else text + check_char(text)
    with pytest.raises(ValidationError) as err:
        check_number(text, today=TODAY)
    assert err.value.code == code
    assert text not in str(err.value.to_dict()) and text[:17] not in err.value.message


def test_every_single_digit_error_is_caught():
    number = make_number(born=date(1975, 4, 9), seq=318)
    for i in range(17):
        for d in "0123456789":
            if d == number[i]:
                continue
            wrong = number[:i] + d + number[i + 1:]
            with pytest.raises(ValidationError):
                check_number(wrong, today=TODAY)


# ------------------------------------------------------------------------------------------------ hash, mask, key
def test_keyed_hash_mask_and_birth_year_only(hall_config, tmp_path):
    a = identify(hall_config, ADULT, today=TODAY, name="李明")
    assert a.hash == identify(hall_config, " ".join([ADULT[:6], ADULT[6:14], ADULT[14:]]), today=TODAY).hash
    assert a.hash != identify(hall_config, OTHER, today=TODAY).hash
    assert len(a.hash) == 32 and ADULT not in a.hash and ADULT[:17] not in a.hash
    assert (a.birth_year, a.masked, a.name_masked) == (1988, "3404**********" + ADULT[-4:], "李*")
    assert mask("11010519491231002X") == "1101**********002X"
    assert ADULT not in repr(a) and ADULT[6:14] not in repr(a) and a.masked in repr(a)
    assert not hasattr(a, "number") and ADULT not in str(vars(a) if hasattr(a, "__dict__") else a.view())
    # another hall (another key file) gives another hash: the hash says nothing outside its hall
    other_hall = dataclasses.replace(hall_config, var_dir=tmp_path / "var")
    assert identify(other_hall, ADULT, today=TODAY).hash != a.hash


def test_the_key_file_is_made_once_private_and_reused(hall_config, tmp_path):
    import dataclasses

    config = dataclasses.replace(hall_config, var_dir=tmp_path / "hall")
    h = identify(config, ADULT, today=TODAY).hash
    path = config.var_dir / "realname.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    identity._keys.clear()  # a new process reads the same file
    assert identify(config, ADULT, today=TODAY).hash == h and path.read_text() == text
    elsewhere = dataclasses.replace(config, realname=dataclasses.replace(config.realname, secret_file=path))
    assert identify(dataclasses.replace(elsewhere, var_dir=tmp_path / "x"), ADULT, today=TODAY).hash == h


def test_a_card_read_is_checked_against_its_number(hall_config):
    card = {"name": "王秀英", "id_number": SENIOR, "birth_date": "1956-11-27", "sex": "女", "nation": "汉"}
    who = identify_card(hall_config, card, today=TODAY)
    assert (who.source, who.name_masked, who.age_on(TODAY)) == ("card", "王**", 70)
    with pytest.raises(ValidationError) as err:
        identify_card(hall_config, {**card, "birth_date": "1956-11-26"}, today=TODAY)
    assert err.value.code == "card_mismatch"
    with pytest.raises(ValidationError) as err:
        identify_card(hall_config, {**card, "photo": "…"}, today=TODAY)
    assert err.value.code == "invalid_card"


# ------------------------------------------------------------------------------------------------ per-ID rules
def test_the_same_id_taking_a_second_ticket_for_a_service_is_refused(redis_client, hall_config, clock):
    engine = Engine(redis_client, with_rules(hall_config, max_open=1), clock)
    me = person(hall_config, ADULT)
    first = engine.issue("renshe", identity=me, kiosk="lobby-1").ticket
    assert first["realname"] and not first["green"]
    issued_before = len(events_of(redis_client, "ticket_issued"))
    with pytest.raises(RuleRefusedError) as err:
        engine.issue("renshe", identity=person(hall_config, ADULT.lower()), kiosk="lobby-2")
    e = err.value
    assert (e.code, e.status, e.details["open"], e.details["limit"]) == ("id_open_limit", 409, 1, 1)
    assert e.details["message_zh"] == "您在人社综合已有 1 个未办结的号，办结后才能再取。"
    assert "Human Resources" in e.details["message_en"] and e.message == e.details["message_en"]
    assert len(events_of(redis_client, "ticket_issued")) == issued_before  # a refusal changes nothing
    assert redis_client.get(engine.keys.counter(engine.today(), "renshe")) == "1"
    # another service, another person: fine; a tap sent again: its first answer, not a refusal
    engine.issue("shichang", identity=me)
    engine.issue("renshe", identity=person(hall_config, OTHER))
    tap = engine.issue("shichang", identity=person(hall_config, OTHER), request_id="tap-000001")
    assert engine.issue("shichang", identity=person(hall_config, OTHER), request_id="tap-000001").ticket == tap.ticket


def test_open_tickets_free_up_when_they_end(redis_client, hall_config, clock):
    engine = Engine(redis_client, with_rules(hall_config, max_open=1), clock)
    me = person(hall_config)
    engine.issue("renshe", identity=me)
    engine.call_next(1)
    with pytest.raises(RuleRefusedError):  # called is still open
        engine.issue("renshe", identity=me)
    engine.finish(1, "handled")
    second = engine.issue("renshe", identity=me).ticket
    engine.cancel(second["id"])
    third = engine.issue("renshe", identity=me).ticket
    engine.call_next(1)
    engine.no_show(1)
    engine.issue("renshe", identity=me)  # after a no-show too
    assert third["number"] == "A003"


def test_an_undone_no_show_is_the_ids_open_ticket_again_and_not_a_no_show(redis_client, hall_config, clock):
    engine = Engine(redis_client, with_rules(hall_config, max_open=1, noshow_limit=1), clock)
    me = person(hall_config)
    ticket = engine.issue("renshe", identity=me).ticket
    engine.call_next(1)
    engine.no_show(1)
    history = redis_client.hget(engine.keys.id_history, me.hash)
    assert history and len(json.loads(history)["ns"]) == 1
    engine.undo_no_show(1, ticket["id"])
    with pytest.raises(RuleRefusedError) as err:  # the undone ticket is open again: the one it may hold
        engine.issue("renshe", identity=me)
    assert err.value.code == "id_open_limit"
    assert redis_client.hget(engine.keys.id_history, me.hash) is None  # the no-show no longer counts


def test_daily_cap_per_id(redis_client, hall_config, clock):
    engine = Engine(redis_client, with_rules(hall_config, daily_cap=2), clock)
    me = person(hall_config)
    for _ in range(2):
        engine.cancel(engine.issue("renshe", identity=me).ticket["id"])
    with pytest.raises(RuleRefusedError) as err:
        engine.issue("renshe", identity=me)
    assert err.value.code == "id_daily_cap" and "今天已在人社综合取号 2 次" in err.value.details["message_zh"]
    clock.advance(days=1)
    engine.issue("renshe", identity=me)  # a new day


def test_a_70_year_old_gets_the_green_channel(redis_client, hall_config, clock):
    engine = Engine(redis_client, with_rules(hall_config, green_age=70), clock)
    walk_in = engine.issue("renshe").ticket
    nearly = engine.issue("renshe", identity=person(hall_config, NEARLY)).ticket  # 70 tomorrow
    senior = engine.issue("renshe", identity=person(hall_config, SENIOR)).ticket
    assert (senior["priority"], senior["green"]) == (True, "age")
    assert (nearly["priority"], nearly["green"]) == (False, None)
    assert senior["ahead"] == 0  # ahead of everyone waiting
    assert [engine.call_next(n)["id"] for n in (1, 2, 5)] == [senior["id"], walk_in["id"], nearly["id"]]
    # without the rule, the same card is an ordinary ticket
    plain = Engine(redis_client, hall_config, clock).issue("renshe", identity=person(hall_config, SENIOR)).ticket
    assert not plain["priority"]


def test_id_required(redis_client, hall_config, clock):
    engine = Engine(redis_client, with_rules(hall_config, required=True), clock)
    with pytest.raises(RuleRefusedError) as err:
        engine.issue("renshe")
    assert err.value.code == "id_required" and "需实名取号" in err.value.details["message_zh"]
    assert engine.issue("renshe", identity=person(hall_config)).ticket["realname"]


def test_the_hash_stays_off_the_event_stream(redis_client, hall_config, clock):
    engine = Engine(redis_client, with_rules(hall_config, green_age=70), clock)
    me = person(hall_config, SENIOR)
    engine.issue("renshe", identity=me)
    engine.call_next(1)
    engine.finish(1, "handled")
    stream = str(events_of(redis_client))
    assert me.hash not in stream and "idh" not in stream
    issued = events_of(redis_client, "ticket_issued")[0]["ticket"]
    assert issued["realname"] is True and issued["green"] == "age" and "token" not in issued
