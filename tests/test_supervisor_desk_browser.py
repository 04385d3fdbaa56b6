"""The supervisor desk in headless Chromium: the no-window alert and the citizens' estimate in the queue table,
帮办代办, the 差评 rectification records (overdue alert, contact revealed on request, a step completed, a call-back
logged, an appeal ruled), the upstream reports (a failed one resent) and the 好差评 figures with their chart.
Screenshots: docs/supervisor-no-window.png, docs/supervisor-haocaiping.png, docs/supervisor-haocaiping-report.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser_support import BROWSER_MARKS, screenshot_dir, layout_problems, page_errors
from haocaiping_support import serve as serve_visit, with_upstream
from desk_support import HALL_FIELDS, guide_app, serve, sign_in, wait_charts  # noqa: F401  (guide_app: a fixture)
from stats_support import at

from shared import ratings
from shared.haocaiping import rating_outbox
from shared.rectification import file_appeal, list_records
from shared.window_holds import WindowHolds

pytestmark = BROWSER_MARKS



@pytest.fixture
def desk_app(redis_client, redis_server, hall_config, clock, tmp_path):
    from onewindow import create_app

    config = with_upstream(hall_config, **{**HALL_FIELDS, "enabled": True, "url": "http://127.0.0.1:9/none"})
    return create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                       "START_RELAY": False, "STATS_ARCHIVE_PATH": tmp_path / "stats.sqlite3"})


def quiet(page) -> None:
    """No passing toast in a screenshot."""
    page.locator("#toast").evaluate("e => { e.hidden = true; }")


def overflowing(page, selectors: str) -> list[str]:
    """Elements whose content overflows their box (the desk scrolls as a page, so only overflow counts)."""
    return [p for p in layout_problems(page, selectors) if p.startswith("overflows")]


def arrange(app, clock) -> dict:
    """Two 差评 a week ago (one appealed by its clerk), a good rating whose report failed upstream; today a clerk at
    window 1 only and a citizen waiting for 市场综合, which no staffed window serves."""
    engine = app.extensions["onewindow"].engine
    at(clock, "2026-11-20", "09:00")
    first = serve_visit(engine, 1)
    ratings.rate(engine, 1, first["id"], 1, text="态度生硬", contact_phone="13812345678")
    second = serve_visit(engine, 2, "shichang")
    ratings.rate(engine, 2, second["id"], 2)
    good = serve_visit(engine, 3)
    ratings.rate(engine, 3, good["id"], 5)
    records = {r["ticket"]["id"]: r for r in list_records(engine)}
    appealed = records[second["id"]]["id"]
    file_appeal(engine, appealed, clerk="clerk2", grounds="mistaken", reason="群众误点评价键")
    box = rating_outbox(engine)
    failed = box.get(f"{good['id']}-1")
    box.fail(failed, "HTTP 503: upstream maintenance", permanent=True, max_attempts=5, delay_ms=0, now_ms=clock.now_ms())
    at(clock, "2026-11-27", "10:00")
    WindowHolds(engine, 3600).hold(1, "clerk1", "王芳")
    waiting = engine.issue("shichang").ticket
    engine.issue("renshe")
    return {"called_back": records[first["id"]]["id"], "appealed": appealed, "failed": failed.id,
            "waiting": waiting["number"]}


def test_the_desk(desk_app, clock, new_page, tmp_path):
    facts = arrange(desk_app, clock)
    page = new_page((1440, 900))
    with serve(desk_app) as base:
        sign_in(page, base)
        # at once: people wait for 市场综合 and no staffed, unpaused window serves it
        alert = page.locator('#alerts [data-alert="no_window"]')
        expect(alert).to_contain_text("市场综合：1 人在等候，但没有在岗的窗口办理")
        est = page.locator('#queues tr[data-service="shichang"] td.est')
        expect(est).to_have_text("暂无窗口办理")
        expect(page.locator('#queues tr[data-service="shichang"]')).to_have_class("no-window")
        expect(page.locator('#queues tr[data-service="renshe"] td.est')).to_have_text("约 6 分钟")  # 1 ahead, window 1
        expect(page.locator('#alerts [data-alert="overdue"]')).to_contain_text("2 件差评整改已超期")
        expect(page.locator("#hcp-count")).to_have_text("2")

        # 帮办代办 by number
        page.fill("#assist-number", facts["waiting"].lower())
        page.fill("#assist-note", "老人，导办代填表")
        page.click("#assist-form button[type=submit]")
        expect(page.locator("#assist-result")).to_have_text(f"{facts['waiting']} 已标记为帮办代办")
        wait_charts(page, "#dash-load")
        page.screenshot(path=str(screenshot_dir(tmp_path) / "supervisor-no-window.png"), full_page=True)
        page.fill("#assist-number", "Z999")
        page.click("#assist-form button[type=submit]")
        expect(page.locator("#assist-result")).to_have_text("没有使用该字母的业务")
        assert overflowing(page, "#alerts .alert, #queues td, #assist-form") == []

        # the overdue alert opens the rectification list, overdue only
        page.click('#alerts [data-alert="overdue"]')
        rects = page.locator("#rects .rect")
        expect(rects).to_have_count(2)
        first = page.locator(f'#rects .rect[data-id="{facts["called_back"]}"]')
        expect(first).to_have_attribute("data-overdue", "true")
        expect(first.locator('.step[data-step="verify"]')).to_have_attribute("data-overdue", "true")
        expect(first.locator(".contact")).to_have_text("☎ 138****5678")  # masked until asked
        first.locator("[data-reveal]").click()
        expect(first.locator(".contact")).to_have_text("☎ 13812345678")
        # complete the verify step, log a call-back
        first.locator("form.step-form input").fill("已调取录像核实")
        first.locator("form.step-form button").click()
        expect(rects).to_have_count(1)  # verify done (late); rectify is due today: no longer overdue
        expect(page.locator("#hcp-count")).to_have_text("1")
        page.click('#rect-state [data-state="all"]')
        first = page.locator(f'#rects .rect[data-id="{facts["called_back"]}"]')
        expect(first.locator('.step[data-step="verify"]')).to_have_attribute("data-done", "true")
        expect(first.locator('.step[data-step="verify"]')).to_contain_text("supervisor 11/27 10:00 完成（超期）")
        first.locator("form.callback select").select_option("satisfied")
        first.locator("form.callback input").fill("已电话致歉，群众表示理解")
        first.locator("form.callback button").click()
        expect(first).to_contain_text("回访满意（已电话致歉，群众表示理解）")
        # the appeal: rejected with a note
        appealed = page.locator(f'#rects .rect[data-id="{facts["appealed"]}"]')
        expect(appealed.locator(".appeal")).to_contain_text("clerk2 申诉（误评）：群众误点评价键")
        appealed.locator("form.rule input").fill("录像显示服务确有不足")
        appealed.locator('form.rule button[data-upheld="false"]').click()
        expect(appealed.locator(".appeal")).to_contain_text("复核：申诉不成立：录像显示服务确有不足")
        expect(appealed.locator("form.step-form")).to_be_visible()  # the workflow goes on

        # upstream reports: the failed one, its attempts and last error, resent
        page.click('#outbox-state [data-state="failed"]')
        row = page.locator(f'#outbox tbody tr[data-id="{facts["failed"]}"]')
        expect(row).to_contain_text("HTTP 503: upstream maintenance")
        expect(page.locator("#ob-n-failed")).to_have_text("1")
        page.click('#rect-state [data-state="open"]')
        quiet(page)
        page.screenshot(path=str(screenshot_dir(tmp_path) / "supervisor-haocaiping.png"), full_page=True)
        assert overflowing(page, "#rects .rect-head, #rects .step, #outbox td") == []
        row.locator("[data-resend]").click()
        expect(page.locator("#ob-n-failed")).to_have_text("0")
        expect(page.locator("#ob-n-pending")).to_have_text("3")

        # the figures: 好差评 per window, and the chart
        page.click('[data-tab="reports"]')
        page.click('#periods [data-period="month"]')
        page.select_option("#r-by", "window")
        total = page.locator("#report-hcp tfoot tr.total")
        expect(total.locator('[data-col="bad_ratings"]')).to_have_text("2")
        expect(total.locator('[data-col="rectifications"]')).to_have_text("2")
        expect(total.locator('[data-col="satisfaction_rate"]')).to_have_text("33.3%")
        expect(total.locator('[data-col="callback_rate"]')).not_to_have_text("—")
        expect(page.locator("#chart-haocaiping")).to_have_attribute("data-src", re.compile("by=window"))
        assert all(w > 0 for w in wait_charts(page, "#tab-reports .chart"))
        quiet(page)
        page.locator("#tab-reports .card").nth(2).screenshot(path=str(screenshot_dir(tmp_path) / "supervisor-haocaiping-report.png"))
        page.locator("#chart-haocaiping").screenshot(path=str(screenshot_dir(tmp_path) / "supervisor-haocaiping-chart.png"))
        # only the refusals the test provokes: the sign-in probe (401) and the unknown letter Z (422)
        assert page_errors(page, allow=("status of 401", "status of 422")) == []


def test_a_guide_sees_only_the_assist_form(guide_app, new_page, tmp_path):
    from hall_support import DEMO_PASSWORD

    guide_app.extensions["onewindow"].engine.issue("renshe")
    page = new_page((1024, 768))
    with serve(guide_app) as base:
        page.goto(base + "/supervisor")
        page.fill("#username", "guide1")
        page.fill("#password", DEMO_PASSWORD)
        page.click("#login-form button[type=submit]")
        expect(page.locator("#assist-form")).to_be_visible()
        expect(page.locator(".tabs")).to_be_hidden()
        expect(page.locator("#kpis")).to_be_hidden()
        expect(page.locator("#who")).to_have_text("导办小李")
        page.fill("#assist-number", "A001")
        page.click("#assist-form button[type=submit]")
        expect(page.locator("#assist-result")).to_have_text("A001 已标记为帮办代办")
        page.screenshot(path=str(screenshot_dir(tmp_path) / "guide-assist.png"))
        assert page_errors(page, allow=("status of 401",)) == []
