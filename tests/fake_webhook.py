"""A fake notification gateway (the hall's SMS gateway or WeChat subscription-message service behind the webhook): a
real HTTP server on 127.0.0.1 that de-duplicates by the message id, as a gateway that takes ``Idempotency-Key``
does, and misbehaves on purpose — fails, answers late (after the client gave up), sends and then answers an error,
is busy — chosen at random from a seed. ``sent`` is what reached citizens' phones."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeWebhook:
    """``faults``: probabilities of ``error`` (500, nothing sent), ``sent_error`` (sent, then 500), ``late_sent``
    (sent, answered after the client gave up), ``late`` (nothing sent, answered late), ``busy`` (503)."""

    def __init__(self, seed: int = 0, faults: dict[str, float] | None = None, stall_seconds: float = 1.5) -> None:
        self.rng = random.Random(seed)
        self.faults = faults or {}
        self.stall_seconds = stall_seconds
        self.lock = threading.Lock()
        self.sent: dict[str, dict] = {}  # message id → the body that was sent (once)
        self.deliveries: Counter[str] = Counter()  # message id → times it reached the phone (must stay 1)
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.answers: Counter[str] = Counter()
        self.release = threading.Event()
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify"

    def start(self) -> FakeWebhook:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                status, answer, stall = hook.handle(body, dict(self.headers))
                if stall:
                    hook.release.wait(hook.stall_seconds)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up first
                    pass

        self.release.clear()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def _pick(self) -> str:
        r = self.rng.random()
        for name in ("error", "sent_error", "late_sent", "late", "busy"):
            p = self.faults.get(name, 0.0)
            if r < p:
                return name
            r -= p
        return "ok"

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
