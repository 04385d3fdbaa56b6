"""Counter sign-in: authorization, password hashing, CSRF, the login rate limit, one clerk per window."""

from __future__ import annotations

import json
import logging
import time

import pytest

from hall_support import DEMO_PASSWORD, KEYPAD_TOKEN, SUPER_PASSWORD, login
from hall_support import state_fingerprint


def _issue(client, service="renshe", n=1):
    for _ in range(n):
        assert client.post("/api/v1/tickets", json={"service": service}).status_code == 201


def _events(redis_client, kind=None):
    out = []
    for _id, fields in redis_client.xrange("ow:{testhall}:events"):
        if kind is None or fields["type"] == kind:
            out.append(json.loads(fields["data"]))
    return out


def _csrf(client) -> dict:
    return {"X-CSRF-Token": client.get("/api/v1/me").get_json()["csrf_token"]}


# ------------------------------------------------------------------------------------------------ authorization
STATE_CHANGES = [("call-next", None), ("recall", None), ("no-show", None), ("finish", {"outcome": "handled"}),
                 ("transfer", {"service": "shichang", "reason": "other"}), ("call", {"number": "A002"}), ("pause", {"reason": "x"}),
                 ("resume", None)]


@pytest.mark.parametrize("path,body", STATE_CHANGES)
def test_wrong_window_no_session_bad_token_change_nothing(client, clerk_client, redis_client, path, body):
    _issue(client, n=2)
    own = clerk_client(1)
    own.post("/api/v1/windows/1/call-next")
    other = clerk_client(2)
    before = state_fingerprint(redis_client)
    kw = {"json": body} if body is not None else {}
    r = other.post(f"/api/v1/windows/1/{path}", **kw)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "wrong_window"
    r = client.post(f"/api/v1/windows/1/{path}", **kw)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "not_logged_in"
    for header in ("Bearer not-a-token", "Basic abc", "Bearer "):
        r = client.post(f"/api/v1/windows/1/{path}", headers={"Authorization": header}, **kw)
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "bad_token"
    r = client.post(f"/api/v1/windows/2/{path}", headers={"Authorization": f"Bearer {KEYPAD_TOKEN}"}, **kw)
    assert r.status_code == 403
    assert state_fingerprint(redis_client) == before


def test_expired_session_is_refused_and_changes_nothing(client, clerk_client, redis_client, app):
    _issue(client)
    c = clerk_client(1)
    later = time.time() + app.permanent_session_lifetime.total_seconds() + 1
    app.config["SESSION_NOW_MS"] = lambda: int(later * 1000)
    before = state_fingerprint(redis_client)
    r = c.post("/api/v1/windows/1/call-next")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "session_expired"
    assert c.get("/api/v1/me").status_code == 401  # the cookie was cleared
    assert state_fingerprint(redis_client) == before


def test_tampered_session_cookie_is_not_a_session(client, clerk_client, redis_client):
    _issue(client)
    c = clerk_client(1)
    cookie = c.get_cookie("onewindow_session")
    forged = client
    forged.set_cookie("onewindow_session", cookie.value[:-3] + ("AAA" if not cookie.value.endswith("AAA") else "BBB"))
    before = state_fingerprint(redis_client)
    r = forged.post("/api/v1/windows/1/call-next", headers={"X-CSRF-Token": "x"})
    assert r.status_code == 401
    assert state_fingerprint(redis_client) == before


def test_machine_token_needs_no_csrf_and_records_its_id(client, redis_client):
    _issue(client)
    r = client.post("/api/v1/windows/1/call-next", headers={"Authorization": f"Bearer {KEYPAD_TOKEN}"})
    assert r.status_code == 200
    assert _events(redis_client, "ticket_called")[0]["clerk"] == "token:keypad-1"


def test_every_action_records_the_clerk(client, clerk_client, redis_client):
    _issue(client, n=3)
    c = clerk_client(2)
    for path, body in [("call-next", None), ("recall", None), ("finish", {"outcome": "handled"}),
                       ("call-next", None), ("no-show", None), ("call-next", None),
                       ("transfer", {"service": "shichang", "reason": "other"}), ("pause", {"reason": "午间休息"}), ("resume", None)]:
        r = c.post(f"/api/v1/windows/2/{path}", **({"json": body} if body else {}))
        assert r.status_code == 200, (path, r.get_json())
    acted = [e for e in _events(redis_client) if e["type"] not in ("ticket_issued", "clerk_signed_in")]
    assert len(acted) == 9 and {e["clerk"] for e in acted} == {"clerk2"}


# ------------------------------------------------------------------------------------------------ passwords
def test_no_clear_password_anywhere(client, clerk_client, redis_client, caplog):
    caplog.set_level(logging.DEBUG)
    c = clerk_client(1)
    login(client, "clerk2", 2, "wrong-but-secret-pw")
    c.post("/api/v1/logout", headers=_csrf(c))
    dump = json.dumps(state_fingerprint(redis_client), ensure_ascii=False)
    dump += json.dumps([f for _i, f in redis_client.xrange("ow:{testhall}:events")], ensure_ascii=False)
    for secret in (DEMO_PASSWORD, "wrong-but-secret-pw"):
        assert secret not in dump
        assert secret not in caplog.text
    r = login(c, "clerk1", 1)
    cookie = c.get_cookie("onewindow_session").value
    assert DEMO_PASSWORD not in cookie and "password" not in r.get_json()["clerk"]


def test_passwords_in_config_are_hashes(hall_config):
    for clerk in hall_config.clerks.values():
        assert clerk.password_hash.startswith(("scrypt:", "pbkdf2:"))
        assert DEMO_PASSWORD not in clerk.password_hash and SUPER_PASSWORD not in clerk.password_hash


def test_unknown_user_costs_as_much_as_a_wrong_password(client, monkeypatch, hall_config):
    """An unknown username still runs one full password check with the same algorithm and cost as a real
    account's hash, so response time does not reveal which usernames exist (counted, not timed)."""
    import onewindow.auth as auth

    checked: list[str] = []
    real_check = auth.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return real_check(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", counting)
    for username in ("clerk1", "nobody1"):
        r = login(client, username, 1, "not-the-password")
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "bad_credentials"
    assert len(checked) == 2
    method = lambda h: h.rsplit("$", 2)[0]  # noqa: E731 - "scrypt:32768:8:1": algorithm and cost
    assert method(checked[1]) == method(checked[0]) == method(hall_config.clerks["clerk1"].password_hash)
    same = {login(client, u, 1, "x").get_json()["error"]["message"] for u in ("clerk5", "ghost")}
    assert len(same) == 1  # the same words for a wrong user and a wrong password


# ------------------------------------------------------------------------------------------------ CSRF
def test_csrf_token_is_required_for_session_writes(app, client, redis_client):
    _issue(client)
    c = app.test_client()
    r = login(c)
    token = r.get_json()["csrf_token"]
    assert len(token) >= 32 and c.get("/api/v1/me").get_json()["csrf_token"] == token
    before = state_fingerprint(redis_client)
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": token[:-1]}):
        r = c.post("/api/v1/windows/1/call-next", headers=headers)
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf_failed"
        r = c.post("/api/v1/logout", headers=headers)
        assert r.status_code == 403
    assert c.get("/api/v1/windows/1").status_code == 200  # reads need no token
    assert state_fingerprint(redis_client) == before
    assert c.post("/api/v1/windows/1/call-next", headers={"X-CSRF-Token": token}).status_code == 200
    # another session's token is not this session's token
    other = app.test_client()
    other_token = login(other, "clerk2", 2).get_json()["csrf_token"]
    assert c.post("/api/v1/windows/1/recall", headers={"X-CSRF-Token": other_token}).status_code == 403


def test_session_cookie_flags(app):
    c = app.test_client()
    r = login(c)
    header = r.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Strict" in header


# ------------------------------------------------------------------------------------------------ rate limit
def test_login_rate_limit_per_username_and_ip(app, client, redis_client):
    for _ in range(5):
        assert login(client, "clerk3", 3, "wrong").status_code == 401
    r = login(client, "clerk3", 3)  # even the right password is refused now
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited"
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= 300 and r.get_json()["error"]["details"]["retry_after"] == retry
    assert not redis_client.exists("ow:{testhall}:holder:3")
    # another username from the same address, and the same username from another address, are not locked
    assert login(client, "clerk4", 4).status_code == 200
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert login(elsewhere, "clerk3", 3).status_code == 200
    # the lock ends with its window
    for key in redis_client.scan_iter("ow:{testhall}:limit:login:*"):
        redis_client.delete(key)  # as when the window's TTL runs out
    login(elsewhere, "clerk3", 3)
    assert login(app.test_client(), "clerk3", 3).status_code == 200


def test_a_successful_login_clears_the_failures(client):
    for _ in range(4):
        assert login(client, "clerk5", 5, "wrong").status_code == 401
    assert login(client, "clerk5", 5).status_code == 200
    for _ in range(4):
        assert login(client, "clerk5", 5, "wrong").status_code == 401
    assert login(client, "clerk5", 5).status_code == 200


# ------------------------------------------------------------------------------------------------ one clerk per window
def test_one_clerk_per_window(app, client, redis_client):
    a = app.test_client()
    assert login(a, "clerk1", 1).status_code == 200
    before = state_fingerprint(redis_client)
    b = app.test_client()
    r = login(b, "clerk2", 1)
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "window_held" and "王芳" in err["message"]
    assert err["details"]["holder"]["clerk"] == "clerk1" and "hold_id" not in err["details"]["holder"]
    assert state_fingerprint(redis_client) == before
    assert b.get("/api/v1/me").status_code == 401
    # the same clerk signing in again (another browser) is fine, and both of their sessions keep working
    again = app.test_client()
    assert login(again, "clerk1", 1).status_code == 200
    assert a.get("/api/v1/windows/1").status_code == 200
    assert len(_events(redis_client, "clerk_signed_in")) == 1
    # signing out gives the window back
    assert a.post("/api/v1/logout", headers=_csrf(a)).get_json()["released"] is True
    out = _events(redis_client, "clerk_signed_out")
    assert out == [{**out[0], "window": 1, "clerk": "clerk1", "name": "王芳"}]
    assert again.get("/api/v1/windows/1").status_code == 401  # that hold has ended for every session
    assert login(b, "clerk2", 1).status_code == 200
    signed_in = _events(redis_client, "clerk_signed_in")
    assert [(e["window"], e["clerk"], e["name"]) for e in signed_in] == [(1, "clerk1", "王芳"), (1, "clerk2", "李强")]


def test_supervisor_releases_a_held_window(app, client, redis_client):
    _issue(client)
    a = clerk_a = app.test_client()
    tok = login(a, "clerk1", 1).get_json()["csrf_token"]
    sup = app.test_client()
    r = login(sup, "supervisor", None, SUPER_PASSWORD)
    assert r.status_code == 200 and r.get_json()["window"] is None
    sup_token = r.get_json()["csrf_token"]
    holders = sup.get("/api/v1/windows/holders").get_json()["holders"]
    assert holders["1"]["clerk"] == "clerk1" and holders["2"] is None
    # a clerk cannot release; a supervisor needs the CSRF token; a free window is a clear 409
    assert clerk_a.post("/api/v1/windows/1/release", headers={"X-CSRF-Token": tok}).status_code == 403
    assert clerk_a.get("/api/v1/windows/holders").status_code == 403
    assert client.post("/api/v1/windows/1/release").status_code == 401
    assert client.post("/api/v1/windows/1/release",
                       headers={"Authorization": f"Bearer {KEYPAD_TOKEN}"}).get_json()["error"]["code"] == "not_supervisor"
    assert sup.post("/api/v1/windows/1/release").get_json()["error"]["code"] == "csrf_failed"
    r = sup.post("/api/v1/windows/2/release", headers={"X-CSRF-Token": sup_token})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "window_not_held"
    assert sup.post("/api/v1/windows/42/release", headers={"X-CSRF-Token": sup_token}).status_code == 404
    r = sup.post("/api/v1/windows/1/release", headers={"X-CSRF-Token": sup_token})
    assert r.status_code == 200 and r.get_json()["released"]["clerk"] == "clerk1"
    ev = _events(redis_client, "clerk_signed_out")[-1]
    assert (ev["window"], ev["clerk"], ev["name"], ev["by"]) == (1, "clerk1", "王芳", "supervisor")
    # the released clerk's session no longer acts on the window; another clerk may sign in
    before = state_fingerprint(redis_client)
    r = a.post("/api/v1/windows/1/call-next", headers={"X-CSRF-Token": tok})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "window_released"
    assert state_fingerprint(redis_client) == before
    assert login(app.test_client(), "clerk2", 1).status_code == 200


def test_clerk_needs_a_window_and_a_known_one(client, redis_client):
    r = login(client, "clerk1", None)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "missing_field"
    assert login(client, "clerk1", 99).status_code == 404
    assert not list(redis_client.scan_iter("ow:{testhall}:holder:*"))


def test_switching_windows_in_one_browser_gives_the_first_back(app, redis_client):
    c = app.test_client()
    assert login(c, "clerk1", 1).status_code == 200
    assert login(c, "clerk1", 2).status_code == 200
    assert not redis_client.exists("ow:{testhall}:holder:1")
    assert json.loads(redis_client.get("ow:{testhall}:holder:2"))["clerk"] == "clerk1"
    assert login(app.test_client(), "clerk2", 1).status_code == 200


def test_hold_expires_with_the_session(app, client, redis_client, hall_config):
    c = app.test_client()
    login(c, "clerk1", 1)
    ttl = redis_client.pttl("ow:{testhall}:holder:1")
    idle_ms = hall_config.security.idle_minutes * 60 * 1000  # a session (and its hold) unused this long ends
    assert idle_ms - 5000 < ttl <= idle_ms
    redis_client.pexpire("ow:{testhall}:holder:1", 10_000)
    assert c.get("/api/v1/windows/1").status_code == 200  # each request extends the hold with its session
    assert idle_ms - 5000 < redis_client.pttl("ow:{testhall}:holder:1") <= idle_ms
