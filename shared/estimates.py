"""Wait estimates from who is actually serving — the one place they are computed.

A service's estimate counts only the windows that **serve it, are staffed** (a clerk holds the window:
:mod:`shared.window_holds`) **and are not paused**. When none is, there is no estimate: the state is ``no_window`` and
every citizen-facing place says "暂无窗口办理" (kiosk tile, phone tracking page, printed ticket). The pace is the
day's own: the mean service time of today's finishes of that service once there are :data:`MIN_FINISHES`, else the
service's configured ``avg_service_minutes``.

Everything is read at one ``seq`` by one read-only script (``wait_estimates.lua``); :func:`read` gives a
:class:`HallNow` and :meth:`HallNow.estimate` the estimate of one place in one queue::

    {"state": "soon" | "minutes" | "no_window", "minutes": int | None, "windows": [open window numbers],
     "pace_minutes": float, "pace": "today" | "default"}

``soon`` (nobody ahead and a window open) is "即将叫号" — never "约 0 分钟". :data:`WORDS` are the words every page
uses for the three states (the pages' catalogue ``shared/static/js/wait-strings.js`` holds the same words; a test
keeps them equal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.runner import as_list

if TYPE_CHECKING:
    from shared.config import Config, Service
    from shared.engine import Engine

#: today's finishes of a service needed before its own pace replaces the configured one
MIN_FINISHES = 3
STATES = ("soon", "minutes", "no_window")
#: the words of the three states, the same on kiosk, phone and ticket ({n}: minutes)
WORDS = {
    "zh": {"soon": "即将叫号", "minutes": "约 {n} 分钟", "no_window": "暂无窗口办理"},
    "en": {"soon": "Called soon", "minutes": "about {n} min", "no_window": "No window open"},
}


def words(wait: dict | None, lang: str = "zh") -> str | None:
    """The words of an estimate (None for no estimate: a ticket that is not waiting)."""
    if not wait:
        return None
    table = WORDS["en" if lang == "en" else "zh"]
    return table[wait["state"]].format(n=wait.get("minutes"))


@dataclass(frozen=True)
class HallNow:
    """Who serves what now, the queues' lengths and today's pace, read at one ``seq``."""

    seq: int
    open_windows: dict[str, tuple[int, ...]]  # service → staffed, unpaused windows serving it
    staffed: dict[int, bool]  # window → staffed and not paused
    pace_minutes: dict[str, float]
    pace_source: dict[str, str]  # "today" | "default"
    waiting: dict[str, int]  # service → tickets in its queue
    window_waiting: dict[int, int]  # window → tickets transferred to it

    def estimate(self, service: str, ahead: int, window: int | None = None) -> dict:
        """The estimate for a ticket of ``service`` with ``ahead`` people before it (``window``: a ticket sent to
        one window waits for that window only)."""
        windows = ((window,) if self.staffed.get(window) else ()) if window else self.open_windows.get(service, ())
        pace = self.pace_minutes[service]
        out = {"windows": list(windows), "pace_minutes": round(pace, 2), "pace": self.pace_source[service]}
        if not windows:
            return {"state": "no_window", "minutes": None, **out}
        if ahead <= 0:
            return {"state": "soon", "minutes": 0, **out}
        return {"state": "minutes", "minutes": max(1, math.ceil(ahead * pace / len(windows))), **out}

    def minutes_if_open(self, service: str, ahead: int) -> int:
        """Minutes as if at least one window served ``service`` (the clerk's own view of a queue)."""
        n = max(1, len(self.open_windows.get(service, ())))
        return math.ceil(max(0, ahead) * self.pace_minutes[service] / n)


def read(engine: Engine) -> HallNow:
    """Read the hall now (one read-only script)."""
    config, k = engine.config, engine.keys
    day = engine.today()
    numbers = sorted(config.windows)
    services = list(config.services)
    keys = [k.service_pace(day)]
    for n in numbers:
        keys += [k.window(n), k.window_holder(n)]
    keys += [k.queue(day, s) for s in services]
    keys += [k.window_queue(day, n) for n in numbers]
    r = engine.runner.run("wait_estimates", keys, [len(numbers), len(services)])
    pace_raw = r["pace"] if isinstance(r["pace"], dict) else {}
    staffed = {n: bool(w["held"]) and not w["paused"] for n, w in zip(numbers, as_list(r["windows"]))}
    open_windows, pace, source = {}, {}, {}
    for code, svc in config.services.items():
        open_windows[code] = tuple(n for n in config.windows_serving(code) if staffed.get(n))
        pace[code], source[code] = _pace(svc, pace_raw)
    return HallNow(seq=int(r["seq"]), open_windows=open_windows, staffed=staffed, pace_minutes=pace,
                   pace_source=source, waiting=dict(zip(services, as_list(r["waiting"]))),
                   window_waiting=dict(zip(numbers, as_list(r["window_waiting"]))))


def for_service(config: Config, code: str, seq: int, pace_raw: dict, windows: list) -> HallNow:
    """The hall now as far as the estimates of one service need it, from what a script read in the same step as it
    acted (``issue.lua``, which saves the round trip of :func:`read`): ``windows`` = [{"paused", "held"}] of the
    windows serving ``code`` in :meth:`Config.windows_serving` order, ``pace_raw`` = ``code``'s fields of the pace
    hash. Only ``code``'s entries (and its windows') are filled."""
    numbers = config.windows_serving(code)
    staffed = {n: bool(w["held"]) and not w["paused"] for n, w in zip(numbers, as_list(windows))}
    pace, source = _pace(config.services[code], pace_raw if isinstance(pace_raw, dict) else {})
    return HallNow(seq=seq, open_windows={code: tuple(n for n in numbers if staffed.get(n))}, staffed=staffed,
                   pace_minutes={code: pace}, pace_source={code: source}, waiting={}, window_waiting={})


def _pace(svc: Service, pace_raw: dict) -> tuple[float, str]:
    """Minutes per visit of ``svc``: today's own once :data:`MIN_FINISHES` are done, else the configured one."""
    finishes, total_ms = int(pace_raw.get(f"{svc.code}:n") or 0), int(pace_raw.get(f"{svc.code}:ms") or 0)
    if finishes >= MIN_FINISHES and total_ms > 0:
        return total_ms / finishes / 60000, "today"
    return float(svc.avg_service_minutes), "default"
