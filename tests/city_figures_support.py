"""Several halls on the one test Redis for the city figures: three apps (each its own hall id, config, engine and
archive) sharing a FixedClock, and the scripted day of the second hall. The first hall runs the statistics tests'
own scripts (tests/stats_support.py), so its figures are the hand-counted ones of tests/test_stats.py."""

from __future__ import annotations

import tomllib
from pathlib import Path

from hall_support import DATA, HALL_TOML, login, tablet
from stats_support import FRI, SAT, at, issue, ok

from shared.config import Config, parse_config

EAST, NORTH, TEST = "east", "north", "testhall"


def hall_config(var: Path, hall_id: str = TEST, **changes) -> Config:
    """The test hall's config with its own var dir; ``changes``: top-level tables merged in (``hall``, ``schedule``)
    and ``services`` / ``windows`` lists replaced."""
    raw = tomllib.loads(HALL_TOML.read_text(encoding="utf-8"))
    raw["storage"]["var_dir"] = str(var)
    raw["hall"]["id"] = hall_id
    for name, value in changes.items():
        if isinstance(value, dict):
            raw.setdefault(name, {}).update(value)
        else:
            raw[name] = value
    return parse_config(raw, base_dir=DATA, source=HALL_TOML)


def east_config(var: Path) -> Config:
    """东区: no 领导带班 service but a 公安 one (window 7 serves it), and Saturday 2026-11-28 a 调休 working day."""
    raw = tomllib.loads(HALL_TOML.read_text(encoding="utf-8"))
    services = [s for s in raw["services"] if s["code"] != "lingdao"]
    services.append({"code": "gongan", "name": "公安综合", "name_en": "Public Security", "prefix": "C",
                     "daily_quota": 500, "hours": {"weekday": ["00:00-24:00"], "weekend": ["00:00-24:00"]}})
    windows = [dict(w, services=["bubancheng", "gongan"]) if w["number"] == 7 else w for w in raw["windows"]]
    return hall_config(var, EAST, hall={"name": "东区政务服务中心", "name_en": "East District Service Center"},
                       services=services, windows=windows, schedule={"workdays": [SAT]})


def north_config(var: Path) -> Config:
    """北区: Friday 2026-11-27 a public holiday (a rest day: closed all day)."""
    return hall_config(var, NORTH, hall={"name": "北区便民服务中心", "name_en": "North Service Center"},
                       schedule={"holidays": [FRI]})


def make_app(config: Config, redis_url: str, clock, archive: Path):
    from onewindow import create_app

    return create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_url, "CLOCK": clock,
                       "START_RELAY": False, "STATS_ARCHIVE_PATH": archive})


def clerks(app):
    """``clerks(window)``: a client of ``app`` signed in to that window."""

    def make(window: int = 1):
        c = app.test_client()
        r = login(c, f"clerk{window}", window)
        assert r.status_code == 200, r.get_json()
        c.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]
        return c

    return make


def call(c, window: int, number: str) -> None:
    assert ok(c.post(f"/api/v1/windows/{window}/call-next"))["ticket"]["number"] == number


def script_east_friday(clock, client, clerk) -> None:
    """东区, Friday from 10:10. Waits (s): A001 60, A002 360, A003 900, B001 1800, B002 2400. Service (s): A001 180,
    A002 480, A003 840, B001 300. Outcomes: A001 handled (rated 5), A002 consulted (rated 5), A003 handled, B001
    handled, B002 no-show."""
    at(clock, FRI, "10:10")
    a1, a2 = issue(client, "renshe"), issue(client, "renshe")
    issue(client, "renshe"), issue(client, "shichang"), issue(client, "shichang")
    w1, w4 = clerk(1), clerk(4)
    at(clock, FRI, "10:11")
    call(w1, 1, "A001")
    at(clock, FRI, "10:14")
    ok(w1.post("/api/v1/windows/1/finish", json={"outcome": "handled"}))
    ok(client.post("/api/v1/windows/1/rating", json={"ticket_id": a1["id"], "level": 5}, headers=tablet(1)), 201)
    at(clock, FRI, "10:16")
    call(w1, 1, "A002")
    at(clock, FRI, "10:24")
    ok(w1.post("/api/v1/windows/1/finish", json={"outcome": "consulted"}))
    ok(client.post("/api/v1/windows/1/rating", json={"ticket_id": a2["id"], "level": 5}, headers=tablet(1)), 201)
    at(clock, FRI, "10:25")
    call(w1, 1, "A003")
    at(clock, FRI, "10:39")
    ok(w1.post("/api/v1/windows/1/finish", json={"outcome": "handled"}))
    at(clock, FRI, "10:40")
    call(w4, 4, "B001")
    at(clock, FRI, "10:45")
    ok(w4.post("/api/v1/windows/4/finish", json={"outcome": "handled"}))
    at(clock, FRI, "10:50")
    call(w4, 4, "B002")
    at(clock, FRI, "10:55")
    ok(w4.post("/api/v1/windows/4/no-show"))


def script_east_saturday(clock, client, clerk) -> None:
    """东区, Saturday (a 调休 working day there) at 10:00: one 人社 ticket, waited 600 s, served 300 s."""
    at(clock, SAT, "10:00")
    issue(client, "renshe")
    w1 = clerk(1)
    at(clock, SAT, "10:10")
    call(w1, 1, "A001")
    at(clock, SAT, "10:15")
    ok(w1.post("/api/v1/windows/1/finish", json={"outcome": "handled"}))


# ------------------------------------------------------------------------------------------------ a served city
HALL_NAMES = {"east": ("东区政务服务中心", "East District Service Center"),
              "west": ("西区便民服务中心", "West District Service Center")}


def named_city(directory: Path) -> Path:
    """The several-halls tests' city directory (tests/city_support.py: halls ``east`` and ``west``, city supervisor
    ``city``) with a name of its own for each hall, as the city page shows them."""
    from city_support import write_city

    write_city(directory)
    for hall_id, (name, name_en) in HALL_NAMES.items():
        path = directory / f"{hall_id}.toml"
        text = path.read_text(encoding="utf-8")
        text = text.replace('name = "测试政务服务中心"', f'name = "{name}"', 1)
        text = text.replace('name_en = "Test Government Service Center"', f'name_en = "{name_en}"', 1)
        path.write_text(text, encoding="utf-8")
    return directory
