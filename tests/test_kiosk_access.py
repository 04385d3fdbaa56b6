"""The kiosk for older citizens (适老化), in headless Chromium against the real hall's configuration: the large-text,
high-contrast mode driven by keyboard only, every visible text >= 28 px and every control >= 60 px at 1920×1080 and
1080×1920 in both modes, no line break inside times, ranges and words, the spoken guidance's clip order (the offline
voice of the hall display), and the 需要帮助 button.

``ONEWINDOW_SCREENSHOTS=1`` writes the screenshots to ``docs/`` (``docs/kiosk-*-large*.png``)."""

from __future__ import annotations

import pytest

from browser_support import BROWSER_MARKS, layout_problems
from shared import events
from shared.clock import FixedClock
from shared.engine import Engine
from shared.help_requests import open_help_requests
from kiosk_support import CHECKED, ORIENTATIONS

pytestmark = BROWSER_MARKS

PAIR = "/kiosk#pair=demo-kiosk-token-lobby-1"
MIN_TEXT_PX, MIN_CONTROL_PX = 28, 60

# every visible text node's font size, and every visible control's box
SIZES = r"""() => {
  const bad = [];
  const shown = (el) => el.checkVisibility({ visibilityProperty: true, opacityProperty: true });
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let texts = 0;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || !shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    if (!range.getClientRects().length) continue;
    texts += 1;
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < %(text)s - 0.01) bad.push(`text ${px}px: ${n.textContent.trim().slice(0, 20)}`);
  }
  let controls = 0;
  for (const c of document.querySelectorAll("button, input, select, textarea, a[href], [tabindex]")) {
    if (!shown(c)) continue;
    controls += 1;
    const b = c.getBoundingClientRect();
    if (b.width < %(control)s || b.height < %(control)s) bad.push(`control ${Math.round(b.width)}x${Math.round(b.height)}: ${c.id || c.className}`);
  }
  return { bad, texts, controls };
}""" % {"text": MIN_TEXT_PX, "control": MIN_CONTROL_PX}

# what has the keyboard focus, and whether its focus ring shows
FOCUSED = r"""() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return { id: el.id || (el.dataset.service ? "tile:" + el.dataset.service : el.tagName.toLowerCase()),
           ring: el.matches(":focus-visible") && style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 4 };
}"""

# the no-break runs: each lies on one line
BROKEN_RUNS = r"""() => [...document.querySelectorAll(".nb")].filter((e) => e.checkVisibility())
  .filter((e) => e.getClientRects().length > 1 || (() => {
    const r = document.createRange(); r.selectNodeContents(e);
    const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
    return tops.size > 1; })()).map((e) => e.textContent)"""

# does `word` (in element `sel`) lie on one line?
ONE_LINE = r"""([sel, word]) => {
  const el = document.querySelector(sel);
  const text = el.firstChild && el.firstChild.nodeType === 3 ? el.firstChild : null;
  const at = el.textContent.indexOf(word);
  if (!text || at < 0) return null;
  const tops = new Set();
  for (let i = at; i < at + word.length; i++) {
    const r = document.createRange(); r.setStart(text, i); r.setEnd(text, i + 1);
    tops.add(Math.round(r.getBoundingClientRect().top));
  }
  return tops.size === 1;
}"""


def sizes_ok(page, what: str) -> None:
    page.evaluate("() => document.fonts.ready.then(() => true)")
    found = page.evaluate(SIZES)
    assert found["texts"] > 10 and found["controls"] >= 3, (what, found)
    assert found["bad"] == [], what
    assert layout_problems(page, CHECKED) == [], what
    assert page.evaluate(BROKEN_RUNS) == [], what


def tab_to(page, target: str, limit: int = 30) -> list[str]:
    """Press Tab until ``target`` has the focus; returns the order of what got it (each with a visible ring)."""
    order = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        if now["id"] == "body":   # past the last control the focus leaves the page; the next Tab comes back
            continue
        assert now["ring"], f"no visible focus ring on {now['id']}"
        order.append(now["id"])
        if now["id"] == target:
            return order
    raise AssertionError(f"Tab never reached {target}: {order}")


def open_kiosk(page, hall):
    page.goto(hall["url"] + PAIR)
    page.wait_for_selector(".tile")
    page.wait_for_selector("#assist:not([hidden])")


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_large_text_by_keyboard_only_sizes_and_screenshots(hall, shots, orientation, new_page):
    page = new_page(ORIENTATIONS[orientation], timezone_id="Asia/Shanghai")
    page.clock.install(time=hall["at"])
    open_kiosk(page, hall)
    sizes_ok(page, "start, normal")
    assert page.locator("#kiosk.large").count() == 0

    # the keyboard reaches every control in reading order: language, the aids, 签到 / 实名 (the shipped hall books
    # 人社综合), the open tiles, 绿色通道
    order = tab_to(page, "priority")
    open_tiles = page.eval_on_selector_all(".tile:not(:disabled)", "(ts) => ts.map((t) => 'tile:' + t.dataset.service)")
    checkin = page.eval_on_selector_all(".checkin-open", "(bs) => bs.filter((b) => b.offsetParent).map((b) => b.id)")
    assert checkin == ["checkin-type-id", "checkin-type-code"]
    assert order == ["lang", "large", "voice", "help", *checkin, *open_tiles, "priority"]
    assert "tile:sifa" not in order and "tile:lingdao" not in order       # closed services are not controls

    # 大字模式 with Enter: large text, high contrast, and the spoken guidance with it
    tab_to(page, "large")
    page.keyboard.press("Enter")
    page.wait_for_selector("#kiosk.large")
    assert page.get_attribute("#large", "aria-pressed") == "true"
    assert page.get_attribute("#voice", "aria-pressed") == "true"
    sizes_ok(page, "start, large")
    name_px = page.eval_on_selector(".tile[data-service=renshe] .tile-name", "(e) => parseFloat(getComputedStyle(e).fontSize)")
    assert name_px >= 48
    page.screenshot(path=str(shots / f"kiosk-{orientation}-large.png"))

    # a tile with Space: the ticket, focus on 完成
    tab_to(page, "tile:renshe")
    page.keyboard.press("Space")
    page.wait_for_selector("#ticket:not([hidden])")
    page.wait_for_function("() => document.getElementById('t-qr').naturalWidth > 0")
    assert page.evaluate(FOCUSED)["id"] == "done"
    assert page.locator("#kiosk.large").count() == 1
    page.evaluate("document.getElementById('countdown').textContent = '(15)'")
    sizes_ok(page, "ticket, large")
    page.screenshot(path=str(shots / f"kiosk-{orientation}-large-ticket.png"))
    page.keyboard.press("Enter")                     # 完成: the visit ends, the kiosk resets to the normal mode
    page.wait_for_selector("#start:not([hidden])")
    assert page.locator("#kiosk.large").count() == 0
    assert page.get_attribute("#voice", "aria-pressed") == "false"

    # 绿色通道 by keyboard: large text comes on by itself
    tab_to(page, "priority")
    page.keyboard.press("Enter")
    page.wait_for_selector("#kiosk.large.priority-mode")
    sizes_ok(page, "priority, large")
    page.screenshot(path=str(shots / f"kiosk-{orientation}-priority-large.png"))
    tab_to(page, "back")
    page.keyboard.press("Enter")                     # 返回 leaves the path; the large text stays for the visit
    page.wait_for_selector("#kiosk.large:not(.priority-mode)")

    # 需要帮助 by keyboard: the confirmation, readable, and its OK button
    tab_to(page, "help")
    page.keyboard.press("Enter")
    page.wait_for_selector("#dialog:not([hidden])")
    assert page.inner_text("#dialog-text") == "已通知工作人员，请稍候"
    assert page.evaluate(FOCUSED)["id"] == "dialog-ok"
    sizes_ok(page, "help dialog, large")
    page.keyboard.press("Enter")
    page.wait_for_selector("#dialog", state="hidden")

    # English, large: still every size
    page.evaluate("() => window.onewindowKiosk.i18n.set('en')")
    page.wait_for_selector("#kiosk[data-lang=en]")
    sizes_ok(page, "start, large, English")
    if orientation == "landscape":
        page.screenshot(path=str(shots / "kiosk-landscape-large-en.png"))


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_times_ranges_and_words_never_break(hall, orientation, new_page):
    page = new_page(ORIENTATIONS[orientation], timezone_id="Asia/Shanghai")
    page.clock.install(time=hall["at"])
    open_kiosk(page, hall)
    # the notice's ranges are no-break runs, each on one line (the portrait notice broke "9:00–|12:00")
    runs = page.eval_on_selector_all("#notice .nb", "(es) => es.map((e) => e.textContent)")
    assert "9:00–12:00" in runs and "14:00–17:00" in runs
    assert page.evaluate(BROKEN_RUNS) == []
    assert page.eval_on_selector("#kiosk", "(e) => getComputedStyle(e).wordBreak") == "keep-all"
    hall["printer"].stop()  # the print fails: the longest sentence on the ticket screen ("…保存您的号码…")
    page.locator(".tile[data-service=gongan]").click()
    page.wait_for_selector("#ticket.print-failed:not([hidden])")
    for large in (False, True):
        page.evaluate(f"() => window.onewindowKiosk.access.set({'true' if large else 'false'})")
        for word in ("保存", "号码", "打印机", "工作人员"):
            assert page.evaluate(ONE_LINE, ["#t-print", word]) is True, (word, large)
        assert page.evaluate(BROKEN_RUNS) == []


def test_spoken_guidance_says_the_service_then_the_number(hall, new_page):
    page = new_page(ORIENTATIONS["portrait"])
    open_kiosk(page, hall)
    # guidance off (the default): a ticket is silent
    page.locator(".tile[data-service=shichang]").click()
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.evaluate("() => window.onewindowKiosk.guidance.announcer") is None
    page.locator("#done").click()
    # large text turns guidance on: the service's name when touched, then "您的号码 … 请取票"
    page.locator("#large").click()
    page.locator(".tile[data-service=renshe]").click()
    page.wait_for_selector("#ticket:not([hidden])")
    number = page.inner_text("#t-number")
    assert number == "A013"
    expected = ["svc_renshe", "kiosk_ninde_haoma", "lA", "d0", "d1", "d3", "kiosk_qing_qupiao"]
    page.wait_for_function("(n) => (window.onewindowKiosk.guidance.announcer.played || []).length >= n", arg=len(expected),
                           timeout=30000)
    assert page.evaluate("() => window.onewindowKiosk.guidance.announcer.played") == expected
    page.locator("#done").click()
    # English, guidance toggled on by itself (语音播报 without the large text)
    page.locator("#lang").click()
    page.locator("#voice").click()
    assert page.locator("#kiosk.large").count() == 0
    page.locator(".tile[data-service=gongan]").click()
    page.wait_for_selector("#ticket:not([hidden])")
    english = ["en_svc_gongan", "en_kiosk_your_number", "en_lC", "en_d0", "en_d0", "en_d5", "en_kiosk_take_ticket"]
    page.wait_for_function("(n) => window.onewindowKiosk.guidance.announcer.played.length >= n",
                           arg=len(expected) + len(english), timeout=30000)
    assert page.evaluate("() => window.onewindowKiosk.guidance.announcer.played")[len(expected):] == english


def test_need_help_alerts_the_desk_once(hall, new_page, redis_client):
    page = new_page(ORIENTATIONS["landscape"])
    open_kiosk(page, hall)
    page.locator("#help").click()
    page.wait_for_selector("#dialog:not([hidden])")
    assert page.inner_text("#dialog-text") == "已通知工作人员，请稍候"
    assert page.locator("#help").is_disabled()          # it rests: the citizen cannot spam the desk
    page.locator("#dialog-ok").click()
    page.locator("#help").click(force=True)             # a tap on the resting button does nothing
    config = hall["config"]
    engine = Engine(redis_client, config, FixedClock(config.timezone, hall["at"]))
    [req] = open_help_requests(engine)
    assert req["kiosk"] == "lobby-1"
    kinds = [e.type for e in events.read_range(redis_client, engine.keys.events)]
    assert kinds.count(events.HELP_REQUESTED) == 1


def test_large_text_stays_for_the_visit_and_resets_when_idle(hall, new_page):
    page = new_page(ORIENTATIONS["portrait"], timezone_id="Asia/Shanghai")
    page.clock.install(time=hall["at"])
    open_kiosk(page, hall)
    page.locator("#large").click()
    page.wait_for_selector("#kiosk.large")
    page.clock.fast_forward(30_000)                  # half a minute without a touch: still on
    assert page.locator("#kiosk.large").count() == 1
    page.locator("#priority").click()               # a touch: the visit goes on
    page.locator("#back").click()
    page.clock.fast_forward(45_000)
    assert page.locator("#kiosk.large").count() == 1
    page.clock.fast_forward(20_000)                  # a minute untouched: the kiosk resets
    page.wait_for_selector("#kiosk:not(.large)")
    assert page.get_attribute("#large", "aria-pressed") == "false"
    assert page.get_attribute("#voice", "aria-pressed") == "false"
