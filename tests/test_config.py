"""config.toml validation: the shipped file is valid, and every mistake names its key and what is wrong."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from datetime import datetime
from pathlib import Path

import pytest

from shared.config import load_config, parse_config
from shared.errors import ConfigError
from shared.schedule import availability

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config.toml"


def shipped_raw() -> dict:
    return tomllib.loads(SHIPPED.read_text(encoding="utf-8"))


def test_shipped_config_describes_the_hall():
    c = load_config(SHIPPED)
    assert c.hall_name == "谢家集区政务服务中心" and c.timezone.key == "Asia/Shanghai"
    names = [s.name for s in c.services.values()]
    assert names == ["人社综合", "市场综合", "公安综合", "司法综合", "涉企服务", "办不成事反映", "领导带班"]
    assert len({s.prefix for s in c.services.values()}) == 7
    weekend_open = {s.code for s in c.services.values() if c.services[s.code].hours[5]}
    assert weekend_open == {"renshe", "shichang", "sheqi", "bubancheng"}  # 周末延时服务: only some services
    assert sorted(c.windows) == list(range(1, 10))


def _mutate(fn) -> dict:
    raw = shipped_raw()
    fn(raw)
    return raw


@pytest.mark.parametrize("mutate,key,words", [
    (lambda r: r["windows"][0].update(services=["nosuch"]), "windows[0].services[0]", "unknown service 'nosuch'"),
    (lambda r: r["services"][1].update(prefix="A"), "services[1].prefix", "already used"),
    (lambda r: r["services"][0]["hours"].update(weekday=["08:30-25:00"]), "services[0].hours.weekday[0]", "25:00"),
    (lambda r: r["services"][0]["hours"].update(weekday=["12:00-08:00"]), "services[0].hours.weekday[0]", "before the end"),
    (lambda r: r["services"][0]["hours"].update(weekday=["08:00-12:00", "11:00-13:00"]), "services[0].hours.weekday", "overlap"),
    (lambda r: r["services"][0].update(daily_quota="lots"), "services[0].daily_quota", "integer"),
    (lambda r: r["services"][0].update(colour="red"), "services[0].colour", "unknown key"),
    (lambda r: r["hall"].update(timezone="Mars/Olympus"), "hall.timezone", "unknown time zone"),
    (lambda r: r["windows"][1].update(number=5), "windows[", "defined twice"),
    (lambda r: r["clerks"][0].update(password_hash="demo-clerk"), "clerks[0].password_hash", "never a clear password"),
    (lambda r: r["tokens"][0].update(window=42), "tokens[0].window", "unknown window 42"),
    (lambda r: r["redis"].update(url="http://localhost"), "redis.url", "redis://"),
    (lambda r: r["schedule"].update(holidays=["2027-13-01"]), "schedule.holidays[0]", "not a date"),
    (lambda r: r.update(extra={}), "extra", "unknown key"),
    (lambda r: r["services"][0].pop("prefix"), "services[0].prefix", "is required"),
])
def test_config_mistakes_name_the_key(mutate, key, words):
    with pytest.raises(ConfigError) as exc:
        parse_config(_mutate(mutate), base_dir=ROOT)
    assert exc.value.key.startswith(key), exc.value.message
    assert words in exc.value.message


def test_check_config_cli_reports_and_server_refuses(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SHIPPED.read_text(encoding="utf-8").replace('services = ["sifa"]', 'services = ["nosuch"]'),
                   encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "onewindow", "check-config", "--config", str(bad)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "unknown service 'nosuch'" in r.stderr and "windows[5].services[0]" in r.stderr
    r = subprocess.run([sys.executable, "-m", "onewindow", "serve", "--config", str(bad), "--port", "1"],
                       capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert r.returncode == 2 and "unknown service" in r.stderr
    ok = subprocess.run([sys.executable, "-m", "onewindow", "check-config", "--config", str(SHIPPED)],
                        capture_output=True, text=True, cwd=ROOT)
    # valid (exit 1, not 2): the shipped config only fails for its demo credentials (tests/test_demo_credentials.py)
    assert ok.returncode == 1 and "谢家集区政务服务中心" in ok.stdout and "DEMO" in ok.stderr


def test_opening_hours_weekend_holiday_and_makeup_day():
    c = load_config(SHIPPED)
    tz = c.timezone
    gongan, renshe = c.services["gongan"], c.services["renshe"]
    assert availability(c, gongan, datetime(2026, 11, 27, 9, 0, tzinfo=tz)).open  # Friday
    sat = datetime(2026, 11, 28, 10, 0, tzinfo=tz)
    assert not availability(c, gongan, sat).open and availability(c, renshe, sat).open  # 周末延时服务
    lunch = availability(c, renshe, datetime(2026, 11, 27, 12, 30, tzinfo=tz))
    assert lunch.reason == "closed_for_break" and lunch.opens_at.hour == 14
    late = availability(c, renshe, datetime(2026, 11, 27, 17, 20, tzinfo=tz))  # stop issuing 15 min before 17:30
    assert late.reason == "closed_for_day" and late.opens_at.date().isoformat() == "2026-11-28"
    assert availability(c, renshe, datetime(2027, 1, 1, 10, 0, tzinfo=tz)).reason == "holiday"
    makeup = datetime(2027, 2, 20, 16, 0, tzinfo=tz)  # a Saturday worked as a weekday (调休)
    assert availability(c, gongan, makeup).open
