"""Two servers side by side: the issue path's CPU per request of two checkouts (or of one and two processes),
measured at the same time so that the shared machine's load falls on both alike.

Run: ``.venv/bin/python bench/bench_side_by_side.py BEFORE AFTER [--rounds 6] [--seconds 3]`` where BEFORE and AFTER
are source trees of this repository (``git worktree add /tmp/before <commit>``; this venv runs both) with an
optional ``:N`` for ``--workers N`` — ``bench/bench_side_by_side.py . .:2`` measures what a second process adds.

Each tree is served the way bench_throughput.py serves it (``onewindow serve``, its own embedded Redis, the shipped
config opened all day, phones behind one proxy, a fresh Idempotency-Key per ticket); then short wrk runs against
``/livez`` and against issuing go to one server and then the other, the order alternating from round to round. Printed
per side: requests/s, server CPU per request, and the ratio AFTER ÷ BEFORE of the CPU per request. Needs ``wrk``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_throughput as bt  # noqa: E402
import serving  # noqa: E402
from shared.config import load_config  # noqa: E402


def _side(spec: str) -> tuple[Path, list[str]]:
    root, _, workers = spec.rpartition(":") if ":" in spec else (spec, "", "")
    path = Path(root).resolve()
    if not (path / "onewindow").is_dir():
        raise SystemExit(f"{path} is not a source tree of this repository")
    return path, (["--workers", workers] if workers else [])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    sides = {"before": _side(args.before), "after": _side(args.after)}
    servers: dict[str, serving.ServeProcess] = {}
    runs = iter(range(1_000_000))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            services: list[str] = []
            for name, (root, extra) in sides.items():
                folder = tmp / name
                folder.mkdir()
                config_path = bt.bench_config(folder)
                services = [c for c, s in load_config(config_path).services.items() if not s.id_rules.required]
                serving.ROOT = root  # ServeProcess starts `python -m onewindow` in this tree
                servers[name] = serving.ServeProcess(config_path, None, *extra)

            def script(issuing: bool) -> Path:
                run = next(runs)
                path = tmp / f"s{run}.lua"
                path.write_text(bt.WRK_LUA % {"run": run % 200, "services": ", ".join(f'"{s}"' for s in services),
                                              "tag": f"sbs{int(time.time())}-{run}",
                                              "issuing": "true" if issuing else "false",
                                              "ids_file": str(tmp / f"s{run}.ids")})
                return path

            for server in servers.values():  # warm-up
                bt.run_wrk(server.url, script(False), 1, 8, 2)
                bt.run_wrk(server.url, script(True), 2, 8, 2)
            totals = {(n, k): [0.0, 0, 0.0] for n in servers for k in ("livez", "issue")}  # cpu s, requests, sum/s
            order = list(servers)
            for r in range(args.rounds):
                for kind in ("livez", "issue"):
                    for name in order if r % 2 == 0 else order[::-1]:
                        server = servers[name]
                        cpu = server.cpu_seconds()
                        result = bt.run_wrk(server.url, script(kind == "issue"), args.seconds, 8, 2)
                        t = totals[(name, kind)]
                        t[0] += server.cpu_seconds() - cpu
                        t[1] += result["n"]
                        t[2] += result["per_s"]
                        if result["non2xx"]:
                            print(f"{name}: {result['non2xx']} non-2xx answers ({result['stderr'][:200]})")
                            return 1
        finally:
            for server in servers.values():
                server.stop()

    per = {key: 1000 * t[0] / max(1, t[1]) for key, t in totals.items()}
    for name, (root, extra) in sides.items():
        livez, issue = totals[(name, "livez")], totals[(name, "issue")]
        print(f"{name:6s} {root} {' '.join(extra)}")
        print(f"       /livez {livez[2] / args.rounds:7.0f}/s  {per[(name, 'livez')]:.3f} ms CPU   |   issue "
              f"{issue[2] / args.rounds:6.0f}/s  {per[(name, 'issue')]:.3f} ms CPU   |   livez/s ÷ issues/s "
              f"{livez[2] / max(issue[2], 1e-9):.2f}x")
    print(f"after ÷ before: CPU per ticket {per[('after', 'issue')] / per[('before', 'issue')]:.3f}, per /livez "
          f"{per[('after', 'livez')] / per[('before', 'livez')]:.3f}; issues/s "
          f"{totals[('after', 'issue')][2] / max(totals[('before', 'issue')][2], 1e-9):.2f}x  "
          f"(load average {os.getloadavg()[0]:.1f}; {args.rounds} runs of {args.seconds:g} s per side and kind)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
