"""The citizen's phone in headless Chromium at 390x844 against a real server: booking (slot → ID → confirm → code
and QR → cancel; moving a booking by its code page), a remote ticket that waits "not checked in" until the kiosk
and lapses if called first, rating the visit on the tracking page (once, 追评, a tablet rating shown), and the
wording the kiosk and the ticket use. Also: 16 concurrent holds on a slot's last places through the HTTP API.
Screenshots go to a temporary folder; ``ONEWINDOW_SCREENSHOTS=1`` writes them to ``docs/`` (``phone-*.png``)."""

from __future__ import annotations

import re
import threading

import pytest
import requests
from phone_support import ADULT, OTHER, key, people, phone_hall_file, width_problems
from playwright.sync_api import expect

from browser_support import BROWSER_MARKS, layout_problems, screenshot_dir
from display_support import Api
from hall_support import TABLET_TOKENS, LiveServer

pytestmark = BROWSER_MARKS
CAPACITY = 12


@pytest.fixture(scope="module")
def served(redis_server, tmp_path_factory):
    """A served test hall with renshe bookable every day (12 places a slot) and remote tickets."""
    path = phone_hall_file(tmp_path_factory.mktemp("phone"), capacity=CAPACITY)
    server = LiveServer(path, redis_server.url).start()
    server.hall_file = path
    yield server
    server.stop()


@pytest.fixture
def server(served, redis_client):  # redis_client: the store is flushed for each test
    return served


def engine_of(server):
    """The served hall's engine (real time), for what no page does yet: the kiosk's check-in."""
    from shared.clock import Clock
    from shared.config import load_config
    from shared.engine import Engine
    from shared.redis_client import connect

    config = load_config(server.hall_file)
    return Engine(connect(server.redis_url), config, Clock(config.timezone))


def a_slot(base: str, index: int = 0) -> dict:
    """A bookable slot of renshe tomorrow (never about to start while the test runs)."""
    days = requests.get(f"{base}/api/v1/phone/services/renshe/days", timeout=5).json()["days"]
    day = days[1]["day"]
    slots = requests.get(f"{base}/api/v1/phone/services/renshe/slots", params={"day": day}, timeout=5).json()["slots"]
    return [s for s in slots if s["bookable"]][index]


def book(base: str, who: str, start: str) -> dict:
    r = requests.post(f"{base}/api/v1/bookings", headers=key(), timeout=5,
                      json={"service": "renshe", "start": start[:16], "id_number": who})
    assert r.status_code == 201, r.text
    code = r.json()["booking"]["code"]
    r = requests.post(f"{base}/api/v1/bookings/{code}/confirm", headers=key(), timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["booking"]


def lang_box_ok(page, selector):
    box = page.locator(selector).bounding_box()
    assert box and box["width"] >= 44 and box["height"] >= 44, box


# ------------------------------------------------------------------------------------------------ booking
def test_book_a_slot_confirm_see_the_code_and_cancel(server, phone, tmp_path):
    phone.goto(f"{server.url}/book")
    expect(phone.locator("#tab-book")).to_have_text("预约")
    lang_box_ok(phone, "#lang")
    phone.locator("#services .choice", has_text="人社综合").click()
    expect(phone.locator("#step-day")).to_be_visible()
    phone.locator("#days .day").nth(1).click()                     # tomorrow
    expect(phone.locator("#days .day").nth(1)).to_have_class(re.compile(r"\bon\b"))
    expect(phone.locator("#days .day").nth(1).locator(".wd")).to_have_text("明天")
    first = phone.locator("#slots .slot:not([disabled])").first
    expect(first).to_contain_text(f"余 {CAPACITY}")
    phone.screenshot(path=str(screenshot_dir(tmp_path) / "phone-book-slots.png"))
    first.click()
    expect(phone.locator("#step-person")).to_be_visible()
    phone.fill("#id-number", ADULT[:-1] + ("0" if ADULT[-1] != "0" else "1"))   # a wrong check digit
    phone.click("#hold")
    expect(phone.locator("#msg")).to_have_text("身份证号有误，请核对最后一位。")
    phone.fill("#id-number", ADULT)
    phone.fill("#name", "张三")
    phone.fill("#phone", "13812345678")
    phone.screenshot(path=str(screenshot_dir(tmp_path) / "phone-book-form.png"))
    phone.click("#hold")
    expect(phone.locator("#step-confirm")).to_be_visible()
    # going back gives the held place up at once, and the same person may hold again
    start = phone.evaluate("() => owBook.state.slot.start")
    phone.click("#confirm-back")
    expect(phone.locator("#step-day")).to_be_visible()
    expect(phone.locator(f"#slots .slot[data-start='{start[:16]}']")).to_contain_text(f"余 {CAPACITY}")
    phone.locator(f"#slots .slot[data-start='{start[:16]}']").click()
    expect(phone.locator("#id-number")).to_have_value(ADULT)
    phone.click("#hold")
    expect(phone.locator("#step-confirm")).to_be_visible()
    expect(phone.locator("#hold-left")).to_contain_text("内确认")
    expect(phone.locator("#confirm-facts")).to_contain_text("3404")
    phone.click("#confirm")
    expect(phone.locator("#booking")).to_be_visible()
    expect(phone.locator("#booking-title")).to_have_text("预约成功")
    code = phone.text_content("#booking-code")
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code), code
    phone.wait_for_function("() => document.querySelector('#booking-qr').naturalWidth > 0")
    assert phone.url.endswith(f"/b/{code}")
    assert layout_problems(phone, ".pbar, .ptabs, #booking, .code, .qr, #booking-actions button") == []
    phone.screenshot(path=str(screenshot_dir(tmp_path) / "phone-book-done.png"))
    r = requests.get(f"{server.url}/api/v1/bookings/{code}", timeout=5).json()["booking"]
    assert r["state"] == "confirmed" and r["channel"] == "phone"

    phone.click("#cancel")
    expect(phone.locator("#cancel-ask")).to_be_visible()
    phone.click("#cancel-yes")
    expect(phone.locator("#booking-title")).to_have_text("已取消")
    expect(phone.locator("#msg")).to_have_text("预约已取消。")
    assert requests.get(f"{server.url}/api/v1/bookings/{code}", timeout=5).json()["booking"]["state"] == "cancelled"
    assert phone.errors == []  # type: ignore[attr-defined]


def test_my_booking_by_its_code_moves_to_another_slot_in_english(server, phone, tmp_path):
    slot, other = a_slot(server.url, 0), a_slot(server.url, 3)
    b = book(server.url, OTHER, slot["start"])
    phone.goto(f"{server.url}/b/{b['code']}")
    expect(phone.locator("#booking-code")).to_have_text(b["code"])
    phone.click("#lang")
    expect(phone.locator("#booking-title")).to_have_text("Booked")
    expect(phone.locator("#lang")).to_have_text("中文")
    lang_box_ok(phone, "#lang")
    phone.click("#reschedule")
    expect(phone.locator("#move")).to_be_visible()
    phone.locator(f"#move-slots .slot[data-start='{other['start'][:16]}']").click()
    expect(phone.locator("#msg")).to_have_text("Moved. The booking code stays the same.")
    expect(phone.locator("#booking-facts")).to_contain_text(other["slot"])
    phone.screenshot(path=str(screenshot_dir(tmp_path) / "phone-book-moved-en.png"))
    moved = requests.get(f"{server.url}/api/v1/bookings/{b['code']}", timeout=5).json()["booking"]
    assert moved["slot"] == other["slot"] and moved["rescheduled"] == 1
    # "my booking" looks a code up, and lists the codes booked on this phone
    phone.click("#tab-mine")
    expect(phone.locator("#recent-list .recent-item")).to_have_count(1)
    phone.fill("#code", "AAAA-BBBB")
    phone.click("#lookup-go")
    expect(phone.locator("#msg")).to_have_text("No booking has this code. Please check it.")
    assert phone.errors == []  # type: ignore[attr-defined]


def test_sixteen_concurrent_holds_on_the_last_places_make_exactly_that_many_bookings(server):
    slot = a_slot(server.url, 2)
    taken = 2
    for who in people(40)[-taken:]:
        book(server.url, who, slot["start"])
    left = CAPACITY - taken
    barrier = threading.Barrier(16)
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def hold(who: str) -> None:
        body = {"service": "renshe", "start": slot["start"][:16], "id_number": who}
        headers = key()
        barrier.wait()
        r = requests.post(f"{server.url}/api/v1/bookings", json=body, headers=headers, timeout=30)
        with lock:
            answers.append(r)

    threads = [threading.Thread(target=hold, args=(who,)) for who in people(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] * left + [409] * (16 - left), codes
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 409} == {"slot_full"}
    after = requests.get(f"{server.url}/api/v1/phone/services/renshe/slots", params={"day": slot["start"][:10]},
                         timeout=5).json()["slots"]
    mine = next(s for s in after if s["start"] == slot["start"])
    assert mine["left"] == 0 and mine["booked"] + mine["held"] == CAPACITY


# ------------------------------------------------------------------------------------------------ remote tickets
def test_remote_ticket_waits_not_checked_in_until_the_kiosk(server, phone, tmp_path):
    from shared.checkin import check_in

    Api(server.url).clerk(1)  # a clerk signs in at window 1 (人社): the estimate is who serves, not "no window"
    phone.goto(f"{server.url}/book#remote")
    expect(phone.locator("#panel-remote")).to_be_visible()
    expect(phone.locator("#remote-services .choice.on")).to_have_text("人社综合")
    phone.fill("#remote-id", ADULT)
    phone.screenshot(path=str(screenshot_dir(tmp_path) / "phone-remote.png"))
    phone.click("#take-remote")
    phone.wait_for_url(re.compile(r"/t/"))
    phone.wait_for_function("() => window.owTrack && owTrack.live.status === 'live'")
    expect(phone.locator("#status")).to_have_text("未到场")
    expect(phone.locator("#arrive")).to_contain_text("未到场，请到大厅取号机签到")
    expect(phone.locator("#wait")).to_have_text("即将叫号")          # nobody ahead: as the kiosk says it
    phone.wait_for_function("() => document.querySelector('#arrive-qr').naturalWidth > 0")
    lang_box_ok(phone, ".tlang")
    phone.screenshot(path=str(screenshot_dir(tmp_path) / "phone-remote-not-arrived.png"))

    token = phone.url.rsplit("/t/", 1)[1]
    out = check_in(engine_of(server), code=token, kiosk="lobby-1")
    assert out["tickets"]
    expect(phone.locator("#status")).to_have_text("等候中", timeout=20_000)
    expect(phone.locator("#arrive")).to_be_hidden()
    assert phone.errors == []  # type: ignore[attr-defined]


def test_a_remote_ticket_not_checked_in_when_called_lapses(server, phone, tmp_path):
    r = requests.post(f"{server.url}/api/v1/remote-tickets", headers=key(), timeout=5,
                      json={"service": "renshe", "id_number": OTHER})
    assert r.status_code == 201, r.text
    phone.goto(server.url + r.json()["tracking_url"])
    phone.wait_for_function("() => window.owTrack && owTrack.live.status === 'live'")
    expect(phone.locator("#status")).to_have_text("未到场")
    api = Api(server.url)
    r = api.clerk(1).post(f"{server.url}/api/v1/windows/1/call-next", json={}, timeout=5)
    assert r.status_code == 409 and r.json()["error"]["code"] == "queue_empty", r.text   # skipped: it lapsed
    expect(phone.locator("#status")).to_have_text("已失效", timeout=20_000)
    expect(phone.locator("#final")).to_contain_text("号码已失效")
    expect(phone.locator("#again")).to_be_visible()
    phone.screenshot(path=str(screenshot_dir(tmp_path) / "phone-remote-lapsed.png"))


# ------------------------------------------------------------------------------------------------ the tracking page
def _finished(server, outcome="handled") -> dict:
    api = Api(server.url)
    mine = api.issue()
    api.call_next(1)
    r = api.clerk(1).post(f"{server.url}/api/v1/windows/1/finish", json={"outcome": outcome}, timeout=5)
    assert r.status_code == 200, r.text
    return mine


def test_rate_the_visit_from_the_phone_once_and_a_followup(server, phone, tmp_path):
    mine = _finished(server, "consulted")
    phone.goto(f"{server.url}/t/{mine['token']}")
    expect(phone.locator("#rate")).to_be_visible()
    expect(phone.locator("#rate-title")).to_have_text("请为本次服务评价")
    expect(phone.locator("#levels .level")).to_have_count(5)
    phone.locator("#levels .level", has_text="不满意").first.click()
    expect(phone.locator("#levels .level[aria-checked='true']")).to_have_text("不满意")
    expect(phone.locator("#rate-contact-row")).to_be_visible()
    expect(phone.locator("#rate-text-row")).to_be_visible()
    phone.locator("#opts .opt").first.click()
    phone.fill("#rate-text", "排队时间太长")
    phone.fill("#rate-phone", "13812345678")
    assert width_problems(phone, ".tbar, .ticket, #rate, #levels .level, #opts .opt, #rate-submit") == []
    phone.screenshot(path=str(screenshot_dir(tmp_path) / "phone-rate-form.png"), full_page=True)
    phone.click("#rate-submit")
    expect(phone.locator("#rate-note")).to_contain_text("您已评价：不满意")
    expect(phone.locator("#rate-form")).to_be_hidden()
    expect(phone.locator("#followup-open")).to_be_visible()
    # one rating per visit: the API refuses a second one
    r = requests.post(f"{server.url}/api/v1/track/{mine['token']}/rating", headers=key(), json={"level": 5},
                      timeout=5)
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_rated"
    phone.screenshot(path=str(screenshot_dir(tmp_path) / "phone-rate-done.png"), full_page=True)

    phone.click("#followup-open")
    expect(phone.locator("#rate-title")).to_have_text("追加评价")
    phone.locator("#levels .level", has_text=re.compile(r"^满意$")).click()
    expect(phone.locator("#rate-contact-row")).to_be_hidden()
    phone.click("#rate-submit")
    expect(phone.locator("#rate-note")).to_contain_text("您已追加评价：满意")
    expect(phone.locator("#followup-open")).to_be_hidden()
    assert phone.errors == []  # type: ignore[attr-defined]


def test_a_tablet_rating_is_shown_and_not_offered_again(server, phone):
    mine = _finished(server)
    r = requests.post(f"{server.url}/api/v1/windows/1/rating", timeout=5, json={"ticket_id": mine["id"], "level": 5},
                      headers={"Authorization": f"Bearer {TABLET_TOKENS[1]}"})
    assert r.status_code == 201, r.text
    phone.goto(f"{server.url}/t/{mine['token']}")
    expect(phone.locator("#rate-note")).to_contain_text("您已在窗口评价器评价本次服务：非常满意")
    expect(phone.locator("#rate-form")).to_be_hidden()


def test_a_missed_number_says_take_a_new_ticket(server, phone):
    api = Api(server.url)
    api.clerk(1)  # window 1 (人社) is staffed: the estimate says "即将叫号", not "暂无窗口办理"
    mine = api.issue()
    phone.goto(f"{server.url}/t/{mine['token']}")
    phone.wait_for_function("() => window.owTrack && owTrack.live.status === 'live'")
    expect(phone.locator("#wait")).to_have_text("即将叫号")
    api.call_next(1)
    r = api.clerk(1).post(f"{server.url}/api/v1/windows/1/no-show", json={}, timeout=5)
    assert r.status_code == 200, r.text
    expect(phone.locator("#status")).to_have_text("已过号", timeout=20_000)
    expect(phone.locator("#final")).to_have_text("过号请重新取号")
    phone.click(".tlang")
    expect(phone.locator("#final")).to_have_text("Missed: please take a new ticket")
    lang_box_ok(phone, ".tlang")


def test_the_holder_of_a_remote_ticket_may_withdraw_it(server, phone):
    r = requests.post(f"{server.url}/api/v1/remote-tickets", headers=key(), timeout=5,
                      json={"service": "renshe", "id_number": OTHER})
    ticket = r.json()["ticket"]
    phone.goto(server.url + r.json()["tracking_url"])
    phone.wait_for_function("() => window.owTrack && owTrack.live.status === 'live'")
    phone.click("#arrive-cancel")
    expect(phone.locator("#arrive-cancel")).to_have_text("确定取消？请再点一次")   # the first tap only asks
    assert requests.get(f"{server.url}/api/v1/track/{ticket['token']}", timeout=5).json()["ticket"]["status"] == "waiting"
    phone.click("#arrive-cancel")
    expect(phone.locator("#status")).to_have_text("已取消")
    expect(phone.locator("#arrive")).to_be_hidden()
    assert requests.get(f"{server.url}/api/v1/track/{ticket['token']}", timeout=5).json()["ticket"]["status"] == "cancelled"
