"""The city page's 转办分析 in headless Chromium (the desks' one transfer card, shared/static/js/transfers.js): the
halls' transfers summed for a range, windows per hall, the routes, the clerks' notes, the chart and the CSV link."""

from __future__ import annotations

from desk_support import city_app, serve, sign_in_city, wait_charts  # noqa: F401  (city_app: a fixture)
from hall_support import DEMO_PASSWORD
from playwright.sync_api import expect
from stats_support import FRI, at

from browser_support import BROWSER_MARKS, page_errors

pytestmark = BROWSER_MARKS


def test_the_city_page_shows_the_halls_transfers(city_app, clock, new_page, tmp_path):
    at(clock, FRI, "09:00")
    public = city_app.test_client()
    for _ in range(2):
        assert public.post("/h/east/api/v1/tickets", json={"service": "renshe"}).status_code == 201
    c = city_app.test_client()
    r = c.post("/h/east/api/v1/login", json={"username": "clerk1", "password": DEMO_PASSWORD, "window": 1})
    headers = {"X-CSRF-Token": r.get_json()["csrf_token"]}
    for _ in range(2):  # both tickets called at window 1 and sent to 市场, one with a note
        assert c.post("/h/east/api/v1/windows/1/call-next", headers=headers).status_code == 200
        body = {"service": "shichang", "reason": "wrong_service"}
        if _:
            body["reason_text"] = "群众要办营业执照"
        assert c.post("/h/east/api/v1/windows/1/transfer", json=body, headers=headers).status_code == 200

    page = new_page((1440, 1000))
    with serve(city_app) as base:
        sign_in_city(page, base)
        page.click('#periods [data-period="week"]')
        page.select_option("#r-by", "window")
        expect(page.locator("#x-range")).to_have_text("2026-11-23 — 2026-11-29")
        expect(page.locator("#x-summary")).to_have_text("转办 2 次，涉及 2 人，占叫号 2 人的 100%；接待 2 次，转办率 100%。")
        row = page.locator('#xfer tbody tr[data-key="east:1"]')
        expect(row.locator("th")).to_have_text("东区政务服务中心 · 1号窗口 · 人社综合窗口")
        expect(row.locator('td[data-col="transfers"]')).to_have_text("2")
        expect(row.locator('td[data-reason="wrong_service"]')).to_have_text("2")
        expect(page.locator('#xfer-routes tbody tr[data-from="east:1"] td').nth(2)).to_have_text("2")
        expect(page.locator("#xfer-notes li q")).to_have_text("群众要办营业执照")
        assert wait_charts(page, "#chart-transfers")[0] > 0
        page.locator("#xfer-card").screenshot(path=str(tmp_path / "city-transfers.png"))
        href = page.locator("#x-csv").get_attribute("href")
        assert href.startswith("/city/api/v1/transfers.csv?from=2026-11-23&to=2026-11-29") and "lang=zh" in href
        page.click("#lang")
        expect(page.locator("#x-summary")).to_have_text(
            "2 transfers of 2 tickets: 100% of the 2 tickets called; 2 visits, transfer rate 100%.")
    assert page_errors(page, allow=("401",)) == []
