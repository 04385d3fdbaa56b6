"""Moved: the follow-ups (``resolve_case``, ``follow_up_rating``) live in :mod:`shared.rectification` with the rest of
the 差评 workflow. This name stays until the supervisor routes import them from there."""

from shared.rectification import follow_up_rating, resolve_case

__all__ = ["follow_up_rating", "resolve_case"]
