"""Screens for tests of `onewindow serve --workers N`: a python-socketio client that keeps the live client's
contract (shared/static/js/live.js) — events applied strictly in ``seq`` order, and on every reconnect the events it
missed asked with ``catch_up`` — and records every seq it applied, and which server process holds its socket (by the
random id ``clock`` answers: :func:`pid_of` finds its pid in the server's log)."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import socketio

from faults import wait_for

DISPLAY = "/display"


class Screen:
    """One public screen on ``/display``. ``applied``: every seq applied, in order; ``processes``: the server
    process (its id, :func:`display.namespace.process_id`) of each connection; ``caught_up``: events received
    through ``catch_up``."""

    def __init__(self, url: str, *, reconnect_delay: float = 0.5) -> None:
        self.url = url
        self.applied: list[int] = []
        self.processes: list[str] = []
        self.connects = 0
        self.disconnects = 0
        self.caught_up = 0
        self.resyncs = 0
        self.duplicates = 0  # events that came twice (live and caught up): skipped
        self.connected_at: list[float] = []  # monotonic time of each connection, and of each catch-up done
        self.caught_up_at: list[float] = []
        self.seq: int | None = None  # None until the first connection: it starts from the events after it
        self._buffer: list[dict] = []
        self._loading = False
        self._lock = threading.Lock()
        self.sio = socketio.Client(reconnection=True, reconnection_delay=reconnect_delay,
                                   reconnection_delay_max=reconnect_delay, randomization_factor=0)
        self.sio.on("connect", self._on_connect, namespace=DISPLAY)
        self.sio.on("disconnect", self._on_disconnect, namespace=DISPLAY)
        self.sio.on("*", self._on_event, namespace=DISPLAY)

    def connect(self, start_seq: int) -> Screen:
        """Connect; ``start_seq``: the seq of the hall when the screen opened (what its snapshot would say)."""
        self.seq = start_seq
        self.sio.connect(self.url, namespaces=[DISPLAY], transports=["websocket"], wait_timeout=20)
        return self

    @property
    def connected(self) -> bool:
        return self.sio.connected and DISPLAY in self.sio.namespaces

    @property
    def process(self) -> str:
        """The id of the server process holding the socket now (asked over the socket)."""
        return self.sio.call("clock", {}, namespace=DISPLAY, timeout=20)["process"]

    def close(self) -> None:
        self.sio.disconnect()

    # --------------------------------------------------------------------------------------------- the contract
    def _on_connect(self) -> None:
        self.connects += 1
        self.connected_at.append(time.monotonic())
        with self._lock:
            self._loading = True  # live events wait until the missed ones are in
        self.sio.start_background_task(self._catch_up)

    def _on_disconnect(self, *_reason) -> None:
        self.disconnects += 1

    def _catch_up(self) -> None:
        try:
            self.processes.append(self.process)
            answer = self.sio.call("catch_up", {"after": self.seq}, namespace=DISPLAY, timeout=20)
        except Exception:  # the socket went again: the next connect asks again
            with self._lock:
                self._loading = False
            return
        with self._lock:
            if answer.get("resync"):
                self.resyncs += 1
            events = answer.get("events", [])
            self.caught_up += len(events)
            self._buffer.extend(events)
            self._loading = False
            self._drain()
            self.caught_up_at.append(time.monotonic())

    def _on_event(self, _name: str, payload: dict) -> None:
        with self._lock:
            self._buffer.append(payload)
            if not self._loading:
                self._drain()

    def _drain(self) -> None:
        self._buffer.sort(key=lambda e: e["seq"])
        rest = []
        for event in self._buffer:
            if event["seq"] <= self.seq:
                self.duplicates += 1  # had it
            elif event["seq"] == self.seq + 1:
                self.seq = event["seq"]
                self.applied.append(event["seq"])
                self.on_applied(event)
            else:
                rest.append(event)  # a hole before it: kept (the test asserts none is left)
        self._buffer = rest

    def on_applied(self, event: dict) -> None:
        """Called (under the screen's lock) for each event applied, in seq order: a subclass measures here."""

    def holes(self) -> list[int]:
        with self._lock:
            return [e["seq"] for e in self._buffer]


def pid_of(log: Path, process: str, timeout: float = 20) -> int:
    """The pid of the server process whose ``clock`` id is ``process``, from the line it logs making the id (the
    server logging at INFO to the file ``log``, ``--log-file``): the id itself means nothing outside the server."""
    found = re.compile(rf"\(pid (\d+)\) as {re.escape(process)}\b")

    def logged() -> re.Match | None:
        return found.search(log.read_text(encoding="utf-8")) if log.exists() else None

    return int(wait_for(logged, timeout, f"the server's log line naming process {process}").group(1))


def worker_pids(supervisor_pid: int) -> set[int]:
    """The gunicorn workers under a `onewindow serve` supervisor (its child, gunicorn's master, and that one's
    children)."""
    masters = _children(supervisor_pid)
    return {pid for master in masters for pid in _children(master)}


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            found.update(int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found
