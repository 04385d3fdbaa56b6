"""好差评: the citizen's rating of a finished visit (一次一评, 办件 and 咨询 alike), from the window's tablet or from the
phone, the 追评, and the default rating of visits nobody rated.

Every rule is decided in the one script that writes the rating (``rate_visit.lua``), from the visit as it is then:

* **Tablet** (channel ``tablet``): only the window's last finished ticket (``last_finished``), within
  ``[counter] rating_seconds`` of the finish — ``not_last_finished`` / ``rating_closed``.
* **Phone** (channel ``phone``, the tracking page or the ticket's QR): the caller proves the visit is theirs with its
  tracking token (``not_found`` for a token that names no visit, ``wrong_token`` when it names another ticket than
  the one claimed); a first rating until ``[haocaiping] default_days`` after the finish (``rating_closed``).
* **One rating per visit**: a second first rating is ``already_rated`` — whichever channel gave the first, the default
  included. **追评** (``followup=True``, phone only): one, after the rater's own first rating (``not_rated``), within
  ``followup_days`` of it (``followup_closed``), never twice (``already_rated``).
* **Content**: the option codes offered for the level (``invalid_option``), free text only for ``text_levels``
  (``text_not_allowed``), a call-back contact only with 不满意 / 非常不满意 (``contact_not_allowed``).
* A visit that was not served (no-show, cancelled, still waiting) has nothing to rate (``not_finished``).

In the same step the script writes the outbox entry that reports the rating upstream (when ``[haocaiping.upstream]``
is enabled) and, for a 差评 (levels 1–2), opens a rectification record (:mod:`shared.rectification`) with deadlines on
the hall's calendar. The call-back number is kept in that record only, and shown masked except to supervisors.

**Default rating** (:func:`apply_default_ratings`): visits finished ``default_days`` ago and not rated get
``default_level`` (基本满意), channel ``default``, marked ``default`` — counted apart in the statistics. Idempotent: run
twice, or in two processes, a visit is rated once.

Each rating is a ``ticket_rated`` event ``{ticket, window, level, label, follow_up, clerk, rating}`` where ``rating``
is the record reported upstream (:func:`rating_view` describes its fields).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from shared.config import BAD_LEVELS, Config
from shared.engine import TICKET_ID, TOKEN, Engine
from shared.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from shared.privacy import make_contact, mask_contact
from shared.rectification import plan_deadlines
from shared.runner import RetryScript

logger = logging.getLogger(__name__)

#: the outbox topic of ratings reported upstream
TOPIC = "haocaiping"
CHANNELS = ("tablet", "phone", "default")
CHANNEL_LABELS = {"tablet": ("评价器", "Rating tablet"), "phone": ("扫码评价", "Phone (QR)"),
                  "default": ("系统默认", "System default")}


@dataclass(frozen=True)
class Level:
    value: int
    label: str
    label_en: str


#: The five levels, best first (5 = 非常满意 … 1 = 非常不满意).
LEVELS: tuple[Level, ...] = (
    Level(5, "非常满意", "Very satisfied"),
    Level(4, "满意", "Satisfied"),
    Level(3, "基本满意", "Fairly satisfied"),
    Level(2, "不满意", "Dissatisfied"),
    Level(1, "非常不满意", "Very dissatisfied"),
)
LEVEL_BY_VALUE = {lv.value: lv for lv in LEVELS}
FOLLOW_UP_MAX_LEVEL = max(BAD_LEVELS)  # 不满意 and 非常不满意 are 差评: followed up, rectified

_ERRORS = {
    "already_rated": ConflictError, "not_last_finished": ConflictError, "rating_closed": ConflictError,
    "not_finished": ConflictError, "not_rated": ConflictError, "followup_closed": ConflictError,
    "not_found": NotFoundError, "wrong_token": PermissionDeniedError,
    "invalid_option": ValidationError, "text_not_allowed": ValidationError, "contact_not_allowed": ValidationError,
}


def levels_view() -> list[dict]:
    return [{"level": lv.value, "label": lv.label, "label_en": lv.label_en} for lv in LEVELS]


def rating_form(config: Config) -> list[dict]:
    """What a rating screen offers per level: its options (code, label, label_en), whether free text and a
    call-back contact are taken, and the text's limit — the tablet and the phone page draw their forms from it."""
    h = config.haocaiping
    return [{"level": lv.value, "label": lv.label, "label_en": lv.label_en, "bad": lv.value in BAD_LEVELS,
             "options": [{"code": o.code, "label": o.label, "label_en": o.label_en} for o in h.options_for(lv.value)],
             "text": lv.value in h.text_levels, "text_max": h.text_max if lv.value in h.text_levels else 0,
             "contact": lv.value in BAD_LEVELS} for lv in LEVELS]


# --------------------------------------------------------------------------------------------- input
def _level(level) -> Level:
    lv = LEVEL_BY_VALUE.get(level) if isinstance(level, int) and not isinstance(level, bool) else None
    if lv is None:
        raise ValidationError("level must be 1 (非常不满意) … 5 (非常满意)", code="invalid_value", field="level")
    return lv


def _options(options) -> list[str]:
    if options is None:
        return []
    if not isinstance(options, (list, tuple)) or not all(isinstance(o, str) for o in options):
        raise ValidationError("'options' must be a list of option codes", code="wrong_type", field="options")
    if len(options) > 32:
        raise ValidationError("too many options", code="invalid_value", field="options")
    return list(options)


def _text(config: Config, text) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise ValidationError("'text' must be text", code="wrong_type", field="text")
    text = text.strip()
    limit = config.haocaiping.text_max
    if len(text) > limit:
        raise ValidationError(f"'text' is longer than {limit} characters", code="invalid_value", field="text")
    return text


def _rules(config: Config, report: bool) -> str:
    h = config.haocaiping
    return json.dumps({
        "rating_ms": config.counter.rating_seconds * 1000, "first_ms": h.default_days * 86_400_000,
        "followup_ms": h.followup_days * 86_400_000, "bad_max": FOLLOW_UP_MAX_LEVEL,
        "options": {str(lv.value): [o.code for o in h.options_for(lv.value)] for lv in LEVELS},
        "text_levels": list(h.text_levels), "report": report,
    }, ensure_ascii=False)


def reporting(config: Config) -> bool:
    """Are ratings reported upstream (written to the outbox)?"""
    return config.haocaiping.upstream.enabled


# --------------------------------------------------------------------------------------------- rating
def rate(engine: Engine, window: int, ticket_id: str, level: int, *, options=None, text: str | None = None,
         contact_name: str = "", contact_phone: str = "", tracking_token: str = "") -> dict:
    """A rating from the tablet of ``window`` for the ticket just finished there (or, with ``tracking_token``, the
    holder's phone rating that ticket — the token must be that ticket's). Returns :func:`_result`.

    Raises ValidationError (bad level, options, text, phone), NotFoundError (unknown window), ConflictError
    ``already_rated`` / ``not_last_finished`` / ``rating_closed`` / ``not_finished``, PermissionDeniedError
    ``wrong_token``."""
    if window not in engine.config.windows:
        raise NotFoundError(f"no window {window}", code="unknown_window")
    lv = _level(level)
    m = TICKET_ID.fullmatch(ticket_id or "")
    if tracking_token:
        if not m:
            raise PermissionDeniedError("this tracking token does not belong to the ticket being rated",
                                        code="wrong_token")
        return rate_by_token(engine, tracking_token, level, options=options, text=text, contact_name=contact_name,
                             contact_phone=contact_phone, ticket_id=ticket_id)
    if not m:
        raise ConflictError(f"only the ticket just finished at window {window} can be rated", code="not_last_finished")
    return _rate(engine, "tablet", window, m.group(1), ticket_id, 1, lv, options, text, contact_name, contact_phone,
                 expect="")


def hold_rating(engine: Engine, window: int, ticket_id: str) -> dict:
    """The citizen at ``window``'s tablet chose a level and is giving the reason: hold the rating of ``ticket_id``
    (the ticket just finished there) open for ``[counter] rating_detail_seconds`` (``rating_hold.lua``), once.
    Returns ``{"ticket_id", "seconds_left"}``. Raises NotFoundError (unknown window / visit), ConflictError
    ``not_last_finished`` / ``already_rated`` / ``rating_closed``."""
    if window not in engine.config.windows:
        raise NotFoundError(f"no window {window}", code="unknown_window")
    m = TICKET_ID.fullmatch(ticket_id or "") if isinstance(ticket_id, str) else None
    if not m:
        raise ConflictError(f"only the ticket just finished at window {window} can be rated", code="not_last_finished")
    counter = engine.config.counter
    now_ms = engine.clock.now_ms()
    r = engine.runner.run("rating_hold", [engine.keys.window(window), engine.keys.tickets(m.group(1))],
                          [window, now_ms, ticket_id, counter.rating_seconds * 1000,
                           counter.rating_detail_seconds * 1000], _ERRORS)
    return {"ticket_id": ticket_id, "seconds_left": round(max(0, int(r["until_ms"]) - now_ms) / 1000, 1)}


def rate_by_token(engine: Engine, token: str, level: int, *, options=None, text: str | None = None,
                  contact_name: str = "", contact_phone: str = "", followup: bool = False,
                  ticket_id: str = "") -> dict:
    """A rating from the phone (the tracking page): the visit whose tracking ``token`` the caller holds; a 追评 with
    ``followup=True``. ``ticket_id``, when given, must be the token's ticket (``wrong_token``).

    Raises NotFoundError ``not_found`` (no visit has this token), ValidationError, ConflictError ``already_rated`` /
    ``rating_closed`` / ``not_finished`` / ``not_rated`` / ``followup_closed``, PermissionDeniedError
    ``wrong_token``."""
    lv = _level(level)
    if not isinstance(followup, bool):
        raise ValidationError("'followup' must be true or false", code="wrong_type", field="followup")
    m = TOKEN.fullmatch(token or "") if isinstance(token, str) else None
    if not m:
        if ticket_id:  # rating a named ticket: a token that is not its own is the wrong token, whatever it is
            raise PermissionDeniedError("this tracking token does not belong to the ticket being rated",
                                        code="wrong_token")
        raise NotFoundError("no visit has this tracking token", code="not_found")
    return _rate(engine, "phone", "", m.group(1), token, 2 if followup else 1, lv, options, text, contact_name,
                 contact_phone, expect=ticket_id or "")


def _rate(engine: Engine, channel: str, window, day: str, subject: str, assess: int, lv: Level, options, text,
          contact_name: str, contact_phone: str, *, expect: str) -> dict:
    config = engine.config
    codes = _options(options)
    body = _text(config, text)
    contact = make_contact(contact_name, contact_phone, prefix="contact_")
    masked = mask_contact(contact)
    k = engine.keys
    windows = sorted(config.windows)
    keys = [k.tickets(day), k.tokens(day), k.window(window) if channel == "tablet" else k.seq,
            k.unrated, k.outbox_entries(TOPIC), k.outbox_partitions(TOPIC), k.rectifications, k.open_rectifications,
            k.rectification_counter, k.schedule, *(k.outbox_queue(TOPIC, n) for n in range(1, max(windows) + 1))]
    for _attempt in range(5):
        now = engine.clock.now()
        deadlines, calendar = plan_deadlines(engine, now) if lv.value in BAD_LEVELS else ({}, {})
        args = [channel, window, int(now.timestamp() * 1000), subject, assess, lv.value, lv.label,
                json.dumps(codes, ensure_ascii=False), body, json.dumps(contact, ensure_ascii=False),
                json.dumps(masked, ensure_ascii=False), _rules(config, reporting(config)),
                json.dumps(deadlines), json.dumps(calendar, ensure_ascii=False), expect]
        try:
            r = engine.runner.run("rate_visit", keys, args, _ERRORS)
            break
        except RetryScript:  # a calendar entry the deadlines were counted on changed meanwhile: count again
            engine.rota.invalidate()
    else:
        raise ConflictError("the calendar keeps changing; try again", code="busy")
    rating = r["rating"]
    logger.info("visit %s rated %s (%s, assess %s)", rating["ticket"], lv.value, channel, assess)
    return _result(engine, r)


def _result(engine: Engine, r: dict) -> dict:
    """``{"ticket": public ticket, "level", "label", "label_en", "follow_up", "rating": rating_view,
    "rectification": {id, deadlines, state} | None}`` (the call-back contact is never in it)."""
    rating = r["rating"]
    lv = LEVEL_BY_VALUE[int(rating["level"])]
    return {"ticket": engine.public_ticket(r["ticket"]), "level": lv.value, "label": lv.label,
            "label_en": lv.label_en, "follow_up": bool(r["follow_up"]), "rating": rating_view(engine.config, rating),
            "rectification": r.get("rectification")}


def rating_view(config: Config, rating: dict) -> dict:
    """A rating record as the API shows it: ``id`` (``<ticket id>-<assess>``), ``ticket``, ``number``, ``service``,
    ``window``, ``clerk``, ``matter_code``, ``matter_name``, ``case_no``, ``outcome``, ``assess`` (1 first, 2 追评),
    ``level``, ``label``, ``channel`` (tablet | phone | default), ``default``, ``options`` [{code, label,
    label_en}], ``text``, ``rated_ms``, ``finished_ms``, ``rectification`` (id, for a 差评)."""
    labels = {o.code: o for o in config.haocaiping.options}
    codes = rating.get("options") if isinstance(rating.get("options"), list) else []
    return {
        "id": rating["id"], "ticket": rating["ticket"], "number": rating.get("number"),
        "service": rating.get("service"), "window": rating.get("window"), "clerk": rating.get("clerk") or None,
        "matter_code": rating.get("matter_code") or None, "matter_name": rating.get("matter_name") or None,
        "case_no": rating.get("case_no") or None, "outcome": rating.get("outcome") or None,
        "assess": int(rating.get("assess") or 1), "level": int(rating["level"]), "label": rating.get("label"),
        "channel": rating.get("channel"), "default": bool(rating.get("default")),
        "options": [{"code": c, "label": labels[c].label if c in labels else c,
                     "label_en": labels[c].label_en if c in labels else c} for c in codes],
        "text": rating.get("text") or "", "rated_ms": rating.get("rated_ms"), "finished_ms": rating.get("finished_ms"),
        "rectification": rating.get("rectification"),
    }


# --------------------------------------------------------------------------------------------- what to offer
def open_rating(engine: Engine, window: int) -> dict | None:
    """The rating the device at ``window`` should offer now: the last finished ticket, unrated, within time."""
    if window not in engine.config.windows:
        raise NotFoundError(f"no window {window}", code="unknown_window")
    last, last_ms, hold, hold_until = engine.redis.hmget(
        engine.keys.window(window), ["last_finished", "last_finished_ms", "rating_hold", "rating_hold_until_ms"])
    m = TICKET_ID.fullmatch(last or "")
    if not m or not last_ms:
        return None
    now_ms = engine.clock.now_ms()
    limit_ms = engine.config.counter.rating_seconds * 1000
    left_ms = limit_ms - (now_ms - int(last_ms))
    if hold == last and hold_until:  # held while the reason is typed (hold_rating)
        left_ms = max(left_ms, int(hold_until) - now_ms)
    if left_ms <= 0:
        return None
    raw = engine.redis.hget(engine.keys.tickets(m.group(1)), last)
    if not raw:
        return None
    t = json.loads(raw)
    if t.get("rating"):
        return None
    svc = engine.config.services.get(t["service"])
    return {"ticket_id": t["id"], "number": t["number"], "service": t["service"],
            "service_name": svc.name if svc else t["service"], "service_name_en": svc.name_en if svc else "",
            "seconds_left": round(left_ms / 1000, 1), "rating_seconds": engine.config.counter.rating_seconds}


def visit_rating_state(engine: Engine, token: str) -> dict:
    """What the phone page offers the holder of ``token``: ``{"ticket_id", "number", "state", "can_rate",
    "can_follow_up", "rate_until_ms", "follow_up_until_ms", "rating", "followup", "channel"}`` (``channel``: who gave
    the first rating — tablet | phone | default) where ``state`` is
    ``not_finished`` | ``open`` (rate now) | ``rated`` | ``default_rated`` | ``closed``. Advisory only: the rating
    itself decides again in its script. NotFoundError for a token that names no visit."""
    m = TOKEN.fullmatch(token or "") if isinstance(token, str) else None
    ticket_id = engine.redis.hget(engine.keys.tokens(m.group(1)), token) if m else None
    raw = engine.redis.hget(engine.keys.tickets(m.group(1)), ticket_id) if ticket_id else None
    if not raw:
        raise NotFoundError("no visit has this tracking token", code="not_found")
    t = json.loads(raw)
    h = engine.config.haocaiping
    now = engine.clock.now_ms()
    out = {"ticket_id": t["id"], "number": t["number"], "rating": t.get("rating"), "followup": t.get("followup"),
           "channel": t.get("rating_channel") or ("default" if t.get("rating_default") else None),
           "can_rate": False, "can_follow_up": False, "rate_until_ms": None, "follow_up_until_ms": None}
    if t.get("status") != "done":
        return {**out, "state": "not_finished"}
    if not t.get("rating"):
        until = int(t.get("finished_ms") or 0) + h.default_days * 86_400_000
        return {**out, "state": "open" if now <= until else "closed", "can_rate": now <= until, "rate_until_ms": until}
    if t.get("rating_default"):
        return {**out, "state": "default_rated"}
    until = int(t.get("rated_ms") or 0) + h.followup_days * 86_400_000
    can = not t.get("followup") and h.followup_days > 0 and now <= until
    return {**out, "state": "rated", "can_follow_up": can, "follow_up_until_ms": until if not t.get("followup") else None}


# --------------------------------------------------------------------------------------------- default ratings
DEFAULT_BATCH = 100


@dataclass
class DefaultRun:
    """One run of the default-rating job."""

    rated: list[str] = field(default_factory=list)  # ticket ids rated by this run
    skipped: int = 0  # rated meanwhile, or not due
    gone: int = 0  # their day had left Redis


def apply_default_ratings(engine: Engine, *, limit: int = 5000) -> DefaultRun:
    """Give the default rating to every visit finished ``[haocaiping] default_days`` ago or earlier and still not
    rated (at most ``limit`` per run, oldest first). Safe to run at any time, twice, or in several processes: each
    visit is decided in ``default_ratings.lua`` from its state then."""
    config = engine.config
    h = config.haocaiping
    lv = LEVEL_BY_VALUE[h.default_level]
    period_ms = h.default_days * 86_400_000
    now_ms = engine.clock.now_ms()
    ids = engine.redis.zrangebyscore(engine.keys.unrated, "-inf", now_ms - period_ms, start=0, num=limit)
    by_day: dict[str, list[str]] = defaultdict(list)
    run = DefaultRun()
    for ticket_id in ids:
        m = TICKET_ID.fullmatch(ticket_id)
        if m:
            by_day[m.group(1)].append(ticket_id)
    k = engine.keys
    queues = [k.outbox_queue(TOPIC, n) for n in range(1, max(config.windows) + 1)]
    for day, day_ids in sorted(by_day.items()):
        for i in range(0, len(day_ids), DEFAULT_BATCH):
            batch = day_ids[i:i + DEFAULT_BATCH]
            keys = [k.tickets(day), k.unrated, k.outbox_entries(TOPIC), k.outbox_partitions(TOPIC),
                    *queues]
            r = engine.runner.run("default_ratings", keys,
                                   [now_ms, period_ms, lv.value, lv.label, reporting(config), *batch])
            run.rated += r["rated"] if isinstance(r["rated"], list) else []
            run.skipped += int(r["skipped"])
            run.gone += int(r["gone"])
    if run.rated or run.gone:
        logger.info("default ratings: %s visits rated %s (%s), %s no longer in Redis", len(run.rated), lv.value,
                    lv.label, run.gone)
    return run
