"""What tests share besides fixtures: the test hall (tests/data/hall.toml) and its demo credentials and device
tokens, signing a client in, a served app in a process of its own, and proving that a refused request changed
nothing. Test modules import these by module name (``from hall_support import …``), like every other support module;
they never import ``conftest`` nor another test module."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
HALL_TOML = DATA / "hall.toml"
DEMO_PASSWORD = "demo-clerk"
SUPER_PASSWORD = "demo-super"
KEYPAD_TOKEN = "demo-keypad-token-window-1"
KIOSK_TOKEN = "demo-kiosk-token-lobby-1"  # kiosk lobby-1 (tests/data/hall.toml)
KIOSK2_TOKEN = "demo-kiosk-token-lobby-2"
TABLET_TOKENS = {n: f"demo-tablet-token-window-{n}" for n in range(1, 8)}  # the evaluation tablet of each window


def tablet(window: int) -> dict:
    """Request headers of window ``window``'s evaluation tablet."""
    return {"Authorization": f"Bearer {TABLET_TOKENS[window]}"}


def login(client, username="clerk1", window=1, password=DEMO_PASSWORD):
    """Sign a test client in to a window; returns the response."""
    return client.post("/api/v1/login", json={"username": username, "password": password, "window": window})


def state_fingerprint(redis_client):
    """Everything in Redis, to prove a refused request changed nothing."""
    out = {}
    for key in sorted(redis_client.scan_iter("*")):
        if ":limit:" in key:  # abuse counters (login attempts, public issuing) count refused requests: not hall state
            continue
        if ":op:" in key:  # a remembered answer (so a resent copy is refused the same way); not hall state
            continue
        kind = redis_client.type(key)
        if kind == "string":
            out[key] = redis_client.get(key)
        elif kind == "hash":
            out[key] = redis_client.hgetall(key)
        elif kind == "zset":
            out[key] = redis_client.zrange(key, 0, -1, withscores=True)
        elif kind == "list":
            out[key] = redis_client.lrange(key, 0, -1)
        elif kind == "set":
            out[key] = sorted(redis_client.smembers(key))
        elif kind == "stream":
            out[key] = redis_client.xlen(key)
    return out


def refused(redis_client, exc_type, code, fn, *args, **kwargs):
    """``fn`` raises ``exc_type`` with ``code`` and changes nothing in Redis."""
    before = state_fingerprint(redis_client)
    with pytest.raises(exc_type) as exc:
        fn(*args, **kwargs)
    assert exc.value.code == code, exc.value.message
    assert state_fingerprint(redis_client) == before
    return exc.value


class LiveServer:
    """A real `onewindow serve` process (gunicorn, relay, Socket.IO) on a free loopback port."""

    def __init__(self, config_path: Path, redis_url: str | None, extra_args: tuple[str, ...] = (), *,
                 log_level: str = "WARNING") -> None:
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.config_path = config_path
        self.redis_url = redis_url
        self.port = 0
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> "LiveServer":
        import os
        import subprocess
        import sys
        import time
        import urllib.request

        from shared.embedded import free_port

        self.port = self.port or free_port()
        env = {**os.environ, "ONEWINDOW_LOG": self.log_level}
        env.pop("ONEWINDOW_REDIS_URL", None)
        if self.redis_url:  # None: the server starts its embedded Redis
            env["ONEWINDOW_REDIS_URL"] = self.redis_url
        self.process = subprocess.Popen(
            [sys.executable, "-m", "onewindow", "serve", "--config", str(self.config_path), "--port", str(self.port),
             *self.extra_args],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited: " + self.process.stderr.read().decode(errors="replace")[-2000:])
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not answer /healthz in time")

    def stop_for_log(self) -> str:
        """Stop the server and return the end of what it logged (for a failing test's message)."""
        process = self.process
        self.stop()
        return process.stderr.read().decode(errors="replace")[-6000:] if process is not None else ""

    def stop(self) -> None:
        import os
        import signal

        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except Exception:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
