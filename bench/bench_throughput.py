"""Throughput of the issue path: POST /api/v1/tickets next to the same server's trivial endpoint, with wrk.

Run: ``.venv/bin/python bench/bench_throughput.py [--workers N] [--rounds 5] [--seconds 4]`` (needs ``wrk``: apt
install wrk; about a minute; loopback only; stops by itself).

The server is started the way ``make run`` starts it: ``onewindow serve`` with its default worker and its own
embedded Redis (AOF, ``appendfsync always``), on the shipped config.toml opened all day (every service 00:00–24:00,
quota 9999). The tickets are the public ones, taken by phones on the hall's Wi-Fi behind one reverse proxy
(``trusted_proxies = 1``): each request names its phone in X-Forwarded-For, two tickets per phone, so the shipped
per-address limits run on every request and never refuse (one address is allowed at most 100/min by the config).
Each request carries a fresh ``Idempotency-Key``, as the pages send one with every POST.

After a warm-up, wrk (2 threads, 8 connections, on the same two cores as the server) runs against ``/livez`` and
against issuing, interleaved, ``--rounds`` times; the figures of each kind are summed over its rounds. Printed: issues/s,
p50/p99, livez/s and the ratio livez/s ÷ issues/s (issue 15: ≥ 930 issues/s and ≤ 3× on this machine). The ratio is
judged per pair of rounds (a livez round and the issue round beside it share the machine's state: on a shared
machine the speed of the cores drifts by a third within a minute; livez runs first in even rounds and issuing first
in odd ones, so neither kind always has the warmer or the later machine) and the median of the pairs is the figure; the
ratio of the pooled rates is printed beside it. Then the
store is checked: no number was issued twice (stream events, tickets and counters agree) and every ticket a 2xx
answered is stored.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from serving import ServeProcess  # noqa: E402
from shared.clock import Clock  # noqa: E402
from shared.config import load_config  # noqa: E402
from shared.keys import HallKeys, day_key  # noqa: E402

logger = logging.getLogger("bench.throughput")
SHIPPED = ROOT / "config.toml"
ALL_DAY = 'hours = { weekday = ["00:00-24:00"], weekend = ["00:00-24:00"] }'

# One wrk script for both kinds of run. Issuing: a JSON body rotating over the services, a fresh Idempotency-Key per
# request; the id of every ticket a 2xx answered is kept per thread and written to ids_file at the end.
WRK_LUA = r"""
local services = {%(services)s}
local tag = "%(tag)s"
local issuing = %(issuing)s
local ids_file = "%(ids_file)s"
local run = %(run)d  -- each run's phones are new ones
local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  n = 0
  ids = {}
  non2xx = 0
end

function request()
  if not issuing then
    return wrk.format("GET", "/livez")
  end
  n = n + 1
  local body = '{"service":"' .. services[(n + tid) %% #services + 1] .. '"}'
  local phone = math.floor(n / 2)  -- two tickets per phone address: within the shipped burst of 3
  return wrk.format("POST", "/api/v1/tickets", {["Content-Type"] = "application/json",
    ["Idempotency-Key"] = tag .. "-" .. tid .. "-" .. n,
    ["X-Forwarded-For"] = string.format("%%d.%%d.%%d.%%d", 10 + run, tid * 16 + math.floor(phone / 65536) %% 16,
                                        math.floor(phone / 256) %% 256, phone %% 256)}, body)
end

if issuing then
  function response(status, headers, body)
    if status >= 200 and status < 300 then
      local id = string.match(body, '"id":%%s*"([^"]+)"')
      ids[#ids + 1] = id or "?"
    else
      non2xx = non2xx + 1
      if non2xx <= 3 then io.stderr:write("non-2xx " .. status .. ": " .. string.sub(body, 1, 200) .. "\n") end
    end
  end
end

function done(summary, latency, requests)
  if not issuing then return end
  local f = io.open(ids_file, "w")
  for _, thread in ipairs(threads) do
    for _, id in ipairs(thread:get("ids")) do f:write(id, "\n") end
  end
  f:close()
end
"""


def bench_config(tmp: Path) -> Path:
    """The shipped config.toml, opened all day with quota 9999 per service, data under ``tmp``, behind one trusted
    reverse proxy (the phones' addresses come in X-Forwarded-For); the public limits stay as shipped."""
    text = SHIPPED.read_text(encoding="utf-8")
    text = re.sub(r"^hours = \{.*\}$", ALL_DAY, text, flags=re.M)
    text = re.sub(r"^daily_quota = \d+", "daily_quota = 9999", text, flags=re.M)
    text = re.sub(r"^(holidays|workdays) = .*$", r"\1 = []", text, flags=re.M)
    text = re.sub(r"^trusted_proxies = \d+", "trusted_proxies = 1", text, flags=re.M)
    text = re.sub(r"^var_dir = .*$", f'var_dir = "{tmp / "var"}"', text, count=1, flags=re.M)
    path = tmp / "bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def serve_has_workers() -> bool:
    out = subprocess.run([sys.executable, "-m", "onewindow", "serve", "--help"], cwd=ROOT, capture_output=True,
                         text=True).stdout
    return "--workers" in out


def run_wrk(url: str, script: Path, seconds: float, connections: int, threads: int) -> dict:
    """One wrk run; requests/s, p50/p99 (ms), requests, non-2xx."""
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--latency",
                          "-s", str(script), url], capture_output=True, text=True, errors="replace", check=True)
    text = out.stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)$", text, re.M)
    return {"per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)), "p50": ms("50%"),
            "p99": ms("99%"), "n": requests, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "errors": errors.group(1) if errors else "", "stderr": out.stderr.strip()}


def combine(runs: list[dict], seconds: float) -> dict:
    """Figures over several runs: rate from the totals, percentiles as the median of the runs' (wrk gives no raw data)."""
    p50 = sorted(r["p50"] for r in runs)
    p99 = sorted(r["p99"] for r in runs)
    return {"per_s": sum(r["per_s"] for r in runs) / len(runs), "p50": p50[len(p50) // 2], "p99": p99[len(p99) // 2],
            "n": sum(r["n"] for r in runs), "non2xx": sum(r["non2xx"] for r in runs),
            "runs": [round(r["per_s"]) for r in runs]}


def check_store(client: redis.Redis, config, answered: list[str]) -> list[str]:
    """What is wrong in the store: numbers issued twice, counters that disagree, 2xx answers not stored."""
    keys = HallKeys(config.hall_id)
    day = day_key(Clock(config.timezone).now().date())
    problems = []
    numbers: dict[str, str] = {}
    issued_events = 0
    last = "-"
    while True:
        batch = client.xrange(keys.events, min=last, count=5000)
        if last != "-":
            batch = batch[1:]
        if not batch:
            break
        for entry_id, fields in batch:
            if fields.get("type") == "ticket_issued":
                t = json.loads(fields["data"])["ticket"]
                issued_events += 1
                if t["number"] in numbers:
                    problems.append(f"number {t['number']} issued twice ({numbers[t['number']]} and {t['id']})")
                numbers[t["number"]] = t["id"]
        last = batch[-1][0]
    stored = client.hgetall(keys.tickets(day))
    counters = sum(int(client.get(keys.counter(day, code)) or 0) for code in config.services)
    if not (issued_events == len(numbers) == len(stored) == counters):
        problems.append(f"events {issued_events}, distinct numbers {len(numbers)}, stored tickets {len(stored)}, "
                        f"counters {counters}: they should all be equal")
    missing = [i for i in answered if i not in stored]
    if missing:
        problems.append(f"{len(missing)} tickets answered 2xx are not stored (e.g. {missing[:3]})")
    if len(set(answered)) != len(answered):
        problems.append(f"{len(answered) - len(set(answered))} ticket ids answered twice")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1, help="processes (`onewindow serve --workers N`)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved livez / issue rounds (pairs)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--serve-arg", action="append", default=[], help="extra `onewindow serve` argument")
    parser.add_argument("--appendfsync", choices=("always", "everysec"), default="always",
                        help="measure what the embedded Redis's fsync policy costs (the server uses always)")
    args = parser.parse_args()
    logging.basicConfig(level="INFO", format="%(message)s")
    if not shutil.which("wrk"):
        logger.error("wrk is not installed (apt install wrk)")
        return 2
    extra = list(args.serve_arg)
    workers = 1
    if args.workers != 1:
        if serve_has_workers():
            extra += ["--workers", str(args.workers)]
            workers = args.workers
        else:
            logger.warning("`onewindow serve` has no --workers option on this branch: measuring 1 process")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config_path = bench_config(tmp)
        config = load_config(config_path)
        services = [code for code, svc in config.services.items() if not svc.id_rules.required]
        server = ServeProcess(config_path, None, *extra)
        try:
            port = json.loads((config.var_dir / "redis" / "embedded.json").read_text())["port"]
            client = redis.Redis(port=port, decode_responses=True)
            if args.appendfsync != "always":  # for the measurement only: acknowledged writes could be lost
                client.config_set("appendfsync", args.appendfsync)

            runs = iter(range(1000))

            def script(name: str, issuing: bool) -> Path:
                path = tmp / f"{name}.lua"
                path.write_text(WRK_LUA % {"run": next(runs),
                    "services": ", ".join(f'"{s}"' for s in services), "tag": f"b{int(time.time())}-{name}",
                    "issuing": "true" if issuing else "false", "ids_file": str(tmp / f"{name}.ids")})
                return path

            wrk = lambda name, issuing, seconds: run_wrk(server.url, script(name, issuing), seconds,  # noqa: E731
                                                         args.connections, args.wrk_threads)
            wrk("warm-livez", False, 2)
            warm = wrk("warm-issue", True, 3)
            logger.info("warm-up: livez, then %d issues (%.0f/s)", warm["n"], warm["per_s"])
            livez_runs, issue_runs, answered = [], [], []
            cpu = {"livez": [0.0, 0.0], "issue": [0.0, 0.0]}  # [server processes, of which Redis]

            def measured(kind: str, name: str, issuing: bool) -> dict:
                before = server.cpu_seconds(), server.cpu_seconds("valkey") + server.cpu_seconds("redis")
                result = wrk(name, issuing, args.seconds)
                cpu[kind][0] += server.cpu_seconds() - before[0]
                cpu[kind][1] += server.cpu_seconds("valkey") + server.cpu_seconds("redis") - before[1]
                return result

            for r in range(args.rounds):  # livez first in even rounds, issue first in odd ones: no order bias
                if r % 2 == 0:
                    livez_runs.append(measured("livez", f"livez{r}", False))
                issue_runs.append(measured("issue", f"issue{r}", True))
                if r % 2 == 1:
                    livez_runs.append(measured("livez", f"livez{r}", False))
                answered += (tmp / f"issue{r}.ids").read_text().split()
            answered += (tmp / "warm-issue.ids").read_text().split()
            livez, issue = combine(livez_runs, args.seconds), combine(issue_runs, args.seconds)
            problems = check_store(client, config, answered)
            errors = [r["errors"] for r in livez_runs + issue_runs + [warm] if r["errors"]]
            stderr = [r["stderr"] for r in issue_runs + [warm] if r["stderr"]]
        finally:
            server.stop()

    logger.info("")
    logger.info("%d process(es), %s, appendfsync %s; wrk -t%d -c%d, %d rounds of %.0f s each, interleaved", workers,
                " ".join(extra) or "default worker", args.appendfsync, args.wrk_threads, args.connections,
                args.rounds, args.seconds)
    logger.info("machine: %d cores, load average %.1f before, %.1f after (other work on the same cores lowers "
                "every rate; CPU per request is the steadier figure)", os.cpu_count(), load_before, os.getloadavg()[0])
    logger.info("%-28s %9s %9s %9s %9s   %s", "measurement", "requests", "per s", "p50 ms", "p99 ms", "per round")
    for name, r in (("GET /livez", livez), ("POST /api/v1/tickets", issue)):
        logger.info("%-28s %9d %9.0f %9.2f %9.2f   %s", name, r["n"], r["per_s"], r["p50"], r["p99"], r["runs"])
    pooled = livez["per_s"] / issue["per_s"]
    pairs = sorted(lz["per_s"] / max(iss["per_s"], 1e-9) for lz, iss in zip(livez_runs, issue_runs))
    ratio = statistics.median(pairs)
    per_livez = [1000 * c / max(1, livez["n"]) for c in cpu["livez"]]
    per_issue = [1000 * c / max(1, issue["n"]) for c in cpu["issue"]]
    logger.info("server CPU per request (ms, all processes / of which Redis): livez %.2f / %.2f, issue %.2f / %.2f  "
                "(%.2fx)", *per_livez, *per_issue, per_issue[0] / max(per_livez[0], 1e-9))
    logger.info("")
    logger.info("issues/s:                       %.0f  (target >= 930)  %s", issue["per_s"],
                "OK" if issue["per_s"] >= 930 else "MISSED")
    logger.info("livez/s / issues/s:             %.2fx  (target <= 3x)  %s   median of the %d pairs of rounds %s; "
                "pooled rates: %.2fx", ratio, "OK" if ratio <= 3 else "MISSED", len(pairs),
                [round(p, 2) for p in pairs], pooled)
    logger.info("p99 issuing:                    %.1f ms", issue["p99"])
    logger.info("non-2xx answers to issuing:     %d%s", issue["non2xx"], f"  {stderr[:1]}" if stderr else "")
    if errors:
        logger.info("socket errors:                  %s", errors)
    logger.info("tickets answered 2xx (checked): %d", len(answered))
    if problems:
        for p in problems:
            logger.error("STORE CHECK FAILED: %s", p)
        return 1
    logger.info("store check: every number issued once; every 2xx answer is a stored ticket  OK")
    return 0 if not issue["non2xx"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
