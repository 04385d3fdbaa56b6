"""The queue engine: every state change of tickets and windows, each one Lua script.

Ticket states and transitions (anything else is a :class:`ConflictError` with code ``invalid_transition`` or a
more precise code)::

    waiting ──call──▶ called ──finish(handled|consulted)──▶ done
       │                │ ├──no-show──▶ no_show
       │                │ └──transfer──▶ waiting (head of the target service or window, same number)
       ├──cancel──▶ cancelled             recall: called ──▶ called (announced again)
       └──(a remote ticket not yet arrived when its turn comes)──▶ expired

**Queue score** (one sorted set per service and day): ``band * 1e13 + time``; bands, best first:

====  ===================  ==============================================================================
band  who                  time
====  ===================  ==============================================================================
0     transferred in       when it was transferred (a transfer to a *window* waits in that window's queue)
1     绿色通道 priority     when it was taken (set at the kiosk, or automatically by age: ``green_age``)
2     appointment          its slot's start — checked in within its window (docs/appointments.md)
3     walk-in              when it was taken (remote tickets too: they keep the place they took)
====  ===================  ==============================================================================

**Call-next order** for a window: tickets transferred to that window; then the best band over the window's
services; within a band, the window's service order; within a service, the lowest score (the longest wait, or the
earliest slot). Two rules keep that fair without slowing the call (``call_next.lua``):

* an appointment is served *for its slot*: a checked-in appointment whose slot has not started yet waits while the
  service has a walk-in (it is taken, rather than leave the window idle, when nobody else waits) — one extra
  ``ZRANGEBYSCORE … LIMIT 0 1`` when the head is such an early appointment;
* a remote ticket whose holder has not checked in when it *would be called* is skipped: it expires (``expired``,
  event ``ticket_expired``, a no-show for its ID) and the choice is made again. The not-yet-arrived tickets are a
  set per day, so the check is one ``SISMEMBER`` of the chosen ticket; each remote ticket is skipped at most once,
  so the cost is bounded by the remote tickets taken (``remote.daily_quota``).

Numbers are per service per business day (A001 …), so numbering restarts at local midnight; queues are per day,
so yesterday's tickets are never called.

Every change is one Lua script run through :class:`shared.runner.ScriptRunner`, and every decision is taken inside the
script that acts on it, from the state as it is then: Python passes only input and configuration (and, where it
computed something from state — the calendar for issuing — the script checks that state is unchanged). Each run
takes effect once per operation id (see :mod:`shared.runner`): a resent copy gets the first answer.

Real-name tickets (docs/realname.md) carry the keyed hash of the holder's ID (``idh``, never on the event stream);
the per-ID rules are decided in the issuing script. Tickets with a contact (remote tickets, checked-in bookings)
get their notifications (docs/appointments.md) written to the ``notify`` outbox in the step that calls them or marks
them no-show.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

from shared import estimates, events, idempotency
from shared.clock import Clock
from shared.config import Config, Service, Window
from shared.errors import (
    ConflictError,
    NotFoundError,
    OneWindowError,
    PermissionDeniedError,
    RateLimitedError,
    RuleRefusedError,
    ServiceClosedError,
    UnprocessableError,
    ValidationError,
)
from shared.identity import Identity
from shared.keys import HallKeys, day_key
from shared.memo import SmallMemo
from shared.rota import Rota
from shared.schedule import Availability, availability
from shared.redis_client import is_cluster
from shared.runner import RetryScript, ScriptRunner, WaitPolicy, as_list

if TYPE_CHECKING:
    from shared.limits import IssueLimit

logger = logging.getLogger(__name__)

# used with fullmatch (never `$`, which also matches before a final newline); ASCII digits only
TICKET_ID = re.compile(r"([0-9]{8})-([A-Z])([0-9]{3,4})")
NUMBER = re.compile(r"([A-Z])([0-9]{3,4})")
TOKEN = re.compile(r"([0-9]{8})[A-Za-z0-9_-]{22}")
OUTCOMES = ("handled", "consulted")
MATTER = re.compile(r"[A-Za-z0-9_.-]{1,64}")
CASE_NO = re.compile(r"[A-Za-z0-9_./-]{1,64}")
#: a queue's score is band · QUEUE_BAND + the ms the ticket started waiting (issue.lua, call_next.lua)
QUEUE_BAND = 10**13
#: the outbox topic of notifications to citizens (shared/notify)
NOTIFY_TOPIC = "notify"
#: script codes of the hall's rules (per-ID, bookings, check-in): RuleRefusedError with messages in zh and en
RULE_CODES = ("id_required", "id_open_limit", "id_daily_cap", "id_banned", "remote_quota_reached", "remote_disabled")
#: Why a clerk sends a ticket elsewhere (the transfer dialog's tap choices; the text may say more). code → (zh, en)
TRANSFER_REASONS: dict[str, tuple[str, str]] = {
    "wrong_service": ("取错号", "Took the wrong ticket"),
    "other_department": ("需其他部门办理", "Another department handles it"),
    "cannot_handle": ("本窗口无法办理", "This window cannot handle it"),
    "complaint": ("反映办不成事", "Can't-get-it-done complaint"),
    "leader": ("需领导协调", "Needs the duty leader"),
    "other": ("其他", "Other"),
}
TRANSFER_REASON_TEXT_MAX = 200


@dataclass(frozen=True)
class Issued:
    """Result of an issue: the public ticket and whether this request created it (False = idempotent replay)."""

    ticket: dict
    created: bool


class Engine:
    """The hall's live queues on Redis."""

    def __init__(self, client: redis.Redis, config: Config, clock: Clock | None = None) -> None:
        self.redis = client
        self.config = config
        self.clock = clock or Clock(config.timezone)
        self.keys = HallKeys(config.hall_id)
        self.runner = ScriptRunner(client, self.keys, WaitPolicy(config.redis.wait_replicas, config.redis.wait_timeout_ms))
        self.rota = Rota(client, self.keys, self.runner)  # the supervisor's calendar entries: weekend rota, holidays, 调休
        self._services_by_prefix = {s.prefix: s for s in config.services.values()}

    # ------------------------------------------------------------------------------------------- helpers
    def today(self) -> str:
        return day_key(self.clock.business_date())

    def service(self, code: str) -> Service:
        try:
            return self.config.services[code]
        except (KeyError, TypeError):
            raise UnprocessableError(f"unknown service '{code}'", code="unknown_service") from None

    def window_config(self, window: int) -> Window:
        """The configured window ``window`` (NotFoundError ``unknown_window`` for any other number)."""
        try:
            return self.config.windows[window]
        except (KeyError, TypeError):
            raise NotFoundError(f"no window {window}", code="unknown_window") from None

    # ------------------------------------------------------------------------------------------- issuing
    def issue(self, service: str, *, priority: bool = False, lang: str = "zh", request_id: str | None = None,
              kiosk: str = "", identity: Identity | None = None, limit: IssueLimit | None = None) -> Issued:
        """Issue a ticket; the same ``request_id`` again the same day returns the same ticket (``created`` False),
        as does a request sent again with the same ``Idempotency-Key`` (see :mod:`shared.idempotency`).

        ``identity`` (:func:`shared.identity.identify`: a card read or a typed ID number) makes it a real-name ticket:
        the service's per-ID rules apply (``[[services]] realname``: RuleRefusedError ``id_open_limit`` /
        ``id_daily_cap``; ``id_required`` when the service takes no ticket without an ID) and a holder of
        ``green_age`` or older gets 绿色通道 (``green: "age"`` on the ticket).

        ``limit`` (:meth:`shared.limits.PublicIssueLimiter.for_issue`): a public ticket, limited per address in the same
        script step (429 :class:`RateLimitedError` when the address must wait; a replay is answered without it)."""
        svc = self.service(service)
        if identity is None and svc.id_rules.required:
            raise self.refusal(RuleRefusedError("this service issues real-name tickets only", code="id_required"), svc)
        return self._issue(svc, priority=priority, lang=lang, request_id=request_id, kiosk=kiosk, identity=identity,
                           limit=limit)

    def _issue(self, svc: Service, *, priority: bool, lang: str, request_id: str | None, kiosk: str,
               identity: Identity | None, remote: bool = False, contact: dict | None = None,
               scope_name: str = "issue", limit: IssueLimit | None = None) -> Issued:
        now = self.clock.now()
        day = day_key(now.date())
        keys, serving = self._issue_keys(day, svc.code)
        limit_args = [""]
        if limit is not None:
            limit_keys, limit_args = limit.keys_args(now)
            keys += limit_keys
            limit_args = ["1", *limit_args]
        errors_map = self._issue_errors
        token_part = secrets.token_urlsafe(16)[:22]
        identity_args = [identity.hash, json.dumps(svc.id_rules.as_dict()), identity.age_on(now.date())] \
            if identity is not None else ["", "{}", ""]
        # the kiosk's request_id names the operation (for a day), whatever else the request carries
        scope = idempotency.keyed(scope_name, self.config.hall_id, day, request_id) if request_id else None
        with idempotency.using(scope):
            for _attempt in range(5):
                calendar = self.rota.calendar()
                opening = availability(self.config, svc, now, calendar.overrides,
                                       plan=calendar.plan(self.config, now.date()))
                args = [day, svc.code, svc.prefix, svc.daily_quota, priority, int(now.timestamp() * 1000), token_part,
                        lang, kiosk, opening.open, now.date().isoformat(), calendar.stored_entry(now.date()),
                        self.config.haocaiping.ticket_keep_days * 86400, *identity_args, remote,
                        svc.remote.daily_quota, json.dumps(contact, ensure_ascii=False) if contact else "",
                        len(serving), *limit_args]
                try:  # a closed service still answers a replay of today's request: the runner answers it first
                    result = self.runner.run("issue", keys, args, errors_map)
                    break
                except RateLimitedError as exc:  # only a limited ticket is refused so (not stored: decided again)
                    raise limit.refusal(exc.details) from None
                except RetryScript:  # today's calendar entry changed since it was read: read it again
                    self.rota.invalidate()
                except ServiceClosedError as exc:
                    if exc.code != "service_closed":
                        raise
                    raise ServiceClosedError(_closed_message(svc, opening), code="service_closed",
                                             reason=opening.reason,
                                             opens_at=opening.opens_at.isoformat() if opening.opens_at else None) from None
                except RuleRefusedError as exc:
                    raise self.refusal(exc, svc) from None
            else:
                raise ConflictError("the calendar keeps changing; try again", code="busy")
        if result.get("replayed"):  # answered before (perhaps another day): show the ticket as it is now
            first = result["ticket"]
            t = self._load(first["day"], first["id"]) or first
            return Issued(self.public_ticket(t, with_token=True), False)
        known = {"ahead": result["ahead"], "service_ms": result["service_ms"],
                 "hall_now": estimates.for_service(self.config, svc.code, result["seq"], result["pace"],
                                                   result["windows"])}
        return Issued(self.public_ticket(result["ticket"], with_token=True, known=known), True)

    def _issue_keys(self, day: str, service: str) -> tuple[list[str], list[int]]:
        """issue.lua's own KEYS for ``service`` on ``day`` (a fresh list: the caller may add to it) and the windows
        serving it, whose state this ticket's wait estimate needs (read by the script). The config is immutable, so
        both are built once per day and service."""
        found = self._issue_keys_memo((day, service))
        return list(found[0]), found[1]

    @functools.cached_property
    def _issue_keys_memo(self) -> SmallMemo[tuple[str, str], tuple[tuple[str, ...], list[int]]]:
        def make(day_service: tuple[str, str]) -> tuple[tuple[str, ...], list[int]]:
            day, service = day_service
            k = self.keys
            keys = [
                k.counter(day, service), k.queue(day, service), k.tickets(day), k.tokens(day), k.service_times,
                k.schedule, k.id_day(day), k.id_history, k.remote_pending(day), k.remote_index(day),
                k.remote_counter(day, service), k.contacts(day), k.service_pace(day),
            ]
            serving = self.config.windows_serving(service)
            for n in serving:
                keys += [k.window(n), k.window_holder(n)]
            return tuple(keys), serving

        return SmallMemo(256, make)  # every service of a few days; then yesterday's lists go

    @functools.cached_property
    def _issue_errors(self) -> dict[str, type[OneWindowError]]:
        """issue.lua's refusal codes that are not the runner's own (built once)."""
        return {**self.rule_errors, "rate_limited": RateLimitedError}

    # ------------------------------------------------------------------------------------------- reception
    @property
    def rule_errors(self) -> dict[str, type[OneWindowError]]:
        """Script codes of the hall's rules → :class:`RuleRefusedError` (the runner's ``errors_map``)."""
        from shared.realname import REFUSALS

        return dict.fromkeys(REFUSALS, RuleRefusedError)

    def refusal(self, exc: OneWindowError, svc: Service | None = None, **context) -> OneWindowError:
        """``exc`` with its messages in Chinese and English (see :func:`shared.realname.explain`)."""
        from shared.realname import explain

        return explain(exc, self.config, svc, **context)

    def notify_parts(self) -> int:
        return self.config.notifications.partitions

    def reception_keys(self, day: str) -> list[str]:
        """The keys every script that may end a real-name ticket or notify its holder takes, in this order:
        remote_pending(day), id_day(day), id history, id history seen, contacts(day), the notify outbox's entries
        and partitions, and its queue of each delivery partition."""
        k = self.keys
        return [k.remote_pending(day), k.id_day(day), k.id_history, k.id_history_seen, k.contacts(day),
                k.outbox_entries(NOTIFY_TOPIC), k.outbox_partitions(NOTIFY_TOPIC),
                *(k.outbox_queue(NOTIFY_TOPIC, p) for p in range(self.notify_parts()))]

    def reception_args(self) -> str:
        """The settings JSON that goes with :meth:`reception_keys`: delivery partitions, the notification kinds the
        hall sends, how long no-show histories are kept."""
        n = self.config.notifications
        kinds = [kind for kind in n.kinds if n.enabled]
        return json.dumps({"parts": n.partitions, "kinds": kinds, "keep_ms": self.noshow_keep_ms()})

    def noshow_keep_ms(self) -> int:
        """How long an ID's no-shows matter to any service's rule (M + D days, the longest)."""
        rules = [s.id_rules for s in self.config.services.values() if s.id_rules.noshow_limit > 0]
        return max((r.noshow_days + r.ban_days for r in rules), default=0) * 86_400_000

    # ------------------------------------------------------------------------------------------- windows
    def _window_keys(self, day: str, number: int) -> list[str]:
        return [self.keys.tickets(day), self.keys.window(number)]

    def call_next(self, window: int, clerk: str = "") -> dict:
        """Call the next ticket for ``window`` (see the module doc for the order). Remote tickets skipped on the
        way expire (events ``ticket_expired``); ConflictError ``queue_empty`` when nothing callable waits."""
        w = self.window_config(window)
        day, now_ms = self.today(), self.clock.now_ms()
        keys = self._window_keys(day, window) + [self.keys.recent_calls, self.keys.window_queue(day, window)]
        keys += self.reception_keys(day)
        keys += [self.keys.queue(day, s) for s in w.services]
        result = self.runner.run("call_next", keys, [window, now_ms, clerk, self.config.display.recent_calls,
                                               self.reception_args()])
        return self.public_ticket(result["ticket"])

    def call_number(self, window: int, number: str, clerk: str = "") -> dict:
        """Call one waiting ticket of today by its number (``A012``), out of order. The script decides whether
        this window may call it (transferred here, or in the queue of one of the window's services)."""
        w = self.window_config(window)
        self.service_for_number(number)
        day, now_ms = self.today(), self.clock.now_ms()
        keys = self._window_keys(day, window) + [self.keys.recent_calls, self.keys.window_queue(day, window)]
        keys += self.reception_keys(day)
        keys += [self.keys.queue(day, s) for s in w.services]
        args = [window, now_ms, clerk, self.config.display.recent_calls, self.reception_args(), f"{day}-{number}",
                *w.services]
        result = self.runner.run("call_number", keys, args)
        return self.public_ticket(result["ticket"])

    def recall(self, window: int, clerk: str = "") -> dict:
        """Announce the window's current ticket again."""
        self.window_config(window)
        keys = self._window_keys(self.today(), window) + [self.keys.recent_calls]
        result = self.runner.run("recall", keys, [window, self.clock.now_ms(), clerk, self.config.display.recent_calls])
        return self.public_ticket(result["ticket"])

    def finish(self, window: int, outcome: str, clerk: str = "", *, matter: str | None = None,
               case_no: str | None = None) -> dict:
        """Finish the current ticket as ``handled`` (办件) or ``consulted`` (咨询). ``matter``: the code of the 事项
        served, one of the ticket's service's ``matters`` (None: the service's first; UnprocessableError
        ``unknown_matter`` otherwise — the script checks it against the ticket's service as it is then).
        ``case_no``: the 办件编号, if any (1–64 of A–Z a–z 0–9 - _ . /). Both travel with the visit's rating."""
        if outcome not in OUTCOMES:
            raise ValidationError("outcome must be 'handled' (办件) or 'consulted' (咨询)", code="invalid_outcome")
        if matter is not None and (not isinstance(matter, str) or not MATTER.fullmatch(matter)):
            raise ValidationError("'matter' must be a matter code of the service", code="invalid_value", field="matter")
        if case_no is not None and (not isinstance(case_no, str) or not CASE_NO.fullmatch(case_no.strip())):
            raise ValidationError("'case_no' (办件编号) must be 1–64 of A–Z a–z 0–9 - _ . /", code="invalid_value",
                                  field="case_no")
        return self._close(window, "finish", outcome, clerk, matter or "", (case_no or "").strip())

    def no_show(self, window: int, clerk: str = "") -> dict:
        """The called citizen did not come: the ticket ends as no_show (过号) — only after ``[counter]
        min_calls_before_no_show`` calls (ConflictError ``too_few_calls``, decided in the script). The same window
        may take it back for ``no_show_undo_seconds`` (:meth:`undo_no_show`)."""
        return self._close(window, "no_show", "", clerk)

    def undo_no_show(self, window: int, ticket_id: str, clerk: str = "") -> dict:
        """Take back a 过号 made at ``window``: the ticket waits again in its place (same band, original order) and
        ``no_show_undone`` is appended. Decided in ``undo_no_show.lua`` from the ticket as it is then: NotFoundError
        ``not_found``; ConflictError ``not_no_show`` (not marked no-show: never, or undone already, or changed),
        ``wrong_window`` (marked by another window), ``undo_expired`` (after ``no_show_undo_seconds``)."""
        self.window_config(window)
        day = self._day_of(ticket_id if isinstance(ticket_id, str) else "")
        if day != self.today():
            raise ConflictError("only today's no-shows can be undone", code="undo_expired")
        services, windows = list(self.config.services), sorted(self.config.windows)
        keys = [self.keys.tickets(day)] + [self.keys.queue(day, s) for s in services]
        keys += [self.keys.window_queue(day, n) for n in windows]
        keys += [self.keys.id_day(day), self.keys.id_history]
        args = [window, self.clock.now_ms(), clerk, ticket_id, self.config.counter.no_show_undo_seconds * 1000,
                len(services), *services, *windows]
        result = self.runner.run("undo_no_show", keys, args, {
            "not_no_show": ConflictError, "wrong_window": PermissionDeniedError, "undo_expired": ConflictError})
        known = {"ahead": result["ahead"], "service_ms": None}
        return self.public_ticket(result["ticket"], known=known)

    def _close(self, window: int, action: str, outcome: str, clerk: str, matter: str = "", case_no: str = "") -> dict:
        self.window_config(window)
        day = self.today()
        keys = self._window_keys(day, window) + [self.keys.service_times, self.keys.unrated]
        keys += self.reception_keys(day)
        keys.append(self.keys.service_pace(day))  # last: the day's pace (shared/estimates.py)
        matters = {code: [[m.code, m.name] for m in svc.matters] for code, svc in self.config.services.items()}
        args = [window, self.clock.now_ms(), clerk, action, outcome, json.dumps(matters, ensure_ascii=False), matter,
                case_no, self.reception_args(), self.config.counter.min_calls_before_no_show]
        result = self.runner.run("close_current", keys, args, {"unknown_matter": UnprocessableError,
                                                               "too_few_calls": ConflictError})
        return self.public_ticket(result["ticket"])

    def transfer(self, window: int, *, service: str | None = None, to_window: int | None = None, clerk: str = "",
                 reason: str | None = None, reason_text: str | None = None) -> dict:
        """Send the current ticket to the head of another service's queue or of another window — never to its own
        service (UnprocessableError ``same_service``, decided in the script). ``reason``: a code of
        :data:`TRANSFER_REASONS`; ``reason_text``: free text (≤ 200); both travel on ``ticket_transferred``."""
        if (service is None) == (to_window is None):
            raise ValidationError("give exactly one of 'service' or 'window'", code="invalid_transfer")
        why = transfer_reason(reason, reason_text)
        self.window_config(window)
        day = self.today()
        if service is not None:
            self.service(service)
            target, kind, value = self.keys.queue(day, service), "service", service
        else:
            self.window_config(to_window)
            target, kind, value = self.keys.window_queue(day, to_window), "window", to_window
        keys = self._window_keys(day, window) + [target]
        result = self.runner.run("transfer", keys, [window, self.clock.now_ms(), clerk, kind, value,
                                                     json.dumps(why, ensure_ascii=False)],
                                 {"same_service": UnprocessableError})
        return self.public_ticket(result["ticket"])

    def pause(self, window: int, reason: str = "", clerk: str = "") -> None:
        """Pause a window (no calls until resumed)."""
        self.window_config(window)
        self.runner.run("pause", self._window_keys(self.today(), window), [window, self.clock.now_ms(), clerk, True, reason])

    def resume(self, window: int, clerk: str = "") -> None:
        self.window_config(window)
        self.runner.run("pause", self._window_keys(self.today(), window), [window, self.clock.now_ms(), clerk, False, ""])

    def cancel(self, ticket_id: str, actor: str = "citizen") -> dict:
        """Withdraw a waiting ticket (the script finds the queue it is in now)."""
        day = self._day_of(ticket_id)
        services, windows = list(self.config.services), sorted(self.config.windows)
        keys = [self.keys.tickets(day), self.keys.remote_pending(day), self.keys.id_day(day)]
        keys += [self.keys.queue(day, s) for s in services]
        keys += [self.keys.window_queue(day, n) for n in windows]
        result = self.runner.run("cancel", keys, [self.clock.now_ms(), ticket_id, actor, len(services), *services, *windows])
        return self.public_ticket(result["ticket"])

    def assist(self, number: str, *, by: str, note: str = "") -> dict:
        """帮办代办: mark today's waiting or called ticket ``number`` (``A012``) as helped by a guide (导办) or the
        supervisor, once (``ticket_assisted``; marking it again changes nothing: ``changed`` False). NotFoundError
        ``not_found``, ConflictError ``not_assistable`` (finished, cancelled, no-show). Returns ``{"ticket",
        "changed"}``."""
        self.service_for_number(number)
        if not isinstance(note, str) or len(note) > 200:
            raise ValidationError("'note' must be text of at most 200 characters", code="invalid_value", field="note")
        day = self.today()
        result = self.runner.run("assist", [self.keys.tickets(day)],
                                 [f"{day}-{number}", self.clock.now_ms(), by, note.strip()],
                                 {"not_found": NotFoundError, "not_assistable": ConflictError})
        if result.get("changed"):
            logger.info("ticket %s marked 帮办代办 by %s", number, by)
        return {"ticket": self.public_ticket(result["ticket"]), "changed": bool(result.get("changed"))}

    def record_event(self, event_type: str, payload: dict, *, hash_key: str | None = None, field: str = "",
                     value: str = "") -> int:
        """Append an event that changes no queue, optionally setting one hash field atomically; returns its seq."""
        result = self.runner.run("record_event", [hash_key or self.keys.seq], [event_type, self.clock.now_ms(),
                                                  json.dumps(payload, ensure_ascii=False), field, value])
        return result["seq"]

    # ------------------------------------------------------------------------------------------- reads
    def _day_of(self, ticket_id: str) -> str:
        m = TICKET_ID.fullmatch(ticket_id or "")
        if not m:
            raise NotFoundError("no such ticket", code="not_found")
        return m.group(1)

    def _load(self, day: str, ticket_id: str) -> dict | None:
        raw = self.redis.hget(self.keys.tickets(day), ticket_id)
        return json.loads(raw) if raw else None

    def service_for_number(self, number: str) -> Service:
        m = NUMBER.fullmatch(number or "")
        if not m or int(m.group(2)) == 0:
            raise ValidationError("a ticket number is one capital letter and three digits, like A012", code="invalid_number")
        svc = self._services_by_prefix.get(m.group(1))
        if svc is None:
            raise UnprocessableError(f"no service uses the letter {m.group(1)}", code="unknown_prefix")
        return svc

    def get_ticket(self, ticket_id: str) -> dict:
        """A ticket's public view by id (``20261127-A012``)."""
        t = self._load(self._day_of(ticket_id), ticket_id)
        if t is None:
            raise NotFoundError("no such ticket", code="not_found")
        return self.public_ticket(t)

    def ticket_by_token(self, token: str) -> dict:
        """The ticket a tracking token belongs to (the token reveals that ticket only)."""
        if not TOKEN.fullmatch(token or ""):
            raise NotFoundError("no such ticket", code="not_found")
        ticket_id = self.redis.hget(self.keys.tokens(token[:8]), token)
        if not ticket_id:
            raise NotFoundError("no such ticket", code="not_found")
        return self.get_ticket(ticket_id)

    def hall_now(self) -> estimates.HallNow:
        """Who serves what now, the queues and today's pace: what every wait estimate comes from
        (:mod:`shared.estimates`)."""
        return estimates.read(self)

    def public_ticket(self, t: dict, *, with_token: bool = False, known: dict | None = None) -> dict:
        """The ticket as the API shows it; the tracking token only for its issuer (``with_token``).
        ``known`` = {"ahead", "service_ms"} when a script already read them (saves two round trips), and
        ``"hall_now"`` (:func:`shared.estimates.for_service`) when it also read what the wait estimate needs."""
        svc = self.config.services[t["service"]]
        day = t["day"]
        out = {
            "id": t["id"], "number": t["number"], "service": svc.code, "service_name": svc.name,
            "service_name_en": svc.name_en, "status": t["status"], "priority": bool(t.get("priority")),
            "issued_at": self.clock.from_ms(t["issued_ms"]).isoformat(),
            "windows": [t["target_window"]] if t.get("target_window") else self.config.windows_serving(svc.code),
            "window": t.get("window"), "calls": t.get("calls", 0), "transfers": t.get("transfers", 0),
            "outcome": t.get("outcome"), "ahead": None, "estimated_wait_minutes": None,
            "realname": bool(t.get("realname")), "green": t.get("green"),
            "appointment": bool(t.get("appointment")), "booking": t.get("booking"), "slot": t.get("slot"),
            "remote": bool(t.get("remote")),
        }
        if t.get("remote"):
            out["arrived"] = bool(t.get("arrived"))
        if t["status"] == "no_show" and isinstance(t.get("no_show"), dict):  # who marked it, when (for the undo)
            out["no_show"] = {"window": t["no_show"].get("window"),
                              "at": self.clock.from_ms(int(t["no_show"].get("ms") or 0)).isoformat()}
        if t.get("called_ms"):
            out["called_at"] = self.clock.from_ms(t["called_ms"]).isoformat()
        if isinstance(t.get("matter"), dict):  # finished: the 事项 served and the 办件编号
            out["matter"] = {"code": t["matter"].get("code"), "name": t["matter"].get("name")}
        if t.get("case_no"):
            out["case_no"] = t["case_no"]
        out["wait"] = None
        out["assisted"] = isinstance(t.get("assisted"), dict)  # 帮办代办 (a guide or the supervisor set it: who, when)
        if t["status"] == "waiting":
            if known is not None:
                out["ahead"] = known["ahead"]
            else:
                key = self.keys.window_queue(day, t["target_window"]) if t.get("target_window") else self.keys.queue(day, svc.code)
                rank = self.redis.zrank(key, t["id"])
                out["ahead"] = rank if rank is not None else 0
            # one place for estimates (shared/estimates.py): staffed, unpaused windows and today's pace (read by the
            # script that acted, when it did: ``known["hall_now"]``)
            hall_now = (known or {}).get("hall_now") or self.hall_now()
            wait = hall_now.estimate(svc.code, out["ahead"], t.get("target_window") or None)
            out["wait"] = {"state": wait["state"], "minutes": wait["minutes"]}
            out["estimated_wait_minutes"] = wait["minutes"]
        if with_token:
            out["token"] = t["token"]
        return out

    def snapshot(self) -> dict:
        """What screens show, consistent at one ``seq``: current calls, recent calls, waiting per service."""
        day = self.today()
        windows = sorted(self.config.windows)
        services = list(self.config.services)
        keys = [self.keys.recent_calls, self.keys.tickets(day)]
        keys += [self.keys.window(n) for n in windows]
        keys += [self.keys.queue(day, s) for s in services]
        keys += [self.keys.window_queue(day, n) for n in windows]
        r = self.runner.run("snapshot", keys, [len(windows), len(services)])
        current = []
        for n, w in zip(windows, as_list(r["windows"])):
            t = json.loads(w["current"]) if w["current"] else None
            current.append({
                "window": n, "name": self.config.windows[n].name, "paused": w["paused"],
                "pause_reason": w["reason"] or None,
                "ticket": _call_view(t, self.config) if t and t["status"] == "called" else None,
            })
        recent = [json.loads(x) for x in as_list(r["recent"])]
        today_recent = [c for c in recent if self.clock.business_date(self.clock.from_ms(c["at"])) == self.clock.business_date()]
        waiting = dict(zip(services, as_list(r["waiting"])))
        return {
            "seq": r["seq"], "entry": r.get("entry"), "day": day, "now": self.clock.now().isoformat(),
            "windows": current,
            "recent_calls": [_recent_view(c, self.config) for c in today_recent],
            "waiting": waiting,
            "window_waiting": dict(zip((str(n) for n in windows), as_list(r["window_waiting"]))),
        }

    def services_overview(self) -> list[dict]:
        """Every service: names, prefix, open now (and why not), waiting, estimated wait."""
        now = self.clock.now()
        day = day_key(now.date())
        pipe = self.redis.pipeline(transaction=False)
        for code in self.config.services:
            pipe.zcard(self.keys.queue(day, code))
            pipe.get(self.keys.counter(day, code))
        counts = pipe.execute()
        calendar = self.rota.calendar()
        plan = calendar.plan(self.config, now.date())
        hall = self.hall_now()
        out = []
        for i, svc in enumerate(self.config.services.values()):
            waiting, issued = counts[2 * i], int(counts[2 * i + 1] or 0)
            opening = availability(self.config, svc, now, calendar.overrides, plan=plan)
            if opening.open and issued >= svc.daily_quota:
                opening = Availability(False, "quota_reached", None)
            out.append({
                "code": svc.code, "name": svc.name, "name_en": svc.name_en, "prefix": svc.prefix,
                "open": opening.open, "closed_reason": opening.reason,
                "opens_at": opening.opens_at.isoformat() if opening.opens_at else None,
                "waiting": waiting, "estimated_wait_minutes": None, "wait": None,
                "windows": self.config.windows_serving(svc.code),
                "issued_today": issued, "daily_quota": svc.daily_quota,
            })
            # a new ticket's estimate: ``waiting`` people ahead, only staffed unpaused windows (shared/estimates.py)
            wait = hall.estimate(svc.code, waiting)
            out[-1]["wait"] = {"state": wait["state"], "minutes": wait["minutes"], "windows": wait["windows"]}
            out[-1]["estimated_wait_minutes"] = wait["minutes"]
        return out

    def ping_store(self) -> None:
        """Raise a redis error when the hall's store does not answer. On a cluster only the hall's own slot counts
        (its primary, found again after a failover): a dead node serving other slots does not take the hall down."""
        if is_cluster(self.redis):
            self.redis.exists(self.keys.seq)
        else:
            self.redis.ping()

    def last_seq(self) -> int:
        return int(self.redis.get(self.keys.seq) or 0)

    def seq_entry(self) -> dict:
        """``{"seq", "entry"}``: the hall's seq and the stream entry id of the event at it (None when the stream does
        not end with it), read together by one script (``seq_entry.lua``) — what a snapshot assembled from the reads
        that follow starts from (read first: an event racing those reads is applied again rather than missed). A
        screen sends the entry back with ``catch_up`` (:mod:`shared.catch_up`)."""
        r = self.runner.run("seq_entry", [], [])
        return {"seq": int(r["seq"]), "entry": r.get("entry")}

    def events_since(self, start: str = "-") -> list[events.Event]:
        return list(events.read_range(self.redis, self.keys.events, start))


def transfer_reason(reason: str | None, text: str | None) -> dict:
    """The reason of a transfer as the event carries it: ``{code, label, label_en, text}`` (``{}`` for none)."""
    if reason is not None and (not isinstance(reason, str) or reason not in TRANSFER_REASONS):
        raise ValidationError(f"'reason' must be one of: {', '.join(TRANSFER_REASONS)}", code="invalid_value",
                              field="reason")
    if text is not None and not isinstance(text, str):
        raise ValidationError("'reason_text' must be text", code="wrong_type", field="reason_text")
    text = (text or "").strip()
    if len(text) > TRANSFER_REASON_TEXT_MAX:
        raise ValidationError(f"'reason_text' is longer than {TRANSFER_REASON_TEXT_MAX} characters",
                              code="invalid_value", field="reason_text")
    if reason is None and not text:
        return {}
    out: dict = {"text": text}
    if reason is not None:
        out.update(code=reason, label=TRANSFER_REASONS[reason][0], label_en=TRANSFER_REASONS[reason][1])
    return out


def _call_view(t: dict, config: Config) -> dict:
    svc = config.services[t["service"]]
    return {"id": t["id"], "number": t["number"], "service": svc.code, "service_name": svc.name,
            "service_name_en": svc.name_en, "window": t.get("window"), "calls": t.get("calls", 1),
            "called_ms": t.get("called_ms"), "appointment": bool(t.get("appointment"))}  # 预约: marked on screens


def _recent_view(c: dict, config: Config) -> dict:
    svc = config.services.get(c["service"])
    return {**c, "service_name": svc.name if svc else c["service"], "service_name_en": svc.name_en if svc else ""}


def _closed_message(svc: Service, opening: Availability) -> str:
    when = f"; opens {opening.opens_at:%Y-%m-%d %H:%M}" if opening.opens_at else ""
    return f"{svc.name} ({svc.name_en}) is not issuing tickets now: {opening.reason}{when}"
