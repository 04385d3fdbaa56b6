"""Several halls, one deployment (issue 15): a config directory (city.toml + one file per hall), every hall under
/h/<hall id>/ with its own numbering, queues, statistics, staff, devices, sessions and Socket.IO namespaces; the
only hall of a config file still at /; city supervisors signing in at /city/api/v1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import socketio

from city_support import (CITY_PASSWORD, CITY_SUPERVISOR, WEST_KEYPAD_TOKEN, WEST_KIOSK_TOKEN, city_text, hall_text,
                          write_city)
from faults import wait_for
from hall_support import DEMO_PASSWORD, KEYPAD_TOKEN, KIOSK_TOKEN, SUPER_PASSWORD, LiveServer, state_fingerprint
from shared.config import load_deployment
from shared.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "deploy" / "city-example"


@pytest.fixture
def city_dir(tmp_path):
    return write_city(tmp_path / "city")


@pytest.fixture
def city_app(city_dir, redis_client, redis_server, clock):
    from onewindow import create_app

    return create_app({"TESTING": True, "CONFIG_PATH": str(city_dir), "REDIS_URL": redis_server.url,
                       "CLOCK": clock, "START_RELAY": False})


def signed_in(app, hall: str, username: str, window: int | None = 1, password: str = DEMO_PASSWORD, client=None):
    c = client or app.test_client()
    body = {"username": username, "password": password, **({"window": window} if window else {})}
    r = c.post(f"/h/{hall}/api/v1/login", json=body)
    assert r.status_code == 200, r.get_json()
    return c, {"X-CSRF-Token": r.get_json()["csrf_token"]}


def hall_keys(redis_client, hall: str) -> dict:
    return {k: v for k, v in state_fingerprint(redis_client).items() if k.startswith(f"ow:{{{hall}}}")}


# ------------------------------------------------------------------------------------------------ the config
def test_the_example_directory_passes_check_config():
    r = subprocess.run([sys.executable, "-m", "onewindow", "check-config", "--config", str(EXAMPLE)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "2 halls" in r.stdout and "/h/east/" in r.stdout and "/h/west/" in r.stdout
    deployment = load_deployment(EXAMPLE)
    assert deployment.city.id == "huainan" and list(deployment.city.supervisors) == ["city"]
    assert [h.hall_id for h in deployment.halls] == ["east", "west"]  # file order, sorted by name


def test_a_directory_loads_every_hall_with_the_process_wide_sections(city_dir):
    deployment = load_deployment(city_dir)
    east, west = deployment.halls
    assert (east.hall_id, west.hall_id) == ("east", "west")
    assert east.var_dir == west.var_dir == (city_dir / "var").resolve()  # one var dir for the process (Redis, secret)
    assert east.redis_url == west.redis_url == "" and east.security == west.security
    # each hall keeps its own files: archive, real-name key, ticket previews
    assert east.archive_path == east.var_dir / "halls" / "east" / "stats.sqlite3"
    assert west.archive_path == west.var_dir / "halls" / "west" / "stats.sqlite3"
    assert east.realname.secret_file != west.realname.secret_file
    assert east.printer["preview_dir"] != west.printer["preview_dir"]
    assert "westclerk1" in west.clerks and "westclerk1" not in east.clerks


def test_a_file_is_still_one_hall(live_config):
    deployment = load_deployment(live_config)
    assert deployment.city is None and [h.hall_id for h in deployment.halls] == ["testhall"]


def test_duplicate_hall_ids_name_both_files(city_dir):
    (city_dir / "zz-copy.toml").write_text(hall_text("east"), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_deployment(city_dir)
    assert "zz-copy.toml" in str(exc.value) and "east.toml" in str(exc.value)


@pytest.mark.parametrize("section", ["[redis]\nurl = \"\"", "[storage]\nvar_dir = \"elsewhere\"",
                                     "[security]\nidle_minutes = 5"])
def test_a_hall_file_may_not_set_a_process_wide_section(city_dir, section):
    path = city_dir / "west.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + section + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_deployment(city_dir)
    name = section.split("]")[0][1:]
    assert "west.toml" in str(exc.value) and f"[{name}] is process-wide" in str(exc.value)


def test_two_halls_may_not_share_an_archive(city_dir):
    for name in ("east.toml", "west.toml"):
        path = city_dir / name
        text = path.read_text(encoding="utf-8").replace("[counter]", '[statistics]\narchive_path = "one.sqlite3"\n\n'
                                                                      "[counter]", 1)
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_deployment(city_dir)
    assert "west.toml: statistics.archive_path" in str(exc.value) and "east.toml" in str(exc.value)


def test_directory_mistakes_name_the_file(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="city.toml.*file not found"):
        load_deployment(empty)
    (empty / "city.toml").write_text(city_text(tmp_path / "var"), encoding="utf-8")
    with pytest.raises(ConfigError, match="at least one hall file"):
        load_deployment(empty)
    (empty / "city.toml").write_text(city_text(tmp_path / "var") + "\n[bogus]\nx = 1\n", encoding="utf-8")
    (empty / "a.toml").write_text(hall_text("a"), encoding="utf-8")
    with pytest.raises(ConfigError, match="city.toml: bogus: unknown key"):
        load_deployment(empty)
    (empty / "city.toml").write_text(city_text(tmp_path / "var"), encoding="utf-8")
    (empty / "a.toml").write_text(hall_text("a").replace("[[windows]]", "[[windowz]]", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="a.toml: "):
        load_deployment(empty)


def test_check_config_refuses_a_broken_directory(city_dir):
    (city_dir / "zz-copy.toml").write_text(hall_text("west"), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "onewindow", "check-config", "--config", str(city_dir)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and "zz-copy.toml" in r.stderr


# ------------------------------------------------------------------------------------------------ URLs and queues
def test_each_hall_issues_its_own_numbers(city_app):
    c = city_app.test_client()
    east = c.post("/h/east/api/v1/tickets", json={"service": "renshe"}).get_json()["ticket"]
    west = c.post("/h/west/api/v1/tickets", json={"service": "renshe"}).get_json()["ticket"]
    east2 = c.post("/h/east/api/v1/tickets", json={"service": "renshe"}).get_json()["ticket"]
    assert (east["number"], west["number"], east2["number"]) == ("A001", "A001", "A002")
    assert east["tracking_url"].endswith(f"/h/east/t/{east['token']}")
    assert c.get(f"/h/west/api/v1/track/{east['token']}").status_code == 404  # a ticket is its hall's only
    assert c.get(f"/h/east/t/{east['token']}").status_code == 200


def test_calling_in_one_hall_never_changes_the_other(city_app, redis_client):
    c = city_app.test_client()
    for hall in ("east", "west"):
        c.post(f"/h/{hall}/api/v1/tickets", json={"service": "renshe"})
    west_before = hall_keys(redis_client, "west")
    clerk, csrf = signed_in(city_app, "east", "clerk1")
    r = clerk.post("/h/east/api/v1/windows/1/call-next", json={}, headers=csrf)
    assert r.status_code == 200 and r.get_json()["ticket"]["number"] == "A001"
    assert hall_keys(redis_client, "west") == west_before
    west = c.get("/h/west/api/v1/display/state").get_json()
    east = c.get("/h/east/api/v1/display/state").get_json()
    assert [w["window"] for w in east["windows"] if w["ticket"]] == [1]
    assert not [w for w in west["windows"] if w["ticket"]] and west["waiting"]["renshe"] == 1


def test_statistics_are_per_hall(city_app):
    c = city_app.test_client()
    for _ in range(3):
        c.post("/h/east/api/v1/tickets", json={"service": "renshe"})
    c.post("/h/west/api/v1/tickets", json={"service": "renshe"})
    figures = {}
    for hall, user in (("east", "supervisor"), ("west", "westsuper")):
        sup, _ = signed_in(city_app, hall, user, window=None, password=SUPER_PASSWORD)
        r = sup.get(f"/h/{hall}/api/v1/supervisor/report")
        assert r.status_code == 200, r.get_json()
        figures[hall] = r.get_json()["total"]["figures"]["issued"]
    assert figures == {"east": 3, "west": 1}
    halls = city_app.extensions["onewindow_city"].halls
    assert halls[0].stats.archive.path != halls[1].stats.archive.path


def test_several_halls_are_only_under_their_paths(city_app):
    c = city_app.test_client()
    assert c.get("/kiosk").status_code == 404 and c.post("/api/v1/tickets", json={"service": "renshe"}).status_code == 404
    index = c.get("/").get_data(as_text=True)
    assert 'href="/h/east/kiosk"' in index and 'href="/h/west/kiosk"' in index and "测试市" in index
    assert 'href="/city"' in index  # the city supervisors find their page from the list
    page = c.get("/h/west/kiosk").get_data(as_text=True)
    assert '"base": "/h/west"' in page and '"live": "/h/west"' in page
    assert "/h/west/kiosk/static/kiosk.js" in page  # its own mount's assets (the files are shared)
    assert c.get("/h/west/healthz").get_json()["hall"] == "west"
    assert c.get("/h/nowhere/healthz").get_json()["error"]["code"] == "unknown_hall"
    assert c.get("/h/east/").headers["Location"].endswith("/h/east/kiosk")


def test_the_only_hall_is_at_the_root_and_under_its_path(app):
    c = app.test_client()
    assert c.get("/").headers["Location"].endswith("/kiosk")
    a = c.post("/api/v1/tickets", json={"service": "renshe"}).get_json()["ticket"]
    b = c.post("/h/testhall/api/v1/tickets", json={"service": "renshe"}).get_json()["ticket"]
    assert (a["number"], b["number"]) == ("A001", "A002")  # one hall, two addresses
    assert '"base": ""' in c.get("/kiosk").get_data(as_text=True)
    page = c.get("/h/testhall/kiosk").get_data(as_text=True)
    assert '"base": "/h/testhall"' in page and '"live": ""' in page  # the only hall keeps /display and /staff
    r = c.post("/h/testhall/api/v1/login", json={"username": "clerk1", "password": DEMO_PASSWORD, "window": 1})
    assert r.status_code == 200
    assert c.get("/api/v1/me").get_json()["id"] == "clerk1"  # one hall: one session wherever it is reached


# ------------------------------------------------------------------------------------------------ staff and devices
def test_a_clerk_of_one_hall_cannot_sign_in_to_another(city_app, redis_client):
    c = city_app.test_client()
    before = state_fingerprint(redis_client)
    r = c.post("/h/west/api/v1/login", json={"username": "clerk1", "password": DEMO_PASSWORD, "window": 1})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "bad_credentials"
    assert state_fingerprint(redis_client) == before


def test_a_device_token_of_one_hall_is_refused_by_another(city_app, redis_client):
    c = city_app.test_client()
    c.post("/h/east/api/v1/tickets", json={"service": "renshe"})
    c.post("/h/west/api/v1/tickets", json={"service": "renshe"})
    before = state_fingerprint(redis_client)
    for hall, token in (("west", KEYPAD_TOKEN), ("east", WEST_KEYPAD_TOKEN)):
        r = c.post(f"/h/{hall}/api/v1/windows/1/call-next", json={}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code in (401, 403) and r.is_json and r.get_json()["error"]["code"], r.get_data()
    for hall, token in (("west", KIOSK_TOKEN), ("east", WEST_KIOSK_TOKEN)):
        r = c.get(f"/h/{hall}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.get_json()["error"]["code"]
    assert state_fingerprint(redis_client) == before
    r = c.post("/h/west/api/v1/windows/1/call-next", json={}, headers={"Authorization": f"Bearer {WEST_KEYPAD_TOKEN}"})
    assert r.status_code == 200 and r.get_json()["ticket"]["number"] == "A001"


def test_one_browser_keeps_a_session_in_each_hall(city_app):
    browser = city_app.test_client()
    _, east_csrf = signed_in(city_app, "east", "clerk1", client=browser)
    _, west_csrf = signed_in(city_app, "west", "westclerk2", window=2, client=browser)
    assert browser.get("/h/east/api/v1/me").get_json()["id"] == "clerk1"
    assert browser.get("/h/west/api/v1/me").get_json()["id"] == "westclerk2"
    # a hall's session is no session of the other hall: its CSRF token and window do not carry over
    r = browser.post("/h/west/api/v1/windows/2/call-next", json={}, headers=east_csrf)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf_failed"
    r = browser.post("/h/east/api/v1/logout", json={}, headers=east_csrf)
    assert r.status_code == 200
    assert browser.get("/h/east/api/v1/me").status_code == 401
    assert browser.get("/h/west/api/v1/me").get_json()["id"] == "westclerk2"  # signing out of east left west alone


# ------------------------------------------------------------------------------------------------ city supervisors
def test_a_city_supervisor_signs_in_to_the_city_only(city_app, redis_client):
    c = city_app.test_client()
    assert c.get("/city/api/v1/me").status_code == 401
    r = c.post("/city/api/v1/login", json={"username": CITY_SUPERVISOR, "password": CITY_PASSWORD})
    assert r.status_code == 200, r.get_json()
    csrf = r.get_json()["csrf_token"]
    me = c.get("/city/api/v1/me").get_json()
    assert me["role"] == "city_supervisor" and [h["id"] for h in me["halls"]] == ["east", "west"]
    assert me["halls"][0]["base"] == "/h/east" and me["city"]["name"] == "测试市"
    sessions = [k for k in redis_client.scan_iter("*:session:*")]
    assert sessions and all(k.startswith("ow:{city:testcity}:") for k in sessions)
    assert c.get("/h/east/api/v1/me").status_code == 401  # a city sign-in is no hall sign-in
    assert c.post("/city/api/v1/logout", json={}).status_code == 403  # CSRF as for staff
    assert c.post("/city/api/v1/logout", json={}, headers={"X-CSRF-Token": csrf}).get_json()["ended"] is True
    assert c.get("/city/api/v1/me").status_code == 401


def test_hall_staff_are_no_city_supervisors(city_app):
    c = city_app.test_client()
    for username, password in (("supervisor", SUPER_PASSWORD), (CITY_SUPERVISOR, "wrong-password")):
        r = c.post("/city/api/v1/login", json={"username": username, "password": password})
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "bad_credentials"
    r = c.post("/h/east/api/v1/login", json={"username": CITY_SUPERVISOR, "password": CITY_PASSWORD})
    assert r.status_code == 401


def test_the_city_login_is_limited(city_app):
    c = city_app.test_client()
    codes = [c.post("/city/api/v1/login", json={"username": CITY_SUPERVISOR, "password": "nope-nope"}).status_code
             for _ in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429


# ------------------------------------------------------------------------------------------------ served, with screens
@pytest.fixture
def city_server(tmp_path, redis_server, redis_client):
    server = LiveServer(write_city(tmp_path / "served"), redis_server.url).start()
    yield server
    server.stop()


def _screen(url: str, namespace: str, received: list) -> socketio.Client:
    sio = socketio.Client(reconnection=False)
    sio.on("*", lambda event, data: received.append((event, data)), namespace=namespace)
    sio.connect(url, namespaces=[namespace], transports=["websocket"], wait_timeout=10)
    return sio


def test_served_halls_answer_and_their_screens_hear_only_their_hall(city_server):
    base = city_server.url
    assert requests.get(base + "/h/east/healthz", timeout=5).json()["hall"] == "east"
    assert requests.get(base + "/h/west/healthz", timeout=5).json()["hall"] == "west"
    heard = {"east": [], "west": []}
    screens = [_screen(base, f"/h/{hall}/display", heard[hall]) for hall in heard]
    try:
        east = requests.post(base + "/h/east/api/v1/tickets", json={"service": "renshe"}, timeout=5).json()["ticket"]
        wait_for(lambda: any(e == "ticket_issued" for e, _ in heard["east"]), 10, "east's screen to hear its ticket")
        r = requests.post(base + "/h/west/api/v1/tickets", json={"service": "renshe"}, timeout=5)
        west = r.json()["ticket"]
        r = requests.post(base + "/h/west/api/v1/windows/1/call-next", json={}, timeout=5,
                          headers={"Authorization": f"Bearer {WEST_KEYPAD_TOKEN}"})
        assert r.status_code == 200, r.text
        wait_for(lambda: any(e == "ticket_called" for e, _ in heard["west"]), 10, "west's screen to hear its call")
        requests.post(base + "/h/east/api/v1/tickets", json={"service": "renshe"}, timeout=5)
        wait_for(lambda: len([e for e, _ in heard["east"] if e == "ticket_issued"]) == 2, 10, "east's second ticket")
        assert {d["ticket"]["id"] for e, d in heard["east"] if e == "ticket_issued"} >= {east["id"]}
        assert all(e != "ticket_called" for e, _ in heard["east"])  # west's call never reached east's screen
        assert [d["ticket"]["id"] for e, d in heard["west"] if e == "ticket_issued"] == [west["id"]]
        # a reconnecting screen catches up from its own hall's stream: west's events after seq 0 are west's two
        caught = screens[1].call("catch_up", {"after": 0}, namespace="/h/west/display", timeout=10)
        assert [(e["type"], e["ticket"]["id"]) for e in caught["events"]] == [("ticket_issued", west["id"]),
                                                                              ("ticket_called", west["id"])]
        # the one hall namespace of a single-hall server is gone: /display is no hall's here
        with pytest.raises(socketio.exceptions.ConnectionError):
            _screen(base, "/display", [])
    finally:
        for sio in screens:
            sio.disconnect()


def test_a_staff_socket_of_one_hall_refuses_the_other_halls_session(city_server):
    base = city_server.url
    s = requests.Session()
    r = s.post(base + "/h/east/api/v1/login", json={"username": "clerk1", "password": DEMO_PASSWORD, "window": 1},
               timeout=10)
    csrf = r.json()["csrf_token"]
    cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())
    own = socketio.Client(reconnection=False)
    own.connect(base, namespaces=["/h/east/staff"], transports=["websocket"], headers={"Cookie": cookie},
                auth={"csrf": csrf}, wait_timeout=10)
    own.disconnect()
    other = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        other.connect(base, namespaces=["/h/west/staff"], transports=["websocket"], headers={"Cookie": cookie},
                      auth={"csrf": csrf}, wait_timeout=10)


def test_one_hall_commands_name_the_hall_of_a_directory(city_dir, redis_server):
    env = {**os.environ, "ONEWINDOW_REDIS_URL": redis_server.url}
    r = subprocess.run([sys.executable, "-m", "onewindow", "archive", "--config", str(city_dir)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    assert r.returncode == 2 and "--hall (east, west)" in r.stderr
    r = subprocess.run([sys.executable, "-m", "onewindow", "archive", "--config", str(city_dir), "--hall", "west"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert str(city_dir / "var" / "halls" / "west" / "stats.sqlite3") in r.stdout


def test_phone_links_and_codes_carry_the_halls_path(city_dir, redis_client, redis_server, clock):
    from onewindow import create_app
    from phone_support import ADULT, key, phone_hall
    from shared.config import Deployment

    loaded = load_deployment(city_dir)
    app = create_app({"TESTING": True, "DEPLOYMENT": Deployment(loaded.city, [phone_hall(h) for h in loaded.halls]),
                      "REDIS_URL": redis_server.url, "CLOCK": clock, "START_RELAY": False})
    c = app.test_client()
    r = c.post("/h/west/api/v1/bookings", headers=key(), json={"service": "renshe", "start": "2026-11-30T09:30",
                                                                "id_number": ADULT, "phone": "13812345678"})
    assert r.status_code == 201, r.get_json()
    b = r.get_json()["booking"]
    assert b["page"] == f"/h/west/b/{b['code']}" and b["qr_svg"] == f"/h/west/api/v1/bookings/{b['code']}/qr.svg"
    west = app.extensions["onewindow_city"].hall("west").config
    assert b["qr"] == f"{west.public_url}/h/west/b/{b['code']}"  # what the QR says: the booking's page of its hall
    assert c.get(b["page"]).status_code == 200 and c.get(b["qr_svg"]).mimetype == "image/svg+xml"
    assert c.get(f"/h/east/api/v1/bookings/{b['code']}").status_code == 404  # a booking is its hall's only
    r = c.post("/h/east/api/v1/remote-tickets", headers=key(),
               json={"service": "renshe", "id_number": ADULT, "phone": "13812345678"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["tracking_url"] == f"/h/east/t/{r.get_json()['ticket']['token']}"


def test_metrics_count_every_hall_under_its_own_label(city_app):
    """/metrics of a city process: each hall's counts, labelled with the hall (it showed the first hall's only)."""
    c = city_app.test_client()
    for hall, n in (("east", 2), ("west", 1)):
        for _ in range(n):
            assert c.post(f"/h/{hall}/api/v1/tickets", json={"service": "renshe"}).status_code == 201
    text = c.get("/metrics").get_data(as_text=True)
    assert 'onewindow_tickets_issued_total{hall="east",service="renshe"} 2.0' in text
    assert 'onewindow_tickets_issued_total{hall="west",service="renshe"} 1.0' in text
    assert 'onewindow_waiting{hall="west",service="renshe"} 1.0' in text
