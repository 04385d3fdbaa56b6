"""deploy/: the systemd units run commands the CLI accepts, stop in order, and nginx keeps Socket.IO sessions on one
process; JSON logs carry the hall's time zone."""

from __future__ import annotations

import json
import logging
import re
import shlex
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from onewindow.cli import build_parser
from shared.logs import JsonFormatter, HallTimeFormatter

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def exec_lines(unit: Path) -> list[list[str]]:
    text = unit.read_text(encoding="utf-8").replace("\\\n", " ")
    return [shlex.split(m) for m in re.findall(r"^Exec\w+=(.+)$", text, flags=re.M)]


@pytest.mark.parametrize("unit", ["onewindow.service", "onewindow@.service", "onewindow-backup.service"])
def test_units_run_commands_the_cli_accepts(unit):
    commands = [c for c in exec_lines(DEPLOY / unit) if c[0].endswith("/onewindow")]
    assert commands
    for cmd in commands:
        args = build_parser().parse_args([a.replace("%i", "8001") for a in cmd[1:]])
        assert args.config == "/etc/onewindow/config.toml"


@pytest.mark.parametrize("unit", ["onewindow.service", "onewindow@.service"])
def test_units_stop_the_supervisor_only(unit):
    text = (DEPLOY / unit).read_text(encoding="utf-8")
    assert "KillMode=mixed" in text and "KillSignal=SIGTERM" in text


def test_nginx_site_is_sticky_and_upgrades_websockets():
    text = (DEPLOY / "nginx-onewindow.conf").read_text(encoding="utf-8")
    upstream = text.split("upstream onewindow {", 1)[1].split("}", 1)[0]
    assert "hash $remote_addr consistent;" in upstream and upstream.count("server 127.0.0.1:") >= 2
    socketio = text.split("location /socket.io/ {", 1)[1].split("}", 1)[0]
    assert "proxy_set_header Upgrade $http_upgrade;" in socketio and "$connection_upgrade" in socketio
    assert "location = /metrics { return 404; }" in text
    assert text.count("proxy_set_header Host $http_host;") == 2


def test_logrotate_does_not_truncate_in_place():
    text = (DEPLOY / "logrotate-onewindow").read_text(encoding="utf-8")
    rules = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert "/var/log/onewindow/*.log" in rules and "copytruncate" not in rules


def record(msg: str = "号码 A001 已叫") -> logging.LogRecord:
    r = logging.LogRecord("onewindow", logging.INFO, __file__, 1, msg, (), None)
    r.created = 1764200000.5  # 2025-11-26 23:33:20.5 UTC
    return r


def test_json_log_lines_in_the_hall_zone():
    line = JsonFormatter(ZoneInfo("Asia/Shanghai")).format(record())
    data = json.loads(line)
    assert data["ts"] == "2025-11-27T07:33:20.500+08:00" and data["message"] == "号码 A001 已叫"
    assert data["level"] == "INFO" and data["logger"] == "onewindow" and isinstance(data["pid"], int)


def test_text_log_lines_in_the_hall_zone():
    line = HallTimeFormatter(ZoneInfo("Asia/Shanghai")).format(record("x"))
    assert line == "2025-11-27 07:33:20.500+08:00 INFO onewindow: x"
