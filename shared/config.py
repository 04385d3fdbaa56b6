"""config.toml → validated, frozen dataclasses.

Every mistake raises :class:`ConfigError` naming the key (``services[2].prefix``) and what is wrong.
Sections owned by an edge package (``[printer]``) are kept as raw mappings here and validated by that package.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import ConfigError

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HOURS_KEYS = ("weekday", "weekend", *DAY_NAMES)
_PERIOD = re.compile(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_HALL_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")  # patterns here are used with fullmatch


@dataclass(frozen=True)
class Period:
    """One opening period of a day, [start, end) in local time; end may be 24:00 (stored as minutes)."""

    start_min: int
    end_min: int

    def __str__(self) -> str:
        return f"{self.start_min // 60:02d}:{self.start_min % 60:02d}-{self.end_min // 60:02d}:{self.end_min % 60:02d}"


@dataclass(frozen=True)
class Matter:
    """A government service item (政务服务事项) a service handles: its code in the province's catalogue, and name."""

    code: str
    name: str


@dataclass(frozen=True)
class IdRules:
    """Per-ID rules of one service (实名取号, docs/realname.md); every number 0 = that rule is off."""

    required: bool = False  # a walk-in ticket needs an ID (card or typed number)
    max_open: int = 0  # open tickets (waiting, called, remote not yet arrived) one ID may hold for the service
    daily_cap: int = 0  # tickets one ID may take for the service per business day
    noshow_limit: int = 0  # K no-shows (过号, 爽约, lapsed remote tickets) of any service …
    noshow_days: int = 30  # … within M days …
    ban_days: int = 30  # … bar remote tickets and bookings for this service for D days after the K-th
    green_age: int = 0  # 绿色通道 from this age (周岁); 0 = no automatic 绿色通道

    def as_dict(self) -> dict:
        """The rules as the scripts take them (times in ms)."""
        return {"max_open": self.max_open, "daily_cap": self.daily_cap, "noshow_limit": self.noshow_limit,
                "noshow_ms": self.noshow_days * 86_400_000, "ban_ms": self.ban_days * 86_400_000,
                "green_age": self.green_age}


#: what a late arrival (after the check-in window) gets: a walk-in ticket, or nothing
LATE_POLICIES = ("walk_in", "refuse")


@dataclass(frozen=True)
class AppointmentSettings:
    """One service's bookable slots (预约, docs/appointments.md)."""

    slot_minutes: int = 30
    capacity: int = 2  # bookings per slot …
    capacity_by_day: dict[int, int] = field(default_factory=dict)  # … or this on a weekday (0 = Monday); 0 = none
    hours: dict[int, tuple[Period, ...]] | None = None  # bookable periods per weekday (None: the service's hours)
    days_ahead: int = 7  # bookable from tomorrow … this many days ahead (today too with same_day)
    same_day: bool = True  # today's later slots are bookable too
    cutoff_minutes: int = 0  # booking closes this long before the slot starts
    hold_minutes: int = 5  # a held slot waits this long for its confirmation
    early_minutes: int = 30  # check-in opens this long before the slot …
    late_minutes: int = 15  # … and closes this long after its start (then the booking is missed, 爽约)
    late: str = "walk_in"  # after that: walk_in (a walk-in ticket) | refuse

    def capacity_on(self, weekday: int) -> int:
        return self.capacity_by_day.get(weekday, self.capacity)


@dataclass(frozen=True)
class RemoteSettings:
    """远程取号: a ticket taken on the phone, waiting "not yet arrived" until its holder checks in at the kiosk."""

    enabled: bool = False
    daily_quota: int = 0  # remote tickets per business day (0 = only the service's daily_quota limits them)


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    name_en: str
    prefix: str
    daily_quota: int
    avg_service_minutes: float
    hours: dict[int, tuple[Period, ...]]  # weekday (0 = Monday) → periods
    matters: tuple[Matter, ...] = ()  # 事项 the clerk picks from at finish; the first is the default
    id_rules: IdRules = field(default_factory=lambda: IdRules())  # 实名: per-ID rules (docs/realname.md)
    appointments: AppointmentSettings | None = None  # 预约: bookable slots (None: no appointments)
    remote: RemoteSettings = field(default_factory=lambda: RemoteSettings())  # 远程取号 from the phone

    def matter(self, code: str | None) -> Matter | None:
        """The matter ``code`` of this service (None/'' = the first one); None when the service lists none."""
        if not code:
            return self.matters[0] if self.matters else None
        return next((m for m in self.matters if m.code == code), None)


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
    role: str = "clerk"  # clerk | supervisor | guide (导办: signs in without a window, may mark 帮办代办)


#: staff roles (a guide — 导办 — works in the lobby: no window; marks tickets 帮办代办)
ROLES = ("clerk", "supervisor", "guide")


#: What a device token is for: a keypad calls at one window, a tablet rates one window's service, a kiosk issues
#: (and prints, and may issue 绿色通道 tickets) as one kiosk id.
TOKEN_KINDS = ("keypad", "tablet", "kiosk", "app")  # app: the provincial app's server (booking API)
#: A kiosk id: 1–32 of A–Z a–z 0–9 _ - (used with fullmatch).
KIOSK_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True)
class MachineToken:
    """A device's identity: only the SHA-256 of its bearer token is kept. Keypads and tablets are bound to a window,
    kiosks to a kiosk id."""

    name: str
    window: int | None
    token_sha256: str
    kind: str = "keypad"
    kiosk: str | None = None


@dataclass(frozen=True)
class PublicSettings:
    """[public]: what an unregistered client (a phone, another browser on the hall's network) may do."""

    allow_issue: bool = True  # may take a (normal, unprinted) ticket through the API
    burst: int = 3  # token bucket per client address: tickets in a burst …
    per_minute: float = 1.0  # … refilled at this rate
    daily_cap: int = 6  # tickets per client address per business day
    # the phone's booking, remote-ticket and rating API (/book, /b/<code>, /t/<token>): requests per client address
    phone_burst: int = 30  # token bucket: requests in a burst …
    phone_per_minute: float = 30.0  # … refilled at this rate
    phone_daily_cap: int = 1000  # requests per address per business day (booking-code guessing stays hopeless)


@dataclass(frozen=True)
class SecuritySettings:
    """[security]: sessions, login limits, the reverse proxy in front, cookies and Socket.IO origins."""

    session_hours: float = 12  # absolute life of a staff session
    idle_minutes: int = 120  # a session unused this long ends
    login_attempts: int = 5  # attempts per username + address per window (a success clears them)
    login_attempts_per_address: int = 20  # attempts per address per window, whatever the username
    login_window_seconds: int = 300
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-For/-Proto are believed
    secure_cookie: bool | None = None  # None: Secure when hall.public_url is https
    allowed_origins: tuple[str, ...] = ()  # further origins allowed to open Socket.IO (same origin always is)


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
    rating_detail_seconds: int = 120  # once a level is chosen, the tablet holds the rating this long for the reason
    min_calls_before_no_show: int = 1  # 过号 only after this many calls (1 = the first call; 2 = one recall too)
    no_show_undo_seconds: int = 60  # the window that marked a 过号 may undo it this long


@dataclass(frozen=True)
class StatisticsSettings:
    """[statistics]: the archive of closed days, where cumulative totals start, supervisor alerts."""

    start_date: date | None = None  # cumulative totals count from this date (None: the first archived day)
    archive_path: Path | None = None  # SQLite file of closed days (None: <var_dir>/stats.sqlite3)
    keep_days: int = 7  # archived days kept in the Redis event stream before it is trimmed
    archive_every_minutes: int = 30  # how often the server archives closed days (also at start)
    alert_wait_minutes: int = 30  # the supervisor is alerted when a citizen has waited this long


#: 差评: the levels whose rating opens a rectification (不满意, 非常不满意) — fixed by GB/T 39734, not configurable.
BAD_LEVELS = (2, 1)


@dataclass(frozen=True)
class RatingOption:
    """A content option the rater may tick (评价内容), offered at the listed levels."""

    code: str
    label: str
    label_en: str
    levels: tuple[int, ...]


#: The content options shipped for in-person service (GB/T 39734-2020 lists content per level: what went well for
#: the satisfied levels, what went wrong for the dissatisfied ones). A hall replaces them with its province's list.
DEFAULT_RATING_OPTIONS: tuple[RatingOption, ...] = (
    RatingOption("101", "服务态度好", "Courteous staff", (5, 4, 3)),
    RatingOption("102", "办事效率高", "Quick service", (5, 4, 3)),
    RatingOption("103", "业务水平高", "Knowledgeable staff", (5, 4, 3)),
    RatingOption("104", "窗口环境好", "Pleasant hall", (5, 4, 3)),
    RatingOption("105", "一次性告知", "Told everything at once", (5, 4, 3)),
    RatingOption("106", "一次办成", "Done in one trip", (5, 4, 3)),
    RatingOption("201", "服务态度差", "Unfriendly staff", (2, 1)),
    RatingOption("202", "办事效率低", "Slow service", (2, 1)),
    RatingOption("203", "业务不熟练", "Staff did not know the rules", (2, 1)),
    RatingOption("204", "窗口环境差", "Poor hall conditions", (2, 1)),
    RatingOption("205", "未一次性告知", "Not told everything at once", (2, 1)),
    RatingOption("206", "多次跑腿", "Had to come back several times", (2, 1)),
    RatingOption("207", "等候时间长", "Waited too long", (2, 1)),
    RatingOption("208", "推诿扯皮", "Passed from desk to desk", (2, 1)),
)


@dataclass(frozen=True)
class Deadlines:
    """差评 workflow deadlines, in working days of the hall's calendar after the day the record opens."""

    verify: int = 1  # 核实
    rectify: int = 5  # 整改
    reply: int = 15  # 答复

    def as_dict(self) -> dict[str, int]:
        return {"verify": self.verify, "rectify": self.rectify, "reply": self.reply}


#: What the upstream adapter can send: the names a province's field map may use as values (docs/haocaiping.md).
UPSTREAM_SOURCE_FIELDS = (
    "id", "rating_id", "hall_id", "hall_name", "area_code", "department_code", "department", "service",
    "matter_code", "matter_name", "case_no", "case_status", "clerk", "clerk_name", "window", "ticket", "number",
    "channel", "level", "level_label", "content_codes", "content_labels", "text", "rated_at", "finished_at",
    "assess_number", "is_default", "rater_id_hash", "rater_kind",
)


@dataclass(frozen=True)
class UpstreamSettings:
    """[haocaiping.upstream]: where ratings are reported (the provincial 好差评 system) and how."""

    enabled: bool = False
    url: str = ""
    area_code: str = ""
    department_code: str = ""
    department_codes: dict[str, str] = field(default_factory=dict)  # service code → department code
    timeout_seconds: float = 10.0
    max_attempts: int = 10
    backoff_seconds: float = 30.0
    max_backoff_seconds: float = 3600.0
    parallel: int = 4
    poll_seconds: float = 5.0
    keep_sent_days: int = 30
    headers: dict[str, str] = field(default_factory=dict)
    wrap: str = ""  # "" = the record is the body; "data" = {"data": record}
    time_format: str = "%Y-%m-%d %H:%M:%S"
    list_separator: str = ","  # "" = lists are sent as JSON arrays
    success_field: str = ""  # "" = any 2xx answer is an acceptance
    success_values: tuple[str, ...] = ("0", "200")
    duplicate_values: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)  # the province's field name → one of UPSTREAM_SOURCE_FIELDS
    codes: dict[str, dict[str, str]] = field(default_factory=dict)  # source field → {our value: the province's code}
    constants: dict[str, Any] = field(default_factory=dict)  # fields sent with a fixed value

    def department_for(self, service: str) -> str:
        return self.department_codes.get(service, self.department_code)


@dataclass(frozen=True)
class HaocaipingSettings:
    """[haocaiping]: 政务服务"好差评" — content options, 追评, default ratings, 差评 deadlines, upstream reporting."""

    options: tuple[RatingOption, ...] = DEFAULT_RATING_OPTIONS
    text_levels: tuple[int, ...] = BAD_LEVELS  # levels whose rater may add free text
    text_max: int = 200
    followup_days: int = 15  # 追评: accepted from the phone this many days after the rater's own first rating
    default_days: int = 7  # a visit not rated this many days after it finished gets the default rating
    default_level: int = 3  # 基本满意
    default_every_minutes: int = 10  # how often the worker gives default ratings
    deadlines: Deadlines = Deadlines()
    upstream: UpstreamSettings = UpstreamSettings()

    def options_for(self, level: int) -> tuple[RatingOption, ...]:
        return tuple(o for o in self.options if level in o.levels)

    @property
    def ticket_keep_days(self) -> int:
        """How long a day's tickets and tracking tokens stay in Redis: until the last 追评 a visit can get (a first
        rating up to ``default_days`` after the visit, a 追评 up to ``followup_days`` after that), with two days'
        margin for a worker that was down; never less than the eight days tickets were always kept."""
        return max(8, self.default_days + self.followup_days + 2)


#: [hall] address and phone go on every ticket: one line each, at most this long (they wrap on 58 mm paper)
HALL_ADDRESS_MAX = 80
_HALL_PHONE = re.compile(r"[0-9+()\- ,]{3,32}")


def _ticket_line(limit: int):
    """A check for a text printed as one ticket line: no control characters, at most ``limit`` characters."""
    def check(v: str) -> str | None:
        if any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 for c in v):
            return "must be one line without control characters"
        if len(v.strip()) > limit:
            return f"must be at most {limit} characters"
        return None
    return check


@dataclass(frozen=True)
class RealnameSettings:
    """[realname]: where the hall's HMAC key lives, and the per-ID rules every service starts from."""

    secret_file: Path | None = None  # None: <var_dir>/realname.key, created on first use
    defaults: IdRules = IdRules()
    card_reader: str = "http://127.0.0.1:18645"  # the kiosk PC's card-reader agent, as the kiosk page reaches it


@dataclass(frozen=True)
class AppointmentsHall:
    """[appointments]: the background sweep of bookings (expired holds, missed bookings) and how long they are kept."""

    sweep_seconds: int = 30  # expired holds released, missed bookings marked, reminders and "N ahead" written
    keep_days: int = 30  # a booking is forgotten this many days after its slot (its figures stay in the archive)


#: notification kinds (docs/appointments.md)
NOTIFICATION_KINDS = ("booking_confirmed", "reminder", "ahead", "called", "no_show")


@dataclass(frozen=True)
class NotificationSettings:
    """[notifications]: messages to citizens (SMS gateway, WeChat subscription messages) through a webhook."""

    enabled: bool = False
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)  # kind → the gateway's template id
    kinds: tuple[str, ...] = NOTIFICATION_KINDS  # which kinds are sent
    ahead: int = 3  # "N ahead": tell a waiting ticket's holder when this many are ahead (0 = never)
    reminder_minutes: int = 60  # remind a booking this long before its slot (0 = never)
    partitions: int = 8  # delivery queues (in order within each; one citizen's messages share one)
    timeout_seconds: float = 5.0
    max_attempts: int = 8
    backoff_seconds: float = 5.0
    max_backoff_seconds: float = 300.0
    parallel: int = 4
    poll_seconds: float = 1.0
    keep_sent_days: int = 7
    success_field: str = ""  # "" = any 2xx answer is an acceptance
    success_values: tuple[str, ...] = ("0", "200", "ok", "OK")
    duplicate_values: tuple[str, ...] = ()

    def sends(self, kind: str) -> bool:
        return self.enabled and kind in self.kinds


@dataclass(frozen=True)
class RedisSettings:
    """``[redis] wait_replicas`` / ``wait_timeout_ms``: every mutating script (issuing first of all) answers only
    once that many replicas acknowledged its writes (Redis ``WAIT``; see shared/runner.py and docs/deploy.md)."""

    wait_replicas: int = 0
    wait_timeout_ms: int = 1000


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
    public: PublicSettings = PublicSettings()
    security: SecuritySettings = SecuritySettings()
    demo: bool = False  # [hall] demo = true: this installation is a demonstration (demo credentials accepted)

    @property
    def secure_cookie(self) -> bool:
        """Send the session cookie with ``Secure``: as configured, else when the public URL is https."""
        if self.security.secure_cookie is not None:
            return self.security.secure_cookie
        return self.public_url.startswith("https://")
    haocaiping: HaocaipingSettings = HaocaipingSettings()
    realname: RealnameSettings = RealnameSettings()
    appointments: AppointmentsHall = AppointmentsHall()
    notifications: NotificationSettings = NotificationSettings()
    redis: RedisSettings = RedisSettings()  # [redis] beyond the url: waiting for replicas on a cluster
    hall_address: str = ""  # [hall] address: printed on every ticket ("" = no line)
    hall_phone: str = ""  # [hall] phone: printed on every ticket ("" = no line)

    @property
    def archive_path(self) -> Path:
        """The statistics archive (SQLite) of this hall."""
        return self.statistics.archive_path or self.var_dir / "stats.sqlite3"

    def windows_serving(self, service: str) -> list[int]:
        """Window numbers that serve ``service`` (a code of ``services``), ascending (a new list; worked out once per
        config)."""
        return list(self._windows_serving[service])

    @functools.cached_property
    def _windows_serving(self) -> dict[str, tuple[int, ...]]:
        """Service code → the windows serving it (the config never changes once loaded)."""
        return {code: tuple(n for n, w in sorted(self.windows.items()) if code in w.services) for code in self.services}


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
    m = _PERIOD.fullmatch(text)
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
    """Validate an already-parsed TOML document (one reader per table; each raises ConfigError naming its key)."""
    root = TableReader(raw, "")
    hall = _parse_hall(root.get("hall", dict))
    schedule = _parse_schedule(root.get("schedule", dict, {}))
    realname = _parse_realname(root.get("realname", dict, {}), base_dir)
    services = _parse_services(
        root.get("services", list, check=lambda v: None if v else "at least one service is required"), realname)
    windows = _parse_windows(
        root.get("windows", list, check=lambda v: None if v else "at least one window is required"), services)
    config = Config(
        **hall, schedule=schedule, services=services, windows=windows,
        clerks=_parse_clerks(root.get("clerks", list, [])),
        tokens=tuple(_parse_tokens(root.get("tokens", list, []), windows)),
        **_parse_redis(root.get("redis", dict, {})),
        var_dir=_parse_var_dir(root.get("storage", dict, {}), base_dir),
        printer=dict(root.get("printer", dict, {})),
        display=_parse_display(root.get("display", dict, {}), base_dir),
        counter=_parse_counter(root.get("counter", dict, {})),
        source=source,
        statistics=_parse_statistics(root.get("statistics", dict, {}), base_dir),
        public=_parse_public(root.get("public", dict, {})),
        security=_parse_security(root.get("security", dict, {})),
        haocaiping=_parse_haocaiping(root.get("haocaiping", dict, {}), services),
        realname=realname,
        appointments=_parse_appointments_hall(root.get("appointments", dict, {})),
        notifications=_parse_notifications(root.get("notifications", dict, {})),
    )
    root.done()
    return config


def _parse_hall(raw: dict) -> dict:
    """``[hall]``: the Config fields it gives (id, names, time zone, public URL, notice, demo)."""
    hall = TableReader(raw, "hall")
    hall_id = hall.get("id", str, check=lambda v: None if _HALL_ID.fullmatch(v) else "must be lowercase ASCII letters, digits, - or _")
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
    address = hall.get("address", str, "", check=_ticket_line(HALL_ADDRESS_MAX)).strip()
    phone = hall.get("phone", str, "", check=lambda v: None if v == "" or _HALL_PHONE.fullmatch(v) else
                     "must be a telephone number: digits, spaces, + - ( ) and , (at most 32 characters)").strip()
    fields = dict(hall_id=hall_id, hall_name=hall_name, hall_name_en=hall_name_en, timezone=tz, public_url=public_url,
                  notice=hall.get("notice", str, ""), notice_en=hall.get("notice_en", str, ""),
                  demo=hall.get("demo", bool, False), hall_address=address, hall_phone=phone)
    hall.done()
    return fields


def _parse_schedule(raw: dict) -> Schedule:
    """``[schedule]``: when issuing stops before closing; holidays and 调休 workdays."""
    sched = TableReader(raw, "schedule")
    schedule = Schedule(
        stop_issuing_minutes=sched.get("stop_issuing_minutes", int, 0, check=_non_negative),
        holidays=_parse_dates(sched.get("holidays", list, []), "schedule.holidays"),
        workdays=_parse_dates(sched.get("workdays", list, []), "schedule.workdays"),
    )
    sched.done()
    both = schedule.holidays & schedule.workdays
    if both:
        raise ConfigError("schedule.workdays", f"{min(both)} is also listed in schedule.holidays")
    return schedule


def _parse_services(items: list, realname: RealnameSettings) -> dict[str, Service]:
    """``[[services]]``: unique codes and prefix letters."""
    services: dict[str, Service] = {}
    prefixes: dict[str, str] = {}
    for i, item in enumerate(items):
        s = TableReader(item, f"services[{i}]")
        code = s.get("code", str, check=lambda v: None if _CODE.fullmatch(v) else "must be lowercase ASCII like 'renshe'")
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
            matters=_parse_matters(s.get("matters", list, []), s.key("matters")),
            id_rules=_parse_id_rules(s.get("realname", dict, {}), s.key("realname"), realname.defaults),
            appointments=_parse_appointments(s.get("appointments", dict, None), s.key("appointments")),
            remote=_parse_remote(s.get("remote", dict, {}), s.key("remote")),
        )
        s.done()
    return services


def _parse_windows(items: list, services: dict[str, Service]) -> dict[int, Window]:
    """``[[windows]]``: numbered 1..N without gaps, each serving known services; every service has a window."""
    windows: dict[int, Window] = {}
    for i, item in enumerate(items):
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
    if sorted(windows) != list(range(1, len(windows) + 1)):
        raise ConfigError("windows", f"windows must be numbered 1..{len(windows)} without gaps")
    for code in services:
        if not any(code in w.services for w in windows.values()):
            raise ConfigError("windows", f"no window serves service '{code}'")
    return windows


def _parse_clerks(items: list) -> dict[str, Clerk]:
    """``[[clerks]]``: unique usernames, password hashes only."""
    clerks: dict[str, Clerk] = {}
    for i, item in enumerate(items):
        c = TableReader(item, f"clerks[{i}]")
        username = c.get("username", str, check=lambda v: None if re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", v) else "must be 1–32 ASCII letters, digits, . _ -")
        if username in clerks:
            raise ConfigError(c.key("username"), f"clerk '{username}' is defined twice")
        clerks[username] = Clerk(
            username=username,
            name=c.get("name", str, username),
            password_hash=c.get("password_hash", str, check=lambda v: None if v.startswith(("scrypt:", "pbkdf2:")) else "must be a hash from `onewindow hash-password`, never a clear password"),
            role=c.get("role", str, "clerk", check=lambda v: None if v in ROLES else "must be 'clerk', 'supervisor' or 'guide'"),
        )
        c.done()
    return clerks


def _parse_redis(raw: dict) -> dict:
    """``[redis]``: the Config fields it gives — ``url`` ("" = the embedded server; one server; or a cluster by some
    of its nodes) and the replicas to wait for."""
    red = TableReader(raw, "redis")
    redis_url = red.get("url", str, "", check=_redis_url_problem)
    settings = RedisSettings(
        wait_replicas=red.get("wait_replicas", int, 0, check=lambda v: None if 0 <= v <= 16 else "must be 0 (do not wait) to 16"),
        wait_timeout_ms=red.get("wait_timeout_ms", int, 1000, check=lambda v: None if 1 <= v <= 60_000 else "must be 1 to 60000 (ms)"),
    )
    red.done()
    return {"redis_url": redis_url, "redis": settings}


def _redis_url_problem(url: str) -> str | None:
    """``[redis] url``: empty (the embedded server), one server, or a cluster by some of its nodes."""
    from shared.redis_client import cluster_url_problem, is_cluster_url

    if not url:
        return None
    if is_cluster_url(url):
        return cluster_url_problem(url)
    if re.match(r"^(redis|rediss|unix)://", url):
        return None
    return ("must start with redis://, rediss:// or unix:// (one server), be redis+cluster://host:port[,host:port…] "
            "(a cluster), or be empty for the embedded server")


def _parse_var_dir(raw: dict, base_dir: Path) -> Path:
    """``[storage] var_dir``, relative to the config file."""
    storage = TableReader(raw, "storage")
    var_dir = (base_dir / storage.get("var_dir", str, "var")).resolve()
    storage.done()
    return var_dir


def _parse_display(raw: dict, base_dir: Path) -> DisplaySettings:
    """``[display]``: recent calls shown, the voice's repeats, English and clips."""
    disp = TableReader(raw, "display")
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
    return display


def _parse_counter(raw: dict) -> CounterSettings:
    """``[counter]``: how long the evaluation tablet waits for a rating (and holds it while the reason is typed); the calls a 过号 needs; how long it may be
    undone."""
    cnt = TableReader(raw, "counter")
    counter = CounterSettings(
        rating_seconds=cnt.get("rating_seconds", int, 30, check=lambda v: None if 5 <= v <= 600 else "must be 5 … 600"),
        rating_detail_seconds=cnt.get("rating_detail_seconds", int, 120,
                                      check=lambda v: None if 10 <= v <= 900 else "must be 10 … 900"),
        min_calls_before_no_show=cnt.get("min_calls_before_no_show", int, 1,
                                         check=lambda v: None if 1 <= v <= 10 else "must be 1 … 10"),
        no_show_undo_seconds=cnt.get("no_show_undo_seconds", int, 60,
                                     check=lambda v: None if 0 <= v <= 600 else "must be 0 … 600"),
    )
    cnt.done()
    return counter


def _parse_statistics(raw: dict, base_dir: Path) -> StatisticsSettings:
    """``[statistics]``: the first day counted, the archive and how often it is written, the wait alert."""
    st = TableReader(raw, "statistics")
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
    return statistics


def _parse_tokens(items: list, windows: dict[int, Window]) -> tuple[MachineToken, ...]:
    """``[[tokens]]``: ``kind`` keypad (default) / tablet with a ``window``, or kiosk with a ``kiosk`` id."""
    tokens: list[MachineToken] = []
    names: set[str] = set()
    digests: set[str] = set()
    for i, item in enumerate(items):
        t = TableReader(item, f"tokens[{i}]")
        kind = t.get("kind", str, "keypad", check=lambda v: None if v in TOKEN_KINDS else f"must be one of: {', '.join(TOKEN_KINDS)}")
        window = kiosk = None
        if kind == "kiosk":
            kiosk = t.get("kiosk", str, check=lambda v: None if KIOSK_ID.fullmatch(v) else "must be 1–32 of A–Z a–z 0–9 _ -")
        elif kind == "app":
            pass  # the provincial app books for its users: bound to no window and no kiosk
        else:
            window = t.get("window", int)
            if window not in windows:
                raise ConfigError(t.key("window"), f"unknown window {window}")
        name = t.get("name", str, f"{kind}-{kiosk or window or i}", check=_non_empty)
        if name in names:
            raise ConfigError(t.key("name"), f"token name '{name}' is used twice")
        digest = t.get("token_sha256", str, check=lambda v: None if re.fullmatch(r"[0-9a-f]{64}", v) else "must be 64 hex digits (`onewindow hash-token`)")
        if digest in digests:
            raise ConfigError(t.key("token_sha256"), "the same token is listed twice")
        names.add(name)
        digests.add(digest)
        tokens.append(MachineToken(name=name, window=window, token_sha256=digest, kind=kind, kiosk=kiosk))
        t.done()
    return tuple(tokens)


def _parse_public(raw: Any) -> PublicSettings:
    p = TableReader(raw, "public")
    public = PublicSettings(
        allow_issue=p.get("allow_issue", bool, True),
        burst=p.get("burst", int, 3, check=lambda v: None if 1 <= v <= 1000 else "must be 1 … 1000"),
        per_minute=float(p.get("per_minute", (int, float), 1, check=lambda v: None if 0 < v <= 6000 else "must be greater than 0 and at most 6000")),
        daily_cap=p.get("daily_cap", int, 6, check=lambda v: None if 1 <= v <= 100000 else "must be 1 … 100000"),
        phone_burst=p.get("phone_burst", int, 30, check=lambda v: None if 1 <= v <= 100000 else "must be 1 … 100000"),
        phone_per_minute=float(p.get("phone_per_minute", (int, float), 30, check=lambda v: None if 0 < v <= 60000 else "must be greater than 0 and at most 60000")),
        phone_daily_cap=p.get("phone_daily_cap", int, 1000, check=lambda v: None if 1 <= v <= 10000000 else "must be 1 … 10000000"),
    )
    p.done()
    return public


def _origin(value: str) -> str | None:
    return None if re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?", value) else \
        f"'{value}' is not an origin like https://hall.example.org (scheme, host, optional port; no path)"


def _parse_security(raw: Any) -> SecuritySettings:
    s = TableReader(raw, "security")
    secure = s.get("secure_cookie", (bool, str), "auto", check=lambda v: None if v in (True, False, "auto") else "must be true, false or \"auto\"")
    origins = s.get("allowed_origins", list, [])
    for i, origin in enumerate(origins):
        if not isinstance(origin, str) or _origin(origin):
            raise ConfigError(f"security.allowed_origins[{i}]", _origin(origin) if isinstance(origin, str) else "must be a string")
    security = SecuritySettings(
        session_hours=float(s.get("session_hours", (int, float), 12, check=lambda v: None if 0 < v <= 24 else "must be greater than 0 and at most 24")),
        idle_minutes=s.get("idle_minutes", int, 120, check=lambda v: None if 1 <= v <= 1440 else "must be 1 … 1440"),
        login_attempts=s.get("login_attempts", int, 5, check=lambda v: None if 1 <= v <= 100 else "must be 1 … 100"),
        login_attempts_per_address=s.get("login_attempts_per_address", int, 20, check=lambda v: None if 1 <= v <= 10000 else "must be 1 … 10000"),
        login_window_seconds=s.get("login_window_seconds", int, 300, check=lambda v: None if 10 <= v <= 86400 else "must be 10 … 86400"),
        trusted_proxies=s.get("trusted_proxies", int, 0, check=lambda v: None if 0 <= v <= 5 else "must be 0 … 5"),
        secure_cookie=None if secure == "auto" else secure,
        allowed_origins=tuple(o.rstrip("/") for o in origins),
    )
    s.done()
    return security


# --------------------------------------------------------------------------------------------- [haocaiping]
_OPTION_CODE = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_MATTER_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


def _parse_matters(items: list, key: str) -> tuple[Matter, ...]:
    out: list[Matter] = []
    for i, item in enumerate(items):
        m = TableReader(item, f"{key}[{i}]")
        code = m.get("code", str, check=lambda v: None if _MATTER_CODE.fullmatch(v) else
                     "must be 1–64 ASCII letters, digits, . _ - (the 事项编码 of the province's catalogue)")
        if any(x.code == code for x in out):
            raise ConfigError(m.key("code"), f"matter '{code}' is listed twice")
        out.append(Matter(code=code, name=m.get("name", str, check=_non_empty).strip()))
        m.done()
    return tuple(out)


def _levels(value: list, key: str) -> tuple[int, ...]:
    if not value:
        raise ConfigError(key, "must name at least one level (1 … 5)")
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5:
            raise ConfigError(f"{key}[{i}]", "must be a level 1 (非常不满意) … 5 (非常满意)")
    if len(set(value)) != len(value):
        raise ConfigError(key, "names a level twice")
    return tuple(value)


def _str_table(raw: Any, key: str, *, value_check=None) -> dict[str, str]:
    """A table of string → string (TOML keys are strings already)."""
    if not isinstance(raw, dict):
        raise ConfigError(key, f"must be a table, not {type(raw).__name__}")
    out = {}
    for k, v in raw.items():
        if not isinstance(v, str):
            raise ConfigError(f"{key}.{k}", f"must be a string, not {type(v).__name__}")
        if value_check is not None:
            problem = value_check(v)
            if problem:
                raise ConfigError(f"{key}.{k}", problem)
        out[str(k)] = v
    return out


def _parse_haocaiping(raw: Any, services: dict[str, Service]) -> HaocaipingSettings:
    sec = TableReader(raw, "haocaiping")
    options: list[RatingOption] = []
    raw_options = sec.get("options", list, None)
    for i, item in enumerate(raw_options or []):
        o = TableReader(item, f"haocaiping.options[{i}]")
        code = o.get("code", str, check=lambda v: None if _OPTION_CODE.fullmatch(v) else
                     "must be 1–32 ASCII letters, digits, . _ -")
        if any(x.code == code for x in options):
            raise ConfigError(o.key("code"), f"option '{code}' is listed twice")
        options.append(RatingOption(code=code, label=o.get("label", str, check=_non_empty).strip(),
                                    label_en=o.get("label_en", str, ""),
                                    levels=_levels(o.get("levels", list), o.key("levels"))))
        o.done()
    if raw_options is not None and not options:
        raise ConfigError("haocaiping.options", "list at least one option, or leave the key out for the shipped ones")
    text_levels = _levels(sec.get("text_levels", list, list(BAD_LEVELS)), "haocaiping.text_levels")
    settings = HaocaipingSettings(
        options=tuple(options) if options else DEFAULT_RATING_OPTIONS,
        text_levels=text_levels,
        text_max=sec.get("text_max", int, 200, check=lambda v: None if 1 <= v <= 2000 else "must be 1 … 2000"),
        followup_days=sec.get("followup_days", int, 15, check=lambda v: None if 0 <= v <= 180 else "must be 0 … 180"),
        default_days=sec.get("default_days", int, 7, check=lambda v: None if 1 <= v <= 60 else "must be 1 … 60"),
        default_level=sec.get("default_level", int, 3, check=lambda v: None if 3 <= v <= 5 else
                              "must be 3 (基本满意) … 5: a default rating is never a 差评"),
        default_every_minutes=sec.get("default_every_minutes", int, 10,
                                      check=lambda v: None if 1 <= v <= 1440 else "must be 1 … 1440"),
        deadlines=_parse_deadlines(sec.get("deadlines", dict, {})),
        upstream=_parse_upstream(sec.get("upstream", dict, {}), services),
    )
    sec.done()
    return settings


def _parse_deadlines(raw: Any) -> Deadlines:
    d = TableReader(raw, "haocaiping.deadlines")

    def days(name: str, default: int) -> int:
        return d.get(name, int, default, check=lambda v: None if 0 <= v <= 60 else "must be 0 … 60 working days")

    out = Deadlines(verify=days("verify", 1), rectify=days("rectify", 5), reply=days("reply", 15))
    d.done()
    if not out.verify <= out.rectify <= out.reply:
        raise ConfigError("haocaiping.deadlines", "verify ≤ rectify ≤ reply: each step comes after the one before")
    return out


def _parse_upstream(raw: Any, services: dict[str, Service]) -> UpstreamSettings:
    u = TableReader(raw, "haocaiping.upstream")
    enabled = u.get("enabled", bool, False)
    url = u.get("url", str, "", check=lambda v: None if v == "" or re.match(r"^https?://[^\s/]+", v) else
                "must be an http(s) URL")
    if enabled and not url:
        raise ConfigError("haocaiping.upstream.url", "is required when reporting is enabled")
    dept_codes = _str_table(u.get("department_codes", dict, {}), "haocaiping.upstream.department_codes")
    for code in dept_codes:
        if code not in services:
            raise ConfigError(f"haocaiping.upstream.department_codes.{code}", f"unknown service '{code}'")
    fields = _str_table(u.get("fields", dict, {}), "haocaiping.upstream.fields",
                        value_check=lambda v: None if v in UPSTREAM_SOURCE_FIELDS else
                        f"'{v}' is not a value the adapter knows (one of: {', '.join(UPSTREAM_SOURCE_FIELDS)})")
    for name in fields:
        if not _FIELD_NAME.fullmatch(name):
            raise ConfigError(f"haocaiping.upstream.fields.{name}", "is not a usable field name")
    if enabled and "id" not in fields.values():
        raise ConfigError("haocaiping.upstream.fields", "must send 'id' (the rating id the province de-duplicates by)")
    raw_codes = u.get("codes", dict, {})
    codes: dict[str, dict[str, str]] = {}
    for source, table in raw_codes.items():
        if source not in UPSTREAM_SOURCE_FIELDS:
            raise ConfigError(f"haocaiping.upstream.codes.{source}", "is not a value the adapter knows")
        codes[source] = _str_table(table, f"haocaiping.upstream.codes.{source}")
    constants = u.get("constants", dict, {})
    for name, value in constants.items():
        if isinstance(value, (dict, list)) or (hasattr(value, "year") and not isinstance(value, str)):
            raise ConfigError(f"haocaiping.upstream.constants.{name}", "must be a string, number or true/false")
        if name in fields:
            raise ConfigError(f"haocaiping.upstream.constants.{name}", "is also in fields")
    time_format = u.get("time_format", str, "%Y-%m-%d %H:%M:%S", check=_non_empty)
    settings = UpstreamSettings(
        enabled=enabled, url=url,
        area_code=u.get("area_code", str, ""),
        department_code=u.get("department_code", str, ""),
        department_codes=dept_codes,
        timeout_seconds=float(u.get("timeout_seconds", (int, float), 10,
                                    check=lambda v: None if 0.05 <= v <= 120 else "must be 0.05 … 120")),
        max_attempts=u.get("max_attempts", int, 10, check=lambda v: None if 1 <= v <= 1000 else "must be 1 … 1000"),
        backoff_seconds=float(u.get("backoff_seconds", (int, float), 30,
                                    check=lambda v: None if 0.001 <= v <= 86400 else "must be 0.001 … 86400")),
        max_backoff_seconds=float(u.get("max_backoff_seconds", (int, float), 3600,
                                        check=lambda v: None if 0.001 <= v <= 7 * 86400 else "must be 0.001 … 604800")),
        parallel=u.get("parallel", int, 4, check=lambda v: None if 1 <= v <= 32 else "must be 1 … 32"),
        poll_seconds=float(u.get("poll_seconds", (int, float), 5,
                                 check=lambda v: None if 0.01 <= v <= 3600 else "must be 0.01 … 3600")),
        keep_sent_days=u.get("keep_sent_days", int, 30, check=lambda v: None if 1 <= v <= 3660 else "must be 1 … 3660"),
        headers=_str_table(u.get("headers", dict, {}), "haocaiping.upstream.headers"),
        wrap=u.get("wrap", str, "", check=lambda v: None if v == "" or _FIELD_NAME.fullmatch(v) else
                   "must be a field name or empty"),
        time_format=time_format,
        list_separator=u.get("list_separator", str, ","),
        success_field=u.get("success_field", str, ""),
        success_values=tuple(_str_list(u.get("success_values", list, ["0", "200"]), "haocaiping.upstream.success_values")),
        duplicate_values=tuple(_str_list(u.get("duplicate_values", list, []), "haocaiping.upstream.duplicate_values")),
        fields=fields, codes=codes, constants=dict(constants),
    )
    u.done()
    if settings.max_backoff_seconds < settings.backoff_seconds:
        raise ConfigError("haocaiping.upstream.max_backoff_seconds", "must not be less than backoff_seconds")
    try:
        datetime(2027, 1, 1).strftime(time_format)
    except ValueError as exc:
        raise ConfigError("haocaiping.upstream.time_format", f"not a strftime format: {exc}") from None
    return settings


def _str_list(values: list, key: str) -> list[str]:
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise ConfigError(f"{key}[{i}]", "must be a string (or a number)")
        out.append(str(v))
    return out


# --------------------------------------------------------------------------------------------- issue 14
def _range(lo: int, hi: int):
    return lambda v: None if lo <= v <= hi else f"must be {lo} … {hi}"


def _read_id_rules(t: TableReader, base: IdRules) -> IdRules:
    return IdRules(
        required=t.get("required", bool, base.required),
        max_open=t.get("max_open", int, base.max_open, check=_range(0, 99)),
        daily_cap=t.get("daily_cap", int, base.daily_cap, check=_range(0, 999)),
        noshow_limit=t.get("noshow_limit", int, base.noshow_limit, check=_range(0, 99)),
        noshow_days=t.get("noshow_days", int, base.noshow_days, check=_range(1, 365)),
        ban_days=t.get("ban_days", int, base.ban_days, check=_range(1, 365)),
        green_age=t.get("green_age", int, base.green_age,
                        check=lambda v: None if v == 0 or 50 <= v <= 120 else "must be 0 (off) or 50 … 120"),
    )


def _parse_realname(raw: Any, base_dir: Path) -> RealnameSettings:
    r = TableReader(raw, "realname")
    secret = r.get("secret_file", str, "", check=lambda v: None if v == "" or v.strip() else "must not be blank")
    defaults = _read_id_rules(r, IdRules())
    reader = r.get("card_reader", str, RealnameSettings.card_reader, check=lambda v: None if re.fullmatch(
        r"http://(127\.0\.0\.1|localhost|\[::1\]):[0-9]{1,5}", v) else "must be http://127.0.0.1:<port> (the "
        "agent listens on the kiosk PC's loopback address only)")
    r.done()
    return RealnameSettings(secret_file=(base_dir / secret).resolve() if secret else None, defaults=defaults,
                            card_reader=reader)


def _parse_id_rules(raw: Any, key: str, defaults: IdRules) -> IdRules:
    t = TableReader(raw, key)
    rules = _read_id_rules(t, defaults)
    t.done()
    return rules


def _parse_capacity_by_day(raw: Any, key: str) -> dict[int, int]:
    t = TableReader(raw, key)
    out: dict[int, int] = {}
    for name in _HOURS_KEYS:
        value = t.get(name, int, None, check=_range(0, 999))
        if value is None:
            continue
        days = range(5) if name == "weekday" else range(5, 7) if name == "weekend" else [DAY_NAMES.index(name)]
        for d in days:
            if name in DAY_NAMES or d not in out:  # a day name wins over weekday / weekend
                out[d] = value
    t.done()
    return out


def _parse_appointments(raw: Any, key: str) -> AppointmentSettings | None:
    if raw is None:
        return None
    a = TableReader(raw, key)
    enabled = a.get("enabled", bool, True)
    hours_raw = a.get("hours", dict, None)
    settings = AppointmentSettings(
        slot_minutes=a.get("slot_minutes", int, 30, check=_range(5, 480)),
        capacity=a.get("capacity", int, 2, check=_range(0, 999)),
        capacity_by_day=_parse_capacity_by_day(a.get("capacity_by_day", dict, {}), a.key("capacity_by_day")),
        hours=_parse_hours(hours_raw, a.key("hours")) if hours_raw is not None else None,
        days_ahead=a.get("days_ahead", int, 7, check=_range(0, 90)),
        same_day=a.get("same_day", bool, True),
        cutoff_minutes=a.get("cutoff_minutes", int, 0, check=_range(0, 7 * 1440)),
        hold_minutes=a.get("hold_minutes", int, 5, check=_range(1, 60)),
        early_minutes=a.get("early_minutes", int, 30, check=_range(0, 240)),
        late_minutes=a.get("late_minutes", int, 15, check=_range(0, 240)),
        late=a.get("late", str, "walk_in", check=lambda v: None if v in LATE_POLICIES else
                   f"must be one of: {', '.join(LATE_POLICIES)}"),
    )
    a.done()
    if settings.days_ahead == 0 and not settings.same_day:
        raise ConfigError(key, "days_ahead = 0 and same_day = false leave no bookable day")
    return settings if enabled else None


def _parse_remote(raw: Any, key: str) -> RemoteSettings:
    r = TableReader(raw, key)
    settings = RemoteSettings(enabled=r.get("enabled", bool, False),
                              daily_quota=r.get("daily_quota", int, 0, check=_range(0, 9999)))
    r.done()
    return settings


def _parse_appointments_hall(raw: Any) -> AppointmentsHall:
    a = TableReader(raw, "appointments")
    settings = AppointmentsHall(sweep_seconds=a.get("sweep_seconds", int, 30, check=_range(1, 3600)),
                                keep_days=a.get("keep_days", int, 30, check=_range(1, 3660)))
    a.done()
    return settings


def _parse_notifications(raw: Any) -> NotificationSettings:
    n = TableReader(raw, "notifications")
    enabled = n.get("enabled", bool, False)
    url = n.get("url", str, "", check=lambda v: None if v == "" or re.match(r"^https?://[^\s/]+", v) else
                "must be an http(s) URL")
    if enabled and not url:
        raise ConfigError("notifications.url", "is required when notifications are enabled")
    templates = _str_table(n.get("templates", dict, {}), "notifications.templates")
    for kind in templates:
        if kind not in NOTIFICATION_KINDS:
            raise ConfigError(f"notifications.templates.{kind}", f"is not a kind (one of: {', '.join(NOTIFICATION_KINDS)})")
    kinds = n.get("kinds", list, list(NOTIFICATION_KINDS))
    for i, kind in enumerate(kinds):
        if kind not in NOTIFICATION_KINDS:
            raise ConfigError(f"notifications.kinds[{i}]", f"must be one of: {', '.join(NOTIFICATION_KINDS)}")
    settings = NotificationSettings(
        enabled=enabled, url=url,
        headers=_str_table(n.get("headers", dict, {}), "notifications.headers"),
        templates=templates, kinds=tuple(dict.fromkeys(kinds)),
        ahead=n.get("ahead", int, 3, check=_range(0, 50)),
        reminder_minutes=n.get("reminder_minutes", int, 60, check=_range(0, 7 * 1440)),
        partitions=n.get("partitions", int, 8, check=_range(1, 64)),
        timeout_seconds=float(n.get("timeout_seconds", (int, float), 5,
                                    check=lambda v: None if 0.05 <= v <= 120 else "must be 0.05 … 120")),
        max_attempts=n.get("max_attempts", int, 8, check=_range(1, 1000)),
        backoff_seconds=float(n.get("backoff_seconds", (int, float), 5,
                                    check=lambda v: None if 0.001 <= v <= 86400 else "must be 0.001 … 86400")),
        max_backoff_seconds=float(n.get("max_backoff_seconds", (int, float), 300,
                                        check=lambda v: None if 0.001 <= v <= 86400 else "must be 0.001 … 86400")),
        parallel=n.get("parallel", int, 4, check=_range(1, 32)),
        poll_seconds=float(n.get("poll_seconds", (int, float), 1,
                                 check=lambda v: None if 0.01 <= v <= 3600 else "must be 0.01 … 3600")),
        keep_sent_days=n.get("keep_sent_days", int, 7, check=_range(1, 3660)),
        success_field=n.get("success_field", str, ""),
        success_values=tuple(_str_list(n.get("success_values", list, ["0", "200", "ok", "OK"]),
                                       "notifications.success_values")),
        duplicate_values=tuple(_str_list(n.get("duplicate_values", list, []), "notifications.duplicate_values")),
    )
    n.done()
    if settings.max_backoff_seconds < settings.backoff_seconds:
        raise ConfigError("notifications.max_backoff_seconds", "must not be less than backoff_seconds")
    return settings


# --------------------------------------------------------------------------------------------- several halls
#: sections of a hall's file that belong to the whole process; in a config directory they live in ``city.toml``
PROCESS_SECTIONS = ("redis", "security", "storage")
CITY_FILE = "city.toml"
HALLS_DIR = "halls"  # per-hall files of a deployment: <var_dir>/halls/<hall id>/ (archive, realname key, previews)


@dataclass(frozen=True)
class CityConfig:
    """``city.toml``'s ``[city]`` and ``[[supervisors]]``: the deployment's name and its city supervisors (who read
    every hall's figures; they are no hall's staff)."""

    id: str
    name: str
    name_en: str
    supervisors: dict[str, Clerk]
    source: Path | None = None


@dataclass(frozen=True)
class Deployment:
    """What one server process serves: one hall (a config file: ``city`` is None) or a city of halls (a config
    directory: ``city.toml`` and one file per hall, ``halls`` in the order of their file names)."""

    city: CityConfig | None
    halls: list[Config]

    @property
    def process(self) -> Config:
        """The config whose process-wide settings (Redis, security, var_dir, time zone of the logs) the process
        uses: every hall of a directory carries the same ones."""
        return self.halls[0]

    def hall(self, hall_id: str) -> Config:
        for config in self.halls:
            if config.hall_id == hall_id:
                return config
        raise KeyError(hall_id)


def load_deployment(path: str | Path) -> Deployment:
    """A config file (one hall, exactly :func:`load_config`) or a config directory (``city.toml`` with the
    process-wide sections and the city supervisors, and one ``*.toml`` per hall); raise :class:`ConfigError` on the
    first mistake, naming the file."""
    path = Path(path)
    if not path.is_dir():
        return Deployment(city=None, halls=[load_config(path)])
    city_path = path / CITY_FILE
    city_raw = _read_toml(city_path)
    try:
        city, process_raw = _parse_city(city_raw, city_path)
    except ConfigError as exc:
        raise ConfigError(f"{city_path}: {exc.key}", exc.problem) from None
    files = sorted(p for p in path.glob("*.toml") if p.name != CITY_FILE)
    if not files:
        raise ConfigError(str(path), f"a config directory needs {CITY_FILE} and at least one hall file (*.toml)")
    halls: list[Config] = []
    seen: dict[str, Path] = {}
    archives: dict[Path, Path] = {}
    for file in files:
        raw = _read_toml(file)
        for section in PROCESS_SECTIONS:
            if section in raw:
                raise ConfigError(f"{file}: {section}", f"[{section}] is process-wide: set it in {CITY_FILE}, not in a "
                                                        "hall's file")
        try:
            config = parse_config({**raw, **process_raw}, base_dir=path.resolve(), source=file)
        except ConfigError as exc:
            raise ConfigError(f"{file}: {exc.key}", exc.problem) from None
        if config.hall_id in seen:
            raise ConfigError(f"{file}: hall.id", f"hall id '{config.hall_id}' is also the id of {seen[config.hall_id]}"
                                                  " (every hall needs its own id)")
        seen[config.hall_id] = file
        config = with_hall_files(config)
        if config.archive_path in archives:
            raise ConfigError(f"{file}: statistics.archive_path", f"{config.archive_path} is also the archive of "
                                                                  f"{archives[config.archive_path]} (one per hall)")
        archives[config.archive_path] = file
        halls.append(config)
    return Deployment(city=city, halls=halls)


def hall_files_dir(config: Config) -> Path:
    """Where a hall of a config directory keeps its own files (statistics archive, real-name key, ticket previews)."""
    return config.var_dir / HALLS_DIR / config.hall_id


def hall_key_file(config: Config) -> Path:
    """The real-name key a hall of a config directory gets when its file names none."""
    return hall_files_dir(config) / "realname.key"


def with_hall_files(config: Config) -> Config:
    """The hall's own files under ``<var_dir>/halls/<hall id>/`` unless its file names them: two halls never share an
    archive, a real-name key or a ticket preview folder by accident."""
    from dataclasses import replace

    own = hall_files_dir(config)
    statistics = config.statistics if config.statistics.archive_path else replace(
        config.statistics, archive_path=own / "stats.sqlite3")
    realname = config.realname if config.realname.secret_file else replace(
        config.realname, secret_file=hall_key_file(config))
    printer = {"preview_dir": str(own / "tickets"), **config.printer}
    return replace(config, statistics=statistics, realname=realname, printer=printer)


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None


def _parse_city(raw: dict, source: Path) -> tuple[CityConfig, dict]:
    """``city.toml``: ``[city]``, ``[[supervisors]]`` and the process-wide sections (returned raw: every hall's
    config is parsed with them, so each hall carries the same Redis, security and var_dir)."""
    root = TableReader(raw, "")
    c = TableReader(root.get("city", dict), "city")
    city_id = c.get("id", str, check=lambda v: None if _HALL_ID.fullmatch(v) else
                    "must be lowercase ASCII letters, digits, - or _")
    name = c.get("name", str, check=_non_empty)
    name_en = c.get("name_en", str, "")
    c.done()
    supervisors: dict[str, Clerk] = {}
    for i, item in enumerate(root.get("supervisors", list, [])):
        s = TableReader(item, f"supervisors[{i}]")
        username = s.get("username", str, check=lambda v: None if re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", v) else
                         "must be 1–32 ASCII letters, digits, . _ -")
        if username in supervisors:
            raise ConfigError(s.key("username"), f"supervisor '{username}' is defined twice")
        supervisors[username] = Clerk(
            username=username, name=s.get("name", str, username),
            password_hash=s.get("password_hash", str, check=lambda v: None if v.startswith(("scrypt:", "pbkdf2:"))
                                else "must be a hash from `onewindow hash-password`, never a clear password"),
            role="supervisor")
        s.done()
    process = {section: root.get(section, dict, {}) for section in PROCESS_SECTIONS}
    # validated once here (a mistake names city.toml, not the first hall's file)
    _parse_redis(process["redis"])
    _parse_security(process["security"])
    _parse_var_dir(process["storage"], source.resolve().parent)
    root.done()
    return CityConfig(id=city_id, name=name, name_en=name_en, supervisors=supervisors, source=source), process
