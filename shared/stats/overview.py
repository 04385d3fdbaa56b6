"""The live overview for supervisors: every window (serving / idle / paused / closed, and who), every service's queue
(length and longest wait), and alerts (a wait past ``[statistics] alert_wait_minutes``, a faulted kiosk printer,
差评 / 办不成事 rectification records with a step past its deadline).

Reads the live keys in one pipeline (this is the one staff view of *now*; figures come from the stream).
"""

from __future__ import annotations

import json
import logging

from shared.engine import Engine
from shared.rectification import overdue as overdue_rectifications
from shared.schedule import day_plan
from shared.stats.live import LiveStream

logger = logging.getLogger(__name__)

BAND = 10**13  # queue scores are band * 1e13 + the time the ticket started waiting (see issue.lua)
PRINTERS_META = "printers"  # kiosk printer states (kiosk/printing/kiosk_printer.py): kiosk id → JSON with "fault"


def overview(engine: Engine, live: LiveStream | None = None) -> dict:
    """What the hall looks like now."""
    config = engine.config
    now = engine.clock.now()
    now_ms = engine.clock.now_ms()
    day = engine.today()
    plan = day_plan(config, now.date(), engine.rota.overrides())
    numbers = sorted(config.windows)
    holder_key = getattr(engine.keys, "window_holder", None)  # the counter's sign-in holds, when present

    pipe = engine.redis.pipeline(transaction=False)
    for n in numbers:
        pipe.hgetall(engine.keys.window(n))
    for n in numbers:
        if holder_key:
            pipe.get(holder_key(n))
        else:
            pipe.echo("")
    for code in config.services:
        pipe.zrange(engine.keys.queue(day, code), 0, -1, withscores=True)
    for n in numbers:
        pipe.zrange(engine.keys.window_queue(day, n), 0, -1, withscores=True)
    pipe.hgetall(engine.keys.meta(PRINTERS_META))
    pipe.get(engine.keys.seq)
    answers = pipe.execute()
    w_states = answers[:len(numbers)]
    holders = answers[len(numbers):2 * len(numbers)]
    rest = answers[2 * len(numbers):]
    queues = rest[:len(config.services)]
    window_queues = rest[len(config.services):len(config.services) + len(numbers)]
    printers_raw, seq = rest[-2], int(rest[-1] or 0)

    # tickets being served, and tickets transferred to a window (their service is on the ticket)
    current_ids = [h.get("current") for h in w_states if h.get("current")]
    wq_ids = [tid for q in window_queues for tid, _ in q]
    loaded = {}
    ids = current_ids + wq_ids
    if ids:
        for tid, raw in zip(ids, engine.redis.hmget(engine.keys.tickets(day), ids)):
            if raw:
                loaded[tid] = json.loads(raw)

    presence = {}
    if live is not None:
        live.refresh()
        presence = live.presence

    windows = []
    for n, h, held in zip(numbers, w_states, holders):
        holder = None
        if holder_key and held:
            try:
                holder = json.loads(held)
            except ValueError:
                holder = None
        seen = presence.get(n)
        signed_in = holder is not None or (holder_key is None and bool(seen and seen["signed_in"]))
        t = loaded.get(h.get("current") or "")
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
        elif signed_in:
            status = "idle"
        else:
            status = "closed"
        windows.append({
            "number": n, "name": config.windows[n].name, "services": list(config.windows[n].services),
            "status": status, "clerk": clerk_id, "clerk_name": clerk.name if clerk else ((holder or {}).get("name") or clerk_id),
            "current": current, "pause_reason": h.get("pause_reason") or None, "on_rota": n in plan.windows,
        })

    waiting_since: dict[str, list[int]] = {code: [] for code in config.services}
    for code, q in zip(config.services, queues):
        for _tid, score in q:
            waiting_since[code].append(int(score) % BAND)
    for q in window_queues:
        for tid, score in q:
            t = loaded.get(tid)
            if t and t.get("service") in waiting_since:
                waiting_since[t["service"]].append(int(score) % BAND)

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
    for kiosk, raw in sorted((printers_raw or {}).items()):
        try:
            state = json.loads(raw)
        except ValueError:
            continue
        if state.get("fault"):
            last = state.get("last_fault") or {}
            alerts.append({"kind": "printer", "kiosk": kiosk, "fault": state["fault"],
                           "message": last.get("message") or state.get("detail") or "", "since": last.get("at")})
    # 差评 / 办不成事 records with a step past its deadline: beside the alerts until the page draws this kind
    late = overdue_rectifications(engine)
    overdue = {"count": len(late), "ids": [r["id"] for r in late],
               "oldest_due": min((st["due"] for r in late for st in r["steps"] if st["overdue"]), default=None)}
    return {"seq": seq, "now": now.isoformat(timespec="seconds"), "day": now.date().isoformat(),
            "day_kind": plan.kind, "rest_day": plan.rest_day, "alert_wait_minutes": config.statistics.alert_wait_minutes,
            "windows": windows, "services": services, "alerts": alerts, "rectifications_overdue": overdue}
