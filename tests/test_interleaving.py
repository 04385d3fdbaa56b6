"""A randomized interleaving of the window actions and cancels, across windows and threads, on the real server.

Six windows (each a thread with its own Redis client, like separate server processes) and a citizen thread start
together behind a barrier and act at random: call-next, call-number (often a number another window is serving or
transferring), recall, transfer (to a service or a window), no-show, finish, cancel. Then the invariants of
``tests/invariants.py`` must hold, and every acknowledged action must be in the stream exactly once (and nothing
else). The seed is printed on failure; ``ONEWINDOW_SEED=<n>`` replays its choices.
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter

import pytest

from invariants import check_all
from shared.engine import Engine
from shared.errors import OneWindowError
from shared.redis_client import connect

WINDOWS = (1, 2, 3, 4, 5, 6)
STEPS = 200
EVENT_OF = {"call_next": "ticket_called", "call_number": "ticket_called", "recall": "ticket_recalled",
            "transfer": "ticket_transferred", "no_show": "ticket_marked_no_show", "finish": "ticket_finished",
            "cancel": "ticket_cancelled"}


@pytest.mark.parametrize("round_", range(6))
def test_random_interleaving_keeps_every_invariant(redis_server, redis_client, hall_config, clock, round_):
    interleave(redis_server, redis_client, hall_config, clock, round_)


@pytest.mark.parametrize("round_", range(2))
def test_random_interleaving_on_a_cluster(redis_cluster, cluster_client, hall_config, clock, round_):
    """The same on a Redis Cluster (three primaries with a replica each): the hall's slot, redis-py's cluster
    client in every thread."""
    interleave(redis_cluster, cluster_client, hall_config, clock, round_)


def interleave(redis_server, redis_client, hall_config, clock, round_: int) -> None:
    """Run the interleaving on ``redis_server`` (anything with a ``url``) and check it (see the module doc)."""
    seed = int(os.environ.get("ONEWINDOW_SEED", random.randrange(2**32))) + round_
    setup = Engine(redis_client, hall_config, clock)
    issued = [setup.issue(random.Random(seed + i).choice(["renshe", "shichang"]),
                          priority=(i % 7 == 0)).ticket for i in range(90)]
    numbers = [t["number"] for t in issued]
    barrier = threading.Barrier(len(WINDOWS) + 1)
    acked: list[tuple[str, int | None, str]] = []  # (action, window, ticket id) for every action that answered ok
    serving: dict[int, str] = {}  # window → the number it last called: call-number and cancel aim at these
    lock = threading.Lock()
    crashes: list[BaseException] = []

    def ack(action: str, window: int | None, ticket: dict) -> None:
        with lock:
            acked.append((action, window, ticket["id"]))
            if action in ("call_next", "call_number"):
                serving[window] = ticket["number"]

    def aim(rng: random.Random) -> str:
        """Mostly a number some window is serving (and may be transferring right now), else any number."""
        with lock:
            hot = list(serving.values())
        return rng.choice(hot) if hot and rng.random() < 0.7 else rng.choice(numbers)

    def window_loop(window: int) -> None:
        rng = random.Random(seed * 31 + window)
        engine = Engine(connect(redis_server.url), hall_config, clock)
        barrier.wait()
        for _ in range(STEPS):
            action = rng.choice(["call_next", "call_next", "call_number", "call_number", "recall", "transfer",
                                 "transfer", "no_show", "finish", "finish"])
            try:
                if action == "call_next":
                    ack(action, window, engine.call_next(window, f"clerk{window}"))
                elif action == "call_number":
                    ack(action, window, engine.call_number(window, aim(rng), f"clerk{window}"))
                elif action == "recall":
                    ack(action, window, engine.recall(window, f"clerk{window}"))
                elif action == "transfer":
                    if rng.random() < 0.5:
                        target = {"service": rng.choice(["renshe", "shichang"])}
                    else:
                        target = {"to_window": rng.choice([n for n in WINDOWS if n != window])}
                    ack(action, window, engine.transfer(window, clerk=f"clerk{window}", **target))
                elif action == "no_show":
                    ack(action, window, engine.no_show(window, f"clerk{window}"))
                else:
                    ack(action, window, engine.finish(window, rng.choice(["handled", "consulted"]), f"clerk{window}"))
            except OneWindowError:
                pass  # refused (409/422): changes nothing
            except BaseException as exc:  # noqa: BLE001 - reported below with the seed
                crashes.append(exc)
                return

    def citizen_loop() -> None:
        rng = random.Random(seed * 17)
        engine = Engine(connect(redis_server.url), hall_config, clock)
        barrier.wait()
        for _ in range(STEPS // 2):
            try:
                ack("cancel", None, engine.cancel(f"{issued[0]['id'][:8]}-{aim(rng)}"))
            except OneWindowError:
                pass
            except BaseException as exc:  # noqa: BLE001
                crashes.append(exc)
                return

    threads = [threading.Thread(target=window_loop, args=(n,)) for n in WINDOWS]
    threads.append(threading.Thread(target=citizen_loop))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), f"seed {seed}: a thread hung"
    assert not crashes, f"seed {seed}: {crashes[0]!r}"

    events, tickets, problems = check_all(redis_client, hall_config)
    assert not problems, f"seed {seed}: " + "\n".join(problems[:20])
    # every acknowledged action is one event (and there is no event nobody was told about)
    from_events = Counter((e["type"], e.get("window"), e["ticket"]["id"]) for e in events
                          if e["type"] != "ticket_issued" and "ticket" in e)
    from_clients = Counter((EVENT_OF[a], w, tid) for a, w, tid in acked)
    assert from_events == from_clients, f"seed {seed}: events and acknowledgements differ"
    assert sum(from_clients.values()) > 100, f"seed {seed}: too little happened to prove anything"
    assert any(len(s.calls) > 1 for s in tickets.values()), f"seed {seed}: no ticket was called twice in turn"
