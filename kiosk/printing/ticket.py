"""What a printed ticket says: the content of one ticket (:class:`TicketSlip`, a frozen value, independent of any
printer) and its words in Chinese and English, which the text layout and the image renderer share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from shared.estimates import WORDS


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
    hall_address: str = ""  # [hall] address ("" = no line)
    hall_phone: str = ""  # [hall] phone ("" = no line)
    #: the estimate's state (shared/estimates.py): "no_window" prints "暂无窗口办理" instead of minutes
    wait_state: str | None = None
    appointment: bool = False  # 预约: checked in for a booking (its slot's start, HH:MM, in ``slot``)
    slot: str = ""

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


# ------------------------------------------------------------------------------------------------ the words
APPOINTMENT_ZH = "预约"
APPOINTMENT_EN = "Appointment"
PRIORITY_ZH = "绿色通道"
PRIORITY_EN = "Priority service"
# the kiosk's 绿色通道 note (kiosk/static/strings.js priorityNote), on the paper too: the clerk asks for the proof
PRIORITY_NOTE_ZH = "请到窗口出示相关证件"
PRIORITY_NOTE_EN = "Please show your ID at the window"
SCAN_ZH = "扫码查看排队进度"
SCAN_EN = "Scan to follow your place in the queue"
NOTICE_ZH = "过号请重新取号"
NOTICE_EN = "If you miss your call, please take a new ticket"


def windows_zh(slip: TicketSlip) -> str:
    """``请到 1、2 号窗口`` (or a pointer to the call screen when no window is known)."""
    if not slip.windows:
        return "请留意叫号屏幕"
    return f"请到 {'、'.join(str(w) for w in slip.windows)} 号窗口"


def windows_en(slip: TicketSlip) -> str:
    """``Windows 1, 2`` / ``Window 3``."""
    if not slip.windows:
        return "Please watch the call screen"
    label = "Window" if len(slip.windows) == 1 else "Windows"
    return f"{label} {', '.join(str(w) for w in slip.windows)}"


def ahead_zh(slip: TicketSlip) -> str:
    """People waiting before this ticket."""
    return "前面没有人等候" if slip.ahead == 0 else f"前面还有 {slip.ahead} 人等候"


def ahead_en(slip: TicketSlip) -> str:
    if slip.ahead == 0:
        return "No one ahead of you"
    return f"{slip.ahead} {'person' if slip.ahead == 1 else 'people'} ahead of you"


def wait_zh(slip: TicketSlip) -> str | None:
    """The estimated wait, or ``None`` when there is no estimate (the line is then left out)."""
    if slip.wait_state == "no_window":
        return WORDS["zh"]["no_window"]
    if slip.wait_minutes is None:
        return None
    return "预计即将叫号" if slip.wait_minutes == 0 else f"预计等候约 {slip.wait_minutes} 分钟"


def wait_en(slip: TicketSlip) -> str | None:
    if slip.wait_state == "no_window":
        return WORDS["en"]["no_window"]
    if slip.wait_minutes is None:
        return None
    return "You will be called soon" if slip.wait_minutes == 0 else f"Estimated wait: about {slip.wait_minutes} min"


def issued(slip: TicketSlip) -> str:
    """``取号时间 Issued 2026-11-27 09:15`` in the slip's own time zone (32 columns: fits 58 mm paper)."""
    return f"取号时间 Issued {slip.issued_at:%Y-%m-%d %H:%M}"


def address_line(slip: TicketSlip) -> str | None:
    """``地址 Address: …``, or ``None`` when the hall has no ``[hall] address``."""
    return f"地址 Address: {slip.hall_address}" if slip.hall_address else None


def phone_line(slip: TicketSlip) -> str | None:
    """``咨询电话 Tel: …``, or ``None`` when the hall has no ``[hall] phone``."""
    return f"咨询电话 Tel: {slip.hall_phone}" if slip.hall_phone else None


def appointment_zh(slip: TicketSlip) -> str:
    """``预约 10:30`` (the booked slot's start)."""
    return f"{APPOINTMENT_ZH} {slip.slot}".strip()


def appointment_en(slip: TicketSlip) -> str:
    return f"{APPOINTMENT_EN} {slip.slot}".strip()
