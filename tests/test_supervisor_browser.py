"""The supervisor page in headless Chromium: the day's figures, the charts, follow-ups and the rota editor (an
in-process server with the FixedClock, so the figures are the hand-counted ones), and the live overview following the
hall over Socket.IO (a real `onewindow serve`).

Set ONEWINDOW_SCREENSHOTS=1 to (re)write docs/supervisor-*.png (a demo hall: the shipped config, two months of
generated history and a busy morning).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import sys
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from hall_support import SUPER_PASSWORD
from stats_support import script_weekday
from desk_support import serve, sign_in, wait_charts

from browser_support import BROWSER_MARKS, page_errors as console_errors
from shared.clock import FixedClock
from shared.config import load_config
from shared.errors import ConflictError


pytestmark = BROWSER_MARKS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SHOTS = os.environ.get("ONEWINDOW_SCREENSHOTS") == "1"


@pytest.fixture
def page(new_page):
    return new_page((1440, 900))


def kpi(page, name: str):
    return page.locator(f'#kpis [data-kpi="{name}"] .kpi-value')


def page_errors(page) -> list[str]:
    """Console errors, except the refusals the test provokes: the sign-in probe before logging in (401) and a
    clerk's account trying the supervisor sign-in (400)."""
    return console_errors(page, allow=("status of 401", "status of 400"))


def test_the_days_figures_charts_followups_and_rota(app, tmp_path, client, clerk_client, clock, page):
    app.config["STATS_ARCHIVE_PATH"] = tmp_path / "stats.sqlite3"
    script_weekday(clock, client, clerk_client)
    with serve(app) as base:
        page.goto(base + "/supervisor")
        page.fill("#username", "clerk2")
        page.fill("#password", "demo-clerk")
        page.click("#login-form button[type=submit]")
        expect(page.locator("#login-error")).to_have_text("该账号没有主管权限")
        sign_in(page, base)
        # today's figures, exactly the hand-counted ones (tests/test_stats.py WEEKDAY)
        expect(kpi(page, "issued")).to_have_text("6")
        expect(kpi(page, "handled")).to_have_text("2")
        expect(kpi(page, "consulted")).to_have_text("1")
        expect(kpi(page, "no_show")).to_have_text("1")
        expect(kpi(page, "transfers")).to_have_text("1")
        expect(kpi(page, "cancelled")).to_have_text("1")
        expect(kpi(page, "wait_mean")).to_have_text("21分15秒")  # 1275 s
        expect(kpi(page, "completion")).to_have_text("66.7%")
        expect(kpi(page, "satisfaction")).to_have_text("66.7%")
        expect(page.locator('#kpis [data-kpi="satisfaction"] .kpi-sub')).to_have_text("3 条评价")
        expect(page.locator('#windows [data-window="7"]')).to_have_attribute("data-status", "idle")
        expect(page.locator('#queues tr[data-service="renshe"] td.num').first).to_have_text("1")  # A004 waits
        assert wait_charts(page, "#dash-load")[0] > 0
        expect(page.locator("#cum-sentence")).to_contain_text("申请事项办结率66.7%")

        # reports: the table and the three charts
        page.click('[data-tab="reports"]')
        page.select_option("#r-by", "service")
        row = page.locator('#report tbody tr[data-key="bubancheng"] td')
        expect(row.nth(1)).to_have_text("1")  # handled
        expect(row.nth(2)).to_have_text("1")  # consulted
        expect(page.locator("#report tfoot tr.total td").first).to_have_text("6")
        assert all(w > 0 for w in wait_charts(page, "#tab-reports .chart"))
        href = page.locator("#r-csv").get_attribute("href")
        assert "report.csv" in href and "by=service" in href

        # follow-ups: the 不满意 rating and the open case; resolve the case from the page
        page.click('[data-tab="followups"]')
        rows = page.locator("#followups tbody tr")
        expect(rows).to_have_count(2)
        case_row = page.locator('#followups tbody tr[data-ref="C000001"]')
        case_row.locator("input").fill("已协调市场监管局，次日办结")
        case_row.locator("button").click()
        expect(rows).to_have_count(1)
        expect(page.locator("#followup-count")).to_have_text("1")

        # the rota editor: Saturday with 人社 only at window 1
        page.click('[data-tab="schedule"]')
        page.click('#calendar [data-edit="2026-11-28"]')
        for box in page.locator("#e-services input").all():
            box.set_checked(box.get_attribute("value") == "renshe")
        for box in page.locator("#e-windows input").all():
            box.set_checked(box.get_attribute("value") == "1")
        page.fill("#e-note", "周末轮岗")
        page.click("#editor button[type=submit]")
        expect(page.locator('#calendar tr[data-day="2026-11-28"]')).to_contain_text("周末轮岗")
        expect(page.locator('#calendar tr[data-day="2026-11-28"] .chip')).to_have_count(1)
        plan = app.extensions["onewindow"].engine.rota.overrides()[date(2026, 11, 28)]
        assert (plan.kind, plan.services, plan.windows, plan.by) == ("rota", ("renshe",), (1,), "supervisor")

        # English
        page.click("#lang")
        page.click('[data-tab="dashboard"]')
        expect(page.locator('#kpis [data-kpi="satisfaction"] .kpi-sub')).to_have_text("3 ratings")
        expect(page.locator('[data-tab="reports"]')).to_have_text("Reports")
        assert page_errors(page) == []


def test_live_overview_follows_the_hall(live_server, redis_client, page):
    """A ticket issued at the kiosk shows up in the supervisor's queue table without a reload (Socket.IO)."""
    page.goto(live_server.url + "/supervisor")
    expect(page.locator("#login")).to_be_visible()
    page.fill("#username", "supervisor")
    page.fill("#password", SUPER_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#conn")).to_have_attribute("data-state", "on")
    cell = page.locator('#queues tr[data-service="shichang"] td.num').first
    expect(cell).to_have_text("0")
    req = urllib.request.Request(live_server.url + "/api/v1/tickets", data=json.dumps({"service": "shichang"}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 201
    expect(cell).to_have_text("1", timeout=20_000)
    expect(kpi(page, "issued")).to_have_text("1", timeout=20_000)


# ------------------------------------------------------------------------------------------------ the docs' demo hall
def busy_morning(engine, clock) -> None:
    """Friday 2026-11-27, 08:30–10:40 in the shipped hall: ~130 citizens, most served, some still waiting."""
    from shared import ratings
    from shared.cases import record_case

    rng = random.Random(27)
    config = engine.config
    tz = config.timezone
    weights = {"renshe": 30, "shichang": 22, "gongan": 20, "sifa": 6, "sheqi": 12, "bubancheng": 5, "lingdao": 3}
    start = datetime(2026, 11, 27, 8, 30, tzinfo=tz)
    arrivals = sorted(start + timedelta(seconds=rng.uniform(0, 130 * 60)) for _ in range(130))
    busy_until = {n: start for n in config.windows}
    issued = []
    for when in arrivals:
        clock.set(when)
        code = rng.choices(list(weights), list(weights.values()))[0]
        if code == "lingdao" and when.hour < 9:
            code = "renshe"
        issued.append(engine.issue(code).ticket)
        if rng.random() < 0.03 and len(issued) > 3:  # someone gives up and cancels
            with contextlib.suppress(ConflictError):
                engine.cancel(issued[-3]["id"])
        for n in sorted(config.windows):
            if n == 6 or busy_until[n] > when:
                continue
            try:
                t = engine.call_next(n, f"clerk{n}")
            except ConflictError:  # nobody waiting for this window
                continue
            svc = config.services[t["service"]]
            took = timedelta(minutes=max(2.0, rng.gauss(svc.avg_service_minutes * 1.1, 3)))
            clock.set(when + took)
            r = rng.random()
            if r < 0.06:
                engine.no_show(n, f"clerk{n}")
            elif r < 0.10 and n != 8:
                engine.transfer(n, service="bubancheng", clerk=f"clerk{n}")
            else:
                if n == 8 and rng.random() < 0.5:
                    record_case(engine, n, f"clerk{n}", department=rng.choice(["区市场监管局", "区人社局", "公安分局"]),
                                problem=rng.choice(["材料不齐需部门协调", "系统无法受理", "跨区事项需协调"]),
                                action="已联系承办部门", resolved=rng.random() < 0.6)
                engine.finish(n, "handled" if rng.random() < 0.6 else "consulted", f"clerk{n}")
                if rng.random() < 0.7:
                    ratings.rate(engine, n, t["id"], rng.choice((5,) * 16 + (4,) * 3 + (3, 2)))
            busy_until[n] = when + took
            clock.set(when)
    clock.set(datetime(2026, 11, 27, 10, 31, tzinfo=tz))
    for n in (1, 2, 3, 4, 5, 7, 8):  # serving now (when their queue has someone)
        with contextlib.suppress(ConflictError):
            engine.call_next(n, f"clerk{n}")
    clock.set(datetime(2026, 11, 27, 10, 40, tzinfo=tz))
    engine.pause(6, "午间休息", "clerk6")


def test_demo_hall_pages(redis_server, redis_client, tmp_path, page):
    """The demo hall (history, a busy morning, alerts, a rota) renders every tab without a console error; with
    ONEWINDOW_SCREENSHOTS=1 the screenshots go to docs/ (else to a temporary folder)."""
    sys.path.insert(0, str(ROOT))
    from bench.bench_stats import generate
    from onewindow import create_app
    from shared.stats import Archive

    shipped = load_config(ROOT / "config.toml")
    config = dataclasses.replace(shipped, var_dir=tmp_path / "var")
    clock = FixedClock(config.timezone, datetime(2026, 11, 27, 8, 0, tzinfo=config.timezone))
    archive_path = tmp_path / "stats.sqlite3"
    generate(config, Archive(archive_path), date(2026, 9, 1), 87, 420, seed=11)  # Sep 1 … Nov 26
    app = create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                      "START_RELAY": False, "STATS_ARCHIVE_PATH": archive_path})
    engine = app.extensions["onewindow"].engine
    clients = []
    for n in range(1, 10):
        c = app.test_client()
        r = c.post("/api/v1/login", json={"username": f"clerk{n}", "password": "demo-clerk", "window": n})
        assert r.status_code == 200, r.get_json()
        clients.append(c)
    busy_morning(engine, clock)
    clock.set(datetime(2026, 11, 27, 10, 40, tzinfo=config.timezone))
    engine.record_event("printer_faulted", {"kiosk": "lobby-2", "kind": "paper_out", "message": "缺纸"},
                        hash_key=engine.keys.meta("printers"), field="lobby-2",
                        value=json.dumps({"fault": "paper_out", "last_fault": {"message": "纸卷用完，请更换"}}, ensure_ascii=False))
    sup = app.test_client()
    csrf = sup.post("/api/v1/login", json={"username": "supervisor", "password": SUPER_PASSWORD}).get_json()["csrf_token"]
    for day, body in (("2026-11-28", {"kind": "rota", "services": ["renshe", "shichang", "sheqi", "bubancheng"],
                                      "windows": [2, 4, 7, 8], "note": "周末轮岗：第一组"}),
                      ("2026-12-05", {"kind": "rota", "services": ["renshe", "sheqi", "bubancheng"],
                                      "windows": [1, 7, 8], "note": "周末轮岗：第二组"})):
        assert sup.put(f"/api/v1/supervisor/schedule/{day}", json=body, headers={"X-CSRF-Token": csrf}).status_code == 200

    shots = DOCS if SHOTS else tmp_path
    with serve(app) as base:
        page.set_viewport_size({"width": 1440, "height": 900})
        sign_in(page, base)
        expect(kpi(page, "issued")).not_to_have_text("0")
        wait_charts(page, "#dash-load")
        page.screenshot(path=str(shots / "supervisor-dashboard.png"), full_page=True)
        page.click('[data-tab="reports"]')
        page.click('#periods [data-period="month"]')
        page.select_option("#r-by", "service")
        expect(page.locator('#report tbody tr[data-key="renshe"]')).to_be_visible()
        assert all(w > 0 for w in wait_charts(page, "#tab-reports .chart"))
        page.screenshot(path=str(shots / "supervisor-reports.png"), full_page=True)
        page.click('[data-tab="followups"]')
        expect(page.locator("#followups tbody tr").first).to_be_visible()
        page.screenshot(path=str(shots / "supervisor-followups.png"))
        page.click('[data-tab="schedule"]')
        page.click('#calendar [data-edit="2026-11-28"]')
        expect(page.locator("#editor")).to_be_visible()
        page.screenshot(path=str(shots / "supervisor-schedule.png"), full_page=True)
        page.click("#lang")
        page.click('[data-tab="dashboard"]')
        wait_charts(page, "#dash-load")
        page.screenshot(path=str(shots / "supervisor-dashboard-en.png"), full_page=True)
        assert page_errors(page) == []
