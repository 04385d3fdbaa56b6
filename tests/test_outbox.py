"""Reporting ratings upstream: the outbox written with each rating, the sender, the generic JSON-over-HTTP adapter —
against a real local HTTP server playing the provincial system, which fails, times out, answers "duplicate" and is
restarted, while the sender itself crashes and another process takes over."""

from __future__ import annotations

import json
import os
import random
from datetime import datetime

import pytest
from fake_province import FakeProvince
from haocaiping_support import PROVINCE_CODES, PROVINCE_FIELDS, events_of, serve, with_upstream
from outbox_support import wait_until

from shared import ratings
from shared.clock import Clock
from shared.engine import Engine
from shared.errors import ConflictError, NotFoundError
from shared.haocaiping import JsonHttpAdapter, rating_outbox, sender_settings
from shared.outbox import Delivery, Sender
from shared.redis_client import connect

HALL_FIELDS = dict(area_code="340404", department_code="11340404MB0000000X", department_codes={"shichang": "SC-01"},
                   fields=PROVINCE_FIELDS, codes=PROVINCE_CODES, constants={"dataSource": "1"},
                   success_field="code", success_values=("0",), duplicate_values=("1001",))


def reporting_engine(redis_client, hall_config, clock, url: str, **changes) -> Engine:
    settings = {**HALL_FIELDS, "enabled": True, "url": url, "timeout_seconds": 0.25, "parallel": 6,
                "poll_seconds": 0.02, "max_attempts": 1000, "backoff_seconds": 0.005, "max_backoff_seconds": 0.05,
                **changes}
    return Engine(redis_client, with_upstream(hall_config, **settings), clock)


def new_sender(engine: Engine, name: str = "sender") -> Sender:
    adapter = JsonHttpAdapter(engine.config)
    return Sender(rating_outbox(engine), adapter.deliver, sender_settings(engine.config),
                  clock=Clock(engine.config.timezone), name=name)


# ------------------------------------------------------------------------------------------------ the field map
def test_a_rating_in_the_provinces_words(redis_client, hall_config, clock):
    engine = reporting_engine(redis_client, hall_config, clock, "http://127.0.0.1:9/")
    v = serve(engine, 1, matter="340404-RS-002", case_no="SB2026112700042")
    ratings.rate(engine, 1, v["id"], 2, options=["201", "207"], text="等候太久", contact_phone="13812345678")
    [entry] = rating_outbox(engine).list("pending")
    assert "13812345678" not in json.dumps(entry.payload)  # the call-back number is never reported
    record = JsonHttpAdapter(engine.config).record(entry.payload)
    assert record == {
        "evalId": f"testhall-{v['id']}-1", "areaCode": "340404", "deptCode": "11340404MB0000000X",
        "taskCode": "340404-RS-002", "taskName": "社会保障卡申领", "projectNo": "SB2026112700042", "proStatus": "1",
        "proDepart": "人社综合", "proManager": "王芳", "pf": "4", "satisfaction": 2, "evalDetail": "201,207",
        "writingEvaluation": "等候太久", "assessTime": "2026-11-27 10:00:00", "assessNumber": 1, "windowNo": 1,
        "certKey": "", "userProp": "1", "dataSource": "1"}
    # a 追评 from the phone of a consultation at a service without 事项, a JSON array, a wrapper, another time format
    w = serve(engine, 4, "shichang", outcome="consulted")
    ratings.rate_by_token(engine, w["token"], 5, options=["101"])
    clock.advance(days=3)
    ratings.rate_by_token(engine, w["token"], 4, followup=True)
    adapter = JsonHttpAdapter(with_upstream(engine.config, list_separator="", wrap="data", time_format="%Y%m%d%H%M%S"))
    entries = {e.id: e for e in rating_outbox(engine).list("pending")}
    second = json.loads(adapter.body(entries[f"{w['id']}-2"].payload))["data"]
    assert (second["assessNumber"], second["pf"], second["proStatus"], second["deptCode"]) == (2, "3", "2", "SC-01")
    assert (second["taskCode"], second["taskName"], second["evalDetail"]) == ("", "市场综合", [])
    assert second["assessTime"] == "20261130100000"
    first = json.loads(adapter.body(entries[f"{w['id']}-1"].payload))["data"]
    assert first["evalDetail"] == ["101"] and first["assessNumber"] == 1


@pytest.mark.parametrize("status,body,accepted,permanent", [
    (200, b'{"code":"0"}', True, False),
    (201, b'{"code":"1001","msg":"dup"}', True, False),  # the province already has it: accepted
    (200, b'{"code":"500"}', False, False),  # a 2xx that says no
    (200, b"not json", False, False),
    (500, b"", False, False), (503, b"", False, False), (429, b"", False, False), (408, b"", False, False),
    (400, b'{"code":"400"}', False, True), (404, b"", False, True), (401, b"", False, True),
])
def test_answers_are_judged(hall_config, status, body, accepted, permanent):
    adapter = JsonHttpAdapter(with_upstream(hall_config, **HALL_FIELDS))
    d = adapter.judge(status, body)
    assert (d.accepted, d.permanent) == (accepted, permanent), d.detail
    plain = JsonHttpAdapter(with_upstream(hall_config, fields={"evalId": "id"}))  # no success_field: any 2xx
    assert plain.judge(204, b"").accepted and not plain.judge(502, b"").accepted


# ------------------------------------------------------------------------------------------------ 1,000 ratings
def test_a_thousand_ratings_reach_the_province_once_each_in_order_per_window(redis_server, redis_client,
                                                                            hall_config):
    seed = int(os.environ.get("ONEWINDOW_OUTBOX_SEED") or random.SystemRandom().randrange(10**9))
    print(f"\noutbox test seed: {seed} (ONEWINDOW_OUTBOX_SEED={seed} repeats this run)")
    rng = random.Random(seed)
    province = FakeProvince(seed, {"error": 0.12, "accept_error": 0.08, "late_accept": 0.05, "late": 0.05,
                                   "busy": 0.05}).start()
    clock = Clock(hall_config.timezone)
    engine = reporting_engine(redis_client, hall_config, clock, province.url)
    # two server processes, each with its sender; the lease lets one post at a time
    other = reporting_engine(connect(redis_server.url), hall_config, clock, province.url)
    senders = [new_sender(engine, "sender-a").start(), new_sender(other, "sender-b").start()]
    order: dict[str, list[str]] = {}
    windows = {1: "renshe", 2: "renshe", 3: "shichang", 4: "shichang", 5: "renshe", 6: "shichang"}
    crashed, down_at = False, None  # down_at: the senders' failed attempts when the province went down

    def failures() -> int:
        return sum(s.stats.failed_attempts for s in senders)

    try:
        for i in range(1000):
            window = rng.choice(list(windows))
            v = serve(engine, window, windows[window])
            level = rng.choice((5, 5, 5, 4, 4, 3, 2, 1))
            if rng.random() < 0.3:
                r = ratings.rate_by_token(engine, v["token"], level)
            else:
                r = ratings.rate(engine, window, v["id"], level)
            order.setdefault(str(window), []).append(f"testhall-{r['rating']['id']}")
            if i == 300 and not crashed:  # the active sender's process dies: posts in flight are never marked
                active = max(senders, key=lambda s: s.stats.holding)
                active.abandon()
                senders = [s for s in senders if s is not active] + [new_sender(engine, "sender-c").start()]
                crashed = True
            if i == 600:  # the province goes down …
                province.stop()
                down_at = failures()
            if down_at is not None and failures() >= down_at + 5:  # … refuses a few posts, and comes back
                province.start()  # (its store survives)
                down_at = None
        if down_at is not None:  # still down: the last ratings wait for it
            wait_until(lambda: failures() >= down_at + 5, what="refused posts")
            province.start()
        outbox = rating_outbox(engine)
        wait_until(lambda: outbox.counts() == {"pending": 0, "failed": 0, "sent": 1000}, what="every report sent")
    finally:
        for s in senders:
            s.stop()
        province.stop()

    ids = [i for ids in order.values() for i in ids]
    assert len(ids) == len(set(ids)) == 1000
    assert set(province.accepted) == set(ids)  # every rating accepted upstream …
    accepts = [eval_id for kind, eval_id in province.log if kind == "accept"]
    assert len(accepts) == 1000  # … exactly once
    assert province.order_violations(order) == []  # … and never before the window's earlier ratings
    for window, expected in order.items():  # accepted in the order rated, per window
        assert [i for i in accepts if i in set(expected)] == expected, window
    # the faults really happened: the province restarted, a sender died, answers were lost and duplicated
    assert province.starts == 2 and crashed
    assert province.answers["duplicate"] > 0 and province.answers["late_accept"] > 0
    assert province.answers["error"] > 0 and province.answers["accept_error"] > 0
    assert province.requests > 1000


# ------------------------------------------------------------------------------------------------ states
def test_a_refused_report_fails_at_once_without_holding_up_its_window_and_can_be_resent(redis_client, hall_config,
                                                                                         clock):
    province = FakeProvince(1).start()
    engine = reporting_engine(redis_client, hall_config, clock, province.url)
    bad = serve(engine, 1)
    ratings.rate(engine, 1, bad["id"], 5)
    good = serve(engine, 1)
    ratings.rate(engine, 1, good["id"], 4)
    province.refuse = lambda record: record["evalId"] == f"testhall-{bad['id']}-1"
    sender = new_sender(engine)
    outbox = rating_outbox(engine)
    try:
        wait_until(lambda: sender.step(0.05) == 0 and outbox.counts() == {"pending": 0, "failed": 1, "sent": 1},
                   what="one failed, one sent")
        [failed] = outbox.list("failed")
        assert failed.id == f"{bad['id']}-1" and failed.attempts == 1 and "400 refused" in failed.last_error
        [ev] = events_of(redis_client, "outbox_entry_failed")
        assert (ev["ref"], ev["partition"], ev["topic"]) == (failed.id, "1", "haocaiping")
        with pytest.raises(ConflictError):
            outbox.resend(f"{good['id']}-1", by="supervisor")  # sent, not failed
        with pytest.raises(NotFoundError):
            outbox.resend("nosuch", by="supervisor")
        province.refuse = lambda record: False  # the province fixed its side
        again = outbox.resend(failed.id, by="supervisor")
        assert (again.state, again.attempts, again.resent) == ("pending", 0, 1)
        assert [e.id for e in outbox.list("pending")] == [failed.id]
        wait_until(lambda: sender.step(0.05) == 0 and outbox.counts()["sent"] == 2, what="the resend")
        assert outbox.get(failed.id).state == "sent" and outbox.get(failed.id).sent_ms
        assert events_of(redis_client, "outbox_entry_resent")[0]["by"] == "supervisor"
    finally:
        sender.stop()
        province.stop()


def test_a_report_that_keeps_failing_is_failed_after_max_attempts_and_holds_its_window_till_then(
        redis_client, hall_config, clock):
    engine = reporting_engine(redis_client, hall_config, clock, "http://127.0.0.1:9/", max_attempts=3)
    calls = []

    def deliver(entry):
        calls.append(entry.id)
        return Delivery(False, "503: busy")

    first = serve(engine, 2)
    ratings.rate(engine, 2, first["id"], 5)
    second = serve(engine, 2)
    ratings.rate(engine, 2, second["id"], 5)
    sender = Sender(rating_outbox(engine), deliver, sender_settings(engine.config), clock=Clock(hall_config.timezone))
    outbox = rating_outbox(engine)
    wait_until(lambda: sender.step(0.05) == 0 and outbox.counts()["failed"] == 2, what="both failed")
    # the second was never tried before the first had failed for good: order per window
    assert calls == [f"{first['id']}-1"] * 3 + [f"{second['id']}-1"] * 3
    assert [e.attempts for e in outbox.list("failed")] == [3, 3]
    sender.stop()


def test_a_crash_between_the_provinces_answer_and_the_mark_resends_the_same_id(redis_client, hall_config, clock):
    province = FakeProvince(2).start()
    engine = reporting_engine(redis_client, hall_config, clock, province.url)
    v = serve(engine, 3, "shichang")
    ratings.rate(engine, 3, v["id"], 5)
    crashing = new_sender(engine, "crashing")
    crashing.outbox.ack = lambda *a, **k: (_ for _ in ()).throw(SystemError("killed before the mark"))
    with pytest.raises(SystemError):
        wait_until(lambda: crashing.step(0.05) == 0 and False, what="the crash")  # posts, then dies marking it
    crashing.abandon()
    assert set(province.accepted) == {f"testhall-{v['id']}-1"}
    assert rating_outbox(engine).counts()["pending"] == 1  # not marked: still pending
    survivor = new_sender(engine, "survivor")
    outbox = rating_outbox(engine)
    try:
        wait_until(lambda: survivor.step(0.05) == 0 and outbox.counts()["sent"] == 1, what="the resend",
                   timeout=60)  # after the crashed sender's lease ran out
    finally:
        survivor.stop()
        province.stop()
    assert [k for k, _i in province.log] == ["recv", "accept", "recv"] and province.answers["duplicate"] == 1
    assert outbox.get(f"{v['id']}-1").answer.startswith("200 duplicate")


def test_one_sender_per_hall(redis_server, redis_client, hall_config, clock):
    # timeout 2 s → a 7 s lease: a busy machine pausing the test between two rounds does not hand it over
    engine = reporting_engine(redis_client, hall_config, clock, "http://127.0.0.1:9/", timeout_seconds=2)
    for w in (1, 2, 3):
        v = serve(engine, w, "renshe" if w < 3 else "shichang")
        ratings.rate(engine, w, v["id"], 5)
    posted = {"a": [], "b": []}

    def deliver_as(name):
        return lambda entry: (posted[name].append(entry.id), Delivery(True, "200"))[1]

    a = Sender(rating_outbox(engine), deliver_as("a"), sender_settings(engine.config), clock=Clock(hall_config.timezone))
    other = reporting_engine(connect(redis_server.url), hall_config, clock, "http://127.0.0.1:9/", timeout_seconds=2)
    b = Sender(rating_outbox(other), deliver_as("b"), sender_settings(engine.config), clock=Clock(hall_config.timezone))
    outbox = rating_outbox(engine)
    wait_until(lambda: (a.step(0.02), b.step(0.02)) and outbox.counts()["sent"] == 3, what="three sent")
    assert sorted(posted["a"]) == sorted(e.id for e in outbox.list("sent")) and posted["b"] == []
    assert a.stats.holding and not b.stats.holding
    a.stop()  # gives the lease back: the other process takes over at once
    v = serve(engine, 1)
    ratings.rate(engine, 1, v["id"], 5)
    wait_until(lambda: b.step(0.02) == 0 and outbox.counts()["sent"] == 4, what="the other sender")
    assert posted["b"] == [f"{v['id']}-1"]
    b.stop()


def test_sent_reports_are_forgotten_after_keep_sent_days(redis_client, hall_config, clock):
    engine = reporting_engine(redis_client, hall_config, clock, "http://127.0.0.1:9/", keep_sent_days=30)
    v = serve(engine, 1)
    ratings.rate(engine, 1, v["id"], 5)
    outbox = rating_outbox(engine)
    [entry] = outbox.list("pending")
    now = int(datetime(2026, 11, 27, 10, tzinfo=hall_config.timezone).timestamp() * 1000)
    assert outbox.ack(entry, "200", now) and not outbox.ack(entry, "200", now)  # marked once
    assert outbox.prune(now - 1) == 0 and outbox.prune(now + 1) == 1
    assert outbox.counts() == {"pending": 0, "failed": 0, "sent": 0}


def test_the_worker_gives_the_default_and_reports_it(redis_client, hall_config, clock):
    """start_worker (what create_app starts): the default rating of a visit nobody rated reaches the province."""
    from shared.haocaiping import start_worker

    province = FakeProvince(3).start()
    engine = reporting_engine(redis_client, hall_config, clock, province.url)
    v = serve(engine, 5, outcome="consulted")
    clock.advance(days=7, minutes=1)
    worker = start_worker(engine)
    try:
        wait_until(lambda: f"testhall-{v['id']}-1" in province.accepted, what="the default rating reported")
    finally:
        worker.stop()
        province.stop()
    record = province.accepted[f"testhall-{v['id']}-1"]
    assert (record["pf"], record["satisfaction"], record["proStatus"], record["assessNumber"]) == ("7", 3, "2", 1)
    assert worker.runs >= 1 and worker.last.rated == [v["id"]]
