"""Prometheus metrics (``GET /metrics``).

Two kinds, documented in docs/deploy.md ("Metrics"):

* **Hall-wide counts, from Redis**: tickets issued / called / recalled / finished (by outcome) / no-show /
  transferred / cancelled per service, printer faults per kiosk and kind, and every event type. They are counts of
  the events in the stream, folded into one Redis hash by ``metrics_fold.lua`` — the counts and the fold's cursor
  move in one atomic step, so however many processes fold (each scrape folds what is new first) every event is
  counted exactly once, and a restart of any process changes nothing. Every process reports the same values: scrape
  one, or take ``max`` across processes, never ``sum``. Waiting per service is read from the live queues at scrape.
* **Per process**: call→emit latency (event time to the relay's emit), HTTP latency per route, relay lag (events
  in the stream this process has not emitted yet, and the age of the oldest), the relay's views that failed (per
  audience and event type: those screens were told to resync). They start from zero with the process,
  like any Prometheus counter; scrape each process on its own port.

No Flask here: the web edge (``onewindow.create_app``) times requests and serves :meth:`Metrics.render`.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from shared import events
from shared.engine import Engine
from shared.keys import day_key

logger = logging.getLogger(__name__)

FOLD_BATCH = 2000
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# event type → the per-service counter it feeds
SERVICE_COUNTERS = {
    events.TICKET_ISSUED: ("tickets_issued", "Tickets issued"),
    events.TICKET_CALLED: ("tickets_called", "Tickets called (first call of a ticket, or again after a transfer)"),
    events.TICKET_RECALLED: ("tickets_recalled", "Calls repeated (recall)"),
    events.TICKET_MARKED_NO_SHOW: ("tickets_no_show", "Tickets closed as no-show"),
    events.TICKET_TRANSFERRED: ("tickets_transferred", "Tickets transferred to another service or window"),
    events.TICKET_CANCELLED: ("tickets_cancelled", "Tickets cancelled by the citizen"),
}
CALL_EVENTS = (events.TICKET_CALLED, events.TICKET_RECALLED)


def fold_events(engine: Engine, batch: int = FOLD_BATCH) -> int:
    """Count every event appended since the last fold (any process's); returns how many this call counted."""
    total = 0
    while True:
        r = engine.runner.run("metrics_fold", [engine.keys.metrics], [batch])
        total += int(r["counted"])
        if not r["more"]:
            return total


def event_counts(engine: Engine) -> dict[str, int]:
    """The folded counters (after folding what is new): field → count."""
    fold_events(engine)
    raw = engine.redis.hgetall(engine.keys.metrics)
    return {k: int(v) for k, v in raw.items() if k != "cursor"}


class _GcCollector:
    """The cyclic garbage collector of this process: objects it no longer walks (``gc.freeze`` once the server's
    worker is loaded: onewindow.serving.freeze_startup_heap) and collections per generation."""

    def collect(self):
        frozen = GaugeMetricFamily("onewindow_gc_frozen_objects", "Objects this process moved out of the garbage "
                                   "collector's reach once loaded (a full collection does not walk them)")
        frozen.add_metric([], gc.get_freeze_count())
        runs = CounterMetricFamily("onewindow_gc_collections", "Collections of the cyclic garbage collector, by "
                                   "generation (2: a full one)", labels=["generation"])
        for generation, figures in enumerate(gc.get_stats()):
            runs.add_metric([str(generation)], figures["collections"])
        yield from (frozen, runs)


class _HallCollector:
    """Hall-wide figures read from Redis at scrape time (see the module doc), for every hall of the process: the
    samples carry a ``hall`` label when there are several (a city deployment), none for the only hall."""

    def __init__(self, halls: list[tuple[str, Engine, Callable[[], str | None]]], labelled: bool) -> None:
        self.halls = halls  # (hall id, engine, the position of the hall's relay in this process)
        self.labelled = labelled

    def _family(self, kind, name: str, doc: str, labels: tuple[str, ...] = ()):
        return kind(name, doc, labels=(["hall"] if self.labelled else []) + list(labels))

    def _add(self, family, hall: str, labels: list[str], value) -> None:
        family.add_metric(([hall] if self.labelled else []) + labels, value)

    def collect(self):
        counter = CounterMetricFamily
        per_service = {etype: self._family(counter, f"onewindow_{name}", doc, ("service",))
                       for etype, (name, doc) in SERVICE_COUNTERS.items()}
        finished = self._family(counter, "onewindow_tickets_finished", "Tickets finished, by outcome (handled = 办件, "
                                "consulted = 咨询)", ("service", "outcome"))
        faults = self._family(counter, "onewindow_printer_faults", "Kiosk printers going from working to faulted",
                              ("kiosk", "kind"))
        every = self._family(counter, "onewindow_events", "Events in the hall's stream, by type", ("type",))
        waiting = self._family(GaugeMetricFamily, "onewindow_waiting", "Tickets waiting now, per service",
                               ("service",))
        seq = self._family(GaugeMetricFamily, "onewindow_event_seq", "Sequence number of the newest event")
        lag = self._family(GaugeMetricFamily, "onewindow_relay_lag_events", "Events in the stream this process has "
                           "not emitted to its screens yet (capped at 10001)")
        lag_s = self._family(GaugeMetricFamily, "onewindow_relay_lag_seconds", "Age of the oldest event this process "
                             "has not emitted yet (0 when caught up)")
        for hall, engine, relay_position in self.halls:
            counts = event_counts(engine)
            services = list(engine.config.services)
            for etype, family in per_service.items():
                for code in services:
                    self._add(family, hall, [code], counts.get(f"svc|{etype}|{code}", 0))
            for code in services:
                for outcome in ("handled", "consulted"):
                    self._add(finished, hall, [code, outcome], counts.get(f"out|{code}|{outcome}", 0))
            for field, n in counts.items():
                if field.startswith("prn|"):
                    _, kiosk, kind = field.split("|", 2)
                    self._add(faults, hall, [kiosk, kind], n)
            for etype in events.ALL_EVENTS:
                self._add(every, hall, [etype], counts.get(f"ev|{etype}", 0))
            self._live(hall, engine, relay_position, waiting, seq, lag, lag_s)
        yield from per_service.values()
        yield from (finished, faults, every, waiting, seq)
        if lag.samples:
            yield from (lag, lag_s)

    def _live(self, hall: str, engine: Engine, relay_position, waiting, seq, lag, lag_s) -> None:
        day = day_key(engine.clock.business_date())
        pipe = engine.redis.pipeline(transaction=False)
        for code in engine.config.services:
            pipe.zcard(engine.keys.queue(day, code))
        pipe.get(engine.keys.seq)
        position = relay_position()
        if position:
            pipe.xrange(engine.keys.events, min="(" + position, max="+", count=10001)
        answers = pipe.execute()
        for code, n in zip(engine.config.services, answers):
            self._add(waiting, hall, [code], n)
        n = len(engine.config.services)
        self._add(seq, hall, [], int(answers[n] or 0))
        if position:
            behind = answers[n + 1]
            age = max(0.0, time.time() - int(behind[0][1]["ts"]) / 1000) if behind else 0.0
            self._add(lag, hall, [], len(behind))
            self._add(lag_s, hall, [], age)


class Metrics:
    """The metrics of one app (its own registry, so several apps in one process do not collide)."""

    def __init__(self, engine: Engine | None = None, relay_position: Callable[[], str | None] = lambda: None, *,
                 halls: list[tuple[str, Engine, Callable[[], str | None]]] | None = None) -> None:
        """One hall (``engine`` and its relay's position), or ``halls``: (hall id, engine, relay position) of every
        hall this process serves, labelled ``hall`` when there are several."""
        halls = halls if halls is not None else [(engine.config.hall_id, engine, relay_position)]
        self.registry = CollectorRegistry()
        self.registry.register(_HallCollector(halls, labelled=len(halls) > 1))
        ProcessCollector(registry=self.registry)
        self.registry.register(_GcCollector())
        self.http = Histogram("onewindow_http_request_seconds", "HTTP request latency, by route", ["method", "route"],
                              registry=self.registry,
                              buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.call_emit = Histogram("onewindow_call_emit_seconds", "From a call (event time) to its emit to this "
                                   "process's screens", ["type"], registry=self.registry,
                                   buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.view_failures = Counter("onewindow_relay_view_failures", "Events whose view for one audience this "
                                     "process's relay could not build (that audience's screens were told to resync)",
                                     ["audience", "type"], registry=self.registry)
        deliveries = Counter("onewindow_relay_batches", "Batches of events this process's relay handed to a "
                             "WebSocket: written by the relay itself (the socket's writer idle), or queued to the "
                             "socket's writer", ["by"], registry=self.registry)
        self._written, self._queued = deliveries.labels("relay"), deliveries.labels("writer")
        self._http_children: dict[tuple[str, str], Any] = {}

    def observe_request(self, method: str, route: str, seconds: float) -> None:
        child = self._http_children.get((method, route))
        if child is None:  # prometheus_client's labels() validates and locks on every call: once per label pair
            child = self._http_children[(method, route)] = self.http.labels(method, route)
        child.observe(seconds)

    def observe_emit(self, event: events.Event) -> None:
        """Called by the relay after each emit."""
        if event.type in CALL_EVENTS:
            self.call_emit.labels(event.type).observe(max(0.0, time.time() - event.ts / 1000))

    def observe_view_failure(self, audience: str, event_type: str) -> None:
        """Called by the relay for each event whose view for ``audience`` failed."""
        self.view_failures.labels(audience, event_type).inc()

    def observe_delivery(self, written: int, queued: int) -> None:
        """Called by the relay per audience and batch: sockets it wrote to itself, sockets whose writer got it."""
        self._written.inc(written)
        self._queued.inc(queued)

    def render(self) -> bytes:
        return generate_latest(self.registry)
