"""HTTP API v1: happy paths, and every bad input gets its 4xx and changes nothing."""

from __future__ import annotations

import pytest

from hall_support import KEYPAD_TOKEN, login, state_fingerprint


def test_services_list(client):
    r = client.get("/api/v1/services")
    assert r.status_code == 200
    services = {s["code"]: s for s in r.get_json()["services"]}
    assert services["renshe"]["name"] == "人社综合" and services["renshe"]["open"] is True
    assert services["lingdao"]["open"] is False and services["lingdao"]["closed_reason"] == "closed_today"


def test_issue_and_get_ticket(client):
    r = client.post("/api/v1/tickets", json={"service": "renshe", "request_id": "tap-00000001"})
    assert r.status_code == 201
    t = r.get_json()["ticket"]
    assert t["number"] == "A001" and t["status"] == "waiting" and t["ahead"] == 0
    assert t["tracking_url"].endswith("/t/" + t["token"])
    again = client.post("/api/v1/tickets", json={"service": "renshe", "request_id": "tap-00000001"})
    assert again.status_code == 200 and again.get_json()["ticket"]["id"] == t["id"]
    got = client.get(f"/api/v1/tickets/{t['id']}").get_json()["ticket"]
    assert got["number"] == "A001" and "token" not in got


@pytest.mark.parametrize("body,status,code", [
    ({"service": "nope"}, 422, "unknown_service"),
    ({}, 400, "missing_field"),
    ({"service": "renshe", "extra": 1}, 400, "unknown_field"),
    ({"service": 5}, 400, "wrong_type"),
    ({"service": "renshe", "priority": "yes"}, 400, "wrong_type"),
    ({"service": "renshe", "lang": "fr"}, 400, "invalid_value"),
    ({"service": "renshe", "request_id": "x"}, 400, "invalid_value"),
    ({"service": "lingdao"}, 409, "service_closed"),
    (["renshe"], 400, "invalid_json"),
])
def test_bad_ticket_requests_change_nothing(client, redis_client, body, status, code):
    client.post("/api/v1/tickets", json={"service": "renshe"})
    before = state_fingerprint(redis_client)
    r = client.post("/api/v1/tickets", json=body)
    assert r.status_code == status
    assert r.get_json()["error"]["code"] == code and r.get_json()["error"]["message"]
    assert state_fingerprint(redis_client) == before


def test_malformed_and_oversized_bodies(client, redis_client):
    before = state_fingerprint(redis_client)
    r = client.post("/api/v1/tickets", data="{not json", content_type="application/json")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_json"
    r = client.post("/api/v1/tickets", data="service=renshe", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "unsupported_media_type"
    r = client.post("/api/v1/tickets", data='{"service": "' + "x" * 20000 + '"}', content_type="application/json")
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "body_too_large"
    assert client.get("/api/v1/tickets/20261127-A999").status_code == 404
    assert client.get("/api/v1/tickets/not-an-id").status_code == 404
    assert state_fingerprint(redis_client) == before


def test_clerk_flow_through_api(client, clerk_client):
    client.post("/api/v1/tickets", json={"service": "renshe"})
    c = clerk_client(1)
    assert c.post("/api/v1/windows/1/call-next").get_json()["ticket"]["number"] == "A001"
    assert c.post("/api/v1/windows/1/recall").get_json()["ticket"]["calls"] == 2
    assert c.post("/api/v1/windows/1/finish", json={"outcome": "consulted"}).get_json()["ticket"]["outcome"] == "consulted"
    r = c.post("/api/v1/windows/1/call-next")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "queue_empty"
    assert c.post("/api/v1/windows/1/pause", json={"reason": "午休"}).get_json()["window"]["paused"] is True
    assert c.post("/api/v1/windows/1/resume").get_json()["window"]["paused"] is False
    assert c.get("/api/v1/windows/1").get_json()["window"]["number"] == 1


def test_clerk_of_window_2_cannot_act_on_window_3(client, clerk_client, redis_client):
    client.post("/api/v1/tickets", json={"service": "shichang"})
    c = clerk_client(2)
    before = state_fingerprint(redis_client)
    for path in ("call-next", "recall", "no-show", "pause", "resume"):
        r = c.post(f"/api/v1/windows/3/{path}")
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "wrong_window"
    assert c.get("/api/v1/windows/3").status_code == 403
    assert state_fingerprint(redis_client) == before


def test_staff_api_needs_auth(client, redis_client):
    client.post("/api/v1/tickets", json={"service": "renshe"})
    before = state_fingerprint(redis_client)
    assert client.post("/api/v1/windows/1/call-next").status_code == 401
    r = client.post("/api/v1/windows/1/call-next", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "bad_token"
    assert login(client, password="wrong-password").status_code == 401
    assert login(client, window=99).status_code == 404
    assert state_fingerprint(redis_client) == before


def test_machine_token_acts_on_its_window_only(client):
    client.post("/api/v1/tickets", json={"service": "renshe"})
    auth = {"Authorization": f"Bearer {KEYPAD_TOKEN}"}
    assert client.post("/api/v1/windows/2/call-next", headers=auth).status_code == 403
    r = client.post("/api/v1/windows/1/call-next", headers=auth)
    assert r.status_code == 200 and r.get_json()["ticket"]["number"] == "A001"


@pytest.mark.parametrize("path,body,status,code", [
    ("finish", {"outcome": "maybe"}, 400, "invalid_value"),
    ("finish", {}, 400, "missing_field"),
    ("call", {"number": "A1"}, 400, "invalid_number"),
    ("call", {"number": "Z001"}, 422, "unknown_prefix"),
    ("transfer", {"service": "renshe", "window": 2, "reason": "other"}, 400, "invalid_transfer"),
    ("transfer", {"service": "nope", "reason": "other"}, 422, "unknown_service"),
    ("transfer", {"window": 42, "reason": "other"}, 404, "unknown_window"),
    ("call-next", {"x": 1}, 400, "unknown_field"),
])
def test_bad_window_requests_change_nothing(client, clerk_client, redis_client, path, body, status, code):
    client.post("/api/v1/tickets", json={"service": "renshe"})
    client.post("/api/v1/tickets", json={"service": "renshe"})
    c = clerk_client(1)
    c.post("/api/v1/windows/1/call-next")
    before = state_fingerprint(redis_client)
    r = c.post(f"/api/v1/windows/1/{path}", json=body)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"]["code"] == code
    assert state_fingerprint(redis_client) == before


def test_display_state_and_health(client, clerk_client):
    client.post("/api/v1/tickets", json={"service": "renshe"})
    clerk_client(1).post("/api/v1/windows/1/call-next")
    state = client.get("/api/v1/display/state").get_json()
    assert state["seq"] == 3  # ticket_issued, clerk_signed_in, ticket_called
    assert state["windows"][0]["ticket"]["number"] == "A001"
    assert state["recent_calls"][0]["number"] == "A001"
    assert client.get("/healthz").get_json()["redis"] == "up"
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/nothing").get_json()["error"]["code"] == "not_found"


def test_openapi_documents_every_api_route(app, client):
    """Every /api/v1 route the app serves is in the OpenAPI document, with the same methods."""
    import re

    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        assert path in spec["paths"], f"{rule.rule} is not documented"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], f"{method} {rule.rule} is not documented"


def test_the_tracking_link_follows_the_address_the_hall_was_reached_by(redis_server, hall_config, clock):
    """Without ``public_url`` the link is built from the request's own address, per request (the address is
    remembered per Host; a client that sends another Host gets its own, never the one before it)."""
    from dataclasses import replace

    from onewindow import create_app

    app = create_app({"TESTING": True, "CONFIG": replace(hall_config, public_url=""), "REDIS_URL": redis_server.url,
                      "CLOCK": clock, "START_RELAY": False})
    client = app.test_client()
    hosts = ["hall.example.org", "10.0.0.5:8000", "hall.example.org"]
    hosts += [f"h{i}.example.org" for i in range(40)]  # more addresses than are remembered: still each its own
    for i, host in enumerate(hosts):
        r = client.post("/api/v1/tickets", json={"service": "renshe"}, headers={"Host": host},
                        environ_base={"REMOTE_ADDR": f"192.0.2.{100 + i}"})
        t = r.get_json()["ticket"]
        assert t["tracking_url"] == f"http://{host}/t/{t['token']}"
