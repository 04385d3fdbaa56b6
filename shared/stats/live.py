"""The days still in the Redis event stream, folded into facts incrementally (each refresh reads only new entries).

Reports use it for the days the archive does not hold yet (today, and closed days before the archiver ran).
"""

from __future__ import annotations

import logging
import threading
from zoneinfo import ZoneInfo

import redis

from shared import events
from shared.keys import HallKeys
from shared.stats.facts import DayFacts, Folder

logger = logging.getLogger(__name__)

PAGE = 2000


class LiveStream:
    """Follows the hall's stream on demand; thread-safe."""

    def __init__(self, client: redis.Redis, keys: HallKeys, tz: ZoneInfo) -> None:
        self.redis = client
        self.keys = keys
        self.tz = tz
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.folder = Folder(self.tz)
        self.last_id = "0-0"
        self.last_seq = 0
        self.presence: dict[int, dict] = {}  # window → the last sign-in / sign-out seen

    def refresh(self) -> int:
        """Read the entries added since the last call; returns the last seq folded."""
        with self._lock:
            seq = int(self.redis.get(self.keys.seq) or 0)
            if seq < self.last_seq:  # the store was emptied (a new installation, a test): start again
                logger.info("event stream restarted (seq %s < %s): folding from the start", seq, self.last_seq)
                self._reset()
            if seq == self.last_seq and self.last_id != "0-0":
                return self.last_seq
            start = "-" if self.last_id == "0-0" else "(" + self.last_id
            for event in events.read_range(self.redis, self.keys.events, start, count=PAGE):
                self.folder.apply(event)
                self.last_id, self.last_seq = event.id, max(self.last_seq, event.seq)
                if event.type in (events.CLERK_SIGNED_IN, events.CLERK_SIGNED_OUT):
                    self._presence(event)
            return self.last_seq

    def _presence(self, event: events.Event) -> None:
        try:
            window = int(event.data.get("window"))
        except (TypeError, ValueError):
            return
        self.presence[window] = {"signed_in": event.type == events.CLERK_SIGNED_IN,
                                 "clerk": event.data.get("clerk"), "name": event.data.get("name"), "ts": event.ts}

    def days(self, names: set[str] | None = None) -> dict[str, DayFacts]:
        """The folded days (all, or those named). Call :meth:`refresh` first."""
        with self._lock:
            if names is None:
                return dict(self.folder.days)
            return {d: f for d, f in self.folder.days.items() if d in names}

    def forget(self, names: set[str]) -> None:
        """Drop days the archive now holds (a late event for such a day folds into a fresh, partial day)."""
        with self._lock:
            for name in names:
                self.folder.days.pop(name, None)
