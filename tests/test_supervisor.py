"""The supervisor's live overview (windows, queues, alerts), the page itself, archiving on demand from the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from hall_support import SUPER_PASSWORD
from stats_support import at, issue, ok, supervisor

from shared import events

ROOT = Path(__file__).resolve().parent.parent


def overview(sup) -> dict:
    return ok(sup.get("/api/v1/supervisor/overview"))


def test_overview_windows_queues_and_wait_alert(app, client, clerk_client, clock, engine):
    sup = supervisor(app)
    at(clock, "2026-11-27", "09:00")
    issue(client, "renshe"), issue(client, "renshe"), issue(client, "shichang")
    w1, w2, w3 = clerk_client(1), clerk_client(2), clerk_client(3)
    at(clock, "2026-11-27", "09:10")
    ok(w1.post("/api/v1/windows/1/call-next"))
    ok(w2.post("/api/v1/windows/2/pause", json={"reason": "午间休息"}))
    o = overview(sup)
    by_no = {w["number"]: w for w in o["windows"]}
    assert by_no[1]["status"] == "serving" and by_no[1]["current"]["number"] == "A001"
    assert by_no[1]["clerk"] == "clerk1" and by_no[1]["clerk_name"] == "王芳" and by_no[1]["current"]["serving_s"] == 0
    assert by_no[2]["status"] == "paused" and by_no[2]["pause_reason"] == "午间休息"
    assert by_no[3]["status"] == "idle" and by_no[3]["clerk"] == "clerk3"
    assert by_no[4]["status"] == "closed" and by_no[4]["clerk"] is None  # nobody signed in
    services = {s["code"]: s for s in o["services"]}
    assert (services["renshe"]["waiting"], services["renshe"]["longest_wait_s"]) == (1, 600)
    assert (services["shichang"]["waiting"], services["shichang"]["longest_wait_s"]) == (1, 600)
    assert services["renshe"]["windows_open"] == [1, 2, 3]
    assert o["alerts"] == []

    at(clock, "2026-11-27", "09:30")  # A002 and B001 have now waited 30 minutes: the threshold
    o = overview(sup)
    alerts = [a for a in o["alerts"] if a["kind"] == "wait"]
    assert {a["service"] for a in alerts} == {"renshe", "shichang"}
    assert alerts[0]["longest_wait_s"] == 1800 and alerts[0]["threshold_s"] == 30 * 60
    assert {w["number"]: w["current"]["serving_s"] for w in o["windows"] if w["current"]} == {1: 1200}

    # a transfer to a window waits there, counted in its service, from the moment of the transfer
    ok(w1.post("/api/v1/windows/1/transfer", json={"window": 5, "reason": "other"}))
    services = {s["code"]: s for s in overview(sup)["services"]}
    assert services["renshe"]["waiting"] == 2 and services["renshe"]["longest_wait_s"] == 1800

    w3.post("/api/v1/logout")  # signed out: the window is closed
    assert {w["number"]: w["status"] for w in overview(sup)["windows"]}[3] == "closed"


def test_overview_printer_fault_alert(app, engine):
    """The overview reads the printers' records the way the kiosk writes them (shared/printer_health.py)."""
    from shared.printer_health import PrinterHealth

    sup = supervisor(app)
    printers = PrinterHealth(engine)
    faulted = {"kiosk": "lobby-1", "kind": "paper_out", "message": "缺纸"}
    printers.record("lobby-1", {"fault": "paper_out", "backend": "network",
                                "last_fault": {"kind": "paper_out", "message": "缺纸", "at": "x"}}, faulted)
    alerts = overview(sup)["alerts"]
    assert alerts == [{"kind": "printer", "kiosk": "lobby-1", "fault": "paper_out", "message": "缺纸", "since": "x"}]
    printers.record("lobby-1", {"fault": None, "backend": "network"})
    assert overview(sup)["alerts"] == []
    assert [e.type for e in engine.events_since()] == [events.PRINTER_FAULTED, events.PRINTER_RECOVERED]


def test_overview_shows_the_days_rota(app, clock, engine):
    sup = supervisor(app)
    ok(sup.put("/api/v1/supervisor/schedule/2026-11-28", json={"kind": "rota", "services": ["renshe"], "windows": [1]}))
    at(clock, "2026-11-28", "10:00")
    o = overview(sup)
    assert o["day_kind"] == "weekend" and o["rest_day"] is True
    assert {w["number"]: w["on_rota"] for w in o["windows"]} == {1: True, **{n: False for n in range(2, 8)}}
    assert {s["code"]: s["open_today"] for s in o["services"]} == {
        "renshe": True, "shichang": False, "bubancheng": False, "lingdao": False}


def test_overview_needs_a_supervisor(app, client, clerk_client):
    assert client.get("/api/v1/supervisor/overview").status_code == 401
    assert clerk_client(1).get("/api/v1/supervisor/overview").status_code == 403
    r = client.post("/api/v1/login", json={"username": "clerk1", "password": "demo-clerk"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "missing_field"  # a clerk needs a window


def test_supervisor_page_is_served_with_its_assets(client):
    r = client.get("/supervisor")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "值班主任工作台" in html and "/supervisor/static/supervisor.js" in html and "https://" not in html
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    for asset in ("/supervisor/static/supervisor.js", "/supervisor/static/supervisor.css"):
        assert client.get(asset).status_code == 200


def test_onewindow_archive_command(tmp_path, redis_server, redis_client, hall_config):
    """`onewindow archive` archives yesterday's events from the configured Redis into the configured file."""
    from shared.clock import FixedClock
    from shared.engine import Engine

    text = (ROOT / "tests" / "data" / "hall.toml").read_text(encoding="utf-8")
    text = text.replace('var_dir = "../../var/test"', f'var_dir = "{tmp_path / "var"}"')
    text += '\n[statistics]\narchive_path = "history/stats.sqlite3"\nstart_date = 2026-01-01\nkeep_days = 0\n'
    config_path = tmp_path / "hall.toml"
    config_path.write_text(text, encoding="utf-8")
    from shared.config import load_config

    config = load_config(config_path)
    assert config.archive_path == tmp_path / "history" / "stats.sqlite3"
    assert config.statistics.start_date.isoformat() == "2026-01-01"
    from datetime import datetime

    yesterday = datetime.now(config.timezone) - timedelta(days=1)
    engine = Engine(redis_client, config, FixedClock(config.timezone, yesterday))
    engine.issue("renshe")
    engine.call_next(1, "clerk1")
    engine.finish(1, "handled", "clerk1")
    env = {**os.environ, "ONEWINDOW_REDIS_URL": redis_server.url, "ONEWINDOW_LOG": "WARNING"}
    run = subprocess.run([sys.executable, "-m", "onewindow", "archive", "--config", str(config_path)],
                         capture_output=True, text=True, env=env, timeout=60, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stderr
    assert f"archived 1 day(s): {yesterday.date().isoformat()}" in run.stdout
    assert "trimmed 2 event(s)" in run.stdout  # keep_days 0: all but the newest archived entry
    from shared.stats import Archive

    days = Archive(config.archive_path).days()
    assert days[yesterday.date().isoformat()]["tickets"] == 1
    again = subprocess.run([sys.executable, "-m", "onewindow", "archive", "--config", str(config_path)],
                           capture_output=True, text=True, env=env, timeout=60, cwd=ROOT, check=False)
    assert again.returncode == 0 and "archived 0 day(s)" in again.stdout


def test_statistics_config_is_validated(tmp_path):
    from shared.config import load_config
    from shared.errors import ConfigError

    base = (ROOT / "tests" / "data" / "hall.toml").read_text(encoding="utf-8")
    for extra, key in [('start_date = "yesterday"', "statistics.start_date"), ("keep_days = -1", "statistics.keep_days"),
                       ("alert_wait_minutes = 0", "statistics.alert_wait_minutes"), ("colour = 1", "statistics.colour"),
                       ('archive_path = " "', "statistics.archive_path")]:
        path = tmp_path / "bad.toml"
        path.write_text(base + f"\n[statistics]\n{extra}\n", encoding="utf-8")
        try:
            load_config(path)
        except ConfigError as exc:
            assert exc.key == key, (extra, exc)
        else:
            raise AssertionError(f"{extra} was accepted")
    cfg = load_config(ROOT / "tests" / "data" / "hall.toml")
    assert cfg.archive_path == cfg.var_dir / "stats.sqlite3" and cfg.statistics.alert_wait_minutes == 30
    assert SUPER_PASSWORD  # the demo supervisor exists in the test hall
