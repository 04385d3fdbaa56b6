"""Helpers of the real-name, appointment and notification tests: variants of the test hall's config, people (made-up
ID numbers that belong to nobody), events, and Redis read as a whole."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

from shared import bookings
from shared.cardreader_sim import make_number
from shared.config import AppointmentSettings, Config, IdRules, NotificationSettings, RemoteSettings
from shared.identity import Identity, identify

#: people of the tests (region 340404): a working-age adult, a 70-year-old and a 69-year-old on 2026-11-27
ADULT = make_number("340404", date(1988, 5, 20), 131)
SENIOR = make_number("340404", date(1956, 11, 27), 242)  # 70 on the test day (Friday 2026-11-27)
NEARLY = make_number("340404", date(1956, 11, 28), 244)  # 70 tomorrow
OTHER = make_number("340421", date(1990, 1, 31), 57)


def with_service(config: Config, code: str, **changes) -> Config:
    services = dict(config.services)
    services[code] = dataclasses.replace(services[code], **changes)
    return dataclasses.replace(config, services=services)


def with_rules(config: Config, code: str = "renshe", **rules) -> Config:
    return with_service(config, code, id_rules=dataclasses.replace(config.services[code].id_rules, **rules))


def with_appointments(config: Config, code: str = "renshe", **settings) -> Config:
    return with_service(config, code, appointments=AppointmentSettings(**settings))


def with_remote(config: Config, code: str = "renshe", **settings) -> Config:
    return with_service(config, code, remote=RemoteSettings(**{"enabled": True, **settings}))


def with_notifications(config: Config, **settings) -> Config:
    return dataclasses.replace(config, notifications=NotificationSettings(**{"enabled": True, **settings}))


def person(config: Config, number: str = ADULT, today: date = date(2026, 11, 27), name: str = "") -> Identity:
    return identify(config, number, today=today, name=name)


def book(engine, number: str, start: str, service: str = "renshe") -> dict:
    """A confirmed booking of ``service`` at ``start`` for the person of ID ``number`` (identified on the engine's
    business day)."""
    held = bookings.hold(engine, service, start, identify(engine.config, number, today=engine.clock.business_date()))
    return bookings.confirm(engine, held["code"])


def events_of(redis_client, kind: str | None = None, hall: str = "testhall") -> list[dict]:
    return [json.loads(f["data"]) for _i, f in redis_client.xrange(f"ow:{{{hall}}}:events")
            if kind is None or f["type"] == kind]


def everything_in_redis(client) -> str:
    """Every key and every value (strings, hashes, lists, sets, sorted sets, streams) as one text."""
    out = []
    for key in client.scan_iter(count=1000):
        out.append(key)
        kind = client.type(key)
        if kind == "string":
            out.append(client.get(key) or "")
        elif kind == "hash":
            out += [f"{k}={v}" for k, v in client.hgetall(key).items()]
        elif kind == "list":
            out += client.lrange(key, 0, -1)
        elif kind == "set":
            out += list(client.smembers(key))
        elif kind == "zset":
            out += [f"{m}:{s}" for m, s in client.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            out += [json.dumps(fields, ensure_ascii=False) for _i, fields in client.xrange(key)]
    return "\n".join(out)


__all__ = ["IdRules", "make_number"]


def hours(table: dict) -> dict:
    """``{"weekday": ["09:00-12:00"]}`` → the config's hours per weekday."""
    from shared.config import _parse_hours

    return _parse_hours(table, "test")


#: the appointments of the tests: 30-minute slots 09:00–12:00 and 14:00–17:00 on weekdays, 2 places each
APPOINTMENTS = dict(slot_minutes=30, capacity=2, hours=None, days_ahead=7, hold_minutes=5, early_minutes=30,
                    late_minutes=15, late="walk_in")


def booking_hall(config: Config, code: str = "renshe", **changes) -> Config:
    settings = {**APPOINTMENTS, "hours": hours({"weekday": ["09:00-12:00", "14:00-17:00"]}), **changes}
    return with_appointments(config, code, **settings)
