"""The live overview for supervisors: every window (serving / idle / paused / closed, and who), every service's queue
(length and longest wait), and alerts (people waiting for a service no staffed, unpaused window serves — at once;
a wait past ``[statistics] alert_wait_minutes``, a faulted kiosk printer,
差评 / 办不成事 rectification records with a step past its deadline).

Reads the hall's seq and the stream entry at it (:meth:`Engine.seq_entry`, first), then the live keys in one pipeline
(this is the one staff view of *now*; figures come from the stream), the
printers' records through :class:`shared.printer_health.PrinterHealth` and the overdue records through
:func:`shared.rectification.overdue`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from shared.config import Config
from shared.engine import QUEUE_BAND, Engine
from shared.help_requests import open_help_requests
from shared.printer_health import PrinterHealth
from shared.rectification import overdue as overdue_rectifications
from shared.schedule import DayPlan, day_plan
from shared.stats.live import LiveStream
from shared.window_holds import public_holder

logger = logging.getLogger(__name__)


@dataclass
class _Now:
    """The live keys as one pipeline read them."""

    seq: int
    entry: str | None  # the stream entry id of the event at ``seq`` (None: the stream does not end with it)
    windows: list[dict]  # window hash, by window number in order
    holders: list[dict | None]  # window holder (public view), same order
    queues: list[list[tuple[str, float]]]  # (ticket id, score) per service, in config order
    window_queues: list[list[tuple[str, float]]]  # per window, same order as ``windows``
    tickets: dict[str, dict]  # the tickets being served and those transferred to a window


def overview(engine: Engine, live: LiveStream | None = None) -> dict:
    """What the hall looks like now."""
    config = engine.config
    now = engine.clock.now()
    now_ms = engine.clock.now_ms()
    plan = day_plan(config, now.date(), engine.rota.overrides())
    state = _read(engine)
    presence = {}
    if live is not None:
        live.refresh()
        presence = live.presence
    windows = [_window_row(config, n, h, held, state.tickets, presence.get(n), plan, now_ms)
               for n, h, held in zip(sorted(config.windows), state.windows, state.holders)]
    services, alerts = _service_rows(config, state, windows, plan, now_ms)
    alerts = _no_window_alerts(engine, services) + alerts
    alerts += [{"kind": "printer", **fault} for fault in PrinterHealth(engine).faults()]
    alerts += [{"kind": "help", **req} for req in open_help_requests(engine)]  # a kiosk's "需要帮助"
    # 差评 / 办不成事 records with a step past its deadline: beside the alerts until the page draws this kind
    late = overdue_rectifications(engine)
    overdue = {"count": len(late), "ids": [r["id"] for r in late],
               "oldest_due": min((st["due"] for r in late for st in r["steps"] if st["overdue"]), default=None)}
    return {"seq": state.seq, "entry": state.entry, "now": now.isoformat(timespec="seconds"), "day": now.date().isoformat(),
            "day_kind": plan.kind, "rest_day": plan.rest_day, "alert_wait_minutes": config.statistics.alert_wait_minutes,
            "windows": windows, "services": services, "alerts": alerts, "rectifications_overdue": overdue}


def _read(engine: Engine) -> _Now:
    config, k = engine.config, engine.keys
    day = engine.today()
    numbers = sorted(config.windows)
    head = engine.seq_entry()  # read first: an event racing the reads below is applied again rather than missed
    pipe = engine.redis.pipeline(transaction=False)
    for n in numbers:
        pipe.hgetall(k.window(n))
    for n in numbers:
        pipe.get(k.window_holder(n))
    for code in config.services:
        pipe.zrange(k.queue(day, code), 0, -1, withscores=True)
    for n in numbers:
        pipe.zrange(k.window_queue(day, n), 0, -1, withscores=True)
    answers = pipe.execute()
    w, s = len(numbers), len(config.services)
    windows, held = answers[:w], answers[w:2 * w]
    queues, window_queues = answers[2 * w:2 * w + s], answers[2 * w + s:2 * w + s + w]
    # the tickets being served, and those transferred to a window (their service is on the ticket)
    ids = [h["current"] for h in windows if h.get("current")] + [tid for q in window_queues for tid, _ in q]
    tickets = {}
    if ids:
        tickets = {tid: json.loads(raw) for tid, raw in zip(ids, engine.redis.hmget(k.tickets(day), ids)) if raw}
    return _Now(head["seq"], head["entry"], windows, [_holder(raw) for raw in held], queues, window_queues, tickets)


def _holder(raw: str | None) -> dict | None:
    try:
        return public_holder(json.loads(raw)) if raw else None
    except ValueError:
        return None


def _window_row(config: Config, n: int, h: dict, holder: dict | None, tickets: dict[str, dict], seen: dict | None,
                plan: DayPlan, now_ms: int) -> dict:
    """One window: its status (serving / paused / idle / closed), who works there, what it serves now."""
    t = tickets.get(h.get("current") or "")
    current = None
    if t and t.get("status") == "called":
        svc = config.services.get(t["service"])
        current = {"id": t["id"], "number": t["number"], "service": t["service"],
                   "service_name": svc.name if svc else t["service"],
                   "service_name_en": (svc.name_en or svc.name) if svc else t["service"], "since_ms": t.get("called_ms"),
                   "serving_s": max(0, (now_ms - int(t.get("called_ms") or now_ms)) // 1000)}
    clerk_id = (holder or {}).get("clerk")
    if clerk_id is None and current:
        clerk_id = h.get("clerk") or None
    if clerk_id is None and seen and seen["signed_in"]:
        clerk_id = seen.get("clerk")
    clerk = config.clerks.get(clerk_id or "")
    if current:
        status = "serving"
    elif h.get("paused") == "1":
        status = "paused"
    elif holder is not None:
        status = "idle"
    else:
        status = "closed"
    return {
        "number": n, "name": config.windows[n].name, "services": list(config.windows[n].services),
        "status": status, "clerk": clerk_id, "clerk_name": clerk.name if clerk else ((holder or {}).get("name") or clerk_id),
        "current": current, "pause_reason": h.get("pause_reason") or None, "on_rota": n in plan.windows,
    }


def _service_rows(config: Config, state: _Now, windows: list[dict], plan: DayPlan,
                  now_ms: int) -> tuple[list[dict], list[dict]]:
    """Every service's queue (length, longest wait, open windows) and the alerts of waits past the threshold."""
    waiting_since: dict[str, list[int]] = {code: [] for code in config.services}
    for code, q in zip(config.services, state.queues):
        waiting_since[code] += [int(score) % QUEUE_BAND for _tid, score in q]
    for q in state.window_queues:
        for tid, score in q:
            t = state.tickets.get(tid)
            if t and t.get("service") in waiting_since:
                waiting_since[t["service"]].append(int(score) % QUEUE_BAND)
    threshold_s = config.statistics.alert_wait_minutes * 60
    services, alerts = [], []
    for code, svc in config.services.items():
        since = waiting_since[code]
        longest = max(0, (now_ms - min(since)) // 1000) if since else 0
        services.append({
            "code": code, "name": svc.name, "name_en": svc.name_en, "prefix": svc.prefix, "waiting": len(since),
            "longest_wait_s": longest, "open_today": code in plan.services,
            "windows_open": [w["number"] for w in windows if code in w["services"] and w["status"] != "closed"],
        })
        if since and longest >= threshold_s:
            alerts.append({"kind": "wait", "service": code, "service_name": svc.name, "service_name_en": svc.name_en,
                           "waiting": len(since), "longest_wait_s": longest, "threshold_s": threshold_s})
    return services, alerts


def _no_window_alerts(engine: Engine, services: list[dict]) -> list[dict]:
    """People wait for a service that no staffed, unpaused window serves: an alert at once (not after the wait
    threshold). Each service row gets the citizens' estimate too — the same one the kiosk, the phone and the ticket
    show (:mod:`shared.estimates`, the one place it is computed)."""
    hall = engine.hall_now()
    alerts = []
    for row in services:
        wait = hall.estimate(row["code"], row["waiting"])
        row["wait"] = {"state": wait["state"], "minutes": wait["minutes"], "windows": wait["windows"],
                       "pace_minutes": wait["pace_minutes"], "pace": wait["pace"]}
        row["windows_serving"] = wait["windows"]
        if row["waiting"] and wait["state"] == "no_window":
            alerts.append({"kind": "no_window", "service": row["code"], "service_name": row["name"],
                           "service_name_en": row["name_en"], "waiting": row["waiting"],
                           "longest_wait_s": row["longest_wait_s"]})
    return alerts
