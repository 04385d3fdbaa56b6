"""Hall display: the snapshot API, the Socket.IO namespaces, the stream relay and the screens."""

from display.namespace import DISPLAY_NAMESPACE, STAFF_NAMESPACE, register_namespaces
from display.relay import Relay
from display.views import create_blueprint

__all__ = ["DISPLAY_NAMESPACE", "STAFF_NAMESPACE", "Relay", "create_blueprint", "register_namespaces"]
