"""The background work of a server process: a daemon thread that runs one job at start and then every few seconds,
and, where the work reports to another system, the outbox :class:`~shared.outbox.Sender` started and stopped with
it. The reception (:mod:`shared.reception`), 好差评 (:mod:`shared.haocaiping`) and the archiver
(:mod:`shared.stats.archiver`) are such workers. Every job decides in scripts, so every process may run it.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Self

import redis

if TYPE_CHECKING:
    from shared.engine import Engine
    from shared.outbox import Sender

logger = logging.getLogger(__name__)


class PeriodicWorker:
    """Runs :meth:`run_once` at :meth:`start` and every ``every_s`` seconds until :meth:`stop`; ``runs`` counts the
    runs, ``last`` is the result of the last one that finished. A run that fails is logged and the next one comes on
    time (Redis unavailable is a warning). ``sender``, if any, is started and stopped with the thread."""

    #: the thread's name
    thread_name = "onewindow-periodic"
    #: what the job is called in the log
    what = "periodic job"

    def __init__(self, engine: Engine, every_s: float, *, sender: Sender | None = None) -> None:
        self.engine = engine
        self.every_s = every_s
        self.sender = sender
        self.runs = 0
        self.last: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> Any:
        """One run of the job; its result becomes ``last``."""
        raise NotImplementedError

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        if self.sender is not None:
            self.sender.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.last = self.run_once()
            except redis.RedisError as exc:
                logger.warning("%s: Redis unavailable (%s); will retry", self.what, exc)
            except Exception:  # keep the thread alive whatever one run did
                logger.exception("%s run failed", self.what)
            self.runs += 1
            self._stop.wait(self.every_s)

    def stop(self) -> None:
        self._stop.set()
        if self.sender is not None:
            self.sender.stop()
