"""`onewindow serve` on a config directory (a city: ``city.toml`` and one file per hall), run as an operator runs it:
the city supervisors' shipped demo password stops it on an address that is not loopback; the same directory with
the password changed starts; ``--demo`` brings every hall to life as it does one hall.

The address served is ``127.1``: the short form of 127.0.0.1. ``serve`` cannot prove it is loopback (it is no
loopback *address* it recognises: a name or short form may be anything), so the rules for a hall's network apply,
while the socket the test opens still listens on 127.0.0.1 only."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import time
from pathlib import Path

import requests
from werkzeug.security import generate_password_hash

from city_support import SUPER_HASH, write_city
from faults import wait_for
from serve_support import Served
from shared.demo_credentials import DEMO_PASSWORD_HASHES, is_loopback

NOT_PROVABLY_LOOPBACK = "127.1"
DEMO_BUDGET_S = 60  # as for one hall (tests/test_demo.py): a living city within a minute


def own_credentials(text: str, password: str = "the-hall's-own-password") -> str:
    """A hall file with every shipped demo password hash and every device token replaced by the hall's own."""
    own = generate_password_hash(password)
    for shipped in DEMO_PASSWORD_HASHES:
        text = text.replace(shipped, own)
    return re.sub(r'token_sha256 = "([0-9a-f]{64})"',
                  lambda m: f'token_sha256 = "{hashlib.sha256(m.group(1).encode() + b"own").hexdigest()}"', text)


def stop(served: Served) -> int:
    """Ctrl-C (if it still runs), then its exit status."""
    if served.proc.poll() is None:
        os.killpg(served.proc.pid, signal.SIGINT)
    return served.finish()


def city_with_own_hall_credentials(directory: Path) -> Path:
    """The test city (east, west) whose halls have their own credentials; city.toml's supervisor keeps the shipped
    demo password (``city`` / ``demo-super``)."""
    write_city(directory)
    for hall in ("east", "west"):
        path = directory / f"{hall}.toml"
        path.write_text(own_credentials(path.read_text(encoding="utf-8")), encoding="utf-8")
    assert SUPER_HASH in (directory / "city.toml").read_text(encoding="utf-8")
    return directory


def test_a_city_supervisor_with_the_demo_password_stops_serve_until_it_is_changed(tmp_path):
    assert not is_loopback(NOT_PROVABLY_LOOPBACK)
    city = city_with_own_hall_credentials(tmp_path / "city")

    refused = Served(city, "--host", NOT_PROVABLY_LOOPBACK)
    wait_for(lambda: refused.proc.poll() is not None or "Ctrl-C stops" in refused.output, 60, "serve to exit or start")
    code = stop(refused)  # (had it started, it is stopped now, and fails on what it said)
    assert code == 2, refused.output
    assert (f"refusing to serve {NOT_PROVABLY_LOOPBACK}: city supervisor(s) city in city.toml have the shipped DEMO "
            "password (`onewindow hash-password`)") in refused.output
    assert "Ctrl-C stops" not in refused.output and not (city / "var" / "redis").exists()  # nothing was started

    (city / "city.toml").write_text((city / "city.toml").read_text(encoding="utf-8").replace(
        SUPER_HASH, generate_password_hash("the-city's-own-password")), encoding="utf-8")
    served = Served(city, "--host", NOT_PROVABLY_LOOPBACK)
    try:
        served.wait_for("Ctrl-C stops")
        assert "DEMO" not in served.output
        for hall in ("east", "west"):
            assert requests.get(f"{served.url}/h/{hall}/healthz", timeout=10).json()["hall"] == hall
        r = requests.post(f"{served.url}/city/api/v1/login", json={"username": "city",
                                                                    "password": "the-city's-own-password"}, timeout=10)
        assert r.status_code == 200, r.text
    finally:
        stopped = stop(served)
    assert stopped == 0, served.output


# ------------------------------------------------------------------------------------------------ --demo on a city
def test_demo_of_a_city_gives_every_hall_its_own_demo_files(tmp_path):
    """Every hall open all day in ``<var_dir>/demo``, each with its own archive, previews and real-name key there;
    one hall's file that names its own key keeps it (as ``--demo`` of one hall does)."""
    from dataclasses import replace

    from shared.config import load_deployment
    from shared.demo_hall import ALL_DAY, demo_deployment

    city = write_city(tmp_path / "city")
    real = load_deployment(city)
    demo = demo_deployment(real)
    var = real.process.var_dir
    assert demo.city == real.city and [h.hall_id for h in demo.halls] == ["east", "west"]
    assert demo.process.var_dir == var / "demo" and demo.process.redis_url == ""
    for hall in demo.halls:
        own = var / "demo" / "halls" / hall.hall_id
        assert hall.var_dir == var / "demo"
        assert hall.archive_path == own / "stats.sqlite3"
        assert hall.realname.secret_file == own / "realname.key"
        assert hall.printer == {"backend": "preview", "preview_dir": str(own / "tickets")}
        assert all(s.hours[d] == ALL_DAY for s in hall.services.values() for d in range(7))
        assert hall.notice.startswith("演示模式")
    named = replace(real, halls=[replace(real.halls[0], realname=replace(real.halls[0].realname,
                                                                          secret_file=tmp_path / "city-wide.key")),
                                 real.halls[1]])
    assert demo_deployment(named).halls[0].realname.secret_file == tmp_path / "city-wide.key"


def test_serve_demo_on_a_directory_brings_every_hall_to_life(tmp_path):
    """`onewindow serve --demo --config <directory>`: every hall open all day with its own simulated traffic and
    the config's demo accounts (each hall's staff, the city supervisor), all of it in <var_dir>/demo."""
    city = write_city(tmp_path / "city")
    started = time.monotonic()
    served = Served(city, "--demo")
    try:
        served.wait_for("Ctrl-C stops", timeout=DEMO_BUDGET_S)
        text = served.output
        assert "DEMO" in text and "/h/east/kiosk" in text and "/h/west/kiosk" in text, text
        assert "clerk1 … clerk7 / demo-clerk" in text and "westclerk1 … westclerk7 / demo-clerk" in text, text
        assert "westsuper / demo-super" in text and "demo login city / demo-super" in text, text
        supervisors = {}
        for hall, username in (("east", "supervisor"), ("west", "westsuper")):
            services = requests.get(f"{served.url}/h/{hall}/api/v1/services", timeout=10).json()["services"]
            assert services and all(s["open"] for s in services), (hall, services)  # whatever the hour
            s = requests.Session()
            r = s.post(f"{served.url}/h/{hall}/api/v1/login", json={"username": username, "password": "demo-super"},
                       timeout=10)
            assert r.status_code == 200, r.text
            supervisors[hall] = s

        def every_hall_busy() -> bool:
            for hall, s in supervisors.items():
                f = s.get(f"{served.url}/h/{hall}/api/v1/supervisor/report?period=day", timeout=10).json()
                f = f["total"]["figures"]
                if not (f["issued"] and f["handled"] + f["consulted"]):
                    return False
            return True

        wait_for(every_hall_busy, max(1.0, DEMO_BUDGET_S - (time.monotonic() - started)),
                 "tickets issued and finished in every hall")
        r = requests.post(f"{served.url}/city/api/v1/login", json={"username": "city", "password": "demo-super"},
                          timeout=10)
        assert r.status_code == 200, r.text
    finally:
        stopped = stop(served)
    assert stopped == 0, served.output
    var = city / "var"
    assert (var / "demo" / "redis").is_dir() and not (var / "redis").exists()  # the halls' own data: untouched
    assert not (var / "halls").exists()
