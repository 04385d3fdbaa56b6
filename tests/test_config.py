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
    assert c.hall_address and c.hall_phone == "0554-5678123"  # printed on every ticket


def test_hall_address_and_phone_are_optional():
    raw = shipped_raw()
    del raw["hall"]["address"], raw["hall"]["phone"]
    c = parse_config(raw, base_dir=ROOT)
    assert (c.hall_address, c.hall_phone) == ("", "")


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
    (lambda r: r["hall"].update(phone="call us"), "hall.phone", "telephone number"),
    (lambda r: r["hall"].update(address="一楼\n二楼"), "hall.address", "one line"),
    (lambda r: r["hall"].update(address="号" * 81), "hall.address", "at most 80"),
    (lambda r: r["hall"].update(phone=5545678123), "hall.phone", ""),
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


# ------------------------------------------------------------------------------------------------ [haocaiping]
def test_shipped_haocaiping_settings():
    c = load_config(SHIPPED)
    h = c.haocaiping
    assert (h.followup_days, h.default_days, h.default_level) == (15, 7, 3)
    assert h.deadlines.as_dict() == {"verify": 1, "rectify": 5, "reply": 15}
    assert [o.label for o in h.options_for(5)][:5] == ["服务态度好", "办事效率高", "业务水平高", "窗口环境好", "一次性告知"]
    assert "推诿扯皮" in [o.label for o in h.options_for(1)] and h.options_for(3) == h.options_for(4)
    assert c.services["renshe"].matter(None).name == "失业保险金申领"  # the default: the first
    assert c.services["renshe"].matter("340404-RS-002").name == "社会保障卡申领"
    up = h.upstream
    assert not up.enabled and up.fields["pf"] == "channel" and up.codes["channel"]["default"] == "7"
    assert up.constants == {"dataSource": "1"}


def test_a_config_without_haocaiping_is_valid_and_gets_the_defaults():
    raw = shipped_raw()
    raw.pop("haocaiping")
    for s in raw["services"]:
        s.pop("matters", None)
    c = parse_config(raw, base_dir=ROOT)
    assert c.haocaiping.default_days == 7 and c.haocaiping.upstream.enabled is False
    assert c.services["renshe"].matters == () and c.services["renshe"].matter(None) is None
    assert len(c.haocaiping.options) == 14


def _hcp(**changes):
    def fn(raw):
        for path, value in changes.items():
            node = raw["haocaiping"]
            *parents, last = path.split("__")
            for p in parents:
                node = node.setdefault(p, {})
            node[last] = value
    return fn


@pytest.mark.parametrize("mutate,key,words", [
    (_hcp(default_level=2), "haocaiping.default_level", "never a 差评"),
    (_hcp(default_days=0), "haocaiping.default_days", "1 … 60"),
    (_hcp(followup_days=-1), "haocaiping.followup_days", "0 … 180"),
    (_hcp(text_levels=[6]), "haocaiping.text_levels[0]", "level"),
    (_hcp(options=[{"code": "101", "label": "好", "levels": [5]}, {"code": "101", "label": "好", "levels": [4]}]),
     "haocaiping.options[1].code", "listed twice"),
    (_hcp(options=[{"code": "1 0", "label": "好", "levels": [5]}]), "haocaiping.options[0].code", "ASCII"),
    (_hcp(options=[{"code": "101", "label": "好", "levels": []}]), "haocaiping.options[0].levels", "at least one"),
    (_hcp(options=[]), "haocaiping.options", "at least one"),
    (_hcp(deadlines__verify=6), "haocaiping.deadlines", "verify ≤ rectify ≤ reply"),
    (_hcp(deadlines__reply=61), "haocaiping.deadlines.reply", "working days"),
    (_hcp(upstream__enabled=True, upstream__url=""), "haocaiping.upstream.url", "required"),
    (_hcp(upstream__url="ftp://x"), "haocaiping.upstream.url", "http(s)"),
    (_hcp(upstream__fields={"pf": "channels"}), "haocaiping.upstream.fields.pf", "not a value the adapter knows"),
    (_hcp(upstream__enabled=True, upstream__url="https://p.example/e", upstream__fields={"pf": "channel"}),
     "haocaiping.upstream.fields", "must send 'id'"),
    (_hcp(upstream__codes={"colour": {}}), "haocaiping.upstream.codes.colour", "not a value"),
    (_hcp(upstream__department_codes={"nosuch": "1"}), "haocaiping.upstream.department_codes.nosuch",
     "unknown service"),
    (_hcp(upstream__constants={"evalId": "x"}), "haocaiping.upstream.constants.evalId", "also in fields"),
    (_hcp(upstream__timeout_seconds=0), "haocaiping.upstream.timeout_seconds", "0.05 … 120"),
    (_hcp(upstream__max_backoff_seconds=1), "haocaiping.upstream.max_backoff_seconds", "not be less"),
    (_hcp(upstream__time_format=""), "haocaiping.upstream.time_format", "empty"),
    (_hcp(upstream__retries=3), "haocaiping.upstream.retries", "unknown key"),
    (_hcp(colour="red"), "haocaiping.colour", "unknown key"),
    (lambda r: r["services"][0].update(matters=[{"code": "A", "name": "x"}, {"code": "A", "name": "y"}]),
     "services[0].matters[1].code", "listed twice"),
    (lambda r: r["services"][0].update(matters=[{"code": "A"}]), "services[0].matters[0].name", "required"),
])
def test_haocaiping_mistakes_name_the_key(mutate, key, words):
    with pytest.raises(ConfigError) as exc:
        parse_config(_mutate(mutate), base_dir=ROOT)
    assert exc.value.key.startswith(key), exc.value.message
    assert words in exc.value.message


@pytest.mark.parametrize("redis_table,key,words", [
    ({"url": "redis+cluster://"}, "redis.url", "redis+cluster://[user:password@]host:port"),
    ({"url": "redis+cluster://10.0.0.1:7000/0"}, "redis.url", "no database number"),
    ({"url": "redis+cluster://10.0.0.1"}, "redis.url", "host:port"),
    ({"url": "redis+cluster://10.0.0.1:7000;10.0.0.2:7000"}, "redis.url", "host:port"),
    ({"url": "redis+cluster://10.0.0.1:7000", "wait_replicas": -1}, "redis.wait_replicas", "0 (do not wait) to 16"),
    ({"url": "redis+cluster://10.0.0.1:7000", "wait_replicas": True}, "redis.wait_replicas", "integer"),
    ({"url": "redis+cluster://10.0.0.1:7000", "wait_timeout_ms": 0}, "redis.wait_timeout_ms", "1 to 60000"),
    ({"url": "redis+cluster://10.0.0.1:7000", "cluster": ["10.0.0.1:7000"]}, "redis.cluster", "unknown key"),
])
def test_cluster_config_mistakes_name_the_key(redis_table, key, words):
    with pytest.raises(ConfigError) as exc:
        parse_config(_mutate(lambda r: r.update(redis=redis_table)), base_dir=ROOT)
    assert exc.value.key.startswith(key), exc.value.message
    assert words in exc.value.message


def test_a_cluster_is_named_by_its_nodes():
    from shared.redis_client import cluster_nodes

    c = parse_config(_mutate(lambda r: r.update(redis={
        "url": "redis+cluster://ow:s%40cret@10.0.0.1:7000,10.0.0.2:7001,valkey-3.internal:7002",
        "wait_replicas": 1, "wait_timeout_ms": 250})), base_dir=ROOT)
    assert c.redis.wait_replicas == 1 and c.redis.wait_timeout_ms == 250
    nodes, user, password = cluster_nodes(c.redis_url)
    assert nodes == [("10.0.0.1", 7000), ("10.0.0.2", 7001), ("valkey-3.internal", 7002)]
    assert (user, password) == ("ow", "s@cret")
    assert load_config(SHIPPED).redis.wait_replicas == 0  # one server: nothing to wait for


# ------------------------------------------------------------------------------------------------ issue 14
def test_realname_appointments_remote_and_notifications_are_off_by_default_and_read_when_set():
    c = parse_config(shipped_raw(), base_dir=ROOT)
    # the shipped hall books 人社综合 and takes its remote tickets (so /book shows something); nothing else
    shipped = c.services["renshe"]
    assert shipped.appointments.capacity_on(0) == 4 and shipped.appointments.capacity_on(5) == 2
    assert shipped.remote.enabled and shipped.remote.daily_quota == 50
    raw = shipped_raw()
    del raw["services"][0]["appointments"], raw["services"][0]["remote"]
    c = parse_config(raw, base_dir=ROOT)
    svc = c.services["renshe"]
    assert svc.appointments is None and not svc.remote.enabled and svc.id_rules.max_open == 0
    assert all(s.appointments is None and not s.remote.enabled for code, s in c.services.items())
    assert not c.notifications.enabled and c.realname.secret_file is None
    raw = shipped_raw()
    raw["realname"] = {"green_age": 70, "max_open": 1, "secret_file": "keys/realname.key"}
    raw["services"][0]["realname"] = {"max_open": 2, "noshow_limit": 3}
    raw["services"][0]["appointments"] = {"capacity": 4, "capacity_by_day": {"weekend": 2, "sunday": 0},
                                          "hours": {"weekday": ["09:00-11:30"]}, "late": "refuse"}
    raw["services"][1]["appointments"] = {"enabled": False}
    raw["services"][0]["remote"] = {"enabled": True, "daily_quota": 50}
    raw["notifications"] = {"enabled": True, "url": "https://sms.example/send", "templates": {"called": "T1"},
                            "kinds": ["called", "no_show"]}
    c = parse_config(raw, base_dir=ROOT)
    renshe, shichang = c.services["renshe"], c.services["shichang"]
    assert (renshe.id_rules.max_open, renshe.id_rules.green_age, renshe.id_rules.noshow_limit) == (2, 70, 3)
    assert (shichang.id_rules.max_open, shichang.id_rules.green_age) == (1, 70)  # the hall's defaults
    a = renshe.appointments
    assert (a.capacity_on(0), a.capacity_on(5), a.capacity_on(6), a.late) == (4, 2, 0, "refuse")
    assert str(a.hours[0][0]) == "09:00-11:30" and a.hours[5] == ()
    assert shichang.appointments is None and renshe.remote.daily_quota == 50
    assert c.notifications.sends("called") and not c.notifications.sends("reminder")
    assert c.realname.secret_file == (ROOT / "keys/realname.key").resolve()


def _set(path: str, value):
    def fn(raw):
        *parents, last = path.split(".")
        node = raw
        for p in parents:
            node = node[int(p)] if p.isdigit() else node.setdefault(p, {})
        node[last] = value
    return fn


@pytest.mark.parametrize("mutate,key,words", [
    (_set("realname.green_age", 30), "realname.green_age", "50 … 120"),
    (_set("realname.max_open", -1), "realname.max_open", "0 … 99"),
    (_set("realname.colour", 1), "realname.colour", "unknown key"),
    (_set("services.0.realname", {"daily_cap": "2"}), "services[0].realname.daily_cap", "integer"),
    (_set("services.0.appointments", {"slot_minutes": 2}), "services[0].appointments.slot_minutes", "5 … 480"),
    (_set("services.0.appointments", {"late": "queue"}), "services[0].appointments.late", "walk_in, refuse"),
    (_set("services.0.appointments", {"capacity_by_day": {"funday": 1}}),
     "services[0].appointments.capacity_by_day.funday", "unknown key"),
    (_set("services.0.appointments", {"hours": {"weekday": ["12:00-09:00"]}}),
     "services[0].appointments.hours.weekday[0]", "before the end"),
    (_set("services.0.appointments", {"days_ahead": 0, "same_day": False}), "services[0].appointments",
     "no bookable day"),
    (_set("services.0.remote", {"enabled": "yes"}), "services[0].remote.enabled", "true or false"),
    (_set("notifications.enabled", True), "notifications.url", "required"),
    (_set("notifications.templates", {"shout": "T"}), "notifications.templates.shout", "not a kind"),
    (_set("notifications.kinds", ["called", "sms"]), "notifications.kinds[1]", "must be one of"),
    (_set("notifications.partitions", 0), "notifications.partitions", "1 … 64"),
    (_set("appointments.sweep_seconds", 0), "appointments.sweep_seconds", "1 … 3600"),
])
def test_issue_14_mistakes_name_the_key(mutate, key, words):
    with pytest.raises(ConfigError) as exc:
        parse_config(_mutate(mutate), base_dir=ROOT)
    assert exc.value.key.startswith(key), exc.value.key
    assert words in exc.value.message, exc.value.message
