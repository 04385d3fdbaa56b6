"""config.toml → validated, frozen dataclasses.

Every mistake raises :class:`ConfigError` naming the key (``services[2].prefix``) and what is wrong.
Sections owned by an edge package (``[printer]``) are kept as raw mappings here and validated by that package.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import ConfigError

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HOURS_KEYS = ("weekday", "weekend", *DAY_NAMES)
_PERIOD = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_HALL_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Period:
    """One opening period of a day, [start, end) in local time; end may be 24:00 (stored as minutes)."""

    start_min: int
    end_min: int

    def __str__(self) -> str:
        return f"{self.start_min // 60:02d}:{self.start_min % 60:02d}-{self.end_min // 60:02d}:{self.end_min % 60:02d}"


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    name_en: str
    prefix: str
    daily_quota: int
    avg_service_minutes: float
    hours: dict[int, tuple[Period, ...]]  # weekday (0 = Monday) → periods


@dataclass(frozen=True)
class Window:
    number: int
    name: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class Clerk:
    username: str
    name: str
    password_hash: str
    role: str = "clerk"  # clerk | supervisor


@dataclass(frozen=True)
class MachineToken:
    name: str
    window: int
    token_sha256: str


@dataclass(frozen=True)
class Schedule:
    stop_issuing_minutes: int = 0
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class DisplaySettings:
    recent_calls: int = 8
    voice_repeat: int = 2
    voice_english: bool = False
    voice_dir: Path | None = None


@dataclass(frozen=True)
class CounterSettings:
    rating_seconds: int = 30


@dataclass(frozen=True)
class StatisticsSettings:
    """[statistics]: the archive of closed days, where cumulative totals start, supervisor alerts."""

    start_date: date | None = None  # cumulative totals count from this date (None: the first archived day)
    archive_path: Path | None = None  # SQLite file of closed days (None: <var_dir>/stats.sqlite3)
    keep_days: int = 7  # archived days kept in the Redis event stream before it is trimmed
    archive_every_minutes: int = 30  # how often the server archives closed days (also at start)
    alert_wait_minutes: int = 30  # the supervisor is alerted when a citizen has waited this long


@dataclass(frozen=True)
class Config:
    hall_id: str
    hall_name: str
    hall_name_en: str
    timezone: ZoneInfo
    public_url: str  # "": follow the request's own address
    notice: str
    notice_en: str
    schedule: Schedule
    services: dict[str, Service]  # by code, in file order
    windows: dict[int, Window]  # by number
    clerks: dict[str, Clerk]
    tokens: tuple[MachineToken, ...]
    redis_url: str
    var_dir: Path
    printer: dict[str, Any] = field(default_factory=dict)
    display: DisplaySettings = DisplaySettings()
    counter: CounterSettings = CounterSettings()
    source: Path | None = None
    statistics: StatisticsSettings = StatisticsSettings()

    @property
    def archive_path(self) -> Path:
        """The statistics archive (SQLite) of this hall."""
        return self.statistics.archive_path or self.var_dir / "stats.sqlite3"

    def windows_serving(self, service: str) -> list[int]:
        """Window numbers that serve ``service``, ascending."""
        return [n for n, w in sorted(self.windows.items()) if service in w.services]


# --------------------------------------------------------------------------------------------- reading helpers
class TableReader:
    """A mapping being read: tracks the key path and rejects unknown keys."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(path, f"must be a table, not {type(data).__name__}")
        self.data = data
        self.path = path
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ..., *, check=None) -> Any:
        self.seen.add(name)
        if name not in self.data:
            if default is ...:
                raise ConfigError(self.key(name), "is required")
            return default
        value = self.data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise ConfigError(self.key(name), f"must be {_kind_name(kinds)}, not a boolean")
        if not isinstance(value, kinds):
            raise ConfigError(self.key(name), f"must be {_kind_name(kinds)}, not {type(value).__name__}")
        if check is not None:
            problem = check(value)
            if problem:
                raise ConfigError(self.key(name), problem)
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(self.key(unknown[0]), "unknown key")


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _positive(v: float) -> str | None:
    return None if v > 0 else "must be greater than 0"


def _non_negative(v: float) -> str | None:
    return None if v >= 0 else "must not be negative"


def _non_empty(v: str) -> str | None:
    return None if v.strip() else "must not be empty"


def parse_period(text: str, key: str) -> Period:
    """Parse ``HH:MM-HH:MM``; the end may be 24:00; the start must come before the end."""
    m = _PERIOD.match(text)
    if not m:
        raise ConfigError(key, f"'{text}' is not a period like 08:30-12:00")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    for h, mi, which in ((h1, m1, "start"), (h2, m2, "end")):
        if mi > 59 or h > 24 or (h == 24 and mi != 0) or (h == 24 and which == "start"):
            raise ConfigError(key, f"'{text}': {h:02d}:{mi:02d} is not a valid {which} time")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start >= end:
        raise ConfigError(key, f"'{text}': the start must be before the end")
    return Period(start, end)


def _parse_hours(raw: Any, key: str) -> dict[int, tuple[Period, ...]]:
    sec = TableReader(raw, key)
    per_key: dict[str, tuple[Period, ...]] = {}
    for name in _HOURS_KEYS:
        periods = sec.get(name, list, None)
        if periods is None:
            continue
        parsed = []
        for i, p in enumerate(periods):
            if not isinstance(p, str):
                raise ConfigError(f"{sec.key(name)}[{i}]", "must be a string like 08:30-12:00")
            parsed.append(parse_period(p, f"{sec.key(name)}[{i}]"))
        parsed.sort(key=lambda p: p.start_min)
        for a, b in zip(parsed, parsed[1:]):
            if b.start_min < a.end_min:
                raise ConfigError(sec.key(name), f"periods {a} and {b} overlap")
        per_key[name] = tuple(parsed)
    sec.done()
    hours: dict[int, tuple[Period, ...]] = {}
    for day, name in enumerate(DAY_NAMES):
        group = "weekday" if day < 5 else "weekend"
        hours[day] = per_key.get(name, per_key.get(group, ()))
    return hours


def _parse_dates(values: list, key: str) -> frozenset[date]:
    out = set()
    for i, v in enumerate(values):
        if isinstance(v, date) and not hasattr(v, "hour"):
            out.add(v)
            continue
        if not isinstance(v, str):
            raise ConfigError(f"{key}[{i}]", "must be a date like 2027-01-01")
        try:
            out.add(date.fromisoformat(v))
        except ValueError:
            raise ConfigError(f"{key}[{i}]", f"'{v}' is not a date like 2027-01-01") from None
    return frozenset(out)


def _parse_date(value: Any, key: str) -> date:
    """One date: a TOML date or a string like 2027-01-01."""
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ConfigError(key, f"'{value}' is not a date like 2027-01-01") from None


# --------------------------------------------------------------------------------------------- the loader
def load_config(path: str | Path) -> Config:
    """Read and validate ``path``; raise :class:`ConfigError` on the first mistake."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    return parse_config(raw, base_dir=path.resolve().parent, source=path)


def parse_config(raw: dict, *, base_dir: Path, source: Path | None = None) -> Config:
    """Validate an already-parsed TOML document."""
    root = TableReader(raw, "")

    hall = TableReader(root.get("hall", dict), "hall")
    hall_id = hall.get("id", str, check=lambda v: None if _HALL_ID.match(v) else "must be lowercase ASCII letters, digits, - or _")
    hall_name = hall.get("name", str, check=_non_empty)
    hall_name_en = hall.get("name_en", str, "")
    tz_name = hall.get("timezone", str, "Asia/Shanghai")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("hall.timezone", f"unknown time zone '{tz_name}'") from None
    public_url = hall.get(  # "": tracking links follow the address each request came to
        "public_url", str, "",
        check=lambda v: None if v == "" or re.match(r"^https?://[^\s/]+", v) else "must be an http(s) URL",
    ).rstrip("/")
    notice = hall.get("notice", str, "")
    notice_en = hall.get("notice_en", str, "")
    hall.done()

    sched = TableReader(root.get("schedule", dict, {}), "schedule")
    schedule = Schedule(
        stop_issuing_minutes=sched.get("stop_issuing_minutes", int, 0, check=_non_negative),
        holidays=_parse_dates(sched.get("holidays", list, []), "schedule.holidays"),
        workdays=_parse_dates(sched.get("workdays", list, []), "schedule.workdays"),
    )
    sched.done()
    both = schedule.holidays & schedule.workdays
    if both:
        raise ConfigError("schedule.workdays", f"{min(both)} is also listed in schedule.holidays")

    services: dict[str, Service] = {}
    prefixes: dict[str, str] = {}
    raw_services = root.get("services", list, check=lambda v: None if v else "at least one service is required")
    for i, item in enumerate(raw_services):
        s = TableReader(item, f"services[{i}]")
        code = s.get("code", str, check=lambda v: None if _CODE.match(v) else "must be lowercase ASCII like 'renshe'")
        if code in services:
            raise ConfigError(s.key("code"), f"service '{code}' is defined twice")
        prefix = s.get("prefix", str, check=lambda v: None if re.fullmatch(r"[A-Z]", v) else "must be one capital letter A–Z")
        if prefix in prefixes:
            raise ConfigError(s.key("prefix"), f"prefix '{prefix}' is already used by service '{prefixes[prefix]}'")
        prefixes[prefix] = code
        services[code] = Service(
            code=code,
            name=s.get("name", str, check=_non_empty),
            name_en=s.get("name_en", str, ""),
            prefix=prefix,
            daily_quota=s.get("daily_quota", int, 999, check=lambda v: None if 0 <= v <= 9999 else "must be 0 … 9999"),
            avg_service_minutes=float(s.get("avg_service_minutes", (int, float), 10, check=_positive)),
            hours=_parse_hours(s.get("hours", dict), s.key("hours")),
        )
        s.done()

    windows: dict[int, Window] = {}
    raw_windows = root.get("windows", list, check=lambda v: None if v else "at least one window is required")
    for i, item in enumerate(raw_windows):
        w = TableReader(item, f"windows[{i}]")
        number = w.get("number", int, check=lambda v: None if 1 <= v <= 999 else "must be 1 … 999")
        if number in windows:
            raise ConfigError(w.key("number"), f"window {number} is defined twice")
        svc = w.get("services", list, check=lambda v: None if v else "must name at least one service")
        for j, code in enumerate(svc):
            if code not in services:
                raise ConfigError(f"{w.key('services')}[{j}]", f"unknown service '{code}'")
        if len(set(svc)) != len(svc):
            raise ConfigError(w.key("services"), "names a service twice")
        windows[number] = Window(number=number, name=w.get("name", str, f"{number}号窗口"), services=tuple(svc))
        w.done()
    expected = list(range(1, len(windows) + 1))
    if sorted(windows) != expected:
        raise ConfigError("windows", f"windows must be numbered 1..{len(windows)} without gaps")
    for code in services:
        if not any(code in w.services for w in windows.values()):
            raise ConfigError("windows", f"no window serves service '{code}'")

    clerks: dict[str, Clerk] = {}
    for i, item in enumerate(root.get("clerks", list, [])):
        c = TableReader(item, f"clerks[{i}]")
        username = c.get("username", str, check=lambda v: None if re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", v) else "must be 1–32 ASCII letters, digits, . _ -")
        if username in clerks:
            raise ConfigError(c.key("username"), f"clerk '{username}' is defined twice")
        clerks[username] = Clerk(
            username=username,
            name=c.get("name", str, username),
            password_hash=c.get("password_hash", str, check=lambda v: None if v.startswith(("scrypt:", "pbkdf2:")) else "must be a hash from `onewindow hash-password`, never a clear password"),
            role=c.get("role", str, "clerk", check=lambda v: None if v in ("clerk", "supervisor") else "must be 'clerk' or 'supervisor'"),
        )
        c.done()

    tokens = []
    for i, item in enumerate(root.get("tokens", list, [])):
        t = TableReader(item, f"tokens[{i}]")
        window = t.get("window", int)
        if window not in windows:
            raise ConfigError(t.key("window"), f"unknown window {window}")
        tokens.append(MachineToken(
            name=t.get("name", str, f"token-{i}"),
            window=window,
            token_sha256=t.get("token_sha256", str, check=lambda v: None if re.fullmatch(r"[0-9a-f]{64}", v) else "must be 64 hex digits (`onewindow hash-token`)"),
        ))
        t.done()

    red = TableReader(root.get("redis", dict, {}), "redis")
    redis_url = red.get("url", str, "", check=lambda v: None if not v or re.match(r"^(redis|rediss|unix)://", v) else "must start with redis://, rediss:// or unix:// (or be empty for the embedded server)")
    red.done()

    storage = TableReader(root.get("storage", dict, {}), "storage")
    var_dir = (base_dir / storage.get("var_dir", str, "var")).resolve()
    storage.done()

    printer = root.get("printer", dict, {})

    disp = TableReader(root.get("display", dict, {}), "display")
    voice_dir = disp.get("voice_dir", str, "")
    display = DisplaySettings(
        recent_calls=disp.get("recent_calls", int, 8, check=lambda v: None if 1 <= v <= 50 else "must be 1 … 50"),
        voice_repeat=disp.get("voice_repeat", int, 2, check=lambda v: None if 1 <= v <= 5 else "must be 1 … 5"),
        voice_english=disp.get("voice_english", bool, False),
        voice_dir=(base_dir / voice_dir).resolve() if voice_dir else None,
    )
    disp.done()
    if display.voice_dir is not None and not (display.voice_dir / "manifest.json").is_file():
        raise ConfigError("display.voice_dir", f"{display.voice_dir} has no manifest.json")

    cnt = TableReader(root.get("counter", dict, {}), "counter")
    counter = CounterSettings(rating_seconds=cnt.get("rating_seconds", int, 30, check=lambda v: None if 5 <= v <= 600 else "must be 5 … 600"))
    cnt.done()

    st = TableReader(root.get("statistics", dict, {}), "statistics")
    start_raw = st.get("start_date", (str, date), None)
    archive_raw = st.get("archive_path", str, "", check=lambda v: None if v == "" or v.strip() else "must not be blank")
    statistics = StatisticsSettings(
        start_date=_parse_date(start_raw, "statistics.start_date") if start_raw is not None else None,
        archive_path=(base_dir / archive_raw).resolve() if archive_raw else None,
        keep_days=st.get("keep_days", int, 7, check=lambda v: None if 0 <= v <= 366 else "must be 0 … 366"),
        archive_every_minutes=st.get("archive_every_minutes", int, 30, check=lambda v: None if 1 <= v <= 1440 else "must be 1 … 1440"),
        alert_wait_minutes=st.get("alert_wait_minutes", int, 30, check=lambda v: None if 1 <= v <= 600 else "must be 1 … 600"),
    )
    st.done()

    root.done()
    return Config(
        hall_id=hall_id, hall_name=hall_name, hall_name_en=hall_name_en, timezone=tz, public_url=public_url,
        notice=notice, notice_en=notice_en, schedule=schedule, services=services, windows=windows, clerks=clerks,
        tokens=tuple(tokens), redis_url=redis_url, var_dir=var_dir, printer=dict(printer), display=display,
        counter=counter, source=source, statistics=statistics,
    )
