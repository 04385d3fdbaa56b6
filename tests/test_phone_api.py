"""The phone's HTTP API: booking (slots, hold → confirm, cancel, reschedule, code and QR), remote tickets and the
rating of a visit by its tracking token — every bad input a 4xx with a code that changes nothing, every retry one
effect, the provincial app by its device token."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from phone_support import ADULT, OTHER, key, people, phone_hall

from hall_support import KIOSK_TOKEN, TABLET_TOKENS, state_fingerprint
from reception_support import everything_in_redis
from shared.config import MachineToken
from shared.devices import token_digest

APP_TOKEN = "test-province-app-token-0001"
MONDAY = "2026-11-30"


@pytest.fixture
def phone(redis_client, redis_server, hall_config, clock):
    """A test client of the test hall with renshe bookable and remote tickets, and the provincial app's token."""
    from onewindow import create_app

    config = phone_hall(hall_config)
    config = dataclasses.replace(config, tokens=(*config.tokens, MachineToken(
        name="province", window=None, token_sha256=token_digest(APP_TOKEN), kind="app")))
    app = create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                      "START_RELAY": False})
    return app.test_client()


def hold(client, who=ADULT, start=f"{MONDAY}T09:30", headers=None, **extra):
    return client.post("/api/v1/bookings", headers=headers or key(),
                       json={"service": "renshe", "start": start, "id_number": who, "phone": "13812345678", **extra})


def error(r, status, code):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    assert r.get_json()["error"]["code"] == code, r.get_json()
    return r.get_json()["error"]


# ------------------------------------------------------------------------------------------------ booking
def test_days_and_slots_show_the_places_left(phone):
    r = phone.get("/api/v1/phone/services")
    assert r.status_code == 200
    [renshe] = [s for s in r.get_json()["services"] if s["code"] == "renshe"]
    assert renshe["booking"] is True and renshe["remote"] is True
    days = phone.get("/api/v1/phone/services/renshe/days").get_json()["days"]
    monday = next(d for d in days if d["day"] == MONDAY)
    assert monday["open"] and monday["left"] == 12 * 2
    assert next(d for d in days if d["day"] == "2026-11-28")["open"] is False   # Saturday: no hours
    slots = phone.get(f"/api/v1/phone/services/renshe/slots?day={MONDAY}").get_json()["slots"]
    assert [s["slot"] for s in slots][:3] == ["09:00", "09:30", "10:00"] and len(slots) == 12
    assert hold(phone).status_code == 201
    slots = phone.get(f"/api/v1/phone/services/renshe/slots?day={MONDAY}").get_json()["slots"]
    assert next(s for s in slots if s["slot"] == "09:30")["left"] == 1


def test_hold_confirm_look_up_cancel_with_the_code(phone, redis_client):
    r = hold(phone, name="张三", lang="zh")
    assert r.status_code == 201, r.get_json()
    b = r.get_json()["booking"]
    assert b["state"] == "held" and b["hold_until"] and b["slot"] == "09:30" and b["day"] == MONDAY
    code = b["code"]
    assert len(code) == 9 and code[4] == "-" and b["qr"].endswith(f"/b/{code}")
    assert b["id_masked"].startswith("3404") and ADULT not in r.get_data(as_text=True)
    assert b["channel"] == "phone"
    # the 身份证号 is kept only as its keyed hash: nowhere in Redis, not even on the event stream
    assert ADULT not in everything_in_redis(redis_client) and ADULT[-8:] not in everything_in_redis(redis_client)

    r = phone.post(f"/api/v1/bookings/{code}/confirm", headers=key())
    assert r.status_code == 200 and r.get_json()["booking"]["state"] == "confirmed"
    # looked up by the code, typed any way
    for typed in (code, code.replace("-", ""), code.lower()):
        r = phone.get(f"/api/v1/bookings/{typed}")
        assert r.status_code == 200 and r.get_json()["booking"]["id"] == b["id"], typed
        assert r.headers["Cache-Control"] == "no-store"
    qr = phone.get(f"/api/v1/bookings/{code}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    r = phone.post(f"/api/v1/bookings/{code}/cancel", headers=key())
    assert r.status_code == 200 and r.get_json()["booking"]["state"] == "cancelled"
    slots = phone.get(f"/api/v1/phone/services/renshe/slots?day={MONDAY}").get_json()["slots"]
    assert next(s for s in slots if s["slot"] == "09:30")["left"] == 2   # the place is free again


def test_reschedule_moves_a_confirmed_booking(phone):
    code = hold(phone).get_json()["booking"]["code"]
    phone.post(f"/api/v1/bookings/{code}/confirm", headers=key())
    r = phone.post(f"/api/v1/bookings/{code}/reschedule", headers=key(), json={"start": f"{MONDAY}T14:00"})
    assert r.status_code == 200 and r.get_json()["booking"]["slot"] == "14:00"
    assert r.get_json()["booking"]["code"] == code
    error(phone.post(f"/api/v1/bookings/{code}/reschedule", headers=key(), json={"start": f"{MONDAY}T14:00"}),
          409, "same_slot")


def test_the_bookings_page_by_its_code(phone):
    code = hold(phone).get_json()["booking"]["code"]
    page = phone.get(f"/b/{code}")
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    assert "我的预约" in page.get_data(as_text=True)
    assert phone.get("/book").status_code == 200 and phone.get("/book?lang=en").status_code == 200


BAD_HOLDS = [
    ({"id_number": ADULT[:-1] + ("0" if ADULT[-1] != "0" else "1")}, 400, "id_check_digit"),
    ({"id_number": "12345"}, 400, "id_format"),
    ({"id_number": 42}, 400, "wrong_type"),
    ({"service": "nope"}, 422, "unknown_service"),
    ({"service": "shichang"}, 409, "appointments_disabled"),
    ({"start": "tomorrow morning"}, 400, "invalid_value"),
    ({"start": f"{MONDAY}T09:40"}, 409, "slot_unavailable"),
    ({"start": "2026-11-28T09:30"}, 409, "slot_unavailable"),   # Saturday
    ({"start": "2026-11-27T09:30"}, 409, "slot_unavailable"),   # already started (it is 10:00)
    ({"phone": "12345"}, 400, "invalid_value"),
    ({"lang": "fr"}, 400, "invalid_value"),
    ({"surprise": 1}, 400, "unknown_field"),
]


@pytest.mark.parametrize("change,status,code", BAD_HOLDS, ids=[c for _c, _s, c in BAD_HOLDS])
def test_bad_holds_are_refused_and_change_nothing(phone, redis_client, change, status, code):
    hold(phone, who=OTHER)  # something in the store already
    before = state_fingerprint(redis_client)
    body = {"service": "renshe", "start": f"{MONDAY}T09:30", "id_number": ADULT, **change}
    r = phone.post("/api/v1/bookings", headers=key(), json=body)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"]["code"] == code, r.get_json()
    assert state_fingerprint(redis_client) == before


def test_every_action_needs_an_idempotency_key_and_bad_codes_are_not_found(phone, redis_client):
    code = hold(phone).get_json()["booking"]["code"]
    before = state_fingerprint(redis_client)
    error(phone.post("/api/v1/bookings", json={"service": "renshe", "start": f"{MONDAY}T10:00",
                                                "id_number": OTHER}), 400, "idempotency_key_required")
    error(phone.post(f"/api/v1/bookings/{code}/confirm"), 400, "idempotency_key_required")
    error(phone.post(f"/api/v1/bookings/{code}/cancel", headers={"Idempotency-Key": "x"}), 400,
          "invalid_idempotency_key")
    for bad in ("AAAA-AAAA", "K7M2-9QX", "0000-0000", "x" * 40, "%2e%2e"):
        error(phone.get(f"/api/v1/bookings/{bad}"), 404, "not_found")
        error(phone.post(f"/api/v1/bookings/{bad}/cancel", headers=key()), 404, "not_found")
        error(phone.get(f"/api/v1/bookings/{bad}/qr.svg"), 404, "not_found")
    error(phone.get("/api/v1/phone/services/renshe/slots?day=2026-13-01"), 400, "invalid_value")
    error(phone.get("/api/v1/phone/services/renshe/slots"), 400, "invalid_value")
    error(phone.post(f"/api/v1/bookings/{code}/reschedule", headers=key(), json={"start": f"{MONDAY}T14:00"}), 409,
          "not_confirmed")
    error(phone.post(f"/api/v1/bookings/{code}/confirm", headers=key(), json={"x": 1}), 400, "unknown_field")
    assert state_fingerprint(redis_client) == before


def test_one_booking_per_person_service_and_day_and_a_full_slot(phone, redis_client):
    a, b, c = people(3)
    assert hold(phone, who=a).status_code == 201
    error(hold(phone, who=a, start=f"{MONDAY}T10:00"), 409, "booking_exists")
    assert hold(phone, who=b).status_code == 201
    err = error(hold(phone, who=c), 409, "slot_full")
    assert err["details"]["message_zh"] and err["details"]["message_en"]


def test_a_retried_action_has_one_effect(phone, redis_client):
    headers = key()
    first = hold(phone, headers=headers)
    again = hold(phone, headers=headers)
    assert first.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(redis_client.hkeys("ow:{testhall}:bk")) == 1
    code = first.get_json()["booking"]["code"]
    cancel = key()
    phone.post(f"/api/v1/bookings/{code}/confirm", headers=key())
    r1 = phone.post(f"/api/v1/bookings/{code}/cancel", headers=cancel)
    r2 = phone.post(f"/api/v1/bookings/{code}/cancel", headers=cancel)
    assert r1.status_code == r2.status_code == 200 and r2.headers.get("Idempotent-Replayed") == "true"
    # a fresh key is a new action: cancelling a cancelled booking answers it as it is, and does nothing
    r3 = phone.post(f"/api/v1/bookings/{code}/cancel", headers=key())
    assert r3.status_code == 200 and r3.get_json()["booking"]["state"] == "cancelled"
    events = [f["type"] for _i, f in redis_client.xrange("ow:{testhall}:events")]
    assert events.count("booking_held") == 1 and events.count("booking_cancelled") == 1


def test_the_provincial_app_books_with_its_token_and_other_devices_are_refused(phone):
    app = {"Authorization": f"Bearer {APP_TOKEN}", **key()}
    r = hold(phone, headers=app)
    assert r.status_code == 201 and r.get_json()["booking"]["channel"] == "province"
    error(hold(phone, who=OTHER, headers={"Authorization": f"Bearer {KIOSK_TOKEN}", **key()}), 403, "wrong_device")
    error(hold(phone, who=OTHER, headers={"Authorization": "Bearer not-a-token", **key()}), 401, "bad_token")
    assert phone.get("/api/v1/phone/services/renshe/days",
                     headers={"Authorization": f"Bearer {TABLET_TOKENS[1]}"}).status_code == 403


def test_public_callers_are_rate_limited(redis_client, redis_server, hall_config, clock):
    from onewindow import create_app

    config = phone_hall(hall_config)
    config = dataclasses.replace(config, public=dataclasses.replace(config.public, phone_burst=3,
                                                                    phone_per_minute=1))
    client = create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                         "START_RELAY": False}).test_client()
    answers = [client.get("/api/v1/bookings/AAAA-BBBB").status_code for _ in range(5)]
    assert answers[:3] == [404, 404, 404] and answers[3:] == [429, 429]
    r = client.get("/api/v1/phone/services")
    assert r.status_code == 429 and r.headers["Retry-After"] and r.get_json()["error"]["code"] == "rate_limited"


# ------------------------------------------------------------------------------------------------ remote tickets
def test_a_remote_ticket_waits_not_arrived(phone, redis_client):
    headers = key()
    r = phone.post("/api/v1/remote-tickets", headers=headers,
                   json={"service": "renshe", "id_number": ADULT, "phone": "13812345678"})
    assert r.status_code == 201, r.get_json()
    t = r.get_json()["ticket"]
    assert t["remote"] is True and t["arrived"] is False and r.get_json()["tracking_url"] == f"/t/{t['token']}"
    again = phone.post("/api/v1/remote-tickets", headers=headers,
                       json={"service": "renshe", "id_number": ADULT, "phone": "13812345678"})
    assert again.get_json()["ticket"]["id"] == t["id"]
    view = phone.get(f"/api/v1/track/{t['token']}").get_json()["ticket"]
    assert view["remote"] is True and view["arrived"] is False
    assert ADULT not in everything_in_redis(redis_client)
    before = state_fingerprint(redis_client)
    error(phone.post("/api/v1/remote-tickets", headers=key(), json={"service": "shichang", "id_number": OTHER}),
          409, "remote_disabled")
    error(phone.post("/api/v1/remote-tickets", headers=key(), json={"service": "renshe", "id_number": "1"}),
          400, "id_format")
    assert state_fingerprint(redis_client) == before


# ------------------------------------------------------------------------------------------------ rating by token
def _served(phone, clerk_login):
    """Two tickets; window 1 serves and finishes the first. Returns (mine: finished, other: waiting)."""
    mine = phone.post("/api/v1/tickets", json={"service": "renshe"}).get_json()["ticket"]
    other = phone.post("/api/v1/tickets", json={"service": "renshe"}).get_json()["ticket"]
    clerk = clerk_login(phone.application)
    clerk.post("/api/v1/windows/1/call-next")
    assert clerk.post("/api/v1/windows/1/finish", json={"outcome": "consulted"}).status_code == 200
    return mine, other


@pytest.fixture
def clerk_login():
    from hall_support import login

    def make(app):
        c = app.test_client()
        r = login(c, "clerk1", 1)
        c.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]
        return c

    return make


def test_the_holder_rates_the_visit_once_and_a_followup(phone, clerk_login, redis_client, clock):
    mine, other = _served(phone, clerk_login)
    state = phone.get(f"/api/v1/track/{mine['token']}/rating").get_json()
    assert state["state"] == "open" and state["can_rate"] is True
    assert [f["level"] for f in state["form"]] == [5, 4, 3, 2, 1]
    bad = next(f for f in state["form"] if f["level"] == 2)
    assert bad["text"] and bad["contact"] and bad["options"]
    r = phone.post(f"/api/v1/track/{mine['token']}/rating", headers=key(),
                   json={"level": 2, "options": [bad["options"][0]["code"]], "text": "等太久",
                         "contact_phone": "13812345678", "ticket_id": mine["id"]})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["rating"]["channel"] == "phone" and r.get_json()["follow_up"] is True
    assert "13812345678" not in r.get_data(as_text=True)
    # once: a second first rating is refused
    error(phone.post(f"/api/v1/track/{mine['token']}/rating", headers=key(), json={"level": 5}), 409, "already_rated")
    state = phone.get(f"/api/v1/track/{mine['token']}/rating").get_json()
    assert state["state"] == "rated" and state["can_follow_up"] is True
    # the 追评, once, within its period
    clock.advance(days=3)
    r = phone.post(f"/api/v1/track/{mine['token']}/rating", headers=key(), json={"level": 4, "followup": True})
    assert r.status_code == 201 and r.get_json()["rating"]["assess"] == 2
    error(phone.post(f"/api/v1/track/{mine['token']}/rating", headers=key(), json={"level": 5, "followup": True}),
          409, "already_rated")
    assert phone.get(f"/api/v1/track/{mine['token']}/rating").get_json()["can_follow_up"] is False


def test_wrong_or_another_tickets_token_is_refused(phone, clerk_login, redis_client):
    mine, other = _served(phone, clerk_login)
    before = state_fingerprint(redis_client)
    # another ticket's token for my visit
    error(phone.post(f"/api/v1/track/{other['token']}/rating", headers=key(),
                     json={"level": 5, "ticket_id": mine["id"]}), 403, "wrong_token")
    # a token that names no visit
    forged = mine["token"][:-1] + ("A" if mine["token"][-1] != "A" else "B")
    for token in (forged, "x", "20261127" + "A" * 22):
        error(phone.post(f"/api/v1/track/{token}/rating", headers=key(), json={"level": 5}), 404, "not_found")
        error(phone.get(f"/api/v1/track/{token}/rating"), 404, "not_found")
    # the other ticket's own token: its visit has not ended
    error(phone.post(f"/api/v1/track/{other['token']}/rating", headers=key(), json={"level": 5}), 409, "not_finished")
    assert phone.get(f"/api/v1/track/{other['token']}/rating").get_json()["state"] == "not_finished"
    # bad content, a device instead of the phone, no key
    error(phone.post(f"/api/v1/track/{mine['token']}/rating", headers=key(), json={"level": 5, "text": "x"}), 400,
          "text_not_allowed")
    error(phone.post(f"/api/v1/track/{mine['token']}/rating", headers=key(),
                     json={"level": 5, "contact_phone": "13812345678"}), 400, "contact_not_allowed")
    error(phone.post(f"/api/v1/track/{mine['token']}/rating", headers=key(), json={"level": 5, "options": ["zzz"]}),
          400, "invalid_option")
    error(phone.post(f"/api/v1/track/{mine['token']}/rating", headers=key(), json={"level": 6}), 400, "invalid_value")
    error(phone.post(f"/api/v1/track/{mine['token']}/rating", headers=key(), json={"level": 5, "followup": True}),
          409, "not_rated")
    error(phone.post(f"/api/v1/track/{mine['token']}/rating", json={"level": 5}), 400, "idempotency_key_required")
    error(phone.post(f"/api/v1/track/{mine['token']}/rating",
                     headers={"Authorization": f"Bearer {TABLET_TOKENS[1]}", **key()}, json={"level": 5}),
          403, "wrong_device")
    assert state_fingerprint(redis_client) == before


def test_a_tablet_rating_closes_the_phone(phone, clerk_login):
    mine, _other = _served(phone, clerk_login)
    r = phone.post("/api/v1/windows/1/rating", headers={"Authorization": f"Bearer {TABLET_TOKENS[1]}"},
                   json={"ticket_id": mine["id"], "level": 5})
    assert r.status_code == 201, r.get_json()
    state = phone.get(f"/api/v1/track/{mine['token']}/rating").get_json()
    assert state["state"] == "rated" and state["can_rate"] is False
    error(phone.post(f"/api/v1/track/{mine['token']}/rating", headers=key(), json={"level": 1}), 409, "already_rated")


def test_a_retried_rating_is_one_rating(phone, clerk_login, redis_client):
    mine, _other = _served(phone, clerk_login)
    headers = key()
    r1 = phone.post(f"/api/v1/track/{mine['token']}/rating", headers=headers, json={"level": 5})
    r2 = phone.post(f"/api/v1/track/{mine['token']}/rating", headers=headers, json={"level": 5})
    assert r1.status_code == 201 and r2.status_code == 201 and r2.headers.get("Idempotent-Replayed") == "true"
    rated = [f for _i, f in redis_client.xrange("ow:{testhall}:events") if f["type"] == "ticket_rated"]
    assert len(rated) == 1
    assert datetime.fromisoformat(mine["issued_at"])  # (the ticket came from the public API)


# ------------------------------------------------------------------------------------------------ around the API
def test_booking_codes_never_reach_a_log_line():
    from onewindow.web import redact

    assert redact("POST /api/v1/bookings/K7M2-9QXD/cancel HTTP/1.1") == "POST /api/v1/bookings/…/cancel HTTP/1.1"
    assert redact("GET /b/K7M2-9QXD?lang=en") == "GET /b/…?lang=en"
    assert redact("GET /api/v1/track/20261127AAAAAAAAAAAAAAAAAAAAAA/rating") == "GET /api/v1/track/…/rating"


def test_an_app_token_is_bound_to_nothing(hall_config):
    import subprocess
    import sys
    import tomllib

    from hall_support import HALL_TOML
    from shared.config import parse_config

    raw = tomllib.loads(HALL_TOML.read_text(encoding="utf-8"))
    raw["storage"]["var_dir"] = str(hall_config.var_dir)
    r = subprocess.run([sys.executable, "-m", "onewindow", "hash-token", APP_TOKEN, "--kind", "app"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    entry = tomllib.loads(r.stdout)["tokens"][0]   # what `onewindow hash-token --kind app` prints, pasted
    assert entry == {"name": "province-app", "kind": "app", "token_sha256": token_digest(APP_TOKEN)}
    raw["tokens"].append(entry)
    config = parse_config(raw, base_dir=HALL_TOML.parent, source=HALL_TOML)
    [app] = [t for t in config.tokens if t.kind == "app"]
    assert app.window is None and app.kiosk is None and app.name == "province-app"
