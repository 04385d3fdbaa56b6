"""The reception's background work in a server process: every ``[appointments] sweep_seconds`` the bookings' sweep
(holds that ran out, missed bookings — 爽约 —, reminders, forgetting old bookings and no-show histories) and "N
ahead"; and, when ``[notifications] enabled``, the sender of the notifications outbox (one active sender per hall,
whatever the number of processes: a lease in Redis). Everything it does is decided in scripts, so every process may
run it.
"""

from __future__ import annotations

import logging
import threading

import redis

from shared import bookings
from shared.config import Config
from shared.engine import Engine
from shared.notify import notification_sender, notify_ahead
from shared.outbox import Sender

logger = logging.getLogger(__name__)


class ReceptionWorker:
    """The periodic job (bookings' sweep, N ahead) and, when notifications are on, the sender, of one process."""

    def __init__(self, engine: Engine, *, sender: Sender | None = None) -> None:
        self.engine = engine
        self.every_s = engine.config.appointments.sweep_seconds
        self.sender = sender
        self.runs = 0
        self.last: bookings.SweepResult | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bookings.SweepResult:
        self.last = bookings.sweep(self.engine)
        notify_ahead(self.engine)
        return self.last

    def start(self) -> ReceptionWorker:
        self._thread = threading.Thread(target=self._run, name="reception-sweep", daemon=True)
        self._thread.start()
        if self.sender is not None:
            self.sender.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except redis.RedisError as exc:
                logger.warning("reception sweep: Redis unavailable (%s); will retry", exc)
            except Exception:  # keep the thread alive whatever one run did
                logger.exception("reception sweep failed")
            self.runs += 1
            self._stop.wait(self.every_s)

    def stop(self) -> None:
        self._stop.set()
        if self.sender is not None:
            self.sender.stop()


def start_worker(engine: Engine, config: Config | None = None) -> ReceptionWorker:
    """Start the reception work of a server process (see the module doc). Wire it in ``create_app`` next to the
    archiver and the 好差评 worker::

        if app.config.get("START_RECEPTION", app.config["START_RELAY"]):
            from shared.reception import start_worker as start_reception
            app.extensions["onewindow_reception"] = start_reception(hall.engine, config)
    """
    config = config or engine.config
    sender = notification_sender(engine) if config.notifications.enabled else None
    if sender is not None:
        logger.info("notifications to %s", config.notifications.url)
    return ReceptionWorker(engine, sender=sender).start()
