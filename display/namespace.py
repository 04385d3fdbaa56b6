"""Socket.IO namespace for hall screens. Screens only listen: on connect they fetch the snapshot over HTTP, then
apply events by ``seq`` (a gap means: fetch the snapshot again).

The one thing a client may send is ``clock`` (with an acknowledgement): the answer is the server's time in ms. It
changes nothing; screens use it to set their clock, and ``bench/bench_display.py`` uses its round trip as the
baseline latency of a connection.
"""

from __future__ import annotations

import logging
import time

from flask_socketio import Namespace

logger = logging.getLogger(__name__)

DISPLAY_NAMESPACE = "/display"


class DisplayNamespace(Namespace):
    """Read-only namespace: clients receive events; nothing they send changes state."""

    def on_connect(self, auth=None):  # noqa: D401 - Socket.IO hook
        logger.debug("display connected")

    def on_disconnect(self, reason=None):
        logger.debug("display disconnected: %s", reason)

    def on_clock(self, data=None) -> dict:
        """Acknowledge with the server time (ms since the epoch)."""
        return {"ts": int(time.time() * 1000)}
