"""A fake notification gateway (the hall's SMS gateway or WeChat subscription-message service behind the webhook): a
real HTTP server on 127.0.0.1 that de-duplicates by the message id, as a gateway that takes ``Idempotency-Key``
does, and misbehaves on purpose — fails, answers late (after the client gave up), sends and then answers an error,
is busy — chosen at random from a seed. ``sent`` is what reached citizens' phones."""

from __future__ import annotations

from collections import Counter

from fake_upstream import FakeUpstream


class FakeWebhook(FakeUpstream):
    """``faults``: probabilities of ``error`` (500, nothing sent), ``sent_error`` (sent, then 500), ``late_sent``
    (sent, answered after the client gave up), ``late`` (nothing sent, answered late), ``busy`` (503)."""

    FAULTS = ("error", "sent_error", "late_sent", "late", "busy")
    path = "/notify"

    def __init__(self, seed: int = 0, faults: dict[str, float] | None = None, stall_seconds: float = 1.5) -> None:
        super().__init__(seed, faults, stall_seconds)
        self.sent: dict[str, dict] = {}  # message id → the body that was sent (once)
        self.deliveries: Counter[str] = Counter()  # message id → times it reached the phone (must stay 1)
        self.requests: list[dict] = []
        self.headers: list[dict] = []

    def handle(self, body: dict, headers: dict) -> tuple[int, dict, bool]:
        message_id = str(body.get("id"))
        with self.lock:
            self.requests.append(body)
            self.headers.append(headers)
            mode = self._pick()
            self.answers[mode] += 1
            if mode in ("error", "late", "busy"):
                return (503 if mode == "busy" else 500), {"code": "500"}, mode == "late"
            if headers.get("Idempotency-Key") != message_id:
                return 400, {"code": "400", "msg": "Idempotency-Key must be the message id"}, False
            if message_id in self.sent:
                self.answers["duplicate"] += 1
                return 200, {"code": "0", "duplicate": True}, mode == "late_sent"
            self.sent[message_id] = body
            self.deliveries[message_id] += 1
            if mode == "sent_error":
                return 500, {"code": "500", "msg": "sent, then failed"}, False
            return 200, {"code": "0"}, mode == "late_sent"
