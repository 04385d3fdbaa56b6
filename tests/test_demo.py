"""`make demo` (`onewindow serve --demo`): the shipped hall, open round the clock with simulated traffic — within
60 s of the start the hall display has shown calls and the supervisor's figures are non-zero."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from browser_support import BROWSER_MARKS
from faults import wait_for
from serve_support import Served

pytestmark = BROWSER_MARKS
ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = 60


def shipped_hall(tmp_path: Path) -> Path:
    """config.toml as shipped, with its var directory in tmp_path."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    assert 'var_dir = "var"' in text and 'archive_path = "var/stats.sqlite3"' in text
    text = text.replace('var_dir = "var"', f'var_dir = "{tmp_path / "var"}"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_make_demo_is_serve_demo():
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # under make test
    out = subprocess.run(["make", "--no-print-directory", "-n", "demo", "VENV=/v", "PORT=9", "HOST=h",
                          "CONFIG=c.toml"], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "/v/bin/onewindow serve --demo --config c.toml --host h --port 9"


def test_a_living_hall_within_a_minute(tmp_path, new_page):
    started = time.monotonic()
    server = Served(shipped_hall(tmp_path), "--demo")
    try:
        server.wait_for("Ctrl-C stops", timeout=BUDGET_S)
        assert "DEMO" in server.output and "Open now" in server.output  # whatever the hour
        left_ms = lambda: max(1, int((BUDGET_S - (time.monotonic() - started)) * 1000))  # noqa: E731
        page = new_page((1920, 1080))
        page.goto(server.url + "/display?voice=0")
        page.wait_for_function("() => window.owDisplay && owDisplay.shown.length > 0", timeout=left_ms())
        number = page.text_content("#hero .num")
        assert number and number[0] in "ABCDEFG"

        sup = requests.Session()
        r = sup.post(server.url + "/api/v1/login", json={"username": "supervisor", "password": "demo-super"},
                     timeout=10)
        assert r.status_code == 200, r.text
        def day_figures() -> bool:
            report = sup.get(server.url + "/api/v1/supervisor/report?period=day", timeout=10).json()
            f = report["total"]["figures"]
            return bool(f["issued"] and f["handled"] + f["consulted"] and f["ratings"])

        wait_for(day_figures, max(1.0, BUDGET_S - (time.monotonic() - started)), "the demo's first figures")
        overview = sup.get(server.url + "/api/v1/supervisor/overview", timeout=10)
        assert overview.status_code == 200
    finally:
        os.killpg(server.proc.pid, signal.SIGINT)
        server.finish()
    # the demo kept to its own var directory: the hall's own data was not touched
    assert (tmp_path / "var" / "demo" / "redis").is_dir() and not (tmp_path / "var" / "redis").exists()
