"""A production install: build the wheel, install it without extras into a fresh venv from the runtime lock, run
`onewindow serve` (embedded Redis, gevent worker) and issue and call a ticket over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from hall_support import HALL_TOML, KEYPAD_TOKEN, KIOSK_TOKEN
from fresh_support import tracked_copy
from shared.embedded import free_port


def run(*cmd, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert r.returncode == 0, f"{cmd}: {r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def http(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method,
                                 headers=headers)
    with urllib.request.urlopen(req, timeout=20) as r:
        return r.status, json.loads(r.read())


def test_the_wheel_without_extras_serves_a_hall(tmp_path):
    src = tracked_copy(tmp_path / "src")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "dist", src)
    [wheel] = (tmp_path / "dist").glob("onewindow-*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    py = venv / "bin" / "python"
    run(py, "-m", "pip", "install", "-q", "--require-hashes", "-r", src / "requirements" / "runtime.txt")
    run(py, "-m", "pip", "install", "-q", "--no-deps", wheel)
    run(py, "-m", "pip", "check")  # every declared requirement is installed, nothing missing
    assert subprocess.run([py, "-c", "import pytest"], capture_output=True).returncode != 0  # no test extras here

    hall = tmp_path / "hall" / "hall.toml"  # a config outside the source tree: the wheel's code is what runs
    hall.parent.mkdir()
    hall.write_text(HALL_TOML.read_text(encoding="utf-8").replace('var_dir = "../../var/test"', 'var_dir = "var"'),
                    encoding="utf-8")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONEWINDOW_", "PYTHON", "VIRTUAL_ENV"))}
    proc = subprocess.Popen([venv / "bin" / "onewindow", "serve", "--config", hall, "--port", str(port)],
                            cwd=hall.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while not any("Ctrl-C stops" in line for line in lines):
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        status, issued = http("POST", base + "/api/v1/tickets", {"service": "renshe"}, KIOSK_TOKEN)
        assert status == 201 and issued["print"]["status"] == "preview"
        status, called = http("POST", base + "/api/v1/windows/1/call-next", {}, KEYPAD_TOKEN)
        assert status == 200 and called["ticket"]["number"] == issued["ticket"]["number"] == "A001"
        assert (hall.parent / "var" / "tickets").is_dir() and list((hall.parent / "var" / "tickets").glob("*A001*.png"))
        with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
            assert 'onewindow_tickets_called_total{service="renshe"} 1.0' in r.read().decode()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(60)
        reader.join(5)
    out = "".join(lines)
    assert code == 0, out
    assert str(venv) in out or "Using worker: OneWindowGeventWorker" in out
    assert "Traceback" not in out and "ModuleNotFoundError" not in out, out
