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
    """`onewindow serve --config CONFIG` against ``redis_url``, plus any extra CLI arguments."""

    def __init__(self, config: Path, redis_url: str, *extra_args: str) -> None:
        self.port = free_port()
        env = {**os.environ, "ONEWINDOW_REDIS_URL": redis_url, "ONEWINDOW_LOG": "WARNING"}
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

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server's processes: this one and its descendants (the
        supervisor, gunicorn's master in a process group of its own, the worker)."""
        stats: dict[int, tuple[int, int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(stat.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
        ours, ticks = {self.proc.pid}, 0
        grew = True
        while grew:
            grew = False
            for pid, (ppid, _) in stats.items():
                if ppid in ours and pid not in ours:
                    ours.add(pid)
                    grew = True
        ticks = sum(stats[pid][1] for pid in ours if pid in stats)
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
