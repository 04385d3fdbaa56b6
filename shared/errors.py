"""Domain errors: one root, a stable machine code and an HTTP status the web edge maps to.

The core raises these (the engine and every other named operation), and so do the blueprints' own checks; the web
edge turns them into ``{"error": {"code", "message", "details"}}`` responses in one place (``onewindow/web.py``).
"""

from __future__ import annotations


class OneWindowError(Exception):
    """Root of every domain error. ``code`` is stable and documented; ``message`` is for people."""

    code = "error"
    status = 400

    def __init__(self, message: str | None = None, *, code: str | None = None, **details: object) -> None:
        self.message = message or self.__class__.__doc__ or self.code
        if code:
            self.code = code
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class ConfigError(OneWindowError):
    """The configuration file is wrong."""

    code = "config_invalid"
    status = 500

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")


class ValidationError(OneWindowError):
    """The request is malformed: unknown field, wrong type, out of range."""

    code = "invalid_request"
    status = 400


class UnprocessableError(OneWindowError):
    """The request is well formed but names something that does not fit (an unknown service, …)."""

    code = "unprocessable"
    status = 422


class NotFoundError(OneWindowError):
    """No such ticket, window or resource."""

    code = "not_found"
    status = 404


class ConflictError(OneWindowError):
    """The action is not allowed in the current state (an illegal ticket transition, an empty queue, …)."""

    code = "conflict"
    status = 409


class AuthenticationError(OneWindowError):
    """Not logged in, or bad credentials."""

    code = "unauthenticated"
    status = 401


class PermissionDeniedError(OneWindowError):
    """Logged in, but not allowed to do this (another window, wrong role)."""

    code = "forbidden"
    status = 403


class RateLimitedError(OneWindowError):
    """Too many attempts; try again later."""

    code = "rate_limited"
    status = 429


class ServiceClosedError(ConflictError):
    """The service is not issuing tickets now (out of hours, holiday, quota reached)."""

    code = "service_closed"


class RuleRefusedError(ConflictError):
    """A rule of the hall refuses (a per-ID rule of real-name tickets, a booking or check-in rule): ``details``
    carry ``message_zh`` and ``message_en`` for the person at the kiosk or on the phone (docs/realname.md)."""

    code = "rule_refused"


class StoreUnavailableError(OneWindowError):
    """The queue store (Redis) does not answer."""

    code = "store_unavailable"
    status = 503
