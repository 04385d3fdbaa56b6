"""Notifications to citizens: booking confirmed, reminder, N ahead, called, no-show — through the generic outbox
(:mod:`shared.outbox`, topic ``notify``) and a pluggable adapter (the generic :class:`WebhookNotifier`; any callable
``Entry → Delivery`` will do). docs/appointments.md.

**Exactly once, like the 好差评 reports.** Each message is an outbox entry with the id ``<kind>:<ref>`` (``called:
20261127-A012``, ``booking_confirmed:BK0000042``, ``reminder:BK0000042:202611300930``), written once whatever
happens, and where possible in the same Lua step as the change it reports: ``booking_confirm.lua`` (confirmed),
``call_next.lua`` / ``call_number.lua`` (called), ``close_current.lua``, ``call_next.lua`` and ``booking_sweep.lua``
/ ``check_in.lua`` (no-show: a ticket marked no-show, a remote ticket that lapsed, a missed booking). The periodic
job writes the two that depend on time and on others: reminders (``booking_sweep.lua``) and "N ahead"
(``notify_ahead.lua``) — each decided in its script, so running the job twice sends nothing twice. The sender posts
each entry until the receiver accepts it, with the same id every time (``Idempotency-Key``): a receiver that
de-duplicates by it delivers each message once.

Only tickets and bookings with a contact are notified (a phone number or WeChat openid given on the phone page or
by the provincial app). Delivery partitions (``[notifications] partitions``) keep one citizen's messages in order.
Phone numbers are shown masked in every view (:func:`entry_view`).

The periodic job and the sender run in :func:`shared.reception.start_worker`.
"""

from __future__ import annotations

import json
import logging

from shared.config import Config
from shared.engine import NOTIFY_TOPIC, Engine
from shared.notify.contacts import make_contact, mask_contact
from shared.notify.webhook import WebhookNotifier
from shared.outbox import Entry, Outbox, Sender, SenderSettings

logger = logging.getLogger(__name__)

TOPIC = NOTIFY_TOPIC
AHEAD_BATCH = 200

__all__ = ["TOPIC", "WebhookNotifier", "entry_view", "make_contact", "notification_outbox", "notification_sender",
           "notify_ahead"]


def notification_outbox(engine: Engine) -> Outbox:
    """The outbox of notifications (topic ``notify``, partitions 0 … ``partitions``−1)."""
    return Outbox(engine, TOPIC)


def sender_settings(config: Config) -> SenderSettings:
    n = config.notifications
    return SenderSettings(parallel=n.parallel, poll_seconds=n.poll_seconds, timeout_seconds=n.timeout_seconds,
                          max_attempts=n.max_attempts, backoff_seconds=n.backoff_seconds,
                          max_backoff_seconds=n.max_backoff_seconds, keep_sent_days=n.keep_sent_days)


def notification_sender(engine: Engine, *, deliver=None, clock=None) -> Sender:
    """A sender of the notifications outbox through ``deliver`` (default: the webhook adapter), not started."""
    deliver = deliver or WebhookNotifier(engine.config).deliver
    return Sender(notification_outbox(engine), deliver, sender_settings(engine.config), clock=clock,
                  name="notify-sender")


def entry_view(entry: Entry) -> dict:
    """An entry as a supervisor's list shows it: the recipient masked (``138****5678``), the booking code hidden."""
    out = entry.view()
    payload = dict(out["payload"])
    payload["to"] = mask_contact(payload.get("to"))
    data = dict(payload.get("data") or {})
    if data.get("code"):
        data["code"] = "****"
    payload["data"] = data
    out["payload"] = payload
    return out


def notify_ahead(engine: Engine) -> list[str]:
    """Queue "N ahead" for every waiting ticket with a contact that has at most ``[notifications] ahead`` people
    before it (once per ticket); returns the tickets notified."""
    n = engine.config.notifications
    if not n.sends("ahead") or n.ahead <= 0:
        return []
    day = engine.today()
    k = engine.keys
    ids = engine.redis.hkeys(k.contacts(day))
    if not ids:
        return []
    services, windows = list(engine.config.services), sorted(engine.config.windows)
    keys = [k.tickets(day), k.contacts(day), k.remote_pending(day), *engine.reception_keys(day)[5:],
            *(k.queue(day, s) for s in services), *(k.window_queue(day, w) for w in windows)]
    notified: list[str] = []
    for i in range(0, len(ids), AHEAD_BATCH):
        r = engine.runner.run("notify_ahead", keys, [engine.clock.now_ms(), engine.reception_args(), n.ahead,
                                              json.dumps(services), json.dumps(windows),
                                              json.dumps(ids[i:i + AHEAD_BATCH])])
        notified += r["notified"] if isinstance(r["notified"], list) else []
    return notified
