"""Notifications to citizens: written to the outbox in the step that reports them (confirmed, called, no-show) or by
the periodic job (reminder, N ahead), once each; delivered exactly once through a webhook that fails and times
out; phone numbers masked in views and absent from the event stream."""

from __future__ import annotations

import json
import os
import random
from datetime import date, datetime

import pytest
from fake_webhook import FakeWebhook
from outbox_support import wait_until
from reception_support import ADULT, OTHER, SENIOR, booking_hall, events_of, make_number, person, with_notifications, \
    with_remote

from shared import bookings, remote
from shared.checkin import check_in
from shared.clock import Clock
from shared.engine import Engine
from shared.errors import ConflictError
from shared.notify import WebhookNotifier, entry_view, notification_outbox, notification_sender, notify_ahead
from shared.reception import ReceptionWorker

PHONE = "13812345678"


def notifying_hall(config, url: str = "http://127.0.0.1:9/", **settings):
    defaults = dict(url=url, ahead=2, reminder_minutes=60, templates={"called": "SMS_CALLED", "reminder": "SMS_REMIND"},
                    timeout_seconds=0.25, backoff_seconds=0.005, max_backoff_seconds=0.05, max_attempts=1000,
                    poll_seconds=0.02, parallel=4)
    return with_notifications(with_remote(booking_hall(config, capacity=50)), **{**defaults, **settings})


def entry_ids(engine: Engine) -> list[str]:
    return sorted(e.id for e in notification_outbox(engine).list("pending", limit=10000))


def at(config, day: date, hhmm: str) -> datetime:
    return datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=config.timezone)


def test_each_notification_is_written_once_with_what_it_reports(redis_client, hall_config, clock):
    engine = Engine(redis_client, notifying_hall(hall_config), clock)
    outbox = notification_outbox(engine)
    # booking confirmed: in the confirming step
    held = bookings.hold(engine, "renshe", "2026-11-27T11:00", person(engine.config, ADULT), phone=PHONE)
    assert entry_ids(engine) == []
    booking = bookings.confirm(engine, held["code"])
    assert entry_ids(engine) == [f"booking_confirmed:{booking['id']}"]
    bookings.confirm(engine, held["code"])
    # a remote ticket with a phone, two walk-ins without
    far = remote.take(engine, "renshe", person(engine.config, OTHER), phone="13900001111").ticket
    walk_ins = [engine.issue("renshe").ticket for _ in range(3)]
    mine = remote.take(engine, "renshe", person(engine.config, SENIOR), openid="oWx-1234567890").ticket
    assert notify_ahead(engine) == [far["id"]]  # 0 ahead: told at once; the other has 4 ahead
    assert notify_ahead(engine) == []
    check_in(engine, identity=person(engine.config, OTHER))
    assert engine.call_next(1)["id"] == far["id"]  # called: in the calling step
    engine.recall(1)
    engine.no_show(1)  # no-show: in the marking step
    for n in (2, 3, 5):
        engine.call_next(n)
    assert notify_ahead(engine) == [mine["id"]]  # now 0 ahead (and not arrived: the text says check in)
    with pytest.raises(ConflictError) as err:  # mine lapses (a no-show), and nobody else waits
        engine.call_next(6)
    assert (err.value.code, err.value.details["expired"]) == ("queue_empty", 1)
    clock.set(at(engine.config, date(2026, 11, 27), "10:01"))
    assert bookings.sweep(engine).reminded == 1  # 11:00 is within the hour
    assert bookings.sweep(engine).reminded == 0
    clock.set(at(engine.config, date(2026, 11, 27), "11:16"))
    assert bookings.sweep(engine).missed == 1
    expected = sorted([f"booking_confirmed:{booking['id']}", f"ahead:{far['id']}", f"called:{far['id']}",
                       f"no_show:{far['id']}", f"ahead:{mine['id']}", f"no_show:{mine['id']}",
                       f"reminder:{booking['id']}:202611271100", f"no_show:{booking['id']}"])
    assert entry_ids(engine) == expected
    e = outbox.get(f"called:{far['id']}")
    assert (e.payload["to"], e.payload["data"]["window"], e.payload["data"]["number"]) == \
        ({"phone": "13900001111"}, 1, "A001")
    assert outbox.get(f"ahead:{mine['id']}").payload["to"] == {"openid": "oWx-1234567890"}
    view = entry_view(outbox.get(f"booking_confirmed:{booking['id']}"))
    assert view["payload"]["to"] == {"phone": "138****5678"} and view["payload"]["data"]["code"] == "****"
    stream = json.dumps(events_of(redis_client), ensure_ascii=False)
    assert PHONE not in stream and "13900001111" not in stream and "oWx-1234567890" not in stream
    # the body the webhook gets
    n = WebhookNotifier(engine.config)
    called = n.record(e)
    assert called["template"] == "SMS_CALLED" and called["text"] == "【测试政务服务中心】请A001号到1号窗口办理。"
    assert called["id"] == f"testhall-called:{far['id']}" and called["data"]["service_name"] == "人社综合"
    ahead = n.record(outbox.get(f"ahead:{mine['id']}"))
    assert "请尽快到大厅取号机签到" in ahead["text"]
    reminder = n.record(outbox.get(f"reminder:{booking['id']}:202611271100"))
    assert reminder["data"]["time"] == "11:00" and reminder["data"]["code"] == held["code"] and held["code"] in reminder["text"]


def test_nothing_is_written_when_notifications_are_off(redis_client, hall_config, clock):
    engine = Engine(redis_client, with_remote(booking_hall(hall_config)), clock)
    code = bookings.hold(engine, "renshe", "2026-11-27T11:00", person(engine.config), phone=PHONE)["code"]
    bookings.confirm(engine, code)
    remote.take(engine, "renshe", person(engine.config, OTHER), phone=PHONE)
    engine.issue("renshe")
    engine.call_next(1)  # the remote ticket lapses (a no-show) and the walk-in is called
    assert notify_ahead(engine) == [] and notification_outbox(engine).counts()["pending"] == 0


def test_each_notification_is_delivered_exactly_once_through_a_failing_webhook(redis_server, redis_client,
                                                                               hall_config):
    seed = int(os.environ.get("ONEWINDOW_NOTIFY_SEED") or random.SystemRandom().randrange(10**9))
    print(f"\nnotification test seed: {seed} (ONEWINDOW_NOTIFY_SEED={seed} repeats this run)")
    hook = FakeWebhook(seed, {"error": 0.15, "sent_error": 0.1, "late_sent": 0.08, "late": 0.07, "busy": 0.05},
                       stall_seconds=1.0).start()
    clock = Clock(hall_config.timezone)
    config = notifying_hall(hall_config, hook.url)  # the test hall is open round the clock: real time will do
    engine = Engine(redis_client, config, clock)
    sender = notification_sender(engine, clock=clock).start()
    expected: set[str] = set()
    try:
        today = clock.business_date()
        for i in range(50):  # 50 remote tickets with phones, each checked in, called and finished
            who = person(config, make_number(born=date(1980, 1, 1), seq=300 + i), today)
            t = remote.take(engine, "renshe", who, phone=f"139{i:08d}").ticket
            check_in(engine, identity=who)
            called = engine.call_next(1 + i % 2)
            assert called["id"] == t["id"]
            engine.finish(1 + i % 2, "handled")
            expected.add(f"testhall-called:{t['id']}")
        expected |= {f"testhall-ahead:{e.payload['ref']}" for e in notification_outbox(engine).list("sent", 10000)
                     + notification_outbox(engine).list("pending", 10000) if e.payload["kind"] == "ahead"}
        outbox = notification_outbox(engine)
        wait_until(lambda: outbox.counts()["pending"] == 0, what="every notification sent")
    finally:
        sender.stop()
        hook.stop()
    assert outbox.counts()["failed"] == 0
    assert {f"testhall-{e.id}" for e in outbox.list("sent", 10000)} == set(hook.sent) >= expected
    assert all(n == 1 for n in hook.deliveries.values())  # each message reached its phone once
    assert hook.answers["duplicate"] > 0 and hook.answers["error"] > 0  # the faults happened
    assert len(hook.requests) > len(hook.sent)
    body = hook.sent[sorted(expected)[0]]
    assert body["to"]["phone"].startswith("139") and body["kind"] in ("called", "ahead")


def test_the_worker_sweeps_and_sends(redis_client, hall_config, clock):
    hook = FakeWebhook(1).start()
    engine = Engine(redis_client, notifying_hall(hall_config, hook.url), clock)
    code = bookings.hold(engine, "renshe", "2026-11-27T11:00", person(engine.config), phone=PHONE)["code"]
    booking = bookings.confirm(engine, code)
    worker = ReceptionWorker(engine, sender=notification_sender(engine, clock=Clock(hall_config.timezone))).start()
    try:
        wait_until(lambda: f"testhall-booking_confirmed:{booking['id']}" in hook.sent
                   and f"testhall-reminder:{booking['id']}:202611271100" in hook.sent, what="confirmation and reminder")
    finally:
        worker.stop()
        hook.stop()
    assert worker.runs >= 1 and hook.sent[f"testhall-booking_confirmed:{booking['id']}"]["to"] == {"phone": PHONE}
