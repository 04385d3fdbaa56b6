"""The lean lane (onewindow/lean.py) answers a hot route's plain requests past Flask's request machinery: every
answer must be the one Flask gives — status, headers and body byte for byte — and must change the store the same
way; what is not plain must still reach Flask; the app's hooks are pinned, so a hook added later is added to the
lane too."""

from __future__ import annotations

import io
import itertools
import json
from dataclasses import replace

import pytest
import redis
from flask import request_started
from werkzeug.test import EnvironBuilder

from hall_support import KIOSK_TOKEN, state_fingerprint
from shared.config import PublicSettings
from shared.engine import Engine

PHONE = "192.0.2.60"
JSON = "application/json"


def _post(path: str = "/api/v1/tickets", body: object = None, *, raw: bytes | None = None, key: str | None = None,
          address: str = PHONE, content_type: str = JSON, **headers: str) -> dict:
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    if key is not None:
        headers["Idempotency-Key"] = key
    return {"path": path, "data": data, "content_type": content_type, "headers": headers,
            "environ_base": {"REMOTE_ADDR": address}}


# Each case: the requests sent in order to a fresh store (the answers of all of them are compared).
CASES = {
    "issued": [_post(body={"service": "renshe"})],
    "issued in English, then a second service": [_post(body={"service": "renshe", "lang": "en"}),
                                                 _post(body={"service": "shichang"})],
    "resent with its key: replayed": [_post(body={"service": "renshe"}, key="phone-key-0001"),
                                      _post(body={"service": "renshe"}, key="phone-key-0001")],
    "resent with its request_id": [_post(body={"service": "renshe", "request_id": "req-000000001"}),
                                   _post(body={"service": "renshe", "request_id": "req-000000001"})],
    "the same key, another body": [_post(body={"service": "renshe"}, key="phone-key-0002"),
                                   _post(body={"service": "shichang"}, key="phone-key-0002")],
    "a malformed key": [_post(body={"service": "renshe"}, key="bad key!")],
    "not JSON": [_post(raw=b"{service: renshe")],
    "not an object": [_post(body=["renshe"])],
    "an empty body (sent without Content-Length: Flask's)": [_post(raw=b"")],
    "text/plain": [_post(raw=b'{"service": "renshe"}', content_type="text/plain")],
    "JSON with a charset": [_post(raw=b'{"service": "renshe"}', content_type="application/json; charset=utf-8")],
    "an unknown field": [_post(body={"service": "renshe", "colour": "red"})],
    "a wrong type": [_post(body={"service": 7})],
    "no service": [_post(body={"lang": "zh"})],
    "an unknown service": [_post(body={"service": "nosuch"})],
    "a priority ticket from a phone": [_post(body={"service": "renshe", "priority": True})],
    "a lone surrogate": [_post(raw=b'{"service": "\\ud800"}')],
    "deeply nested": [_post(raw=b'{"service": ' + b"[" * 20 + b"]" * 20 + b"}")],
    "an unknown device token": [_post(body={"service": "renshe"}, Authorization="Bearer not-a-token-at-all")],
    "the kiosk, printing": [_post(body={"service": "renshe", "priority": True, "request_id": "kiosk-req-0001"},
                                  Authorization=f"Bearer {KIOSK_TOKEN}"),
                            _post(body={"service": "renshe", "priority": True, "request_id": "kiosk-req-0001"},
                                  Authorization=f"Bearer {KIOSK_TOKEN}")],
    "the kiosk, as another kiosk": [_post(body={"service": "renshe", "kiosk": "lobby-2"},
                                          Authorization=f"Bearer {KIOSK_TOKEN}")],
    "in a city path of the only hall": [_post("/h/testhall/api/v1/tickets", {"service": "renshe"})],
    "the kiosk with an Idempotency-Key, resent": [
        _post(body={"service": "renshe"}, key="kiosk-key-0001", Authorization=f"Bearer {KIOSK_TOKEN}"),
        _post(body={"service": "renshe"}, key="kiosk-key-0001", Authorization=f"Bearer {KIOSK_TOKEN}")],
    "reached by another name (the tracking link follows the Host)": [
        _post(body={"service": "renshe"}, Host="hall.example.cn:8443")],
    "rate limited": [_post(body={"service": "renshe"}) for _ in range(3)],
    "closed at night": "night",
}


@pytest.fixture
def apps(redis_client, redis_server, hall_config, clock, monkeypatch):
    """(lean, flask): the same hall with and without the lane, on the same store; token parts drawn in order."""
    from onewindow import create_app

    counter = itertools.count()
    monkeypatch.setattr("shared.engine.secrets.token_urlsafe", lambda n=16: f"tok{next(counter):019d}-x")
    config = replace(hall_config, public=PublicSettings(burst=2, per_minute=1, daily_cap=100))

    def make(lean: bool):
        return create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                           "START_RELAY": False, "LEAN_LANE": lean})

    def restart_tokens() -> None:
        nonlocal counter
        counter = itertools.count()

    return make(True), make(False), restart_tokens


def _through_flask(app) -> list[str]:
    """The endpoints of the requests Flask dispatched (its ``request_started`` signal)."""
    seen: list[str] = []

    def note(sender, **_):
        from flask import request

        seen.append(request.path)

    request_started.connect(note, app, weak=False)
    return seen


def _run(app, requests: list[dict]) -> list[tuple]:
    client = app.test_client()
    answers = []
    for r in requests:
        resp = client.post(r["path"], data=r["data"], content_type=r["content_type"], headers=r["headers"],
                           environ_base=r["environ_base"])
        answers.append((resp.status, list(resp.headers.items()), resp.get_data()))
    return answers


@pytest.mark.parametrize("case", list(CASES))
def test_the_lane_answers_as_flask_does_and_changes_the_store_alike(case, apps, redis_client, clock):
    lean, flask_app, restart_tokens = apps
    requests = CASES[case]
    if requests == "night":
        clock.set(clock.now().replace(hour=22))
        requests = [_post(body={"service": "renshe"})]
    dispatched = _through_flask(lean)
    results = []
    for app in (lean, flask_app):
        redis_client.flushall()
        restart_tokens()
        answers = _run(app, requests)
        results.append((answers, state_fingerprint(redis_client)))
    (lean_answers, lean_state), (flask_answers, flask_state) = results
    for i, (mine, theirs) in enumerate(zip(lean_answers, flask_answers)):
        assert mine == theirs, f"request {i} of {case!r}: the lane answered {mine}, Flask {theirs}"
    assert lean_state == flask_state
    if "Flask's" in case:
        assert dispatched == ["/api/v1/tickets"]
    else:
        assert dispatched == [], "a plain request went through Flask's machinery: the lane did not serve it"


def test_what_is_not_plain_goes_to_flask_unchanged(apps, redis_client):
    lean, _, _ = apps
    dispatched = _through_flask(lean)
    client = lean.test_client()
    client.set_cookie("someone", "else")  # a Cookie header: a staff session could be in it
    assert client.post("/api/v1/tickets", json={"service": "renshe"},
                       environ_base={"REMOTE_ADDR": PHONE}).status_code == 201
    other = lean.test_client()
    too_big = other.post("/api/v1/tickets", data=b"{" + b" " * 17000 + b"}", content_type=JSON)
    assert too_big.status_code == 413 and too_big.get_json()["error"]["code"] == "body_too_large"
    assert other.get("/api/v1/tickets").status_code == 405  # another method
    assert other.post("/api/v1/tickets/", json={"service": "renshe"}).status_code in (308, 404)  # another path
    assert dispatched == ["/api/v1/tickets"] * 3 + ["/api/v1/tickets/"]


def test_the_store_down_and_a_bug_are_answered_as_flask_answers_them(apps, redis_client, monkeypatch, caplog):
    lean, flask_app, _ = apps
    for failure in (redis.ConnectionError("connection refused (port 6379)"), RuntimeError("a bug")):
        def broken(*_a, _failure=failure, **_k):
            raise _failure

        monkeypatch.setattr(Engine, "issue", broken)
        mine, theirs = (_run(app, [_post(body={"service": "renshe"})])[0] for app in (lean, flask_app))
        assert mine == theirs
        assert mine[0] in ("503 SERVICE UNAVAILABLE", "500 INTERNAL SERVER ERROR")
        assert b"6379" not in mine[2] and b"a bug" not in mine[2]
    assert sum("unhandled RuntimeError on POST /api/v1/tickets" in r.getMessage() for r in caplog.records) == 2


def test_the_lane_times_its_requests_under_the_route_pattern(apps):
    lean, _, _ = apps
    _run(lean, [_post(body={"service": "renshe"}), _post("/h/testhall/api/v1/tickets", {"service": "renshe"})])
    text = lean.extensions["onewindow_metrics"].render().decode()
    for route in ("/api/v1/tickets", "/h/testhall/api/v1/tickets"):
        assert f'method="POST",route="{route}"' in text.replace(", ", ",")


def test_the_apps_hooks_are_the_ones_the_lane_runs(apps):
    """The lane runs these hooks' functions itself (onewindow/lean.py): a new hook must be added there too."""
    lean, _, _ = apps
    names = lambda funcs: sorted(f.__name__ for f in funcs)  # noqa: E731
    assert {k: names(v) for k, v in lean.before_request_funcs.items() if v} == {None: ["_start_timer", "enter_scope"]}
    assert {k: names(v) for k, v in lean.after_request_funcs.items() if v} == {
        None: ["_observe", "mark_replay", "security_headers"]}
    assert {k: names(v) for k, v in lean.teardown_request_funcs.items() if v} == {None: ["leave_scope"]}
    assert not any(v for v in lean.url_value_preprocessors.values())
    handlers = {cls.__name__: f.__name__ for by_code in lean.error_handler_spec[None].values()
                for cls, f in by_code.items()}
    assert handlers == {"OneWindowError": "answer", "RedisError": "answer", "HTTPException": "answer",
                        "Exception": "answer"}
    assert all(not spec for bp, spec in lean.error_handler_spec.items() if bp is not None)


def _raw(app, environ: dict) -> tuple:
    """One request as a WSGI server hands it over (``environ`` as built), through the app's whole WSGI stack."""
    out = {}

    def start_response(status, headers, exc_info=None):
        out["status"], out["headers"] = status, headers

    body = b"".join(app.wsgi_app(environ, start_response))
    return out["status"], out["headers"], body


class _Dropping(io.RawIOBase):
    """A request body whose client went away after a few bytes (gunicorn raises from the socket)."""

    def __init__(self) -> None:
        self.sent = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.sent:
            raise ConnectionResetError(104, "Connection reset by peer")
        self.sent = True
        buffer[:6] = b'{"serv'
        return 6


def _gunicorn_environ(body: bytes | object, length: int, **extra) -> dict:
    environ = EnvironBuilder("/api/v1/tickets", method="POST", content_type=JSON,
                             environ_base={"REMOTE_ADDR": PHONE}).get_environ()
    environ.update({"wsgi.input": body, "CONTENT_LENGTH": str(length), "wsgi.input_terminated": True, **extra})
    return environ


def test_a_client_gone_mid_body_is_a_quiet_400_as_in_flask(apps, caplog):
    lean, flask_app, _ = apps
    dispatched = _through_flask(lean)
    mine, theirs = (_raw(app, _gunicorn_environ(io.BufferedReader(_Dropping()), 40)) for app in (lean, flask_app))
    assert mine == theirs
    assert mine[0] == "400 BAD REQUEST" and json.loads(mine[2])["error"]["code"] == "invalid_request"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert dispatched == []


def test_an_empty_body_with_its_content_length_is_the_lanes(apps):
    lean, flask_app, _ = apps
    dispatched = _through_flask(lean)
    mine, theirs = (_raw(app, _gunicorn_environ(io.BytesIO(b""), 0)) for app in (lean, flask_app))
    assert mine == theirs and mine[0] == "400 BAD REQUEST"
    assert dispatched == []


def test_behind_the_proxy_each_phone_has_its_own_allowance_in_the_lane(redis_client, redis_server, hall_config,
                                                                        clock):
    """The lane sits inside ProxyFix: the address a limit and a scope are keyed by is the phone's, not the proxy's."""
    from onewindow import create_app

    config = replace(hall_config, public=PublicSettings(burst=2, per_minute=1, daily_cap=100),
                     security=replace(hall_config.security, trusted_proxies=1))
    app = create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                      "START_RELAY": False})
    dispatched = _through_flask(app)
    client = app.test_client()

    def take(phone: str) -> int:
        return client.post("/api/v1/tickets", json={"service": "renshe"}, headers={"X-Forwarded-For": phone},
                           environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code

    assert [take("192.0.2.71"), take("192.0.2.71"), take("192.0.2.71")] == [201, 201, 429]
    assert take("192.0.2.72") == 201  # another phone behind the same proxy
    assert dispatched == []


def test_a_resend_that_changes_lane_is_answered_from_the_first(apps, redis_client):
    """Sent first with a cookie (Flask), resent without it (the lane): one ticket, the second answer replayed."""
    lean, _, _ = apps
    dispatched = _through_flask(lean)
    with_cookie = lean.test_client()
    with_cookie.set_cookie("lang", "zh")
    first = with_cookie.post("/api/v1/tickets", json={"service": "renshe"}, headers={"Idempotency-Key": "switch-0001"},
                             environ_base={"REMOTE_ADDR": PHONE})
    again = lean.test_client().post("/api/v1/tickets", json={"service": "renshe"},
                                    headers={"Idempotency-Key": "switch-0001"}, environ_base={"REMOTE_ADDR": PHONE})
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["ticket"]["id"] == first.get_json()["ticket"]["id"]
    assert dispatched == ["/api/v1/tickets"]  # the first only
