"""Socket.IO namespace for hall screens. Screens only listen: on connect they fetch the snapshot over HTTP, then
apply events by ``seq`` (a gap means: fetch the snapshot again)."""

from __future__ import annotations

import logging

from flask_socketio import Namespace

logger = logging.getLogger(__name__)

DISPLAY_NAMESPACE = "/display"


class DisplayNamespace(Namespace):
    """Read-only namespace: clients receive events; nothing they send changes state."""

    def on_connect(self, auth=None):  # noqa: D401 - Socket.IO hook
        logger.debug("display connected")

    def on_disconnect(self, reason=None):
        logger.debug("display disconnected: %s", reason)
