"""A bounded memo for values worked out again and again from a few keys on a hot path (a request's Host, its
Content-Type, today's keys of a service): the first ask computes, the next ones look up. The keys may come from
clients (a Host header is theirs to choose), so the memo holds at most ``size`` entries and, when full, starts
again rather than grow: the usual few keys are back in it at their next ask."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SmallMemo(Generic[K, V]):
    """``memo(key)``: ``make(key)``, computed once per key while the memo holds it (at most ``size`` keys)."""

    __slots__ = ("_make", "_size", "_values")

    def __init__(self, size: int, make: Callable[[K], V]) -> None:
        self._make, self._size = make, size
        self._values: dict[K, V] = {}

    def __call__(self, key: K) -> V:
        found = self._values.get(key)
        if found is None:
            if len(self._values) >= self._size:
                self._values.clear()
            found = self._values[key] = self._make(key)
        return found

    def __len__(self) -> int:
        return len(self._values)
