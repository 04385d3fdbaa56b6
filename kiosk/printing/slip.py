"""What a printed ticket says: one frozen value, independent of any printer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class TicketSlip:
    """The content of one queue ticket.

    ``windows`` accepts any sequence of window numbers and is stored as a tuple (the slip stays hashable).
    ``issued_at`` must carry a time zone: the ticket prints the hall's local time.
    """

    hall_name: str
    number: str
    service_zh: str
    service_en: str
    windows: Sequence[int]
    ahead: int
    wait_minutes: int | None
    issued_at: datetime
    tracking_url: str
    priority: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", tuple(self.windows))
        if not self.number.strip():
            raise ValueError("TicketSlip.number must not be empty")
        if any(isinstance(w, bool) or not isinstance(w, int) or w < 0 for w in self.windows):
            raise ValueError("TicketSlip.windows must be non-negative integers")
        if isinstance(self.ahead, bool) or self.ahead < 0:
            raise ValueError("TicketSlip.ahead must not be negative")
        if self.wait_minutes is not None and self.wait_minutes < 0:
            raise ValueError("TicketSlip.wait_minutes must not be negative")
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise ValueError("TicketSlip.issued_at must be time-zone aware")

    @classmethod
    def sample(cls) -> TicketSlip:
        """A fixed, known ticket (used for test prints, the preview image and byte-exact tests)."""
        return cls(
            hall_name="谢家集区政务服务中心",
            number="A012",
            service_zh="人社综合",
            service_en="Human Resources & Social Security",
            windows=(1, 2),
            ahead=3,
            wait_minutes=9,
            issued_at=datetime(2026, 11, 27, 9, 15, tzinfo=ZoneInfo("Asia/Shanghai")),
            tracking_url="http://127.0.0.1:8000/t/SAMPLETOKEN",
            priority=False,
        )
