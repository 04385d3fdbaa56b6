"""The demo hall's simulated citizens use what the config turns on: ID cards where services have per-ID rules,
bookings checked in at once, remote tickets that mostly check in and sometimes lapse."""

from __future__ import annotations

from reception_support import booking_hall, events_of, with_remote, with_rules

from shared.demo_hall import HallSimulator
from shared.engine import Engine


def test_the_simulator_books_checks_in_and_takes_remote_tickets(redis_client, hall_config, clock):
    config = with_rules(with_remote(booking_hall(hall_config, capacity=50, hours=None)), max_open=1, green_age=70)
    engine = Engine(redis_client, config, clock)
    sim = HallSimulator(engine, seed=3, max_waiting=60)
    for second in range(400):  # the hall's clock stands at 10:00; the simulator's own time runs
        sim.step(float(second))
    assert sim.counts["booked"] > 0 and sim.counts["remote"] > 0 and sim.counts["called"] > 0
    kinds = {e["type"] for e in events_of(redis_client)}
    assert {"booking_confirmed", "booking_checked_in", "ticket_activated"} <= kinds
    issued = [e["ticket"] for e in events_of(redis_client, "ticket_issued")]
    assert any(t.get("realname") for t in issued) and any(t.get("appointment") for t in issued)
    assert any(t.get("green") == "age" for t in issued)


def test_the_plain_demo_hall_is_unchanged(redis_client, hall_config, clock):
    engine = Engine(redis_client, hall_config, clock)
    sim = HallSimulator(engine, seed=3)
    for second in range(100):
        sim.step(float(second))
    assert sim.counts["booked"] == sim.counts["remote"] == 0 and sim.counts["issued"] > 0
    assert not any(e["ticket"].get("realname") for e in events_of(redis_client, "ticket_issued"))
