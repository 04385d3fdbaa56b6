"""The generic webhook adapter of notifications: one outbox entry → one JSON POST to the hall's SMS gateway or WeChat
subscription-message service (or whatever sits behind ``[notifications] url``). docs/appointments.md shows the body.

The body carries the entry's kind and the gateway's template id for it (``templates``), the recipient (``to``:
phone and/or openid), the template's parameters (``data``: service names, number, window, slot, booking code …,
filled in from the config at send time) and a ready-made ``text`` in the citizen's language for gateways that take
free text. ``id`` (``<hall>-<kind>:<ref>``) is the same in every attempt, and also sent as ``Idempotency-Key``: a
receiver that de-duplicates by it sends each message once, however often it is posted (the outbox posts until it
is accepted: at least once).

An answer is read by :mod:`shared.upstream`, as the 好差评 adapter's is: a 2xx is accepted (or, with
``success_field``, a 2xx whose field is in ``success_values`` / ``duplicate_values``); 408, 425, 429, 5xx and no
answer are tried again; any other 4xx is refused for good (a wrong number): the entry fails at once and waits for a
person.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import datetime
from typing import Any

from shared import upstream
from shared.config import Config, NotificationSettings
from shared.outbox import Delivery, Entry

logger = logging.getLogger(__name__)

#: the ready-made text of each kind (zh, en); {hall}, {service}, {number}, {window}, {when}, {code}, {ahead}
TEXTS = {
    "booking_confirmed": ("【{hall}】您已预约{service}，时间{when}，预约码{code}。请提前到大厅取号机签到。",
                          "[{hall_en}] Booked: {service_en}, {when}, code {code}. Check in at the kiosk when you arrive."),
    "reminder": ("【{hall}】提醒：您预约的{service}在{when}，预约码{code}，请按时到大厅签到。",
                 "[{hall_en}] Reminder: {service_en} at {when}, code {code}. Please check in at the kiosk on time."),
    "ahead": ("【{hall}】{number}号：前面还有{ahead}人，请留意叫号。",
              "[{hall_en}] Ticket {number}: {ahead} ahead of you. Please listen for your call."),
    "ahead_not_arrived": ("【{hall}】{number}号：前面还有{ahead}人，请尽快到大厅取号机签到，否则过号作废。",
                          "[{hall_en}] Ticket {number}: {ahead} ahead of you. Check in at the kiosk now or the ticket "
                          "lapses."),
    "called": ("【{hall}】请{number}号到{window}号窗口办理。", "[{hall_en}] Ticket {number}: please go to window {window}."),
    "no_show": ("【{hall}】您的{what}已过号/失效，请重新取号或预约。",
                "[{hall_en}] Your {what_en} has lapsed. Please take a new ticket or book again."),
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


class WebhookNotifier:
    """Builds and posts notification bodies for one hall (see the module doc)."""

    def __init__(self, config: Config, *, opener: urllib.request.OpenerDirector | None = None) -> None:
        self.config = config
        self.settings: NotificationSettings = config.notifications
        self.opener = opener or urllib.request.build_opener()

    # ------------------------------------------------------------------------------------------- the body
    def data(self, payload: dict) -> dict[str, Any]:
        """The template parameters of one entry: what the script recorded, plus names from the config."""
        c = self.config
        d = dict(payload.get("data") or {})
        svc = c.services.get(str(d.get("service", "")))
        if svc is not None:
            d.update(service_name=svc.name, service_name_en=svc.name_en or svc.name)
        if d.get("start_ms"):
            start = datetime.fromtimestamp(int(d["start_ms"]) / 1000, c.timezone)
            d.update(date=start.date().isoformat(), time=f"{start:%H:%M}", start=start.isoformat())
        if isinstance(d.get("code"), str) and len(d["code"]) == 8:
            d["code"] = f"{d['code'][:4]}-{d['code'][4:]}"
        return d

    def text(self, kind: str, data: dict, lang: str) -> str:
        c = self.config
        key = "ahead_not_arrived" if kind == "ahead" and data.get("arrived") is False else kind
        zh, en = TEXTS[key]
        booking = bool(data.get("booking"))
        values = _Blank({k: v for k, v in data.items() if isinstance(v, (str, int, float))})
        values.update(hall=c.hall_name, hall_en=c.hall_name_en or c.hall_name,
                      service=data.get("service_name", ""), service_en=data.get("service_name_en", ""),
                      when=f"{data.get('date', '')} {data.get('time', '')}".strip(),
                      what="预约" if booking else f"{data.get('number', '')}号",
                      what_en="booking" if booking else f"ticket {data.get('number', '')}")
        return (en if lang == "en" else zh).format_map(values)

    def record(self, entry: Entry) -> dict[str, Any]:
        p = entry.payload
        kind = str(p.get("kind", ""))
        data = self.data(p)
        lang = "en" if p.get("lang") == "en" else "zh"
        return {"id": f"{self.config.hall_id}-{entry.id}", "kind": kind, "template": self.settings.templates.get(kind, ""),
                "to": p.get("to") or {}, "lang": lang, "hall": {"id": self.config.hall_id, "name": self.config.hall_name},
                "data": data, "text": self.text(kind, data, lang),
                "created_at": datetime.fromtimestamp(entry.created_ms / 1000, self.config.timezone).isoformat()}

    def body(self, entry: Entry) -> bytes:
        return json.dumps(self.record(entry), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    # ------------------------------------------------------------------------------------------- posting
    def deliver(self, entry: Entry) -> Delivery:
        return upstream.post_json(self.opener, self.settings, self.body(entry),
                                  {"Idempotency-Key": f"{self.config.hall_id}-{entry.id}"})

    def judge(self, status: int, raw: bytes) -> Delivery:
        return upstream.judge(self.settings, status, raw)
