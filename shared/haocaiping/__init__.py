"""政务服务"好差评" in the background: the default ratings and the report of every rating to the provincial system.

:func:`start_worker` is what a server process starts (like :func:`shared.stats.start_archiver`): a daemon thread that
gives the default rating to visits nobody rated (every ``[haocaiping] default_every_minutes``; idempotent, so every
process may run it) and, when ``[haocaiping.upstream] enabled``, an outbox :class:`~shared.outbox.Sender` that posts
each rating through the generic JSON-over-HTTP adapter (:mod:`shared.haocaiping.adapter`) — one active sender per
hall, whatever the number of processes (a lease in Redis).

:func:`rating_outbox` is the supervisor's handle on the reports: ``counts()``, ``list(state)``, ``get(id)``,
``resend(id, by=…)``.
"""

from __future__ import annotations

import logging

from shared.config import Config
from shared.engine import Engine
from shared.haocaiping.adapter import JsonHttpAdapter
from shared.outbox import Outbox, Sender, SenderSettings
from shared.periodic import PeriodicWorker
from shared.ratings import TOPIC, DefaultRun, apply_default_ratings

logger = logging.getLogger(__name__)

__all__ = ["HaocaipingWorker", "JsonHttpAdapter", "rating_outbox", "rating_sender", "start_worker"]


def rating_outbox(engine: Engine) -> Outbox:
    """The outbox of ratings reported upstream (topic ``haocaiping``, one partition per window)."""
    return Outbox(engine, TOPIC)


def sender_settings(config: Config) -> SenderSettings:
    u = config.haocaiping.upstream
    return SenderSettings(parallel=u.parallel, poll_seconds=u.poll_seconds, timeout_seconds=u.timeout_seconds,
                          max_attempts=u.max_attempts, backoff_seconds=u.backoff_seconds,
                          max_backoff_seconds=u.max_backoff_seconds, keep_sent_days=u.keep_sent_days)


def rating_sender(engine: Engine, *, adapter: JsonHttpAdapter | None = None, clock=None) -> Sender:
    """A sender of the ratings outbox through the configured adapter (not started)."""
    adapter = adapter or JsonHttpAdapter(engine.config)
    return Sender(rating_outbox(engine), adapter.deliver, sender_settings(engine.config), clock=clock,
                  name="haocaiping-sender")


class HaocaipingWorker(PeriodicWorker):
    """The default-rating loop and (when reporting is on) the upstream sender of one server process."""

    thread_name = "haocaiping-default-ratings"
    what = "default ratings"

    def __init__(self, engine: Engine, *, sender: Sender | None = None) -> None:
        super().__init__(engine, engine.config.haocaiping.default_every_minutes * 60, sender=sender)
        self.last: DefaultRun | None = None

    def run_once(self) -> DefaultRun:
        return apply_default_ratings(self.engine)


def start_worker(engine: Engine, config: Config | None = None) -> HaocaipingWorker:
    """Start the 好差评 background work of a server process (see the module doc). Wire it in ``create_app`` next to the
    archiver::

        if app.config.get("START_HAOCAIPING", app.config["START_RELAY"]):
            from shared.haocaiping import start_worker
            app.extensions["onewindow_haocaiping"] = start_worker(hall.engine, config)
    """
    config = config or engine.config
    sender = rating_sender(engine) if config.haocaiping.upstream.enabled else None
    if sender is not None:
        logger.info("reporting ratings to %s", config.haocaiping.upstream.url)
    return HaocaipingWorker(engine, sender=sender).start()
