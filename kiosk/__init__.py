"""Lobby kiosk: the ticket API (public) and the touch page; printing lives in ``kiosk.printing``."""

from kiosk.views import create_blueprint

__all__ = ["create_blueprint"]
