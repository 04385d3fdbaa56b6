"""Real-name rules (实名取号): the refusals of the hall's per-ID, booking and check-in rules, in Chinese and English.

The rules themselves are decided in the scripts that act (``issue.lua``, ``booking_hold.lua``, ``check_in.lua``,
…, with the library ``_idrules.lua``); a refusal comes back as a script code with details (numbers and times,
never anything private) and becomes a :class:`shared.errors.RuleRefusedError` whose ``details`` carry
``message_zh`` and ``message_en`` — what the kiosk or the phone shows the person, first in Chinese. The edge maps
it like every domain error (409, ``{"error": {"code", "message", "details"}}``).

Per-ID rules, per service (``[[services]] realname = {…}``, defaults in ``[realname]``; docs/realname.md):

* ``required`` — walk-in tickets only with an ID (card or typed number): ``id_required``;
* ``max_open`` — open tickets (waiting, called, remote not yet arrived) one ID may hold: ``id_open_limit``;
* ``daily_cap`` — tickets one ID may take per business day: ``id_daily_cap``;
* ``noshow_limit`` / ``noshow_days`` / ``ban_days`` — K no-shows (过号, 爽约, lapsed remote tickets) within M days
  bar remote tickets and bookings for D days after the K-th: ``id_banned`` (``until_ms``);
* ``green_age`` — 绿色通道 from this age, automatically (``green: "age"`` on the ticket).
"""

from __future__ import annotations

from datetime import datetime

from shared.config import Config, Service
from shared.errors import OneWindowError

#: code → (中文, English); ``{service}`` / ``{service_en}`` and the script's details are filled in
REFUSALS: dict[str, tuple[str, str]] = {
    # per-ID rules
    "id_required": ("{service}需实名取号：请刷身份证或输入身份证号。",
                    "{service_en} takes real-name tickets only: tap your ID card or type your ID number."),
    "id_open_limit": ("您在{service}已有 {open} 个未办结的号，办结后才能再取。",
                      "You already hold {open} open ticket(s) for {service_en}; take another when it is done."),
    "id_daily_cap": ("您今天已在{service}取号 {taken} 次，已达每日上限。",
                     "You have taken {taken} ticket(s) for {service_en} today: the daily limit."),
    "id_banned": ("因多次爽约或过号，{until}前暂停您的预约和远程取号，请到大厅现场取号。",
                  "After repeated no-shows you may not book or take a remote ticket until {until}; please take a "
                  "ticket in the hall."),
    # remote tickets
    "remote_disabled": ("{service}不提供远程取号。", "{service_en} offers no remote tickets."),
    "remote_quota_reached": ("今日{service}远程取号名额已满，请到大厅现场取号。",
                             "Today's remote tickets for {service_en} are all taken; please take a ticket in the hall."),
    "ticket_closed": ("该号已办结或已取消，无需签到。", "This ticket is finished or cancelled: nothing to check in."),
    "remote_expired": ("您的远程取号已失效：叫到您时您还未签到。请重新取号。",
                       "Your remote ticket lapsed: your turn came before you checked in. Please take a new ticket."),
    # bookings
    "appointments_disabled": ("{service}不提供预约。", "{service_en} takes no appointments."),
    "slot_unavailable": ("该时段不可预约（不在开放时间、已过或超出可预约天数）。",
                         "That time cannot be booked (outside opening hours, past, or too far ahead)."),
    "slot_full": ("该时段已约满，请选择其他时段。", "That time is fully booked; please choose another."),
    "booking_exists": ("您当天已预约{service}，每人每天限约一次。",
                       "You already have a booking for {service_en} that day (one per person a day)."),
    "hold_expired": ("预约保留时间已过，请重新选择时段。", "The time held for you has run out; please choose again."),
    "booking_closed": ("该预约已{state_zh}，无法再操作。", "This booking is {state_en}; it can no longer be changed."),
    "cancel_too_late": ("预约时段已开始，不能再取消或改约。",
                        "The booked time has begun; it can no longer be cancelled or moved."),
    "same_slot": ("新时段与原时段相同。", "The new time is the time already booked."),
    # check-in
    "too_early": ("还未到签到时间：{opens}起可签到。", "Check-in opens at {opens}."),
    "too_late": ("已超过签到时间（{closes}），预约已失效，请现场取号。",
                 "Check-in closed at {closes}; the booking has lapsed. Please take a ticket."),
    "not_today": ("您的预约日期是{day}，不是今天。", "Your booking is for {day}, not today."),
    "not_confirmed": ("该预约尚未确认。", "This booking was never confirmed."),
    "nothing_booked": ("今天没有您的预约或远程取号。", "There is no booking or remote ticket for you today."),
    "walk_in_closed": ("已超过签到时间，预约已失效；{service}现在不取号。",
                       "Check-in has closed and the booking has lapsed; {service_en} is not issuing tickets now."),
    "walk_in_quota": ("已超过签到时间，预约已失效；今日{service}号已取完。",
                      "Check-in has closed and the booking has lapsed; today's tickets for {service_en} are all taken."),
}

STATES = {"held": ("保留中", "held"), "confirmed": ("确认", "confirmed"), "cancelled": ("取消", "cancelled"),
          "expired": ("过期", "expired"), "checked_in": ("签到", "checked in"), "missed": ("爽约", "missed")}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _when(config: Config, ms) -> str:
    try:
        return datetime.fromtimestamp(int(ms) / 1000, config.timezone).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def explain(exc: OneWindowError, config: Config, service: Service | None = None, **context) -> OneWindowError:
    """Put ``message_zh`` and ``message_en`` into ``exc.details`` for a rule's code (the English one becomes the
    message); other errors come back unchanged."""
    texts = REFUSALS.get(exc.code)
    if texts is None:
        return exc
    d = {**exc.details, **context}
    if service is None and isinstance(d.get("service"), str):
        service = config.services.get(d["service"])
    values = _Blank({k: v for k, v in d.items() if isinstance(v, (str, int, float))})
    if service is not None:
        values.update(service=service.name, service_en=service.name_en or service.name)
        exc.details.setdefault("service", service.code)
    for name in ("until_ms", "opens_ms", "closes_ms"):
        if name in d:
            values[name.removesuffix("_ms")] = _when(config, d[name])
    if "day" in d and isinstance(d["day"], str) and len(d["day"]) == 8:
        values["day"] = f"{d['day'][:4]}-{d['day'][4:6]}-{d['day'][6:]}"
    state = STATES.get(str(d.get("state", "")))
    if state:
        values.update(state_zh=state[0], state_en=state[1])
    zh, en = (t.format_map(values) for t in texts)
    exc.details.update(message_zh=zh, message_en=en)
    exc.message = en
    exc.args = (en,)
    return exc
