"""A simulated ID-card reader agent: the contract of :mod:`shared.cardreader` on 127.0.0.1, without a reader.

For tests, the demo hall and a kiosk without hardware::

    python -m shared.cardreader_sim --origin http://127.0.0.1:8000
    # then type: senior | adult | <an 18-character number> | remove | unplug | plug | quit

or from Python::

    reader = SimulatedReader(origins=["http://127.0.0.1:8000"]).start()
    reader.place(make_number(born=date(1950, 3, 1)), name="张三")
    ...
    reader.stop()

Besides the contract's ``GET /v1/status`` and ``GET /v1/card``, the simulator takes ``POST /sim/card`` (``{"id_number",
"name"?, "birth_date"?}``: place a card), ``POST /sim/remove`` (lift it) and ``POST /sim/reader`` (``{"connected":
bool}``: unplug or plug the reader) — from loopback only, like everything it serves. It logs no card field.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterable
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from shared.cardreader import AGENT_PORT, CARD_PATH, CONTRACT_VERSION, HOLD_SECONDS, MAX_WAIT_SECONDS, STATUS_PATH
from shared.identity import check_char

AGENT_NAME = "onewindow-cardreader-sim"


def make_number(region: str = "340404", born: date = date(1985, 6, 15), seq: int = 123) -> str:
    """A valid 身份证号 (check character computed) for tests and demos: ``region`` (6 digits), birth date, a 3-digit
    sequence (odd: male, even: female). Numbers made here belong to nobody the hall knows."""
    if not (len(region) == 6 and region.isdigit() and region[0] != "0") or not 0 <= seq <= 999:
        raise ValueError("region is 6 digits (not starting with 0); seq is 0 … 999")
    first = f"{region}{born:%Y%m%d}{seq:03d}"
    return first + check_char(first)


class SimulatedReader:
    """The agent's HTTP endpoint with a card you place by hand (see the module doc)."""

    def __init__(self, *, port: int = 0, origins: Iterable[str] = (), hold_seconds: float = HOLD_SECONDS) -> None:
        self.port = port
        self.origins = {o.rstrip("/") for o in origins}
        self.hold_seconds = hold_seconds
        self.connected = True
        self._card: dict | None = None
        self._seq = 0
        self._placed = 0.0
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------------------------------- the card
    def place(self, id_number: str, name: str = "", birth_date: date | None = None, sex: str = "",
              nation: str = "汉") -> int:
        """Put a card on the reader; returns the read's sequence number."""
        if birth_date is None and len(id_number) == 18 and id_number[6:14].isdigit():
            try:
                birth_date = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
            except ValueError:
                birth_date = None
        if not sex and len(id_number) == 18 and id_number[16].isdigit():
            sex = "男" if int(id_number[16]) % 2 else "女"
        with self._changed:
            self._seq += 1
            self._placed = time.monotonic()
            self._card = {"name": name, "id_number": id_number,
                          "birth_date": birth_date.isoformat() if birth_date else "", "sex": sex, "nation": nation}
            self._changed.notify_all()
            return self._seq

    def remove(self) -> None:
        with self._changed:
            self._card = None
            self._changed.notify_all()

    def set_connected(self, connected: bool) -> None:
        with self._changed:
            self.connected = connected
            if not connected:
                self._card = None
            self._changed.notify_all()

    def _current(self) -> dict | None:
        if self._card is not None and time.monotonic() - self._placed > self.hold_seconds:
            self._card = None  # offered long enough: forgotten
        return self._card

    def next_read(self, after: int, wait: float) -> tuple[int, dict | None]:
        """(status, body) of ``GET /v1/card``: the current read if newer than ``after``, waiting up to ``wait``."""
        deadline = time.monotonic() + max(0.0, min(wait, MAX_WAIT_SECONDS))
        with self._changed:
            while True:
                if not self.connected:
                    return 503, {"error": {"code": "reader_disconnected", "message": "the card reader is not connected"}}
                card = self._current()
                if card is not None and self._seq > after:
                    return 200, {"seq": self._seq, "read_at": datetime.now().astimezone().isoformat(timespec="seconds"),
                                 "card": dict(card)}
                left = deadline - time.monotonic()
                if left <= 0:
                    return 204, None
                self._changed.wait(min(left, 0.5))

    def status(self) -> dict:
        with self._changed:
            return {"agent": AGENT_NAME, "contract": CONTRACT_VERSION,
                    "reader": "ready" if self.connected else "disconnected",
                    "card_present": self._current() is not None, "seq": self._seq}

    # ------------------------------------------------------------------------------------------- the server
    def start(self) -> SimulatedReader:
        reader = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # nothing about cards is ever logged
                pass

            def _cors(self) -> None:
                origin = (self.headers.get("Origin") or "").rstrip("/")
                if origin and origin in reader.origins:
                    self.send_header("Access-Control-Allow-Origin", origin)
                    self.send_header("Vary", "Origin")

            def _send(self, status: int, body: dict | None) -> None:
                data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self._cors()
                self.send_header("Cache-Control", "no-store")
                if body is not None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_OPTIONS(self) -> None:  # noqa: N802 - the http.server API
                self.send_response(204)
                self._cors()
                self.send_header("Access-Control-Allow-Methods", "GET")
                self.send_header("Access-Control-Allow-Headers", "Content-Type")
                if self.headers.get("Access-Control-Request-Private-Network") == "true":
                    self.send_header("Access-Control-Allow-Private-Network", "true")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                if url.path == STATUS_PATH:
                    return self._send(200, reader.status())
                if url.path == CARD_PATH:
                    q = parse_qs(url.query)
                    try:
                        after = int(q.get("after", ["0"])[0])
                        wait = float(q.get("wait", ["0"])[0])
                    except ValueError:
                        return self._send(400, {"error": {"code": "invalid_request", "message": "after and wait are numbers"}})
                    return self._send(*reader.next_read(after, wait))
                self._send(404, {"error": {"code": "not_found", "message": "no such endpoint"}})

            def do_POST(self) -> None:  # noqa: N802 - the simulator's own controls
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return self._send(400, {"error": {"code": "invalid_json", "message": "send JSON"}})
                path = urlsplit(self.path).path
                if path == "/sim/card" and isinstance(body, dict) and isinstance(body.get("id_number"), str):
                    born = body.get("birth_date")
                    seq = reader.place(body["id_number"], str(body.get("name") or ""),
                                       date.fromisoformat(born) if isinstance(born, str) and born else None)
                    return self._send(200, {"seq": seq})
                if path == "/sim/remove":
                    reader.remove()
                    return self._send(200, {"ok": True})
                if path == "/sim/reader" and isinstance(body, dict) and isinstance(body.get("connected"), bool):
                    reader.set_connected(body["connected"])
                    return self._send(200, {"ok": True})
                self._send(404, {"error": {"code": "not_found", "message": "no such control"}})

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                         name="cardreader-sim").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SimulatedReader:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


#: cards the command line places by name (made-up numbers: they belong to nobody)
DEMO_CARDS = {
    "adult": ("李明", make_number("340404", date(1988, 5, 20), 131)),
    "senior": ("王秀英", make_number("340404", date(1950, 2, 14), 242)),
    "young": ("陈晓", make_number("340421", date(2004, 9, 1), 57)),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="a simulated ID-card reader agent on 127.0.0.1 (shared.cardreader)")
    parser.add_argument("--port", type=int, default=AGENT_PORT)
    parser.add_argument("--origin", action="append", default=[], help="a hall origin the kiosk page comes from "
                        "(repeat; default http://127.0.0.1:8000)")
    args = parser.parse_args(argv)
    reader = SimulatedReader(port=args.port, origins=args.origin or ["http://127.0.0.1:8000"]).start()
    print(f"simulated card reader on {reader.url} ({STATUS_PATH}, {CARD_PATH}); origins: {', '.join(sorted(reader.origins))}")
    print("type: " + " | ".join(DEMO_CARDS) + " | <an 18-character ID number> | remove | unplug | plug | quit")
    try:
        for line in sys.stdin:
            word = line.strip()
            if word in ("quit", "exit"):
                break
            if word in DEMO_CARDS:
                name, number = DEMO_CARDS[word]
                print(f"card {reader.place(number, name)} placed ({word})")
            elif word == "remove":
                reader.remove()
            elif word in ("unplug", "plug"):
                reader.set_connected(word == "plug")
            elif len(word) == 18:
                print(f"card {reader.place(word)} placed")
            elif word:
                print("?")
    except KeyboardInterrupt:
        pass
    finally:
        reader.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
