"""The server process the benchmarks measure: one `onewindow serve` on a free loopback port, in its own session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from shared.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent


class ServeProcess:
    """`onewindow serve --config CONFIG` against ``redis_url``, plus any extra CLI arguments. ``redis_url`` None: the
    way `make run` serves — the server starts its own embedded Redis (from the config's ``var_dir``)."""

    def __init__(self, config: Path, redis_url: str | None, *extra_args: str) -> None:
        self.port = free_port()
        env = {**os.environ, "ONEWINDOW_LOG": "WARNING"}
        env.pop("ONEWINDOW_REDIS_URL", None)
        if redis_url is not None:
            env["ONEWINDOW_REDIS_URL"] = redis_url
        cmd = [sys.executable, "-m", "onewindow", "serve", "--config", str(config), "--host", "127.0.0.1",
               "--port", str(self.port), *extra_args]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self, only: str | None = None) -> float:
        """CPU time (user + system) used so far by the server's processes: the supervisor and every descendant
        (gunicorn's master and workers run in a process group of their own, the embedded Redis in a session of its
        own). ``only``: just the processes whose command name starts with it (``valkey``, ``redis``)."""
        procs: dict[int, tuple[int, str, int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            name = text[text.index("(") + 1:text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
            procs[int(stat.parent.name)] = (int(fields[1]), name, int(fields[11]) + int(fields[12]))
        tree, grew = {self.proc.pid}, True
        while grew:
            more = {pid for pid, (ppid, _, _) in procs.items() if ppid in tree} - tree
            tree |= more
            grew = bool(more)
        ticks = sum(procs[pid][2] for pid in tree if pid in procs and (only is None or procs[pid][1].startswith(only)))
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
