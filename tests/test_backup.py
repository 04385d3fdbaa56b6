"""`onewindow backup` / `restore`: a round trip on a busy hall, into a fresh var directory and a fresh Redis."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import zipfile
from dataclasses import replace
from datetime import timedelta

import pytest

from shared.backup import backup, restore
from shared.embedded import EmbeddedRedis
from shared.engine import Engine
from shared.errors import ConflictError
from shared.stats import Archive, archive_closed_days
from shared.redis_client import connect


@pytest.fixture
def fresh_redis(tmp_path):
    server = EmbeddedRedis(tmp_path / "fresh-redis").start()
    yield server
    server.stop()


def test_round_trip_on_a_busy_hall(engine, redis_server, hall_config, clock, tmp_path, fresh_redis):
    config = replace(hall_config, var_dir=tmp_path / "var")
    engine = Engine(engine.redis, config, clock)
    # yesterday, archived: the backup carries the statistics archive too
    clock.advance(days=-1)
    for _ in range(3):
        engine.issue("renshe")
    engine.call_next(1)
    engine.finish(1, "handled")
    clock.advance(days=1)
    assert archive_closed_days(engine, Archive(config.archive_path), trim=False).archived

    acked: list[str] = []  # ticket ids whose issue returned, in order
    lock = threading.Lock()
    stop = threading.Event()

    def citizens(service: str) -> None:
        mine = Engine(connect(redis_server.url), config, clock)
        while not stop.is_set():
            t = mine.issue(service).ticket
            with lock:
                acked.append(t["id"])

    workers = [threading.Thread(target=citizens, args=(s,)) for s in ("renshe", "shichang")]
    for w in workers:
        w.start()
    try:
        while len(acked) < 50:  # the hall is busy before the backup starts
            stop.wait(0.01)
        with lock:
            before = list(acked)
        info = backup(engine, redis_server.url, config, tmp_path / "hall.zip")
        with lock:
            after_count = len(acked)
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert after_count > len(before)  # issuing went on while the backup ran
    assert info.archive and info.keys > 0

    # restore into a fresh var dir and an empty Redis
    fresh_config = replace(config, var_dir=tmp_path / "var2")
    fresh = Engine(connect(fresh_redis.url), fresh_config, clock)
    restored = restore(fresh, fresh_config, tmp_path / "hall.zip")
    assert restored.seq == info.seq == fresh.last_seq()
    for ticket_id in before:  # everything acknowledged before the backup is there
        assert fresh.get_ticket(ticket_id)["status"] == "waiting"
    # one consistent point in time: the stream ends at the seq counter, every issued ticket is in the stream
    stream = fresh.events_since()
    assert stream[-1].seq == restored.seq and [e.seq for e in stream] == list(range(stream[0].seq, restored.seq + 1))
    issued = {e.data["ticket"]["id"] for e in stream if e.type == "ticket_issued"}
    today = engine.today()
    assert issued >= set(fresh.redis.hkeys(fresh.keys.tickets(today)))
    # numbering goes on after the last number in the backup: no duplicates
    numbers = {json.loads(v)["number"] for v in fresh.redis.hvals(fresh.keys.tickets(today))}
    assert fresh.issue("renshe").ticket["number"] not in numbers
    # the archive came back, with yesterday in it
    assert Archive(fresh_config.archive_path).days() == Archive(config.archive_path).days()
    assert (clock.business_date() - timedelta(days=1)).isoformat() in Archive(fresh_config.archive_path).days()


def test_restore_refuses_a_hall_that_has_data(engine, redis_server, hall_config, tmp_path):
    config = replace(hall_config, var_dir=tmp_path / "var")
    engine.issue("renshe")
    backup(engine, redis_server.url, config, tmp_path / "b.zip")
    seq = engine.last_seq()
    with pytest.raises(ConflictError) as info:
        restore(engine, replace(hall_config, var_dir=tmp_path / "other"), tmp_path / "b.zip")
    assert info.value.code == "hall_not_empty" and engine.last_seq() == seq


def test_backup_file_holds_a_manifest_and_the_keys(engine, redis_server, hall_config, tmp_path):
    engine.issue("renshe")
    backup(engine, redis_server.url, replace(hall_config, var_dir=tmp_path), tmp_path / "b.zip")
    with zipfile.ZipFile(tmp_path / "b.zip") as z:
        manifest = json.loads(z.read("manifest.json"))
        keys = [json.loads(line)["key"] for line in z.read("redis.jsonl").splitlines()]
    assert manifest["hall"] == hall_config.hall_id and manifest["seq"] == 1 and not manifest["archive"]
    assert engine.keys.events in keys and engine.keys.seq in keys and len(keys) == manifest["keys"]


def test_the_commands(redis_server, redis_client, live_config, tmp_path, fresh_redis):
    """`onewindow backup` against the running hall, `onewindow restore` into another Redis."""
    import os

    from shared.config import load_config

    engine = Engine(redis_client, load_config(live_config))
    engine.issue("renshe")
    env = {**os.environ, "ONEWINDOW_REDIS_URL": redis_server.url}
    out = subprocess.run([sys.executable, "-m", "onewindow", "backup", "--config", str(live_config), "--out",
                          str(tmp_path / "b.zip")], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "backed up" in out.stdout and (tmp_path / "b.zip").is_file()
    env["ONEWINDOW_REDIS_URL"] = fresh_redis.url
    fresh_config = tmp_path / "fresh.toml"  # the same hall with a fresh var directory
    text = live_config.read_text(encoding="utf-8")
    fresh_config.write_text(text.replace(str(live_config.parent / "var"), str(tmp_path / "var2")), encoding="utf-8")
    assert str(tmp_path / "var2") in fresh_config.read_text(encoding="utf-8")
    back = subprocess.run([sys.executable, "-m", "onewindow", "restore", str(tmp_path / "b.zip"), "--config",
                           str(fresh_config)], env=env, capture_output=True, text=True, timeout=60)
    assert back.returncode == 0, back.stderr
    assert connect(fresh_redis.url).get(engine.keys.seq) == "1"
    again = subprocess.run([sys.executable, "-m", "onewindow", "restore", str(tmp_path / "b.zip"), "--config",
                            str(fresh_config)], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "restore refused" in again.stderr
