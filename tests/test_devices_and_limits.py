"""Devices are identities, and unregistered clients are limited (issue 9, item 3).

Observed: ``POST /api/v1/tickets`` needed nothing and had no limit, any ``kiosk`` id printed, and the 绿色通道 flag put an
anonymous request at the head of the queue; 70 requests from one address used up 领导带班's day.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from hall_support import KEYPAD_TOKEN, KIOSK2_TOKEN, KIOSK_TOKEN, TABLET_TOKENS
from shared.config import PublicSettings, SecuritySettings
from hall_support import state_fingerprint

KIOSK = {"Authorization": f"Bearer {KIOSK_TOKEN}"}


@pytest.fixture
def make_app(redis_client, redis_server, hall_config, clock):
    """``make_app(public=…, security=…)``: the test app with other [public] / [security] settings."""
    from onewindow import create_app

    def make(**changes):
        config = replace(hall_config, **changes)
        return create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                           "START_RELAY": False})

    return make


def _from(app, address: str):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    return c


# ------------------------------------------------------------------------------------------------ registered kiosks
def test_only_a_registered_kiosk_prints_and_issues_priority(client, redis_client):
    before = state_fingerprint(redis_client)
    for body in ({"service": "renshe", "priority": True}, {"service": "renshe", "kiosk": "lobby-1"},
                 {"service": "renshe", "kiosk": "anything"}):
        r = client.post("/api/v1/tickets", json=body)
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "kiosk_required", body
        assert "绿色通道" in r.get_json()["error"]["message"] and "kiosks" in r.get_json()["error"]["message"]
    assert state_fingerprint(redis_client) == before
    r = client.post("/api/v1/tickets", json={"service": "renshe", "priority": True}, headers=KIOSK)
    assert r.status_code == 201 and r.get_json()["ticket"]["priority"] is True
    assert r.get_json()["print"]["status"] == "preview"  # printed, as kiosk lobby-1 (its token says so)
    public = client.post("/api/v1/tickets", json={"service": "renshe"})
    assert public.status_code == 201 and public.get_json()["print"]["reason"] == "no_kiosk"  # never printed


def test_a_token_is_one_kiosk_and_other_devices_are_not_kiosks(client, redis_client):
    before = state_fingerprint(redis_client)
    r = client.post("/api/v1/tickets", json={"service": "renshe", "kiosk": "lobby-2"}, headers=KIOSK)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "wrong_kiosk"
    for token in (KEYPAD_TOKEN, TABLET_TOKENS[1]):
        r = client.post("/api/v1/tickets", json={"service": "renshe"}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "wrong_device"
    r = client.post("/api/v1/tickets", json={"service": "renshe"}, headers={"Authorization": "Bearer guessed"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "bad_token"
    assert state_fingerprint(redis_client) == before
    ok = client.post("/api/v1/tickets", json={"service": "renshe", "kiosk": "lobby-2"},
                     headers={"Authorization": f"Bearer {KIOSK2_TOKEN}"})
    assert ok.status_code == 201


def test_the_device_knows_who_it_is(client):
    r = client.get("/api/v1/me", headers=KIOSK)
    assert r.status_code == 200
    assert r.get_json()["device"] == {"name": "kiosk-lobby-1", "kind": "kiosk", "window": None, "kiosk": "lobby-1"}
    tablet = client.get("/api/v1/me", headers={"Authorization": f"Bearer {TABLET_TOKENS[2]}"}).get_json()
    assert tablet["device"]["kind"] == "tablet" and tablet["window"] == 2


def test_tablets_and_kiosks_never_act_on_a_window(client, redis_client):
    client.post("/api/v1/tickets", json={"service": "renshe"})
    before = state_fingerprint(redis_client)
    for token in (TABLET_TOKENS[1], KIOSK_TOKEN):
        r = client.post("/api/v1/windows/1/call-next", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "wrong_device"
    assert state_fingerprint(redis_client) == before


# ------------------------------------------------------------------------------------------------ unregistered clients
def test_one_address_cannot_drain_a_service(make_app, redis_client):
    """70 requests from one address: the bucket lets `burst` through; the rest are 429 with Retry-After and words in
    both languages, and change nothing."""
    app = make_app(public=PublicSettings(burst=3, per_minute=1, daily_cap=6))
    phone = _from(app, "192.0.2.7")
    answers = [phone.post("/api/v1/tickets", json={"service": "bubancheng"}) for _ in range(70)]
    assert [r.status_code for r in answers[:3]] == [201, 201, 201]
    refused = answers[3:]
    assert {r.status_code for r in refused} == {429}
    err = refused[0].get_json()["error"]
    assert err["code"] == "rate_limited" and err["details"]["reason"] == "burst"
    assert 0 < int(refused[0].headers["Retry-After"]) == err["details"]["retry_after"] <= 60
    assert "取号太频繁" in err["message"] and "Too many tickets" in err["message"]
    assert err["details"]["message_zh"].startswith("取号太频繁") and err["details"]["message_en"].startswith("Too many")
    services = {s["code"]: s for s in phone.get("/api/v1/services").get_json()["services"]}
    assert services["bubancheng"]["issued_today"] == 3
    # another address has its own bucket; a registered kiosk is not limited
    assert _from(app, "192.0.2.8").post("/api/v1/tickets", json={"service": "renshe"}).status_code == 201
    for _ in range(5):
        assert phone.post("/api/v1/tickets", json={"service": "renshe"}, headers=KIOSK).status_code == 201


def test_the_bucket_refills_and_the_day_has_a_cap(make_app, clock):
    app = make_app(public=PublicSettings(burst=2, per_minute=1, daily_cap=4))
    phone = _from(app, "192.0.2.9")
    codes = [phone.post("/api/v1/tickets", json={"service": "renshe"}).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    clock.advance(seconds=61)  # one token back
    assert phone.post("/api/v1/tickets", json={"service": "renshe"}).status_code == 201
    assert phone.post("/api/v1/tickets", json={"service": "renshe"}).status_code == 429
    clock.advance(minutes=5)
    assert phone.post("/api/v1/tickets", json={"service": "renshe"}).status_code == 201  # the day's 4th
    r = phone.post("/api/v1/tickets", json={"service": "renshe"})
    assert r.status_code == 429 and r.get_json()["error"]["details"]["reason"] == "daily_cap"
    assert "今日取号次数已达上限" in r.get_json()["error"]["message"]
    assert int(r.headers["Retry-After"]) == 14 * 3600 - 361  # from 10:06:01 until midnight, in seconds
    clock.advance(days=1)
    assert phone.post("/api/v1/tickets", json={"service": "renshe"}).status_code == 201


def test_a_request_that_issues_nothing_gives_its_daily_slot_back(make_app, redis_client):
    app = make_app(public=PublicSettings(burst=100, per_minute=60, daily_cap=2))
    phone = _from(app, "192.0.2.10")
    for _ in range(5):  # a closed service: 409 each time, and the day's allowance is untouched
        assert phone.post("/api/v1/tickets", json={"service": "lingdao"}).status_code == 409
    assert phone.post("/api/v1/tickets", json={"service": "nosuch"}).status_code == 422
    first = phone.post("/api/v1/tickets", json={"service": "renshe", "request_id": "phone-0001"})
    assert first.status_code == 201
    assert phone.post("/api/v1/tickets", json={"service": "renshe", "request_id": "phone-0001"}).status_code == 200
    assert phone.post("/api/v1/tickets", json={"service": "renshe"}).status_code == 201
    assert phone.post("/api/v1/tickets", json={"service": "renshe"}).status_code == 429


def test_parallel_requests_cannot_slip_past_the_bucket(make_app):
    """The decision is one Lua step: 30 requests at once from one address → exactly `burst` tickets."""
    app = make_app(public=PublicSettings(burst=4, per_minute=1, daily_cap=100))
    barrier = threading.Barrier(30)
    codes: list[int] = []

    def one():
        c = _from(app, "192.0.2.11")
        barrier.wait()
        codes.append(c.post("/api/v1/tickets", json={"service": "renshe"}).status_code)

    threads = [threading.Thread(target=one) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201] * 4 + [429] * 26


def test_the_hall_may_close_issuing_to_unregistered_clients(make_app, redis_client):
    app = make_app(public=PublicSettings(allow_issue=False))
    before = state_fingerprint(redis_client)
    r = app.test_client().post("/api/v1/tickets", json={"service": "renshe"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "public_issue_closed"
    assert "自助取号机" in r.get_json()["error"]["message"]
    assert state_fingerprint(redis_client) == before
    assert app.test_client().post("/api/v1/tickets", json={"service": "renshe"}, headers=KIOSK).status_code == 201


def test_behind_a_trusted_proxy_each_client_address_counts(make_app):
    """With [security] trusted_proxies = 1 the client address is the proxy's X-Forwarded-For; without it the header
    is ignored (anyone could send it), so every request counts against the connection's address."""
    proxied = make_app(public=PublicSettings(burst=1, per_minute=1, daily_cap=10),
                       security=SecuritySettings(trusted_proxies=1))
    proxy = _from(proxied, "10.0.0.1")
    for phone in ("192.0.2.21", "192.0.2.22", "192.0.2.23"):
        r = proxy.post("/api/v1/tickets", json={"service": "renshe"}, headers={"X-Forwarded-For": phone})
        assert r.status_code == 201, phone
    r = proxy.post("/api/v1/tickets", json={"service": "renshe"}, headers={"X-Forwarded-For": "192.0.2.21"})
    assert r.status_code == 429
    # a client cannot choose its address by prepending its own X-Forwarded-For: only the proxy's last entry counts
    r = proxy.post("/api/v1/tickets", json={"service": "renshe"},
                   headers={"X-Forwarded-For": "198.51.100.1, 192.0.2.21"})
    assert r.status_code == 429

    direct = make_app(public=PublicSettings(burst=1, per_minute=1, daily_cap=10))
    c = _from(direct, "192.0.2.30")
    assert c.post("/api/v1/tickets", json={"service": "renshe"}, headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 201
    assert c.post("/api/v1/tickets", json={"service": "renshe"}, headers={"X-Forwarded-For": "1.1.1.2"}).status_code == 429


def test_a_kiosk_id_with_a_final_newline_is_not_a_kiosk_id(hall_config):
    import tomllib

    from hall_support import HALL_TOML
    from shared.config import parse_config
    from shared.errors import ConfigError

    raw = tomllib.loads(HALL_TOML.read_text(encoding="utf-8"))
    raw["tokens"][1]["kiosk"] = "lobby-1\n"
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, base_dir=HALL_TOML.parent)
    assert exc.value.key == "tokens[1].kiosk"
