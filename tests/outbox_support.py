"""What the outbox tests share — the ratings reported to the province (test_outbox) and the notifications to
citizens (test_notifications): a sender posts from its own thread, so a test waits for what it posted."""

from __future__ import annotations

from collections.abc import Callable

from faults import wait_for


def wait_until(predicate: Callable[[], object], timeout: float = 180.0, what: str = "condition") -> None:
    """Wait for a condition (checked often; the machine may be busy, so the limit is generous)."""
    wait_for(predicate, timeout, what, step=0.01)
