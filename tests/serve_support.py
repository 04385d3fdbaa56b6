"""`onewindow serve` run as a user runs it (a process of its own, its output collected), on a copy of the test hall."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from faults import wait_for
from hall_support import HALL_TOML
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
        def said() -> bool:
            assert self.proc.poll() is None, self.output
            return text in self.output

        wait_for(said, timeout, f"{text!r} in the output:\n{self.output}")

    def finish(self, timeout: float = 60) -> int:
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._reader.join(5)
        return code
