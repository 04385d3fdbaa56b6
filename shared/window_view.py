"""One window as its clerk sees it, read at one ``seq`` by one read-only script (``window_view.lua``): its state
(current ticket, paused, what waits for it), who holds it, the last ticket it finished, and the next tickets of each
queue it draws from with their waits — the counter screen's one read, consistent with the events that follow it.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from shared.runner import as_list
from shared.window_holds import public_holder

if TYPE_CHECKING:
    from shared.engine import Engine

PREVIEW_LENGTH = 5  # the next tickets the counter shows of each queue


def window_state(engine: Engine, window: int) -> dict:
    """A window's live state: current ticket, paused, clerk, and the queues it draws from (their lengths)."""
    return _read(engine, window, 0)["window"]


def window_view(engine: Engine, window: int, length: int = PREVIEW_LENGTH) -> dict:
    """``{"window": state, "queues": {"transferred_in", "services", "total_waiting"}, "holder", "last_finished",
    "complaint", "seq", "entry", "now"}``: the counter's view of ``window`` (NotFoundError for an unknown window)."""
    from shared.cases import is_complaint_window

    view = _read(engine, window, length)
    return {**view, "complaint": is_complaint_window(engine.config, window), "now": engine.clock.now().isoformat()}


def _read(engine: Engine, window: int, length: int) -> dict:
    w = engine.window_config(window)
    day = engine.today()
    k = engine.keys
    keys = [k.tickets(day), k.window(window), k.window_holder(window), k.window_queue(day, window),
            *(k.queue(day, s) for s in w.services)]
    r = engine.runner.run("window_view", keys, [length])
    fields = r["window"] if isinstance(r["window"], dict) else {}
    current = json.loads(r["current"]) if r["current"] else None
    queues = [(q["waiting"], [json.loads(t) for t in as_list(q["next"])]) for q in as_list(r["queues"])]
    (waiting_in, next_in), services = queues[0], queues[1:]
    state = {
        "number": window, "name": w.name, "services": list(w.services),
        "current": engine.public_ticket(current) if current and current["status"] == "called" else None,
        "paused": fields.get("paused") == "1", "pause_reason": fields.get("pause_reason") or None,
        "waiting": {code: n for code, (n, _next) in zip(w.services, services)}, "transferred_in": waiting_in,
    }
    out = {"window": state, "seq": r["seq"], "entry": r.get("entry"), "last_finished": fields.get("last_finished") or None,
           "holder": public_holder(json.loads(r["holder"])) if r["holder"] else None}
    if length:
        out["queues"] = _queues(engine, w.services, (waiting_in, next_in), services)
    return out


def _queues(engine: Engine, codes, transferred_in: tuple[int, list[dict]], services: list[tuple[int, list[dict]]]) -> dict:
    now_ms = engine.clock.now_ms()
    hall = engine.hall_now()  # one read for every queue's estimate (shared/estimates.py)
    rows = []
    for code, (waiting, tickets) in zip(codes, services):
        svc = engine.config.services[code]
        nxt = [_entry(t, now_ms) for t in tickets]
        rows.append({
            "code": code, "name": svc.name, "name_en": svc.name_en, "prefix": svc.prefix, "waiting": waiting,
            "next": nxt, "longest_wait_minutes": max((e["waited_minutes"] for e in nxt), default=0),
            "estimated_wait_minutes": hall.minutes_if_open(code, waiting),
            "wait": {k: v for k, v in hall.estimate(code, waiting).items() if k in ("state", "minutes", "windows")},
        })
    waiting_in, next_in = transferred_in
    return {"transferred_in": {"waiting": waiting_in, "next": [_entry(t, now_ms) for t in next_in]},
            "services": rows, "total_waiting": waiting_in + sum(s["waiting"] for s in rows)}


def _entry(t: dict, now_ms: int) -> dict:
    return {"id": t["id"], "number": t["number"], "priority": bool(t.get("priority")),
            "transferred": bool(t.get("transfers")), "assisted": isinstance(t.get("assisted"), dict),  # 帮办代办
            "waited_minutes": max(0, math.floor((now_ms - int(t.get("issued_ms") or now_ms)) / 60000))}
