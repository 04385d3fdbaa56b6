"""What must hold in Redis whatever happened: used after the interleaving and chaos tests.

* every ticket is where its status says — waiting: in exactly the queue it belongs to (its service's, or the window
  queue of the window it was transferred to) and at no window; called: at exactly its window (the window hash agrees)
  and in no queue; finished, no-show, cancelled: nowhere;
* the window hashes point only at tickets called at that window;
* the stream's ``seq`` is 1, 2, 3 … with no gap or repeat;
* replaying the stream through the ticket state machine never calls a ticket that is not waiting (so never at two
  windows), calls only at a window that serves the ticket's service or that it was transferred to, acts only on the
  window's own called ticket, and ends in the state Redis holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from shared.config import Config

HALL = "ow:{testhall}"


@dataclass
class Replayed:
    """A ticket as the event stream tells it."""

    status: str = "waiting"
    service: str = ""
    window: int | None = None
    target_window: int | None = None
    calls: list[int] = field(default_factory=list)  # windows it was called at, in order


def read_events(r) -> list[dict]:
    out = []
    for _id, f in r.xrange(f"{HALL}:events"):
        data = json.loads(f["data"])
        assert int(f["seq"]) == data["seq"] and f["type"] == data["type"]
        out.append(data)
    return out


def days_in(r) -> list[str]:
    return sorted({k.rsplit(":", 1)[1] for k in r.scan_iter(f"{HALL}:tickets:*")})


def check_state(r, config: Config) -> list[str]:
    """Problems with where tickets are (empty: none)."""
    problems: list[str] = []
    currents: dict[str, list[int]] = {}
    for n in config.windows:
        current = r.hget(f"{HALL}:win:{n}", "current")
        if current:
            currents.setdefault(current, []).append(n)
    for day in days_in(r):
        tickets = {tid: json.loads(raw) for tid, raw in r.hgetall(f"{HALL}:tickets:{day}").items()}
        membership: dict[str, list[str]] = {}
        for code in config.services:
            for tid in r.zrange(f"{HALL}:q:{day}:{code}", 0, -1):
                membership.setdefault(tid, []).append(f"service:{code}")
        for n in config.windows:
            for tid in r.zrange(f"{HALL}:wq:{day}:{n}", 0, -1):
                membership.setdefault(tid, []).append(f"window:{n}")
        for tid in membership:
            if tid not in tickets:
                problems.append(f"{tid} is queued but does not exist")
        for tid, t in tickets.items():
            queues, at = membership.get(tid, []), currents.get(tid, [])
            if t["status"] == "waiting":
                expected = f"window:{t['target_window']}" if t.get("target_window") else f"service:{t['service']}"
                if queues != [expected] or at:
                    problems.append(f"{tid} waiting: queues {queues} (expected [{expected}]), at windows {at}")
            elif t["status"] == "called":
                if queues or at != [t.get("window")]:
                    problems.append(f"{tid} called at {t.get('window')}: queues {queues}, window hashes {at}")
            elif queues or at:
                problems.append(f"{tid} {t['status']}: still in queues {queues} / at windows {at}")
        for tid, windows in currents.items():
            if tid.startswith(day) and tid not in tickets:
                problems.append(f"windows {windows} serve {tid}, which does not exist")
    return problems


def check_seq(events: list[dict]) -> list[str]:
    seqs = [e["seq"] for e in events]
    if seqs != list(range(1, len(seqs) + 1)):
        missing = sorted(set(range(1, (max(seqs) if seqs else 0) + 1)) - set(seqs))
        return [f"stream seq is not 1..{len(seqs)}: missing {missing[:10]}, first {seqs[:3]}"]
    return []


def replay(events: list[dict], config: Config) -> tuple[dict[str, Replayed], list[str]]:
    """The tickets as the events tell them, and every transition the state machine forbids."""
    tickets: dict[str, Replayed] = {}
    problems: list[str] = []
    for e in events:
        t = e.get("ticket")
        if not t:
            continue
        tid, kind, window = t["id"], e["type"], e.get("window")
        if kind == "ticket_issued":
            if tid in tickets:
                problems.append(f"seq {e['seq']}: {tid} issued twice")
            tickets[tid] = Replayed(service=t["service"])
            continue
        s = tickets.get(tid)
        if s is None:
            problems.append(f"seq {e['seq']}: {kind} of {tid}, never issued")
            continue
        where = f"seq {e['seq']}: {kind} {tid} at {window}"
        if kind == "ticket_called":
            if s.status != "waiting":
                problems.append(f"{where}: it was {s.status} (at {s.window})")
            elif s.target_window is not None and s.target_window != window:
                problems.append(f"{where}: it was transferred to window {s.target_window}")
            elif s.target_window is None and s.service not in config.windows[window].services:
                problems.append(f"{where}: window {window} does not serve {s.service}")
            s.status, s.window, s.target_window = "called", window, None
            s.calls.append(window)
        elif kind in ("ticket_recalled", "ticket_finished", "ticket_marked_no_show", "ticket_transferred"):
            if s.status != "called" or s.window != window:
                problems.append(f"{where}: it was {s.status} at {s.window}")
            if kind == "ticket_finished":
                s.status, s.window = "done", None
            elif kind == "ticket_marked_no_show":
                s.status, s.window = "no_show", None
            elif kind == "ticket_transferred":
                s.status, s.window = "waiting", None
                if e.get("to_service"):
                    s.service, s.target_window = e["to_service"], None
                else:
                    s.target_window = e["to_window"]
        elif kind == "ticket_cancelled":
            if s.status != "waiting":
                problems.append(f"seq {e['seq']}: cancelled {tid} while {s.status}")
            s.status = "cancelled"
    return tickets, problems


def check_replay_matches(r, tickets: dict[str, Replayed]) -> list[str]:
    problems = []
    for tid, s in tickets.items():
        raw = r.hget(f"{HALL}:tickets:{tid[:8]}", tid)
        if raw is None:
            problems.append(f"{tid}: in the stream, not in Redis")
            continue
        t = json.loads(raw)
        got = (t["status"], t.get("window") if t["status"] == "called" else None, t["service"], t.get("target_window"))
        want = (s.status, s.window, s.service, s.target_window)
        if got != want:
            problems.append(f"{tid}: Redis has {got}, the stream says {want}")
    return problems


def check_all(r, config: Config) -> tuple[list[dict], dict[str, Replayed], list[str]]:
    """(events, replayed tickets, every problem found)."""
    events = read_events(r)
    tickets, problems = replay(events, config)
    problems += check_seq(events) + check_state(r, config) + check_replay_matches(r, tickets)
    stored = sum(r.hlen(f"{HALL}:tickets:{day}") for day in days_in(r))
    if stored != len(tickets):
        problems.append(f"{stored} tickets in Redis, {len(tickets)} issued in the stream")
    return events, tickets, problems
