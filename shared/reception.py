"""The reception's background work in a server process: every ``[appointments] sweep_seconds`` the bookings' sweep
(holds that ran out, missed bookings — 爽约 —, reminders, forgetting old bookings and no-show histories) and "N
ahead"; and, when ``[notifications] enabled``, the sender of the notifications outbox (one active sender per hall,
whatever the number of processes: a lease in Redis). Everything it does is decided in scripts, so every process may
run it (a :class:`~shared.periodic.PeriodicWorker`).
"""

from __future__ import annotations

import logging

from shared import bookings
from shared.config import Config
from shared.engine import Engine
from shared.notify import notification_sender, notify_ahead
from shared.outbox import Sender
from shared.periodic import PeriodicWorker

logger = logging.getLogger(__name__)


class ReceptionWorker(PeriodicWorker):
    """The periodic job (bookings' sweep, N ahead) and, when notifications are on, the sender, of one process."""

    thread_name = "reception-sweep"
    what = "reception sweep"

    def __init__(self, engine: Engine, *, sender: Sender | None = None) -> None:
        super().__init__(engine, engine.config.appointments.sweep_seconds, sender=sender)
        self.last: bookings.SweepResult | None = None

    def run_once(self) -> bookings.SweepResult:
        result = bookings.sweep(self.engine)
        notify_ahead(self.engine)
        return result


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
