"""`onewindow serve` as a user meets it: the banner (every page, aligned; demo logins; what is open now, or how to
try it), and a clean stop — the worker first (its sockets closed, its relay stopped), then the embedded Redis,
with no SIGKILL and no "relay lost Redis"."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import socketio

from conftest import HALL_TOML
from shared.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent


def hall_file(tmp_path: Path, *, closed: bool = False) -> Path:
    """The test hall with its own var dir and an empty Redis URL (the embedded server); ``closed``: no hours."""
    text = HALL_TOML.read_text(encoding="utf-8").replace('var_dir = "../../var/test"', f'var_dir = "{tmp_path / "var"}"')
    if closed:
        text = re.sub(r"^hours = .*$", "hours = {}", text, flags=re.M)
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Served:
    """`onewindow serve` with stdout and stderr collected (in its own session, like a terminal's job)."""

    def __init__(self, config: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "ONEWINDOW_LOG": "INFO"}
        env.pop("ONEWINDOW_REDIS_URL", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "onewindow", "serve", "--config", str(config), "--port",
                                      str(self.port), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.proc.poll() is None, self.output
            assert time.monotonic() < deadline, self.output
            time.sleep(0.05)

    def finish(self, timeout: float = 60) -> int:
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._reader.join(5)
        return code


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
    assert paths == ["/kiosk", "/counter", "/rate/1", "/display", "/display/window/1", "/t/<token>", "/supervisor",
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
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(server.url + "/livez", timeout=1)
        except OSError:
            break  # gunicorn is gone
        assert time.monotonic() < deadline, "gunicorn outlived its supervisor"
        time.sleep(0.1)
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
