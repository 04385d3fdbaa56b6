"""What "one paper ticket per ticket" costs a kiosk ticket: issue + print with the print claim
(``KioskPrinter.print_once``: print_claim.lua before and after the print) next to issue + print without it
(``print_ticket``, as before), on the ``file`` backend (the ESC/POS bytes written to a file: no device time, so the
two Redis round trips the claim adds are as visible as they can be; a real printer takes hundreds of ms).

Run: ``.venv/bin/python bench/bench_kiosk_print.py`` (about 20 s; a private embedded Redis on loopback, stopped at
the end). Paired rounds in one run: the ratio is comparable on a noisy shared machine. The public issue path (phones)
prints nothing and does not claim: unaffected.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.printing import KioskPrinter  # noqa: E402
from shared.clock import FixedClock  # noqa: E402
from shared.config import load_config  # noqa: E402
from shared.embedded import EmbeddedRedis  # noqa: E402
from shared.engine import Engine  # noqa: E402
from shared.printer_health import PrinterHealth  # noqa: E402
from shared.redis_client import connect  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tickets", type=int, default=300, help="tickets per round and way")
    args = ap.parse_args()
    logging.getLogger("kiosk.printing.backends").setLevel(logging.ERROR)  # "not confirmed": the file backend cannot
    with tempfile.TemporaryDirectory(prefix="ow-bench-print-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis").start()  # appendfsync always, as the server runs it
        try:
            run(server.url, Path(tmp), args.rounds, args.tickets)
        finally:
            server.stop()


def run(url: str, tmp: Path, rounds: int, tickets: int) -> None:
    config = load_config(ROOT / "config.toml")
    services = {code: replace(s, daily_quota=100_000) for code, s in config.services.items()}
    config = replace(config, services=services, var_dir=tmp / "var",
                     printer={"backend": "file", "file_path": str(tmp / "tickets.bin")})
    clock = FixedClock(config.timezone, datetime(2026, 11, 27, 10, 0, tzinfo=config.timezone))
    client = connect(url)
    engine = Engine(client, config, clock)
    printer = KioskPrinter.from_config(PrinterHealth(engine))
    base = "http://127.0.0.1:8000"
    n = 0

    def one(claimed: bool) -> None:
        nonlocal n
        n += 1
        ticket = engine.issue("renshe", request_id=f"bench-print-{n:08d}", kiosk="lobby-1").ticket
        ticket["tracking_url"] = f"{base}/t/{ticket['token']}"
        outcome = printer.print_once(ticket, "lobby-1") if claimed else printer.print_ticket(ticket, "lobby-1")
        assert outcome.status == "printed", outcome

    for _ in range(50):  # warm up: scripts loaded, connections open
        one(True)
        one(False)
    ratios, per_ticket = [], {True: [], False: []}
    for _ in range(rounds):  # the two ways alternate ticket by ticket: both see the same machine
        spent = {True: 0.0, False: 0.0}
        for i in range(2 * tickets):
            claimed = i % 2 == 1
            started = time.perf_counter()
            one(claimed)
            spent[claimed] += time.perf_counter() - started
        for claimed in (False, True):
            per_ticket[claimed].append(spent[claimed] / tickets * 1000)
        ratios.append(per_ticket[True][-1] / per_ticket[False][-1])
    plain, once = statistics.median(per_ticket[False]), statistics.median(per_ticket[True])
    print(f"kiosk ticket, issue + print on the file backend, {rounds} paired rounds × {tickets} tickets")
    print(f"  without the print claim : {plain:.3f} ms per ticket (median of rounds)")
    print(f"  with the print claim    : {once:.3f} ms per ticket (median of rounds)")
    print(f"  ratio (median of paired rounds): {statistics.median(ratios):.2f}×; "
          f"added per ticket: {once - plain:.3f} ms")
    client.close()


if __name__ == "__main__":
    main()
