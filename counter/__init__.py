"""Clerk counter: staff login, the window API (call next, recall, …) and the counter page."""

from counter.views import create_blueprint

__all__ = ["create_blueprint"]
