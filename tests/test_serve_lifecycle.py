"""`onewindow serve` as a user meets it: the banner (every page, aligned; demo logins; what is open now, or how to
try it), and a clean stop — the worker first (its sockets closed, its relay stopped), then the embedded Redis,
with no SIGKILL and no "relay lost Redis"."""

from __future__ import annotations

import os
import re
import signal
import threading
import urllib.request

import pytest
import socketio

from faults import wait_for
from serve_support import Served, hall_file


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_stop_in_order_with_a_screen_connected(tmp_path, how):
    server = Served(hall_file(tmp_path))
    sio = socketio.Client(reconnection=False)
    disconnected = threading.Event()
    sio.on("disconnect", lambda *a: disconnected.set(), namespace="/display")
    try:
        server.wait_for("Ctrl-C stops")
        sio.connect(server.url, namespaces=["/display"], transports=["websocket"], wait_timeout=10)
        if how == "ctrl-c":  # a terminal sends SIGINT to the foreground job's process group
            os.killpg(server.proc.pid, signal.SIGINT)
        else:  # systemd (KillMode=mixed) sends SIGTERM to the main process
            server.proc.send_signal(signal.SIGTERM)
        code = server.finish()
    finally:
        sio.disconnect()
    out = server.output
    assert code == 0, out
    assert disconnected.wait(5), "the screen's socket was not closed"
    assert "SIGKILL" not in out and "relay lost Redis" not in out and "graceful timeout" not in out, out
    worker_gone = out.index("Worker exiting")
    assert worker_gone < out.index("server stopped") < out.index("embedded Redis stopped"), out
    assert not (tmp_path / "var" / "redis" / "embedded.json").exists()  # the server is gone, not left running


def banner(out: str) -> list[str]:
    start = out.index("OneWindow 一窗通")
    return out[start:].splitlines()[:14]


def test_banner_lists_every_page_aligned_with_the_demo_logins(tmp_path):
    server = Served(hall_file(tmp_path))
    try:
        server.wait_for("Ctrl-C stops")
    finally:
        os.killpg(server.proc.pid, signal.SIGINT)
        server.finish()
    lines = [line for line in banner(server.output) if "http://" in line]
    paths = [re.search(r"http://[^/]+(\S*)", line).group(1) for line in lines]
    assert paths == ["/kiosk", "/counter", "/rate/1", "/display", "/display/window/1", "/t/<token>", "/book", "/supervisor",
                     "/metrics"]
    assert len({line.index("http://") for line in lines}) == 1  # the URLs start in one column
    assert len({re.search(r"http://\S+\s+", line).end() for line in lines}) == 1  # and so do the descriptions
    text = "\n".join(banner(server.output))
    assert "clerk1 … clerk7 / demo-clerk" in text and "supervisor / demo-super" in text
    assert "Open now" in text and "A 人社综合" in text


def test_when_nothing_is_open_the_banner_says_how_to_try_it(tmp_path):
    server = Served(hall_file(tmp_path, closed=True))
    try:
        server.wait_for("Ctrl-C stops")
    finally:
        os.killpg(server.proc.pid, signal.SIGINT)
        server.finish()
    text = "\n".join(banner(server.output))
    assert "No service is open now" in text and "make demo" in text


def test_a_killed_supervisor_takes_gunicorn_with_it(tmp_path):
    server = Served(hall_file(tmp_path))
    server.wait_for("Ctrl-C stops")
    with urllib.request.urlopen(server.url + "/livez", timeout=5) as r:
        assert r.status == 200
    os.kill(server.proc.pid, signal.SIGKILL)  # only the supervisor: gunicorn runs in its own process group
    server.finish()
    def gone() -> bool:
        try:
            urllib.request.urlopen(server.url + "/livez", timeout=1)
        except OSError:
            return True
        return False

    wait_for(gone, 30, "gunicorn to go with its supervisor")
    # the embedded Redis it leaves is adopted by the next start, not doubled
    again = Served(hall_file(tmp_path))
    try:
        again.wait_for("Ctrl-C stops")
        assert "adopting the embedded Redis" in again.output
    finally:
        os.killpg(again.proc.pid, signal.SIGINT)
        again.finish()


def test_json_logs_from_every_logger_in_the_hall_zone(tmp_path):
    """--log-format json: our loggers and gunicorn's write one JSON object a line, stamped in the hall's zone."""
    import json

    log = tmp_path / "log" / "onewindow.log"
    server = Served(hall_file(tmp_path), "--log-format", "json", "--log-file", str(log))
    try:
        server.wait_for("Ctrl-C stops")
    finally:
        os.killpg(server.proc.pid, signal.SIGINT)
        server.finish()
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    loggers = {r["logger"] for r in records}
    assert {"shared.embedded", "gunicorn.error", "onewindow"} <= loggers, loggers
    assert all(r["ts"].endswith("+08:00") for r in records)  # Asia/Shanghai, the test hall's zone
    assert "Ctrl-C stops" in server.output  # the banner still goes to the terminal
