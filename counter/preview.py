"""What the counter screen shows beside the current ticket: the window's queues (next numbers, waits) and the
window's figures for today, read from the live keys and the event stream."""

from __future__ import annotations

import json
import math
from datetime import datetime, time

from shared import events
from shared.engine import Engine

PREVIEW_LENGTH = 5
MAX_EVENTS_SCANNED = 200_000


def _entry(t: dict | None, now_ms: int) -> dict | None:
    if not t:
        return None
    return {"id": t["id"], "number": t["number"], "priority": bool(t.get("priority")),
            "transferred": bool(t.get("transfers")),
            "waited_minutes": max(0, math.floor((now_ms - int(t.get("issued_ms") or now_ms)) / 60000))}


def queue_preview(engine: Engine, window: int, length: int = PREVIEW_LENGTH) -> dict:
    """The next tickets of each service of ``window`` (and of its transferred-in queue) with wait figures."""
    w = engine.config.windows[window]
    day, now_ms = engine.today(), engine.clock.now_ms()
    queue_keys = [engine.keys.window_queue(day, window)] + [engine.keys.queue(day, s) for s in w.services]
    pipe = engine.redis.pipeline(transaction=False)
    for key in queue_keys:
        pipe.zcard(key)
        pipe.zrange(key, 0, length - 1)
    answers = pipe.execute()
    ids = [i for k in range(len(queue_keys)) for i in answers[2 * k + 1]]
    raws = engine.redis.hmget(engine.keys.tickets(day), ids) if ids else []
    tickets = {i: json.loads(r) for i, r in zip(ids, raws) if r}

    def block(k: int) -> tuple[int, list[dict]]:
        entries = [_entry(tickets.get(i), now_ms) for i in answers[2 * k + 1]]
        return answers[2 * k], [e for e in entries if e]

    waiting_in, next_in = block(0)
    services = []
    for k, code in enumerate(w.services, start=1):
        svc = engine.config.services[code]
        waiting, nxt = block(k)
        services.append({
            "code": code, "name": svc.name, "name_en": svc.name_en, "prefix": svc.prefix, "waiting": waiting,
            "next": nxt, "longest_wait_minutes": max((e["waited_minutes"] for e in nxt), default=0),
            "estimated_wait_minutes": engine.estimate_wait(code, waiting),
        })
    return {"transferred_in": {"waiting": waiting_in, "next": next_in}, "services": services,
            "total_waiting": waiting_in + sum(s["waiting"] for s in services)}


def today_counts(engine: Engine, window: int) -> dict:
    """The window's figures since local midnight, counted from the event stream (newest first, stopping at
    midnight): calls, recalls, 办件, 咨询, no-shows, transfers out, ratings (and how many need follow-up), cases."""
    day = engine.clock.business_date()
    midnight_ms = int(datetime.combine(day, time(0), tzinfo=engine.config.timezone).timestamp() * 1000)
    counts = {"called": 0, "recalled": 0, "handled": 0, "consulted": 0, "no_show": 0, "transferred": 0,
              "rated": 0, "follow_up": 0, "cases": 0, "service_ms_total": 0}
    upper, scanned = "+", 0
    while scanned < MAX_EVENTS_SCANNED:
        batch = engine.redis.xrevrange(engine.keys.events, max=upper, min="-", count=1000)
        if not batch:
            break
        for entry_id, fields in batch:
            scanned += 1
            if int(fields["ts"]) < midnight_ms:
                return _finish(counts)
            kind = fields["type"]
            if kind not in _COUNTED:
                continue
            data = json.loads(fields["data"])
            if data.get("window") != window:
                continue
            if kind == events.TICKET_CALLED:
                counts["called"] += 1
            elif kind == events.TICKET_RECALLED:
                counts["recalled"] += 1
            elif kind == events.TICKET_FINISHED:
                outcome = (data.get("ticket") or {}).get("outcome")
                if outcome in ("handled", "consulted"):
                    counts[outcome] += 1
                counts["service_ms_total"] += int(data.get("service_ms") or 0)
            elif kind == events.TICKET_MARKED_NO_SHOW:
                counts["no_show"] += 1
            elif kind == events.TICKET_TRANSFERRED:
                counts["transferred"] += 1
            elif kind == events.TICKET_RATED:
                counts["rated"] += 1
                counts["follow_up"] += 1 if data.get("follow_up") else 0
            elif kind == events.CASE_RECORDED:
                counts["cases"] += 1
        if len(batch) < 1000:
            break
        upper = "(" + batch[-1][0]
    return _finish(counts)


_COUNTED = {events.TICKET_CALLED, events.TICKET_RECALLED, events.TICKET_FINISHED, events.TICKET_MARKED_NO_SHOW,
            events.TICKET_TRANSFERRED, events.TICKET_RATED, events.CASE_RECORDED}


def _finish(counts: dict) -> dict:
    finished = counts["handled"] + counts["consulted"]
    total = counts.pop("service_ms_total")
    counts["finished"] = finished
    counts["mean_service_minutes"] = round(total / finished / 60000, 1) if finished else None
    return counts
