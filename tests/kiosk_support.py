"""What the kiosk's browser tests share: the real hall on a busy Friday afternoon, served in-process and printing to a
fake network printer (``printing_to``, ``served``); the paired kiosk page; the orientations; the boxes that must
fit; where screenshots go. Also the kiosk printing
tests' fake printers started on demand (``printers``) and a loopback port nothing listens on (``unused_port``)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from browser_support import screenshot_dir
from fake_printer import FakePrinter
from shared.clock import FixedClock
from shared.config import Config, load_config
from shared.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
ORIENTATIONS = {"portrait": (1080, 1920), "landscape": (1920, 1080)}

# Fits: no scrolling, every tile's text inside its tile, the header's hall name not cut off.
CHECKED = ".tile, .hall, .ticket-card, .ticket-main, .ticket-side, .priority, .foot, .bar, .pair-card, .qr"

# The fake printers' jobs of at least this many bytes are tickets, not the status probes of the health endpoint
# (DLE EOT n).
TICKET_MIN_BYTES = 65


def unused_port() -> int:
    """A loopback port nothing listens on (a printer that is switched off)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def printers():
    """``printers(port=0, **kw)``: a fake network printer on 127.0.0.1 counting tickets (FakePrinter's keywords:
    ``state``, ``read`` …); every one started is stopped after the test."""
    started: list[FakePrinter] = []

    def start(port: int = 0, **kw) -> FakePrinter:
        p = FakePrinter(port=port, min_job_bytes=TICKET_MIN_BYTES, **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def printing_to(printer: FakePrinter, config: Config, tmp_path: Path) -> Config:
    """``config`` with its var_dir in ``tmp_path`` and its tickets printed to ``printer`` (a network printer)."""
    return replace(config, var_dir=tmp_path / "var", printer={"backend": "network", "host": "127.0.0.1",
                                                              "port": printer.port, "timeout_seconds": 2.0})


@contextmanager
def served(config: Config, redis_url: str, clock: FixedClock) -> Iterator[str]:
    """The app of ``config`` at ``clock`` served in-process on 127.0.0.1 (a thread) while the block runs: its URL."""
    from werkzeug.serving import make_server

    from onewindow import create_app

    app = create_app({"CONFIG": config, "REDIS_URL": redis_url, "CLOCK": clock, "START_RELAY": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def open_paired_kiosk(hall: dict, new_page, size: tuple[int, int], timezone_id: str = "Asia/Shanghai"):
    """A browser page at the kiosk paired as lobby-1, its clock installed at ``hall["at"]``, once its 人社综合 tile
    shows."""
    page = new_page(size, timezone_id=timezone_id)
    page.clock.install(time=hall["at"])
    page.goto(hall["url"] + "/kiosk#pair=demo-kiosk-token-lobby-1")
    page.wait_for_selector(".tile[data-service=renshe]")
    return page


@pytest.fixture
def hall(redis_client, redis_server, tmp_path):
    """The real hall on a Friday at 14:05, with people waiting, one service out of tickets (司法综合) and one
    closed for the day (领导带班, mornings only), served in-process, printing to a fake network printer."""
    printer = FakePrinter()
    config = printing_to(printer, load_config(ROOT / "config.toml"), tmp_path)
    at = datetime(2026, 11, 27, 14, 5, tzinfo=config.timezone)
    clock = FixedClock(config.timezone, at)
    engine = Engine(redis_client, config, clock)
    for code, waiting in (("renshe", 12), ("shichang", 7), ("gongan", 4), ("sheqi", 3), ("bubancheng", 1),
                          ("sifa", config.services["sifa"].daily_quota)):
        for _ in range(waiting):
            engine.issue(code)
    with served(config, redis_server.url, clock) as url:
        yield {"url": url, "at": at, "config": config, "printer": printer}
    printer.stop()


@pytest.fixture
def shots(tmp_path):
    return screenshot_dir(tmp_path)


