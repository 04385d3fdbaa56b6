"""默认评价: a visit not rated within [haocaiping] default_days gets the default level, once, whoever runs the job and
however often; its day is kept in Redis long enough for that (and for a 追评)."""

from __future__ import annotations

import threading

from haocaiping_support import events_of, serve, stored_ticket, with_upstream

from shared import ratings
from shared.engine import Engine
from shared.outbox import Outbox
from shared.redis_client import connect


def test_visits_not_rated_in_time_get_the_default_once(engine, redis_client, clock):
    rated = serve(engine, 1)
    ratings.rate(engine, 1, rated["id"], 5)
    consulted = serve(engine, 2, outcome="consulted")
    by_phone = serve(engine, 3)
    clock.advance(hours=2)
    later = serve(engine, 1)
    ratings.rate_by_token(engine, by_phone["token"], 4)
    engine.issue("renshe")
    engine.call_next(5)
    engine.no_show(5)  # a no-show is no visit to rate

    clock.advance(days=7, hours=-2, seconds=-1)  # one second before the first two are due
    assert ratings.apply_default_ratings(engine).rated == []
    clock.advance(seconds=1)
    run = ratings.apply_default_ratings(engine)
    assert run.rated == [consulted["id"]]
    clock.advance(hours=2)
    assert ratings.apply_default_ratings(engine).rated == [later["id"]]
    assert ratings.apply_default_ratings(engine).rated == []  # run again: nothing more

    defaults = [e for e in events_of(redis_client, "ticket_rated") if e["rating"]["default"]]
    assert [(e["ticket"]["id"], e["level"], e["label"], e["rating"]["channel"]) for e in defaults] == [
        (consulted["id"], 3, "基本满意", "default"), (later["id"], 3, "基本满意", "default")]
    assert defaults[0]["rating"]["outcome"] == "consulted" and defaults[0]["rating"]["window"] == 2
    t = stored_ticket(engine, consulted["id"])
    assert (t["rating"], t["rating_channel"], t["rating_default"]) == (3, "default", True)
    assert redis_client.zcard(engine.keys.unrated) == 0


def test_two_processes_at_once_rate_each_visit_once(redis_server, redis_client, hall_config, clock):
    engine = Engine(redis_client, hall_config, clock)
    visits = [serve(engine, (2, 3, 5, 6)[i % 4], "renshe" if i % 3 else "shichang")["id"] for i in range(120)]
    clock.advance(days=8)
    engines = [Engine(connect(redis_server.url), hall_config, clock) for _ in range(3)]
    start = threading.Barrier(len(engines))
    runs = []

    def job(e):
        start.wait()
        runs.append(ratings.apply_default_ratings(e))

    threads = [threading.Thread(target=job, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(i for run in runs for i in run.rated) == sorted(visits)
    events = events_of(redis_client, "ticket_rated")
    assert sorted(e["ticket"]["id"] for e in events) == sorted(visits)  # one event per visit


def test_a_day_is_kept_until_its_last_rating_can_come(engine, redis_client):
    v = serve(engine, 1)
    keep = engine.config.haocaiping.ticket_keep_days
    assert keep == 7 + 15 + 2 > 8  # default_days + followup_days + two days' margin
    for key in (engine.keys.tickets("20261127"), engine.keys.tokens("20261127")):
        assert keep * 86400 - 60 < redis_client.ttl(key) <= keep * 86400, key
    assert redis_client.zscore(engine.keys.unrated, v["id"]) is not None


def test_a_day_already_gone_is_dropped_not_rated(engine, redis_client, clock):
    v = serve(engine, 1)
    redis_client.delete(engine.keys.tickets("20261127"))  # what a worker down for weeks finds
    clock.advance(days=30)
    run = ratings.apply_default_ratings(engine)
    assert (run.rated, run.gone) == ([], 1) and redis_client.zscore(engine.keys.unrated, v["id"]) is None
    assert events_of(redis_client, "ticket_rated") == []


def test_default_ratings_are_reported_when_reporting_is_on(redis_client, hall_config, clock):
    config = with_upstream(hall_config, enabled=True, url="http://127.0.0.1:9/", fields={"id": "id"})
    engine = Engine(redis_client, config, clock)
    v = serve(engine, 2)
    clock.advance(days=7)
    ratings.apply_default_ratings(engine)
    [entry] = Outbox(engine, ratings.TOPIC).list("pending")
    assert entry.id == f"{v['id']}-1" and entry.partition == "2"
    assert (entry.payload["channel"], entry.payload["default"], entry.payload["level"]) == ("default", True, 3)


def test_nothing_goes_to_the_outbox_while_reporting_is_off(engine, redis_client, clock):
    v = serve(engine, 1)
    ratings.rate(engine, 1, v["id"], 1)
    clock.advance(days=7)
    serve(engine, 2)
    clock.advance(days=7)
    ratings.apply_default_ratings(engine)
    assert Outbox(engine, ratings.TOPIC).counts() == {"pending": 0, "failed": 0, "sent": 0}
    assert not list(redis_client.scan_iter("ow:{testhall}:outbox:*"))
