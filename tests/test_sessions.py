"""Staff sessions live on the server (issue 9, items 5–7): logout, a released window and a changed password end them
at once for every role; they have an idle timeout and an absolute life; the login limit is one atomic step; the
password hash never runs on the thread that serves the screens."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from werkzeug.security import generate_password_hash

from hall_support import DEMO_PASSWORD, SUPER_PASSWORD, login
from hall_support import state_fingerprint


def _supervisor(app):
    c = app.test_client()
    r = login(c, "supervisor", None, SUPER_PASSWORD)
    assert r.status_code == 200
    return c, {"X-CSRF-Token": r.get_json()["csrf_token"]}


def _copy_cookie(src, app):
    """A second client carrying a copy of ``src``'s session cookie (what a thief would have)."""
    thief = app.test_client()
    thief.set_cookie("onewindow_session", src.get_cookie("onewindow_session").value)
    return thief


def test_a_copied_supervisor_cookie_stops_working_at_logout(app, redis_client):
    sup, csrf = _supervisor(app)
    thief = _copy_cookie(sup, app)
    assert thief.get("/api/v1/supervisor/overview").status_code == 200  # the copy works while the session lives
    assert sup.post("/api/v1/logout", headers=csrf).get_json()["ok"] is True
    before = state_fingerprint(redis_client)
    r = thief.get("/api/v1/supervisor/overview")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "not_logged_in"
    r = thief.put("/api/v1/supervisor/schedule/2026-12-24", json={"kind": "holiday"}, headers=csrf)
    assert r.status_code == 401  # the observed abuse: marking a day as a holiday after logout
    assert state_fingerprint(redis_client) == before


def test_the_cookie_carries_only_a_session_id(app):
    from flask.sessions import SecureCookieSessionInterface

    c = app.test_client()
    r = login(c, "supervisor", None, SUPER_PASSWORD)
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    data = serializer.loads(c.get_cookie("onewindow_session").value)
    assert set(data) == {"sid", "_permanent"} and r.get_json()["csrf_token"] not in str(data)


def test_a_released_window_ends_the_clerks_session_and_its_copies(app, clerk_client, redis_client):
    clerk = clerk_client(1)
    thief = _copy_cookie(clerk, app)
    sup, csrf = _supervisor(app)
    assert sup.post("/api/v1/windows/1/release", headers=csrf).status_code == 200
    for c in (clerk, thief):
        r = c.get("/api/v1/windows/1")
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "window_released"


def test_a_changed_password_ends_the_session_at_once(app, redis_server, hall_config, clock, redis_client):
    """The same Redis, an app restarted with a new password hash for clerk1: the old session is over."""
    from onewindow import create_app

    c = app.test_client()
    login(c, "clerk1", 1)
    sup, _csrf = _supervisor(app)
    cookies = {who: x.get_cookie("onewindow_session").value for who, x in (("clerk", c), ("sup", sup))}
    clerks = dict(hall_config.clerks)
    clerks["clerk1"] = replace(clerks["clerk1"], password_hash=generate_password_hash("a-new-password-1"))
    changed = create_app({"TESTING": True, "CONFIG": replace(hall_config, clerks=clerks),
                          "REDIS_URL": redis_server.url, "CLOCK": clock, "START_RELAY": False})
    again = changed.test_client()
    again.set_cookie("onewindow_session", cookies["clerk"])
    r = again.get("/api/v1/windows/1")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "session_revoked"
    assert again.get("/api/v1/windows/1").get_json()["error"]["code"] == "not_logged_in"  # deleted for good
    untouched = changed.test_client()
    untouched.set_cookie("onewindow_session", cookies["sup"])
    assert untouched.get("/api/v1/supervisor/overview").status_code == 200  # other accounts keep their sessions


def test_idle_timeout_and_absolute_life(app, hall_config):
    now = [time.time()]
    app.config["SESSION_NOW_MS"] = lambda: int(now[0] * 1000)
    sup, _csrf = _supervisor(app)
    idle = hall_config.security.idle_minutes * 60
    for _ in range(int(hall_config.security.session_hours * 3600 // (idle - 60))):  # busy all day …
        now[0] += idle - 60
        if now[0] - time.time() >= hall_config.security.session_hours * 3600:
            break
        assert sup.get("/api/v1/supervisor/overview").status_code == 200
    now[0] = time.time() + hall_config.security.session_hours * 3600 + 1  # … but not past the absolute life
    r = sup.get("/api/v1/supervisor/overview")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "session_expired"


def test_an_idle_session_ends_when_its_record_expires(app, redis_client, hall_config):
    sup, _csrf = _supervisor(app)
    [key] = list(redis_client.scan_iter("ow:{testhall}:session:*"))
    ttl = redis_client.pttl(key)
    assert hall_config.security.idle_minutes * 60_000 - 5000 < ttl <= hall_config.security.idle_minutes * 60_000
    redis_client.delete(key)  # what the idle TTL does
    assert sup.get("/api/v1/supervisor/overview").status_code == 401


# ------------------------------------------------------------------------------------------------ login limit
def test_parallel_wrong_passwords_reach_the_check_exactly_limit_times(app, hall_config, monkeypatch):
    """Issue 9, item 6: 30 parallel wrong passwords from one address gave 21 × 401 and 9 × 429 (limit 5)."""
    import onewindow.auth as auth

    checked: list[int] = []
    real = auth.check_password_hash

    def counting(pwhash, password):
        checked.append(1)
        return real(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", counting)
    barrier = threading.Barrier(30)
    codes: list[int] = []

    def guess(i: int):
        c = app.test_client()
        barrier.wait()
        codes.append(login(c, "clerk3", 3, f"guess-{i}").status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    limit = hall_config.security.login_attempts
    assert len(checked) == limit
    assert sorted(codes) == [401] * limit + [429] * (30 - limit)


def test_one_address_cannot_spray_many_usernames(app, hall_config):
    per_address = hall_config.security.login_attempts_per_address
    c = app.test_client()
    codes = [login(c, f"nobody{i}", 1, "x").status_code for i in range(per_address + 3)]
    assert codes == [401] * per_address + [429] * 3
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.50"
    assert login(other, "clerk2", 2).status_code == 200  # another address is not affected


def test_a_success_gives_the_attempt_back(app, hall_config):
    c = app.test_client()
    for _ in range(hall_config.security.login_attempts_per_address + 5):  # more logins than the address limit
        assert login(c, "clerk1", 1).status_code == 200


# ------------------------------------------------------------------------------------------------ hashing
def test_the_password_hash_runs_on_another_os_thread(app, monkeypatch):
    import onewindow.auth as auth

    threads: list[int] = []
    real = auth.check_password_hash

    def where(pwhash, password):
        threads.append(threading.get_native_id())
        return real(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", where)
    assert login(app.test_client(), "clerk1", 1, DEMO_PASSWORD).status_code == 200
    assert len(threads) == 1 and threads[0] != threading.get_native_id()
