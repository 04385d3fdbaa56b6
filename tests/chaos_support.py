"""The chaos tests' load and their verdict (tests/test_chaos.py on one server or a cluster,
tests/test_cluster_chaos.py): HTTP clients issuing and calling through a real `onewindow serve` while a test breaks
its store, each sending a request until it is answered and logging every acknowledged action; afterwards, what the
clients were told is checked against the event stream and the stored state (:func:`check_outcome`).

Load: ``issuers`` clients send about ``rate`` tickets/s together (half with a kiosk ``request_id``, half with an
``Idempotency-Key`` only), and the windows call next, sometimes recall, and finish through the HTTP API with clerk
sessions. A request that gets a network error or a 5xx is sent again with the same ``request_id`` /
``Idempotency-Key``.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from faults import wait_for
from hall_support import DEMO_PASSWORD, HALL_TOML
from invariants import check_all

ISSUERS = 6
ISSUE_RATE = 50.0  # tickets per second, all issuers together
WINDOWS = (1, 4, 5)  # 人社 only, 市场 only, both
ANSWER_DEADLINE = 120.0  # a client that cannot get an answer this long after the load stops fails the test
EVENT_OF = {"call-next": "ticket_called", "recall": "ticket_recalled", "finish": "ticket_finished"}
HALL = "ow:{testhall}"


@dataclass
class Journal:
    """What the clients saw: acknowledged actions, and the failures that made them send again."""

    issued: list[dict] = field(default_factory=list)  # {"id", "number", "created", "attempts", "via"}
    actions: list[tuple[str, int, str]] = field(default_factory=list)  # (action, window, ticket id)
    refused: Counter = field(default_factory=Counter)  # 4xx codes
    unavailable: int = 0  # 503 answers
    network_errors: int = 0  # refused / reset connections, timeouts
    replays: int = 0  # answers marked Idempotent-Replayed or created false
    requests: list[dict] = field(default_factory=list)  # every request sent until answered: its attempts (failures)
    faults: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, what the test did to a server)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self, what: str) -> None:
        with self.lock:
            self.faults.append((time.monotonic(), what))

    def count(self) -> tuple[int, int]:
        with self.lock:
            return len(self.issued), len(self.actions)

    def seen(self, attr: str) -> int:
        with self.lock:
            return getattr(self, attr)


class Client:
    """One HTTP client (its own cookies) that sends a request until it is answered."""

    def __init__(self, base: str, journal: Journal, stop_by: list[float]) -> None:
        self.base = base
        self.journal = journal
        self.stop_by = stop_by  # [deadline]: set when the load stops
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.headers: dict[str, str] = {}

    def send(self, method: str, path: str, body: dict | None = None, key: str | None = None) -> tuple[int, dict, bool]:
        """(status, body, replayed) of the first 2xx/4xx answer; the same request (and key) again after anything else."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", **self.headers}
        if key:
            headers["Idempotency-Key"] = key
        # what happened to each copy sent: (sent at, answered at, status or error, replayed) — for a failure's report
        log = {"what": f"{method} {path}", "key": key or (body or {}).get("request_id"), "attempts": []}
        with self.journal.lock:
            self.journal.requests.append(log)
        while True:
            if time.monotonic() > self.stop_by[0]:
                raise AssertionError(f"no answer to {method} {path} in time")
            req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
            sent = time.monotonic()
            try:
                with self.opener.open(req, timeout=20) as r:
                    status, payload = r.status, json.loads(r.read())
                    replayed = r.headers.get("Idempotent-Replayed") == "true"
                log["attempts"].append((sent, time.monotonic(), status, replayed))
                log["answer"] = payload
                return status, payload, replayed
            except urllib.error.HTTPError as exc:
                try:
                    status, payload = exc.code, json.loads(exc.read())
                except (OSError, ValueError, http.client.HTTPException):
                    status, payload = 599, None  # the answer was cut off: send again
                replayed = exc.headers.get("Idempotent-Replayed") == "true"
                log["attempts"].append((sent, time.monotonic(), status, replayed))
                if status < 500:
                    log["answer"] = payload
                    return status, payload, replayed
                with self.journal.lock:
                    self.journal.unavailable += status == 503
            except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, reset, timed out, cut off
                log["attempts"].append((sent, time.monotonic(), type(exc).__name__, False))
                with self.journal.lock:
                    self.journal.network_errors += 1
            time.sleep(0.1)  # back off before sending the same request again (pacing, not synchronisation)


def _key(rng: random.Random, what: str) -> str:
    return f"{what}-{rng.getrandbits(64):016x}"


def issuer(i: int, base: str, journal: Journal, stop: threading.Event, stop_by: list[float], rng: random.Random,
           interval: float) -> None:
    client = Client(base, journal, stop_by)
    next_at = time.monotonic()
    n = 0
    while not stop.is_set():
        next_at += interval
        n += 1
        body: dict = {"service": rng.choice(["renshe", "shichang"])}
        key = None
        if n % 2:
            body["request_id"] = _key(rng, f"k{i}")
        else:
            key = _key(rng, f"p{i}")
        status, answer, replayed = client.send("POST", "/api/v1/tickets", body, key)
        with journal.lock:
            if status in (200, 201):
                t = answer["ticket"]
                journal.issued.append({"id": t["id"], "number": t["number"], "created": answer["created"],
                                       "via": "request_id" if key is None else "key"})
                journal.replays += not answer["created"]
            else:
                journal.refused[answer["error"]["code"]] += 1
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)  # the load's pace
        else:
            next_at = time.monotonic()


def window(number: int, base: str, journal: Journal, stop: threading.Event, stop_by: list[float],
           rng: random.Random, problems: list[str]) -> None:
    client = Client(base, journal, stop_by)
    status, answer, _ = client.send("POST", "/api/v1/login", {"username": f"clerk{number}", "password": DEMO_PASSWORD,
                                                              "window": number}, _key(rng, "login"))
    assert status == 200, answer
    client.headers["X-CSRF-Token"] = answer["csrf_token"]

    def act(action: str, body: dict | None = None) -> dict | None:
        status, answer, replayed = client.send("POST", f"/api/v1/windows/{number}/{action}", body, _key(rng, action))
        with journal.lock:
            journal.replays += replayed
            if status == 200:
                journal.actions.append((action, number, answer["ticket"]["id"]))
                return answer["ticket"]
            journal.refused[answer["error"]["code"]] += 1
        if answer["error"]["code"] != "queue_empty":
            problems.append(f"window {number} {action}: {status} {answer['error']}")
        return None

    while not stop.is_set() and not problems:
        ticket = act("call-next")
        if ticket is None:
            stop.wait(0.05)  # nobody waiting: look again soon
            continue
        if rng.random() < 0.2:
            act("recall")
        act("finish", {"outcome": rng.choice(["handled", "consulted"])})
        stop.wait(0.02)


def chaos_config(tmp_path: Path, redis_section: str = "") -> Path:
    """The test hall's config as a file with var/ under ``tmp_path`` (and ``redis_section`` lines in ``[redis]``)."""
    text = HALL_TOML.read_text(encoding="utf-8").replace('var_dir = "../../var/test"', f'var_dir = "{tmp_path / "var"}"')
    if redis_section:
        text = text.replace('[redis]\nurl = ""\n', '[redis]\nurl = ""\n' + redis_section.strip() + "\n")
        assert redis_section.strip() in text
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


class ChaosLoad:
    """The issuing clients and the windows against ``base`` (a served app), on threads, until :meth:`finish`."""

    def __init__(self, base: str, seed: int, *, issuers: int = ISSUERS, rate: float = ISSUE_RATE,
                 windows: tuple[int, ...] = WINDOWS) -> None:
        self.journal = Journal()
        self.stop = threading.Event()
        self.stop_by = [float("inf")]
        self.problems: list[str] = []
        self.crashes: list[BaseException] = []
        self.threads = [self._guarded(issuer, i, base, self.journal, self.stop, self.stop_by, random.Random(seed + i),
                                      issuers / rate) for i in range(issuers)]
        self.threads += [self._guarded(window, n, base, self.journal, self.stop, self.stop_by,
                                       random.Random(seed * 7 + n), self.problems) for n in windows]
        self.started = 0.0

    def _guarded(self, fn, *args) -> threading.Thread:
        def run():
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                self.crashes.append(exc)
        return threading.Thread(target=run, daemon=True)

    def start(self) -> ChaosLoad:
        for t in self.threads:
            t.start()
        self.started = time.monotonic()
        return self

    def progress(self, issues: int, actions: int, timeout: float = 120) -> None:
        """Wait until the clients have had ``issues`` more tickets and ``actions`` more window actions acknowledged."""
        assert not self.crashes, self.crashes[0]
        base = self.journal.count()
        wait_for(lambda: self.crashes or (self.journal.count()[0] >= base[0] + issues and
                                          self.journal.count()[1] >= base[1] + actions), timeout,
                 "the clients to make progress")

    def finish(self) -> None:
        """Stop the load; every request sent must still get its answer within ``ANSWER_DEADLINE``."""
        self.stop.set()
        self.stop_by[0] = time.monotonic() + ANSWER_DEADLINE
        for t in self.threads:
            t.join(ANSWER_DEADLINE + 30)


def explain(r, journal: Journal, events: list[dict], diff: Counter, started: float, log: str = "") -> str:
    """Everything needed to tell why an acknowledged action and the stream disagree: for each ticket involved, the
    requests about it (every attempt: when, status, replayed), its events, its JSON in Redis, the stored operation
    answers that name it; the faults around those times; ``log`` (the store's log lines of interest)."""
    def at(t: float) -> str:
        return f"{t - started:8.3f}"

    out = []
    tids = sorted({tid for _kind, _w, tid in diff})
    answers: dict[str, list[str]] = {tid: [] for tid in tids}
    for k in r.scan_iter(f"{HALL}:op:*", count=1000):
        v = r.get(k) or ""
        for tid in tids:
            if tid in v:
                answers[tid].append(f"{k} ttl={r.ttl(k)} {v[:300]}")
    times = []
    for tid in tids:
        out.append(f"=== {tid}: ticket {r.hget(f'{HALL}:tickets:{tid[:8]}', tid)}")
        for e in events:
            if (e.get("ticket") or {}).get("id") == tid:
                out.append(f"  event seq {e['seq']} {e['type']} window {e.get('window')} ts {e['ts']}")
        with journal.lock:
            for req in journal.requests:
                if tid in json.dumps(req.get("answer")):
                    out.append(f"  {req['what']} key {req['key']}:")
                    for sent, got, status, replayed in req["attempts"]:
                        out.append(f"    sent {at(sent)} answered {at(got)}: {status} replayed={replayed}")
                        times += [sent, got]
        out.append(f"  stored answers naming it: {len(answers[tid])}")
        out += [f"    {a}" for a in answers[tid][:6]]
    if times:
        lo, hi = min(times) - 5, max(times) + 5
        out.append("faults around then:")
        out += [f"  {at(t)} {what}" for t, what in journal.faults if lo <= t <= hi]
    out.append("all faults:")
    out += [f"  {at(t)} {what}" for t, what in journal.faults]
    if log:
        out.append(log)
    return "\n".join(out)


def check_outcome(r, config, load: ChaosLoad, seed: int, log=lambda: "") -> str:
    """After the load: nothing acknowledged lost, nothing twice, the stream and the state agree (raises
    AssertionError with a report otherwise); returns a one-line summary. ``log()``: the store's log for a report."""
    journal = load.journal
    assert not load.crashes, f"seed {seed}: {load.crashes[0]!r}"
    assert not load.problems, f"seed {seed}: " + "; ".join(load.problems[:10])
    events, _tickets, found = check_all(r, config)
    assert not found, f"seed {seed}: " + "\n".join(found[:20])

    # every acknowledged ticket exists, once, and was issued once; no ticket nobody was told about
    acked = [t["id"] for t in journal.issued]
    assert len(acked) == len(set(acked)), f"seed {seed}: one ticket acknowledged to two requests"
    numbers = Counter(t["number"] for t in journal.issued)
    assert not numbers or numbers.most_common(1)[0][1] == 1, f"seed {seed}: a number given twice {numbers.most_common(3)}"
    issued_events = Counter(e["ticket"]["id"] for e in events if e["type"] == "ticket_issued")
    lost, unknown = set(acked) - set(issued_events), set(issued_events) - set(acked)
    assert not lost and not unknown and max(issued_events.values()) == 1, (
        f"seed {seed}: acknowledged, not in the stream {sorted(lost)[:5]}; in the stream, not acknowledged "
        f"{sorted(unknown)[:5]}; issued twice {[t for t, n in issued_events.items() if n > 1][:5]}\n"
        + explain(r, journal, events, Counter(("ticket_issued", None, t) for t in lost | unknown), load.started, log()))
    for day in {tid[:8] for tid in acked}:
        stored = r.hkeys(f"{HALL}:tickets:{day}")
        assert len(stored) == len(set(stored)) == sum(1 for tid in acked if tid.startswith(day))

    # no ticket was called twice (this load never transfers or marks no-show)
    called = Counter(e["ticket"]["id"] for e in events if e["type"] == "ticket_called")
    assert not called or max(called.values()) == 1, f"seed {seed}: {called.most_common(3)}"

    # every acknowledged window action is exactly one event, and every event was acknowledged
    from_events = Counter((e["type"], e["window"], e["ticket"]["id"]) for e in events if e["type"] in EVENT_OF.values())
    from_clients = Counter((EVENT_OF[a], w, tid) for a, w, tid in journal.actions)
    assert from_events == from_clients, (f"seed {seed}: only in the stream {list((from_events - from_clients))[:5]}, "
                                         f"only acknowledged {list((from_clients - from_events))[:5]}\n"
                                         + explain(r, journal, events, from_events ^ from_clients, load.started, log()))
    return (f"{time.monotonic() - load.started:.0f} s, {len(acked)} tickets, {len(journal.actions)} window actions, "
            f"{len(events)} events, {journal.unavailable} × 503, {journal.network_errors} network errors, "
            f"{journal.replays} replays, refused {dict(journal.refused)}")
