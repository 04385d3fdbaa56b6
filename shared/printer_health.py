"""The kiosks' printers as staff see them: one record per kiosk (``HallKeys.printers``: kiosk id → JSON of what its
last print or probe showed — backend, fault, online, paper, detail, last_print, last_fault, updated_at).

The kiosk's printer (``kiosk/printing/kiosk_printer.py``) records what it sees with :meth:`PrinterHealth.record`:
reading the previous record, deciding, writing the new one and the event are one script (``printer_state.lua``). A
change from working to faulted appends ``printer_faulted`` {kiosk, kind, message, number, backend}, the way back
appends ``printer_recovered`` {kiosk, after, backend}. Supervisors read the faulted printers with
:meth:`PrinterHealth.faults` (the live overview's alerts).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared import events

if TYPE_CHECKING:
    from shared.engine import Engine

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recorded:
    """What :meth:`PrinterHealth.record` did: the record now (None: the kiosk has none), the event it appended
    (``printer_faulted`` | ``printer_recovered`` | None) and the fault before."""

    state: dict | None
    event: str | None
    was: str | None


class PrinterHealth:
    """The printer records of one hall."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, kiosk: str, seen: dict | None, faulted: dict | None = None, *, probe: bool = False) -> Recorded:
        """Record ``seen`` (the fields one print or probe showed; None: nothing definite, only read the record) for
        ``kiosk``; ``faulted`` is the ``printer_faulted`` payload when ``seen`` has a fault. A ``probe`` updates only
        a kiosk that has a record (a printer that never printed stays unknown). Redis errors propagate."""
        r = self.engine.runner.run("printer_state", [self.engine.keys.printers], [
            kiosk, self.engine.clock.now_ms(), json.dumps(seen, ensure_ascii=False) if seen is not None else "",
            json.dumps(faulted or {}, ensure_ascii=False), probe])
        state = r["state"] if isinstance(r["state"], dict) else None
        event = r["event"] or None
        if event == events.PRINTER_FAULTED:
            logger.warning("kiosk %s printer faulted (%s): %s", kiosk, (faulted or {}).get("kind"),
                           (faulted or {}).get("message"))
        elif event == events.PRINTER_RECOVERED:
            logger.info("kiosk %s printer recovered (after %s)", kiosk, r["was"])
        return Recorded(state, event, r["was"])

    def faults(self) -> list[dict]:
        """The kiosks whose printer is faulted now, by kiosk id: ``[{"kiosk", "fault", "message", "since"}]``."""
        out = []
        for kiosk, raw in sorted(self.engine.redis.hgetall(self.engine.keys.printers).items()):
            try:
                state = json.loads(raw)
            except ValueError:
                continue
            if isinstance(state, dict) and state.get("fault"):
                last = state.get("last_fault") or {}
                out.append({"kiosk": kiosk, "fault": state["fault"],
                            "message": last.get("message") or state.get("detail") or "", "since": last.get("at")})
        return out
