"""The kiosk's printer in the server: printing issued tickets, and the printer's health.

One print per newly created ticket (an idempotent replay prints nothing), never longer than the printer's
``timeout_seconds``; whatever goes wrong, the ticket already exists and the caller gets an outcome, never an
exception. The printer's state is kept per kiosk in one Redis hash (``HallKeys.meta("printers")``: kiosk id →
JSON). A change from working to faulted appends ``printer_faulted`` {kiosk, kind, message, number, backend}, the
way back appends ``printer_recovered`` {kiosk, after, backend}; reading the previous state, deciding, writing the new
one and the event are one script (``printer_state.lua``). Staff see the events; citizens only ever see the outcome's
``status``/``reason`` codes, which the kiosk page turns into sentences.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import redis

from shared import events
from shared.config import Config
from shared.engine import Engine

from .backends import make_printer
from .printer import Printer, PrinterFault, PrinterStatus
from .settings import PrinterSettings
from .ticket import TicketSlip

logger = logging.getLogger(__name__)

DEFAULT_KIOSK = "default"
PRINTERS_META = "printers"  # HallKeys.meta(...) hash: kiosk id → printer state JSON

# print outcome statuses
PRINTED = "printed"
FAILED = "failed"
PREVIEW = "preview"
SKIPPED = "skipped"  # an idempotent replay: the ticket was printed (or not) when it was created


@dataclass(frozen=True)
class PrintOutcome:
    """What the kiosk page learns about the print: a status and a machine reason code (never exception text)."""

    status: str
    reason: str | None = None
    confirmed: bool | None = None

    def to_dict(self) -> dict:
        out: dict = {"status": self.status, "reason": self.reason}
        if self.confirmed is not None:
            out["confirmed"] = self.confirmed
        return out


REPLAYED = PrintOutcome(SKIPPED, "already_issued")
NO_KIOSK = PrintOutcome(SKIPPED, "no_kiosk")  # issued by another client (phone, API): nothing to print on


def printer_settings(config: Config) -> PrinterSettings:
    """``[printer]`` of ``config`` validated; relative paths from the config file's folder, and previews under
    ``<var_dir>/tickets`` unless ``preview_dir`` says otherwise."""
    base_dir = config.source.resolve().parent if config.source else Path.cwd()
    raw = dict(config.printer)
    raw.setdefault("preview_dir", str(config.var_dir / "tickets"))
    return PrinterSettings.from_mapping(raw, base_dir=base_dir)


def slip_for(ticket: dict, config: Config) -> TicketSlip:
    """The printed content of a public ticket (as :meth:`Engine.public_ticket` returns it, with its tracking URL)."""
    return TicketSlip(
        hall_name=config.hall_name,
        number=ticket["number"],
        service_zh=ticket["service_name"],
        service_en=ticket.get("service_name_en") or "",
        windows=ticket.get("windows") or (),
        ahead=ticket.get("ahead") or 0,
        wait_minutes=ticket.get("estimated_wait_minutes"),
        issued_at=datetime.fromisoformat(ticket["issued_at"]),
        tracking_url=ticket["tracking_url"],
        priority=bool(ticket.get("priority")),
    )


class KioskPrinter:
    """The configured printer of this server process plus its recorded state."""

    def __init__(self, engine: Engine, config: Config, printer: Printer) -> None:
        self.engine = engine
        self.config = config
        self.printer = printer
        self.backend = printer.settings.backend

    @classmethod
    def from_config(cls, engine: Engine, config: Config) -> KioskPrinter:
        """Validate ``[printer]`` and open nothing yet (devices are opened per print)."""
        return cls(engine, config, make_printer(printer_settings(config)))

    @property
    def state_key(self) -> str:
        return self.engine.keys.meta(PRINTERS_META)

    # -------------------------------------------------------------------------------------------- printing
    def print_ticket(self, ticket: dict, kiosk: str = "") -> PrintOutcome:
        """Print a newly issued ticket; never raises, never blocks past the printer timeout (plus bookkeeping)."""
        kiosk = kiosk or DEFAULT_KIOSK
        try:
            slip = slip_for(ticket, self.config)
            result = self.printer.print_slip(slip)
        except PrinterFault as fault:
            self._observe(kiosk, fault=fault.kind, message=fault.message, number=ticket.get("number"))
            return PrintOutcome(FAILED, fault.kind)
        except Exception:  # a bug must not cost the citizen the ticket: it exists, the page shows it
            logger.exception("printing ticket %s failed unexpectedly", ticket.get("number"))
            self._observe(kiosk, fault="error", message="unexpected error while printing (see the server log)",
                          number=ticket.get("number"))
            return PrintOutcome(FAILED, "error")
        self._observe(kiosk, status=result.status, number=ticket.get("number"))
        if self.backend == "preview":
            return PrintOutcome(PREVIEW, None, True)
        return PrintOutcome(PRINTED, None, result.confirmed)

    # -------------------------------------------------------------------------------------------- health
    def health(self, kiosk: str) -> dict:
        """Ask the printer now (bounded by its timeout) and report it with what was recorded for ``kiosk``.

        A kiosk that has printed before gets its state updated (and ``printer_recovered`` / ``printer_faulted``
        recorded) from a definite answer; an unknown answer changes nothing.
        """
        live = self.printer.status()
        state = self._load(kiosk)
        if state is not None:
            if live.fault:
                state = self._observe(kiosk, fault=live.fault, message=live.detail, status=live) or state
            elif live.online:
                state = self._observe(kiosk, status=live) or state
        state = state or {}
        fault = live.fault or (state.get("fault") if live.online is None else None)
        return {
            "kiosk": kiosk,
            "status": "faulted" if fault else "ok" if live.online else "unknown",
            "printer": {
                "backend": self.backend,
                "online": live.online,
                "paper": live.paper,
                "cover_open": live.cover_open,
                "detail": live.detail,
                "fault": fault,
                "last_fault": state.get("last_fault"),
                "last_print": state.get("last_print"),
                "checked_at": self.engine.clock.now().isoformat(),
            },
        }

    # -------------------------------------------------------------------------------------------- state
    def _load(self, kiosk: str) -> dict | None:
        raw = self.engine.redis.hget(self.state_key, kiosk)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _observe(self, kiosk: str, *, fault: str | None = None, message: str = "", status: PrinterStatus | None = None,
                 number: str | None = None) -> dict | None:
        """Record what one print or probe showed; the script appends an event when the printer changed between
        working and faulted (or between fault kinds). Returns the new state; Redis trouble is logged, never raised."""
        now = self.engine.clock.now().isoformat()
        seen: dict = {"backend": self.backend, "fault": fault, "updated_at": now}
        if status is not None:
            seen.update(online=status.online, paper=status.paper, detail=status.detail)
        elif fault:
            seen["detail"] = message
            if fault == "offline":
                seen["online"] = False
        if number:
            seen["last_print"] = {"number": number, "at": now, "status": FAILED if fault else "ok"}
        if fault:
            seen["last_fault"] = {"kind": fault, "message": message, "at": now, "number": number}
        faulted = {"kiosk": kiosk, "kind": fault, "message": message, "number": number, "backend": self.backend}
        keys = [self.state_key]
        try:
            r = self.engine.runner.run("printer_state", keys, [
                kiosk, self.engine.clock.now_ms(), json.dumps(seen, ensure_ascii=False),
                json.dumps(faulted, ensure_ascii=False)])
        except redis.RedisError as exc:
            logger.error("could not record the printer state of kiosk %s: %s", kiosk, exc)
            return None
        if r["event"] == events.PRINTER_FAULTED:
            logger.warning("kiosk %s printer faulted (%s): %s", kiosk, fault, message)
        elif r["event"] == events.PRINTER_RECOVERED:
            logger.info("kiosk %s printer recovered (after %s)", kiosk, r["was"])
        return r["state"]
