"""Hall display: the snapshot API, the Socket.IO namespace, the stream relay and the screens."""

from display.namespace import DISPLAY_NAMESPACE, DisplayNamespace
from display.relay import Relay
from display.views import create_blueprint

__all__ = ["DISPLAY_NAMESPACE", "DisplayNamespace", "Relay", "create_blueprint"]
