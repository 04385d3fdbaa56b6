"""The base of the fake upstream systems the outboxes post to (``fake_province.FakeProvince``, the provincial 好差评
system; ``fake_webhook.FakeWebhook``, the notification gateway): a real HTTP server on 127.0.0.1 that takes JSON
POSTs, answers what :meth:`FakeUpstream.handle` decides — late, when it says so (after the client gave up) — and
picks its misbehaviour at random from a seed. ``stop`` then ``start`` again serves the same port."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class FakeUpstream:
    """``faults``: the probability of each of :attr:`FAULTS` (what each means is the subclass's); ``path``: where it
    listens; ``stall_seconds``: how late a late answer comes (``stop`` ends every wait at once)."""

    FAULTS: tuple[str, ...] = ()
    path = "/"

    def __init__(self, seed: int = 0, faults: dict[str, float] | None = None, stall_seconds: float = 1.5) -> None:
        self.rng = random.Random(seed)
        self.faults = faults or {}
        self.stall_seconds = stall_seconds
        self.lock = threading.Lock()
        self.answers: Counter[str] = Counter()
        self.release = threading.Event()  # set when stopping: late answers end at once
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def handle(self, body: dict, headers: dict) -> tuple[int, dict, bool]:
        """(status, answer, answer late?) for one request."""
        raise NotImplementedError

    def start(self) -> Self:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                status, answer, stall = upstream.handle(body, dict(self.headers))
                if stall:
                    upstream.release.wait(upstream.stall_seconds)
                data = json.dumps(answer, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timed out) before the answer
                    pass

        self.release.clear()
        self.starts += 1
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop answering (the port refuses connections until :meth:`start` again)."""
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def _pick(self) -> str:
        """One of :attr:`FAULTS` by its probability, or ``"ok"``."""
        r = self.rng.random()
        for name in self.FAULTS:
            p = self.faults.get(name, 0.0)
            if r < p:
                return name
            r -= p
        return "ok"
