"""The statistics charts in headless Chromium on a machine without a CJK system font (this one, like a fresh hall
PC): the supervisor desk and the city page draw the server's SVG charts inline (/assets/js/charts.js), so their
Chinese text is drawn in the project's web font ("OneWindow Sans SC") — as an <img>, an SVG cannot load web fonts
and showed a row of boxes for every Chinese label. Also: the drawing keeps its role/aria-label/title, a failed or
bad answer is a readable sentence in the chart's place, a chart in a hidden tab is fetched only once it is shown,
and the last ask wins."""

from __future__ import annotations

import json

import pytest
from desk_support import city_app, serve, sign_in, sign_in_city, wait_charts  # noqa: F401  (city_app: a fixture)
from playwright.sync_api import expect
from transfer_support import script_transfers

from browser_support import BROWSER_MARKS, page_errors, settle

pytestmark = BROWSER_MARKS

#: every Chinese <text> of a chart, measured: its computed font-family, the width Chromium drew it, the width of the
#: same string in the web font and as the system fonts' missing-glyph boxes (private-use characters), fonts.check
MEASURE = r"""(el) => document.fonts.ready.then(() => {
  const svg = el.querySelector(':scope > svg');
  const ctx = document.createElement('canvas').getContext('2d');
  return [...svg.querySelectorAll('text')].filter((t) => /[\u4e00-\u9fff]/.test(t.textContent)).map((t) => {
    const s = t.textContent, cs = getComputedStyle(t), font = `${cs.fontWeight} ${cs.fontSize}`;
    ctx.font = `${font} "OneWindow Sans SC"`;
    const web = ctx.measureText(s).width;
    ctx.font = `${font} sans-serif`;
    const boxes = ctx.measureText('\ue000'.repeat([...s].length)).width;
    return {text: s, family: cs.fontFamily, drawn: t.getComputedTextLength(), web, boxes,
            check: document.fonts.check(`${cs.fontSize} "OneWindow Sans SC"`, s)};
  });
})"""


def assert_web_font(page, selector: str) -> list[str]:
    """Every Chinese label of the chart in ``selector`` is drawn in the web font, not as boxes; returns the labels."""
    wait_charts(page, selector)
    labels = page.locator(selector).evaluate(MEASURE)
    assert labels, "no Chinese text in the chart"
    for label in labels:
        assert label["family"].startswith('"OneWindow Sans SC"'), label
        assert label["check"], label
        assert abs(label["drawn"] - label["web"]) < 0.5, label       # the width of the web font's glyphs …
        assert abs(label["drawn"] - label["boxes"]) > 2, label       # … not of a row of missing-glyph boxes
    # and the font Chromium drew the first label's text with (DevTools' platform fonts of the node)
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": f"{selector} > svg text"})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        cdp.detach()
    assert fonts and all(f["isCustomFont"] for f in fonts), fonts  # every glyph from a web font: this one's
    return [label["text"] for label in labels]


#: a drawing as (element, its attributes without namespace declarations, its own text) in document order
SHAPE = r"""(svg) => [svg, ...svg.querySelectorAll('*')].map((n) => [
  n.namespaceURI + ' ' + n.localName,
  [...n.attributes].filter((a) => a.name !== 'xmlns' && !a.name.startsWith('xmlns:')).map((a) => a.name + '=' + a.value).sort(),
  [...n.childNodes].filter((c) => c.nodeType === 3).map((c) => c.data).join('')])"""


def assert_drawn_as_sent(page, selector: str) -> None:
    """The chart in ``selector`` is the server's drawing (its path asked again, as the page asked it), element for
    element and attribute for attribute: the sanitiser keeps every part of a real chart."""
    shown = page.locator(selector + " > svg").evaluate(SHAPE)
    text = page.locator(selector).evaluate(
        "async (el) => { const path = el.dataset.src + (el.dataset.src.includes('?') ? '&' : '?') + 'lang=zh';"
        " return (await fetch(path, {credentials: 'same-origin'})).text(); }")
    sent = page.evaluate(f"(text) => ({SHAPE})(new DOMParser().parseFromString(text, 'image/svg+xml').documentElement)",
                         text)
    assert len(shown) >= 5 and shown == sent


@pytest.fixture
def page(new_page):
    return new_page((1440, 900))


def test_the_supervisors_charts_are_drawn_in_the_web_font(app, tmp_path, client, clerk_client, clock, page):
    app.config["STATS_ARCHIVE_PATH"] = tmp_path / "stats.sqlite3"
    script_transfers(clock, client, clerk_client)
    with serve(app) as base:
        sign_in(page, base)
        assert "每小时取号与办结" in assert_web_font(page, "#dash-load")
        assert_drawn_as_sent(page, "#dash-load")  # the allowlist keeps every part of a real chart
        # what the <img> said to screen readers: the drawing's own role, label and title
        svg = page.locator("#dash-load > svg")
        expect(svg).to_have_attribute("role", "img")
        expect(svg).to_have_attribute("aria-label", "每小时取号与办结")
        expect(page.locator("#dash-load > svg > title")).to_have_text("每小时取号与办结")
        page.click('[data-tab="reports"]')
        expect(page.locator("#r-to")).to_have_value("2026-11-27")  # the day's report is in: a range to change
        page.select_option("#r-by", "window")
        page.fill("#r-from", "2026-11-23")
        page.dispatch_event("#r-from", "change")
        expect(page.locator("#chart-transfers")).to_have_attribute("data-src", "/api/v1/supervisor/charts/transfers.svg?"
                                                                   "from=2026-11-23&to=2026-11-27&by=window")
        for chart in ("#chart-haocaiping", "#chart-load", "#chart-wait", "#chart-satisfaction"):
            assert_web_font(page, chart)
            assert_drawn_as_sent(page, chart)
        assert "1号窗口人社综合窗口" in assert_web_font(page, "#chart-transfers")  # its two lines (tspans)
        assert_drawn_as_sent(page, "#chart-transfers")
    assert page_errors(page, allow=("status of 401",)) == []


def test_a_chart_that_cannot_be_loaded_says_so_in_its_place(app, page):
    asked = []

    def answer(route):
        asked.append(route.request.url)
        if len(asked) == 1:  # the server fails
            route.fulfill(status=500, content_type="application/json",
                          body=json.dumps({"error": {"code": "internal", "message": "数据库不可用"}}))
        else:                # an answer that is no SVG: never put into the page
            route.fulfill(status=200, content_type="image/svg+xml", body='<img src="x" id="evil">')

    with serve(app) as base:
        page.route("**/api/v1/supervisor/charts/load.svg*", answer)
        sign_in(page, base)
        error = page.locator("#dash-load .chart-error")
        expect(error).to_have_text("图表未能加载（操作失败：数据库不可用）")
        expect(error).to_have_attribute("role", "alert")
        expect(page.locator("#dash-load")).to_have_attribute("data-state", "failed")
        page.click("#lang")  # the chart is asked again, in English: the answer is HTML
        expect(error).to_have_text("The chart could not be loaded (the answer is not a chart)")
        assert page.locator("#evil").count() == 0 and page.locator("#dash-load svg").count() == 0
    assert page_errors(page, allow=("status of 401", "status of 500")) == []


#: counts in the page the loads of a chart (its data-state turning "loading"): ``window.chartLoads[id]``
COUNT_LOADS = r"""(id) => {
  window.chartLoads = window.chartLoads || {};
  window.chartLoads[id] = 0;
  const el = document.getElementById(id);
  new MutationObserver(() => { if (el.dataset.state === 'loading') window.chartLoads[id] += 1; })
    .observe(el, {attributes: true, attributeFilter: ['data-state']});
}"""


def test_a_chart_in_a_hidden_tab_waits_and_the_last_ask_wins(app, page):
    held, asked = [], []

    def hold_first(route):
        if "period=day" in route.request.url and not asked[2:]:  # the dashboard's chart, until the reports tab
            asked.append(route.request.url)                      # shows (its load chart asks the same)
        if not held:
            held.append(route)  # answered late, after the English one
        else:
            route.continue_()

    with serve(app) as base:
        page.route("**/api/v1/supervisor/charts/load.svg*", hold_first)
        sign_in(page, base)
        expect(page.locator("#dash-load")).to_have_attribute("data-state", "loading")
        page.click("#lang")   # asked again in English while the Chinese answer is on its way
        expect(page.locator("#dash-load > svg")).to_have_attribute("aria-label", "Tickets per hour")
        held[0].continue_()   # the first answer comes back last: dropped
        settle(page)
        expect(page.locator("#dash-load > svg")).to_have_attribute("aria-label", "Tickets per hour")
        assert [u.split("lang=")[1][:2] for u in asked] == ["zh", "en"]

        # in another tab, a language switch asks nothing for the hidden dashboard chart …
        page.evaluate(COUNT_LOADS, "dash-load")
        page.click('[data-tab="reports"]')
        wait_charts(page, "#chart-load")
        page.click("#lang")
        wait_charts(page, "#chart-load")
        settle(page)
        expect(page.locator("#dash-load")).to_have_attribute("data-state", "waiting")
        assert page.evaluate("() => window.chartLoads['dash-load']") == 0
        # … until the dashboard is shown again
        page.click('[data-tab="dashboard"]')
        expect(page.locator("#dash-load > svg")).to_have_attribute("aria-label", "每小时取号与办结")
        assert page.evaluate("() => window.chartLoads['dash-load']") == 1
    assert page_errors(page, allow=("status of 401",)) == []



def holding_the_first(routes: list):
    """A route handler that keeps the first request in ``routes`` (answered when the test says) and lets any later
    one through at once."""
    def handle(route):
        if routes:
            route.continue_()
        routes.append(route)
    return handle


def test_showing_the_dashboard_fetches_its_waiting_chart_once(app, page):
    """The dashboard's chart, asked again while its tab was hidden (the language changed), is fetched once when the
    dashboard is shown — not once when it gets a size and again when the day's report has come back (the first
    answer was then dropped). The report is held until the page has asked what it asks on its own."""
    asked, reports = [], []
    page.on("request", lambda r: asked.append(r.url) if "charts/load.svg" in r.url and "period=day" in r.url else None)

    with serve(app) as base:
        sign_in(page, base)
        wait_charts(page, "#dash-load")
        page.click('[data-tab="reports"]')
        wait_charts(page, "#chart-load")
        page.click("#lang")  # the hidden dashboard chart now waits for its English drawing
        wait_charts(page, "#chart-load")
        expect(page.locator("#dash-load")).to_have_attribute("data-state", "waiting")
        settle(page)
        before = len(asked)
        page.route("**/api/v1/supervisor/report?period=day*", holding_the_first(reports))
        page.click('[data-tab="dashboard"]')
        page.wait_for_function("() => document.querySelector('#dash-load').dataset.state !== 'waiting'")
        expect(page.locator("#dash-load")).to_have_attribute("data-state", "shown")
        settle(page)
        assert len(reports) == 1
        page.evaluate("() => document.querySelector('#kpis').replaceChildren()")  # drawn again from the answer:
        reports[0].continue_()
        expect(page.locator("#kpis [data-kpi]").first).to_be_visible()  # the page has read the report
        settle(page)
        expect(page.locator("#dash-load > svg")).to_have_attribute("aria-label", "Tickets per hour")
        assert [u.split("lang=")[1][:2] for u in asked[before:]] == ["en"]
    assert page_errors(page, allow=("status of 401",)) == []

REPORT_CHARTS = ("chart-load", "chart-wait", "chart-satisfaction", "chart-haocaiping", "chart-transfers")


def test_showing_the_reports_tab_fetches_each_waiting_chart_once(app, page):
    """The report's five charts, asked again while their tab was hidden (the language changed), are fetched once each
    when the tab is shown, while the report is on its way — not once on getting a size and again when the report
    has come back (the first answers were then dropped). The report is held until the page has asked what it asks
    on its own."""
    asked, reports = [], []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/supervisor/charts/" in r.url else None)

    with serve(app) as base:
        sign_in(page, base)
        page.click('[data-tab="reports"]')
        for chart in REPORT_CHARTS:
            wait_charts(page, f"#{chart}")
        page.click('[data-tab="dashboard"]')
        page.click("#lang")  # the hidden report charts now wait for their English drawings
        wait_charts(page, "#dash-load")
        for chart in REPORT_CHARTS:
            expect(page.locator(f"#{chart}")).to_have_attribute("data-state", "waiting")
            page.evaluate(COUNT_LOADS, chart)
        settle(page)
        before = len(asked)
        page.route("**/api/v1/supervisor/report?*by=*", holding_the_first(reports))
        page.click('[data-tab="reports"]')
        for chart in REPORT_CHARTS:
            expect(page.locator(f"#{chart}")).to_have_attribute("data-state", "shown")
        settle(page)
        assert len(reports) == 1  # the charts were drawn while the report was held
        page.evaluate("() => document.querySelector('#report tbody').replaceChildren()")  # drawn again from it:
        reports[0].continue_()
        expect(page.locator("#report tbody tr").first).to_be_attached()  # the page has read the report
        settle(page)
        names = sorted(u.split("/charts/")[1].split(".svg")[0] for u in asked[before:])
        assert names == ["haocaiping", "load", "satisfaction", "transfers", "wait"], "\n".join(asked[before:])
        assert all("lang=en" in u for u in asked[before:])
        assert page.evaluate("() => window.chartLoads") == {chart: 1 for chart in REPORT_CHARTS}
        expect(page.locator("#chart-load > svg")).to_have_attribute("aria-label", "Tickets per hour")
    assert page_errors(page, allow=("status of 401",)) == []


def test_the_citys_charts_are_drawn_in_the_web_font(city_app, page):
    with serve(city_app) as base:
        sign_in_city(page, base)
        assert "各大厅取号与办结" in assert_web_font(page, "#chart-halls")
        for chart in ("#chart-haocaiping", "#chart-satisfaction", "#chart-wait", "#chart-load", "#chart-transfers"):
            assert_web_font(page, chart)
        expect(page.locator("#chart-halls > svg")).to_have_attribute("aria-label", "各大厅取号与办结")
    assert page_errors(page, allow=("401",)) == []


#: a chart answer written to get out of the drawing: every way an SVG can load, link or run something
HOSTILE = """<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
  xmlns:h="http://www.w3.org/1999/xhtml" viewBox="0 0 200 100" width="200" height="100" role="img" aria-label="坏图"
  onload="window.pwned = 1" style="background: url(http://evil.invalid/style.png)">
<title>坏图</title>
<a href="#top"><animate attributeName="href" to="http://evil.invalid/animate" begin="0s" fill="freeze"/>
  <text x="1" y="10">点我</text></a>
<text x="1" y="30"><set attributeName="href" to="http://evil.invalid/set" begin="0s"/>集</text>
<a xlink:href="http://evil.invalid/link"><rect width="9" height="9"/></a>
<image href="http://evil.invalid/image.png" width="9" height="9"/>
<use href="http://evil.invalid/use.svg#x"/>
<h:img src="http://evil.invalid/img.png"/>
<h:meta http-equiv="refresh" content="0;url=http://evil.invalid/meta"/>
<foreignObject width="9" height="9"><h:iframe src="http://evil.invalid/frame"/><h:img src="http://evil.invalid/fo.png"/></foreignObject>
<script>window.pwned = 2</script>
<style>@import url(http://evil.invalid/style.css);</style>
<g><rect width="5" height="5"/></g>
<rect x="20" y="20" width="50" height="20" fill="url(http://evil.invalid/fill.svg#p)" stroke="#2563eb"
  onclick="window.pwned = 3" src="http://evil.invalid/src" style="fill: red" href="http://evil.invalid/rect"/>
<text x="20" y="60" fill="#1f2a37" onmouseover="window.pwned = 4">安全的字</text>
</svg>"""


def test_a_hostile_chart_keeps_only_the_drawing(app, page):
    """The sanitiser is an allowlist: of a hostile answer only the SVG elements and attributes charts.py draws with
    remain — no link, animation, script, other namespace, href/src/style/on* or url(…) — and nothing is fetched
    from another origin."""
    outside = []
    page.on("request", lambda r: outside.append(r.url) if "evil.invalid" in r.url else None)
    with serve(app) as base:
        page.route("**/api/v1/supervisor/charts/load.svg*",
                   lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=HOSTILE))
        sign_in(page, base)
        wait_charts(page, "#dash-load")
        svg = page.locator("#dash-load > svg")
        expect(svg).to_have_attribute("aria-label", "坏图")
        shape = svg.evaluate(SHAPE)
        svg_ns = "http://www.w3.org/2000/svg "
        assert [element for element, _a, _t in shape] == [svg_ns + name for name in ("svg", "title", "text", "rect", "text")]
        assert [attrs for _e, attrs, _t in shape] == [
            ["aria-label=坏图", "height=100", "role=img", "viewBox=0 0 200 100", "width=200"], [],
            ["x=1", "y=30"], ["height=20", "stroke=#2563eb", "width=50", "x=20", "y=20"],
            ["fill=#1f2a37", "x=20", "y=60"]]
        assert [text.strip() for _e, _a, text in shape] == ["", "坏图", "集", "", "安全的字"]
        page.locator("#dash-load text").last.hover()
        page.locator("#dash-load rect").click()
        settle(page)
        assert page.evaluate("window.pwned") is None
    assert outside == []


#: charts.js's loader on a box of the page, with an API client whose answers the test settles: a chart asked at /a,
#: hidden, asked again at /b (it waits to be seen); then the ask for /a fails
OVERTAKEN = r"""async () => {
  const { chartLoader } = await import('/assets/js/charts.js');
  const pending = [];
  const api = { get: (path) => new Promise((resolve, reject) => pending.push({ path, resolve, reject })) };
  const charts = chartLoader(api, { failed: () => 'failed' });
  const el = document.createElement('div');
  el.style.width = '200px'; el.style.height = '50px';
  document.body.append(el);
  charts.show(el, '/a');
  el.style.display = 'none';
  charts.show(el, '/b');
  pending[0].reject(new Error('gone'));
  await new Promise((resolve) => setTimeout(resolve, 0));  // every promise settled (microtasks run first)
  return { asked: pending.map((p) => p.path), state: el.dataset.state, error: el.querySelectorAll('.chart-error').length };
}"""


def test_a_failure_for_a_path_the_chart_no_longer_shows_is_dropped(app, page):
    with serve(app) as base:
        sign_in(page, base)
        assert page.evaluate(OVERTAKEN) == {"asked": ["/a?lang=zh"], "state": "waiting", "error": 0}
    assert page_errors(page, allow=("status of 401",)) == []
