"""Wait estimates from who is actually serving (shared/estimates.py): only staffed, unpaused windows that serve the
service count; none → "暂无窗口办理" everywhere; the pace is learnt from today's finishes; the words are one set."""

from __future__ import annotations

import json
import re
from pathlib import Path

from stats_support import at, issue, ok, supervisor

from kiosk.printing.kiosk_printer import slip_for
from kiosk.printing.ticket import wait_en, wait_zh
from shared.estimates import MIN_FINISHES, WORDS, words

ROOT = Path(__file__).resolve().parent.parent


def services(client) -> dict:
    return {s["code"]: s for s in ok(client.get("/api/v1/services"))["services"]}


def track(client, token: str) -> dict:
    return ok(client.get(f"/api/v1/track/{token}"))["ticket"]


def test_only_staffed_unpaused_windows_count(app, client, clerk_client, clock):
    at(clock, "2026-11-27", "09:00")
    first, second = issue(client, "shichang"), issue(client, "shichang")
    # nobody signed in anywhere: no estimate in minutes, on the kiosk's services and on the phone
    assert services(client)["shichang"]["wait"]["state"] == "no_window"
    assert services(client)["shichang"]["estimated_wait_minutes"] is None
    assert track(client, second["token"])["wait"] == {"state": "no_window", "minutes": None}
    assert second["wait"] == {"state": "no_window", "minutes": None}  # the issued ticket (what is printed)

    w4 = clerk_client(4)  # window 4 serves shichang only: one window, 10 min configured pace
    s = services(client)["shichang"]
    assert s["wait"] == {"state": "minutes", "minutes": 20, "windows": [4]}  # 2 waiting ahead of a new ticket
    assert track(client, second["token"])["wait"] == {"state": "minutes", "minutes": 10}
    assert track(client, first["token"])["wait"] == {"state": "soon", "minutes": 0}  # next: 即将叫号, not "约 0 分钟"

    clerk_client(3)  # window 3 serves shichang too: two windows share the queue
    assert services(client)["shichang"]["wait"]["minutes"] == 10
    assert services(client)["shichang"]["wait"]["windows"] == [3, 4]

    ok(w4.post("/api/v1/windows/4/pause", json={"reason": "午间休息"}))  # a paused window does not serve
    assert services(client)["shichang"]["wait"]["windows"] == [3]
    # window 3's clerk signs out (a new sign-in of the same clerk keeps the hold): nobody serves shichang now
    w3 = clerk_client(3)
    ok(w3.post("/api/v1/logout"))
    assert services(client)["shichang"]["wait"]["state"] == "no_window"
    assert track(client, first["token"])["wait"]["state"] == "no_window"
    ok(w4.post("/api/v1/windows/4/resume"))
    assert services(client)["shichang"]["wait"]["windows"] == [4]


def test_pace_is_learnt_from_todays_finishes(app, client, clerk_client, clock, engine):
    at(clock, "2026-11-27", "09:00")
    w4 = clerk_client(4)
    for _ in range(MIN_FINISHES + 2):
        issue(client, "shichang")
    hall = engine.hall_now()
    assert (hall.pace_source["shichang"], hall.pace_minutes["shichang"]) == ("default", 10.0)
    minutes = [2, 4, 6]  # three finishes: the mean is 4 minutes
    for m in minutes:
        ok(w4.post("/api/v1/windows/4/call-next"))
        clock.advance(minutes=m)
        if m != minutes[-1]:
            assert engine.hall_now().pace_source["shichang"] == "default"  # fewer than a few finishes: configured
        ok(w4.post("/api/v1/windows/4/finish", json={"outcome": "handled"}))
    hall = engine.hall_now()
    assert hall.pace_source["shichang"] == "today" and hall.pace_minutes["shichang"] == 4.0
    s = services(client)["shichang"]
    assert s["waiting"] == 2 and s["wait"]["minutes"] == 8  # 2 ahead × 4 min, one window
    # yesterday's pace is not today's: the next day starts from the configured pace again
    at(clock, "2026-11-28", "09:00")
    assert engine.hall_now().pace_source["shichang"] == "default"


def test_the_printed_ticket_says_no_window(app, client, hall_config):
    ticket = issue(client, "shichang")
    slip = slip_for({**ticket, "tracking_url": "http://x/t/1"}, hall_config)
    assert wait_zh(slip) == "暂无窗口办理" and wait_en(slip) == WORDS["en"]["no_window"]
    assert words(ticket["wait"]) == "暂无窗口办理"
    assert words({"state": "soon", "minutes": 0}) == "即将叫号"
    assert words({"state": "minutes", "minutes": 7}) == "约 7 分钟"


def test_kiosk_phone_and_ticket_share_the_words():
    """The pages' catalogue (wait-strings.js) says what shared/estimates.py says, and both pages use it."""
    js = (ROOT / "shared/static/js/wait-strings.js").read_text(encoding="utf-8")
    for lang in ("zh", "en"):
        block = re.search(r"\n  " + lang + r": \{(.*)\},\n", js).group(1)
        found = dict(re.findall(r'wait_(\w+): ("[^"]*")', block))
        assert {k: json.loads(v) for k, v in found.items()} == WORDS[lang]
    for catalogue in ("kiosk/static/strings.js", "display/static/js/strings.js"):
        text = (ROOT / catalogue).read_text(encoding="utf-8")
        assert "...WAIT_WORDS.zh" in text and "...WAIT_WORDS.en" in text
        assert "约 0 分钟" not in text
    for page in ("kiosk/static/kiosk.js", "display/static/js/tracking.js"):
        assert "waitKey(" in (ROOT / page).read_text(encoding="utf-8")


def test_supervisor_is_alerted_at_once_when_nobody_serves(app, client, clerk_client, clock):
    sup = supervisor(app)
    at(clock, "2026-11-27", "09:00")
    w4 = clerk_client(4)
    issue(client, "shichang")
    o = ok(sup.get("/api/v1/supervisor/overview"))
    assert [a for a in o["alerts"] if a["kind"] == "no_window"] == []
    assert {s["code"]: s for s in o["services"]}["shichang"]["wait"]["state"] == "minutes"  # a new ticket: 1 ahead
    ok(w4.post("/api/v1/logout"))  # the only staffed window of shichang is left: the alert is there at once
    o = ok(sup.get("/api/v1/supervisor/overview"))
    alerts = [a for a in o["alerts"] if a["kind"] == "no_window"]
    assert alerts == [{"kind": "no_window", "service": "shichang", "service_name": "市场综合",
                       "service_name_en": alerts[0]["service_name_en"], "waiting": 1, "longest_wait_s": 0}]
    assert {s["code"]: s for s in o["services"]}["shichang"]["wait"]["state"] == "no_window"
    # nobody waiting for renshe: no alert for it although nobody serves it either
    assert all(a["service"] != "renshe" for a in o["alerts"] if a["kind"] == "no_window")
