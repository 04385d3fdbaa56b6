"""Smaller hardening (issue 9, item 10): security headers on every page, the Secure cookie setting, Socket.IO
origins, and no secret in any log line."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
import redis

from hall_support import DEMO_PASSWORD, KEYPAD_TOKEN, KIOSK_TOKEN, SUPER_PASSWORD, login, tablet
from shared.config import SecuritySettings


@pytest.fixture
def make_app(redis_client, redis_server, hall_config, clock):
    from onewindow import create_app

    def make(**changes):
        return create_app({"TESTING": True, "CONFIG": replace(hall_config, **changes), "REDIS_URL": redis_server.url,
                           "CLOCK": clock, "START_RELAY": False})

    return make


def test_every_page_sends_csp_frame_and_sniffing_headers(client):
    token = client.post("/api/v1/tickets", json={"service": "renshe"}).get_json()["ticket"]["token"]
    pages = ["/kiosk", "/counter", "/supervisor", "/rate/1", "/display", "/display?layout=portrait",
             "/display/window/1", f"/t/{token}", "/display/window/99", "/t/no-such-token", "/display/window/²"]
    for path in pages:
        r = client.get(path)
        assert r.mimetype == "text/html", path
        csp = r.headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), path
        assert "<style" not in r.get_data(as_text=True) and " style=" not in r.get_data(as_text=True), path
    assert client.get(f"/t/{token}").headers["Referrer-Policy"] == "no-referrer"  # the URL holds the token
    api = client.get("/api/v1/services")
    assert api.headers["X-Content-Type-Options"] == "nosniff" and api.headers["X-Frame-Options"] == "DENY"


def _cookie_header(app) -> str:
    c = app.test_client()
    r = login(c, "supervisor", None, SUPER_PASSWORD)
    return r.headers["Set-Cookie"]


def test_secure_cookie_is_automatic_with_https_and_configurable(make_app, hall_config):
    assert "Secure" not in _cookie_header(make_app())  # http://127.0.0.1:8000 (the test hall)
    assert "; Secure" in _cookie_header(make_app(public_url="https://hall.example.org"))
    assert "Secure" not in _cookie_header(make_app(public_url="https://hall.example.org",
                                                   security=SecuritySettings(secure_cookie=False)))
    assert "; Secure" in _cookie_header(make_app(security=SecuritySettings(secure_cookie=True)))


def _handshake(client, origin: str | None):
    headers = {"Origin": origin} if origin else {}
    return client.get("/socket.io/?EIO=4&transport=polling", headers=headers)


def test_socketio_refuses_a_foreign_origin(make_app):
    """python-engineio reads cors_allowed_origins=[] as 'no check at all': any web page on the hall's network could
    open the event stream. Now only the page's own origin, public_url's and [security] allowed_origins may."""
    app = make_app(public_url="https://hall.example.org",
                   security=SecuritySettings(allowed_origins=("https://screens.example.org",)))
    c = app.test_client()
    for origin in ("http://evil.example", "null", "https://hall.example.org.evil.example", "http://localhost:1"):
        r = _handshake(c, origin)
        assert r.status_code == 400, origin
    for origin in ("http://localhost", "https://hall.example.org", "https://screens.example.org", None):
        r = _handshake(c, origin)
        assert r.status_code == 200 and r.get_data(as_text=True).startswith("0{"), origin


def test_no_secret_in_any_log_line(app, client, clerk_client, redis_client, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    secrets_seen: list[str] = [DEMO_PASSWORD, SUPER_PASSWORD, "a-wrong-secret-pw", KEYPAD_TOKEN, KIOSK_TOKEN,
                               "demo-tablet-token-window-1"]
    kiosk = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
    ticket = client.post("/api/v1/tickets", json={"service": "renshe"}, headers=kiosk).get_json()["ticket"]
    secrets_seen.append(ticket["token"])
    login(app.test_client(), "clerk2", 2, "a-wrong-secret-pw")
    sup = app.test_client()
    login(sup, "supervisor", None, SUPER_PASSWORD)
    secrets_seen.append(sup.get_cookie("onewindow_session").value)
    c = clerk_client(1)
    secrets_seen.append(c.get_cookie("onewindow_session").value)
    c.post("/api/v1/windows/1/call-next", headers={"Authorization": f"Bearer {KEYPAD_TOKEN}"})
    c.post("/api/v1/windows/1/finish", json={"outcome": "handled"})
    client.post("/api/v1/windows/1/rating", headers=tablet(1), json={"ticket_id": ticket["id"], "level": 5})
    client.get(f"/t/{ticket['token']}")
    client.get(f"/kiosk/qr/{ticket['token']}.svg")
    # the observed leak: a Redis error on the tracking API logged the path, token and all
    hall = app.extensions["onewindow"]

    def down(token):
        raise redis.ConnectionError(f"Error connecting while looking up {token}")

    monkeypatch.setattr(hall.engine, "ticket_by_token", down)
    assert client.get(f"/api/v1/track/{ticket['token']}").status_code == 503
    assert client.get(f"/t/{ticket['token']}").status_code in (404, 503)
    assert "/api/v1/track/<token>" in caplog.text  # the route is logged …
    for secret in secrets_seen:
        assert secret not in caplog.text, secret  # … never a secret


def test_access_log_lines_carry_no_tracking_token():
    from types import SimpleNamespace

    from gunicorn.config import Config

    from onewindow.serving import redacting_access_logger

    logger = redacting_access_logger()(Config())
    token = "20261127" + "a" * 22
    req = SimpleNamespace(method="GET", path=f"/t/{token}", query="lang=en", uri=f"/t/{token}?lang=en",
                          version=(1, 1), headers=[("REFERER", f"http://hall/t/{token}")])
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[], response_length=10)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/t/{token}?lang=en", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "192.0.2.1", "PATH_INFO": f"/t/{token}", "QUERY_STRING": "lang=en",
               "HTTP_REFERER": f"http://hall/t/{token}"}
    from datetime import timedelta

    atoms = logger.atoms(resp, req, environ, timedelta(seconds=0.01))
    line = logger.cfg.access_log_format % atoms
    assert token not in line and "/t/…" in line
