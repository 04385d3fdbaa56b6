"""The supervisor page's 转办分析 in headless Chromium: for a date range, the transfer table (by reason, per window,
with 转办率), the summary with the share of tickets transferred, where tickets were sent (from window → to), the
chart and the CSV link; and the English switch. The figures are the hand-counted day of tests/transfer_support.py.

Set ONEWINDOW_SCREENSHOTS=1 to (re)write docs/supervisor-transfers.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from desk_support import serve, sign_in, wait_charts
from playwright.sync_api import expect
from transfer_support import script_transfers

from browser_support import BROWSER_MARKS, page_errors

pytestmark = BROWSER_MARKS

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture
def page(new_page):
    return new_page((1440, 900))


def cell(page, key: str, col: str, section: str = "tbody"):
    attr = "data-reason" if col in ("wrong_service", "other_department", "complaint", "none") else "data-col"
    return page.locator(f'#xfer {section} tr[data-key="{key}"] td[{attr}="{col}"]')


def test_the_transfer_table_routes_and_chart_for_a_range(app, tmp_path, client, clerk_client, clock, page):
    app.config["STATS_ARCHIVE_PATH"] = tmp_path / "stats.sqlite3"
    script_transfers(clock, client, clerk_client)
    with serve(app) as base:
        sign_in(page, base)
        page.click('[data-tab="reports"]')
        page.select_option("#r-by", "window")
        page.fill("#r-from", "2026-11-23")
        page.dispatch_event("#r-from", "change")
        page.fill("#r-to", "2026-11-29")
        page.dispatch_event("#r-to", "change")
        expect(page.locator("#x-range")).to_have_text("2026-11-23 — 2026-11-29")
        expect(page.locator("#x-summary")).to_have_text("转办 5 次，涉及 4 人，占叫号 5 人的 80.0%；接待 10 次，转办率 50.0%。")
        # by window: window 1 sent 2 of its 3 visits on, both 取错号, to 市场综合
        expect(cell(page, "1", "transfers")).to_have_text("2")
        expect(cell(page, "1", "visits")).to_have_text("3")
        expect(cell(page, "1", "rate")).to_have_text("66.7%")
        expect(cell(page, "1", "wrong_service")).to_have_text("2")
        expect(cell(page, "1", "top")).to_have_text("市场综合 2")
        expect(cell(page, "4", "other_department")).to_have_text("1")
        expect(cell(page, "4", "complaint")).to_have_text("1")
        expect(cell(page, "5", "none")).to_have_text("1")
        expect(cell(page, "2", "rate")).to_have_text("—")
        expect(cell(page, "total", "rate", "tfoot")).to_have_text("50.0%")
        expect(page.locator("#xfer thead th[data-reason]")).to_have_text(
            ["取错号", "需其他部门办理", "本窗口无法办理", "反映办不成事", "需领导协调", "其他", "未选原因"])
        routes = page.locator("#xfer-routes tbody tr")
        expect(routes).to_have_count(4)
        expect(routes.first.locator("td")).to_have_text(["1号窗口 · 人社综合窗口", "市场综合", "2", "2", "取错号 2"])
        expect(page.locator('#xfer-routes tr[data-from="4"][data-to="window:5"] td').last).to_have_text("需其他部门办理 1")
        notes = page.locator("#xfer-notes li")
        expect(notes).to_have_count(2)
        expect(notes.last).to_contain_text("A001 4号窗口 · 市场综合窗口 → 5号窗口 · 综合窗口 · 赵磊 · 需其他部门办理")
        expect(notes.last.locator("q")).to_have_text("需公安窗口核验身份")
        assert wait_charts(page, "#chart-transfers")[0] > 0
        href = page.locator("#x-csv").get_attribute("href")
        assert "transfers.csv" in href and "from=2026-11-23" in href and "to=2026-11-29" in href and "by=window" in href
        # grouped by service: the rows are the services the tickets left
        page.select_option("#r-by", "service")
        expect(page.locator('#xfer tbody tr[data-key="shichang"] td[data-col="transfers"]')).to_have_text("3")
        page.select_option("#r-by", "window")
        expect(cell(page, "1", "transfers")).to_have_text("2")
        page.locator("#xfer-card").scroll_into_view_if_needed()
        wait_charts(page, "#chart-transfers")
        page.screenshot(path=str(tmp_path / "supervisor-transfers.png"), full_page=True)
        if os.environ.get("ONEWINDOW_SCREENSHOTS") == "1":
            page.locator("#xfer-card").screenshot(path=str(DOCS / "supervisor-transfers.png"))
        # English
        page.click("#lang")
        expect(page.locator("#x-summary")).to_have_text(
            "5 transfers of 4 tickets: 80.0% of the 5 tickets called; 10 visits, transfer rate 50.0%.")
        expect(page.locator('#xfer thead th[data-reason="wrong_service"]')).to_have_text("Took the wrong ticket")
        expect(routes.first.locator("td").nth(1)).to_have_text("Market Regulation")
        assert "lang=en" in page.locator("#x-csv").get_attribute("href")
        wait_charts(page, "#chart-transfers")
        page.locator("#xfer-card").screenshot(path=str(tmp_path / "supervisor-transfers-en.png"))
        assert page_errors(page, allow=("status of 401",)) == []
