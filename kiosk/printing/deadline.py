"""Run blocking printer I/O in a worker thread and give up after a hard deadline."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from .errors import PrinterFault

log = logging.getLogger(__name__)
T = TypeVar("T")


class Deadline:
    """A point in time (monotonic clock) that a whole print must finish by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self, floor: float = 0.001) -> float:
        """Seconds left, at least ``floor`` (socket timeouts of 0 would mean non-blocking)."""
        return max(floor, self.at - time.monotonic())

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at


def run_with_deadline(job: Callable[[], T], deadline: Deadline, *, what: str, abort: Callable[[], None],
                      lock: threading.Lock) -> T:
    """Run ``job`` in a daemon thread holding ``lock``; raise ``PrinterFault("timeout")`` when the deadline passes.

    ``lock`` (one per printer) keeps jobs from interleaving on the device; the worker releases it when it really
    ends, so a job stuck past its deadline makes the next ones fail fast instead of writing into the same device.
    On timeout ``abort`` is called to unblock the worker (close its socket or device).
    """
    if not lock.acquire(timeout=deadline.left()):
        raise PrinterFault("timeout", f"{what}: the printer is still busy with an earlier job")
    outcome: dict[str, object] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            outcome["value"] = job()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc
        finally:
            finished.set()
            lock.release()

    try:
        threading.Thread(target=work, name=f"printer: {what}", daemon=True).start()
    except BaseException:
        lock.release()
        raise
    if not finished.wait(deadline.left()):
        log.warning("%s: no result within %.1fs, giving up", what, deadline.seconds)
        try:
            abort()
        except Exception:  # aborting is best effort
            log.debug("abort of %s failed", what, exc_info=True)
        raise PrinterFault("timeout", f"{what}: the printer did not finish within {deadline.seconds:g}s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
