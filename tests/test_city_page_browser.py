"""The city supervisors' page (/city) in headless Chromium: a city supervisor signs in, sees both halls and the
city's totals, watches a hall's queue grow without reloading, reads the figures compared across halls with their
charts, switches to English. Screenshot: docs/city-dashboard.png (with ONEWINDOW_SCREENSHOTS=1)."""

from __future__ import annotations

from city_figures_support import HALL_NAMES
from city_support import CITY_PASSWORD, CITY_SUPERVISOR
from desk_support import city_app, serve, sign_in_city, wait_charts  # noqa: F401  (city_app: a fixture)
from hall_support import DEMO_PASSWORD
from playwright.sync_api import expect
from stats_support import FRI, at

from shared import ratings

from browser_support import BROWSER_MARKS, page_errors, screenshot_dir

pytestmark = BROWSER_MARKS


def a_morning(app, clock) -> None:
    """east: five 人社 tickets and one 市场, three served at window 1 (rated 5, 5, 4); west: four 市场 tickets and one
    人社, two served at window 4 (rated 5, 2)."""
    at(clock, FRI, "09:00")
    public = app.test_client()
    for hall, service, n in (("east", "renshe", 5), ("east", "shichang", 1), ("west", "shichang", 4),
                             ("west", "renshe", 1)):
        for _ in range(n):
            assert public.post(f"/h/{hall}/api/v1/tickets", json={"service": service}).status_code == 201
    city = app.extensions["onewindow_city"]
    for hall, user, window, visits in (
            ("east", "clerk1", 1, (("09:03", "09:08", "handled", 5), ("09:10", "09:18", "handled", 5),
                                   ("09:20", "09:26", "consulted", 4))),
            ("west", "westclerk4", 4, (("09:05", "09:12", "handled", 5), ("09:15", "09:22", "consulted", 2)))):
        c = app.test_client()
        r = c.post(f"/h/{hall}/api/v1/login", json={"username": user, "password": DEMO_PASSWORD, "window": window})
        headers = {"X-CSRF-Token": r.get_json()["csrf_token"]}
        for called, finished, outcome, level in visits:
            at(clock, FRI, called)
            r = c.post(f"/h/{hall}/api/v1/windows/{window}/call-next", headers=headers)
            assert r.status_code == 200, r.get_json()
            ticket = r.get_json()["ticket"]["id"]
            at(clock, FRI, finished)
            r = c.post(f"/h/{hall}/api/v1/windows/{window}/finish", json={"outcome": outcome}, headers=headers)
            assert r.status_code == 200, r.get_json()
            ratings.rate(city.hall(hall).engine, window, ticket, level)  # the window's evaluation tablet
    at(clock, FRI, "09:30")


def test_the_city_page(city_app, clock, new_page, tmp_path):
    a_morning(city_app, clock)
    page = new_page((1440, 1000))
    with serve(city_app) as base:
        page.goto(base + "/city")
        expect(page.locator("#login")).to_be_visible()
        # a hall's clerk cannot sign in here
        page.fill("#username", "clerk1")
        page.fill("#password", DEMO_PASSWORD)
        page.click("#login-form button[type=submit]")
        expect(page.locator("#login-error")).to_have_text("账号或密码错误")
        page.fill("#username", CITY_SUPERVISOR)
        page.fill("#password", CITY_PASSWORD)
        page.click("#login-form button[type=submit]")
        expect(page.locator("#app")).to_be_visible()
        expect(page.locator("#who")).to_have_text("市值班")

        # every hall, live, and the city's totals
        east, west = page.locator('.hall[data-hall="east"]'), page.locator('.hall[data-hall="west"]')
        expect(east.locator('[data-fig="waiting"] b')).to_have_text("3")
        expect(west.locator('[data-fig="waiting"] b')).to_have_text("3")
        expect(page.locator('#city-kpis [data-kpi="waiting"] .kpi-value')).to_have_text("6")
        expect(page.locator('#city-kpis [data-kpi="halls"] .kpi-value')).to_have_text("2")
        expect(page.locator('#city-kpis [data-kpi="windows"] .kpi-value')).to_have_text("2")
        expect(page.locator("#conn")).to_have_attribute("data-state", "on")
        # today's figures compared across halls, and the city's total
        compare = page.locator("#compare")
        expect(compare.locator('tbody tr[data-key="east"] td').first).to_have_text("6")
        expect(compare.locator('tbody tr[data-key="west"] td').first).to_have_text("5")
        expect(compare.locator('tfoot tr[data-key="total"] td').first).to_have_text("11")
        # 满意率: 3 of 3 in east, 1 of 2 in west — 4 of 5 in the city (not the halls' average, 75 %)
        expect(compare.locator('tbody tr[data-key="west"] td[data-col="satisfaction"]')).to_have_text("50.0%")
        expect(compare.locator('tfoot tr[data-key="total"] td[data-col="satisfaction"]')).to_have_text("80.0%")
        expect(page.locator('#report tbody tr[data-key="renshe"] td').first).to_have_text("6")
        # a citizen takes a ticket in the west hall: the page shows it without a reload
        assert city_app.test_client().post("/h/west/api/v1/tickets", json={"service": "renshe"}).status_code == 201
        expect(west.locator('[data-fig="waiting"] b')).to_have_text("4")
        expect(page.locator('#city-kpis [data-kpi="waiting"] .kpi-value')).to_have_text("7")
        expect(west.locator('tr[data-service="renshe"] td.num').first).to_have_text("2")

        assert page.locator("#r-csv").get_attribute("href") == "/city/api/v1/report.csv?period=day&by=service&lang=zh"
        assert all(w > 0 for w in wait_charts(page, "[data-chart]"))
        page.screenshot(path=str(screenshot_dir(tmp_path) / "city-dashboard.png"), full_page=True)

        # another range: the whole week, grouped by hall
        page.click('#periods [data-period="week"]')
        expect(page.locator("#r-range")).to_have_text("2026-11-23 — 2026-11-29")
        expect(compare.locator('tfoot tr[data-key="total"] td').first).to_have_text("12")  # with the new ticket
        page.select_option("#r-by", "hall")
        expect(page.locator("#rows-card")).to_be_hidden()

        # English
        page.click("#lang")
        expect(page.locator("#fig-title")).to_have_text("City figures")
        expect(page.locator('#city-kpis [data-kpi="waiting"] .kpi-label')).to_have_text("Waiting")
        expect(compare.locator('tbody tr[data-key="west"] th')).to_have_text(HALL_NAMES["west"][1])
    assert page_errors(page, allow=("401",)) == []


def test_a_background_refresh_keeps_the_charts_it_has(city_app, clock, new_page):
    """The figures of a range with today in it are asked again every 30 s: a chart that fails then keeps the drawing
    already shown (no alert over good charts); a chart asked by the user (the language switched) says it failed."""
    a_morning(city_app, clock)
    page = new_page((1440, 1000))
    page.clock.install(time=clock.now())
    with serve(city_app) as base:
        sign_in_city(page, base)
        wait_charts(page, "[data-chart]")
        drawn = page.locator("#chart-halls > svg").inner_html()
        page.route("**/city/api/v1/charts/*.svg*", lambda route: route.fulfill(
            status=500, content_type="application/json",
            body='{"error": {"code": "internal", "message": "数据库不可用"}}'))
        with page.expect_response("**/city/api/v1/charts/load.svg*"):  # the last chart the refresh asks for
            page.clock.run_for(31000)
        page.wait_for_function("() => [...document.querySelectorAll('[data-chart]')]"
                               ".every((el) => el.dataset.state !== 'loading')")
        assert page.locator(".chart-error").count() == 0
        for chart in page.locator("[data-chart]").all():
            expect(chart).to_have_attribute("data-state", "shown")
            assert chart.locator(":scope > svg").count() == 1
        assert page.locator("#chart-halls > svg").inner_html() == drawn
        page.click("#lang")  # asked by the user: the failure is said, in the chart's place
        expect(page.locator("#chart-halls .chart-error")).to_have_attribute("role", "alert")
        expect(page.locator("#chart-halls")).to_have_attribute("data-state", "failed")
    assert page_errors(page, allow=("status of 401", "status of 500")) == []
