"""The ``[printer]`` section of config.toml, validated into one frozen value."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from escpos.capabilities import CAPABILITIES

from shared.config import TableReader
from shared.errors import ConfigError
from shared.fonts import bundled_font

log = logging.getLogger(__name__)

BACKENDS = ("preview", "network", "usb", "serial", "file")
MODES = ("text", "image")
QR_MODES = ("native", "raster")
PAPER = {58: (384, 32), 80: (576, 48)}  # paper width mm -> (printable dots, font A columns)
_HOST = re.compile(r"[A-Za-z0-9.:_\-\[\]]+")  # fullmatch


def _key(name: str) -> str:
    return f"printer.{name}"


@dataclass(frozen=True)
class PrinterSettings:
    """How and where tickets are printed. Build it with :meth:`from_mapping` from the ``[printer]`` table."""

    backend: str = "preview"
    host: str = ""
    port: int = 9100
    usb_vendor_id: int | None = None
    usb_product_id: int | None = None
    serial_device: str = ""
    baudrate: int = 9600
    file_path: Path | None = None
    paper_width_mm: int = 80
    mode: str = "text"
    timeout_seconds: float = 3.0
    profile: str = "TM-T20II"
    preview_dir: Path = Path("var/tickets")
    qr: str = "native"
    font_path: Path | None = None  # None: the shipped font (shared/static/fonts); a missing file falls back to it

    def __post_init__(self) -> None:
        for name in ("file_path", "preview_dir", "font_path"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Path(value))
        for warning in self.warnings():
            log.warning("%s", warning)
        if isinstance(self.timeout_seconds, int):
            object.__setattr__(self, "timeout_seconds", float(self.timeout_seconds))
        self._check()

    @property
    def font(self) -> Path:
        """The font tickets are drawn with: ``font_path`` if that file exists, else the shipped CJK font."""
        if self.font_path is not None and self.font_path.is_file():
            return self.font_path
        return bundled_font()

    def warnings(self) -> list[str]:
        """Settings that work but not as written (shown by check-config and logged at start)."""
        if self.font_path is not None and not self.font_path.is_file():
            return [f"printer.font_path: {self.font_path} does not exist; tickets use the shipped font "
                    f"{bundled_font().name} instead"]
        return []

    @property
    def paper_dots(self) -> int:
        """Printable width in dots (203 dpi): 384 for 58 mm, 576 for 80 mm."""
        return PAPER[self.paper_width_mm][0]

    @property
    def columns(self) -> int:
        """Characters of font A per line: 32 for 58 mm, 48 for 80 mm (a Chinese character takes two)."""
        return PAPER[self.paper_width_mm][1]

    @classmethod
    def from_mapping(cls, data: Any, base_dir: Path) -> PrinterSettings:
        """Validate the raw ``[printer]`` table; relative paths are taken from ``base_dir``.

        Every problem raises :class:`ConfigError` naming the key (``printer.port``): unknown keys, wrong types,
        values out of range, settings a backend needs but lacks.
        """
        sec = TableReader(data, "printer")
        d = {f.name: f.default for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, kind in (("backend", str), ("host", str), ("port", int), ("usb_vendor_id", int),
                           ("usb_product_id", int), ("serial_device", str), ("baudrate", int),
                           ("paper_width_mm", int), ("mode", str), ("timeout_seconds", (int, float)),
                           ("profile", str), ("qr", str)):
            values[name] = sec.get(name, kind, d[name])
        for name in ("file_path", "preview_dir", "font_path"):
            raw = sec.get(name, str, None)
            if raw is not None:
                if not raw.strip():
                    raise ConfigError(_key(name), "must not be empty")
                values[name] = (base_dir / raw).resolve()
        if "preview_dir" not in values:
            values["preview_dir"] = (base_dir / d["preview_dir"]).resolve()
        sec.done()
        return cls(**values)

    def _check(self) -> None:
        """Value checks shared by :meth:`from_mapping` and direct construction."""
        def need(cond: bool, name: str, problem: str) -> None:
            if not cond:
                raise ConfigError(_key(name), problem)

        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        need(self.backend in BACKENDS, "backend", f"must be one of {', '.join(BACKENDS)}")
        need(self.mode in MODES, "mode", f"must be one of {', '.join(MODES)}")
        need(self.qr in QR_MODES, "qr", f"must be one of {', '.join(QR_MODES)}")
        need(is_int(self.paper_width_mm) and self.paper_width_mm in PAPER, "paper_width_mm", "must be 58 or 80")
        need(is_int(self.port) and 1 <= self.port <= 65535, "port", "must be 1 … 65535")
        need(is_int(self.baudrate) and self.baudrate > 0, "baudrate", "must be a positive integer")
        need(isinstance(self.timeout_seconds, float) and 0 < self.timeout_seconds <= 60,
             "timeout_seconds", "must be a number of seconds, greater than 0 and at most 60")
        for name in ("usb_vendor_id", "usb_product_id"):
            v = getattr(self, name)
            need(v is None or (is_int(v) and 0 <= v <= 0xFFFF), name, "must be an integer 0 … 0xFFFF")
        if self.backend == "network":
            need(bool(self.host.strip()), "host", "is required for the network backend")
            need(bool(_HOST.fullmatch(self.host)), "host", f"'{self.host}' is not a host name or IP address")
        if self.backend == "usb":
            need(self.usb_vendor_id is not None, "usb_vendor_id", "is required for the usb backend")
            need(self.usb_product_id is not None, "usb_product_id", "is required for the usb backend")
        if self.backend == "serial":
            need(bool(self.serial_device.strip()), "serial_device", "is required for the serial backend")
        if self.backend == "file":
            need(self.file_path is not None, "file_path", "is required for the file backend")
        self._check_profile()

    def _check_profile(self) -> None:
        profiles = CAPABILITIES["profiles"]
        if self.profile not in profiles:
            raise ConfigError(_key("profile"), f"'{self.profile}' is not a python-escpos printer profile")
        data = profiles[self.profile]
        features = data.get("features", {})
        dots = data.get("media", {}).get("width", {}).get("pixels")
        if self.mode == "image" or self.qr == "raster":
            if not isinstance(dots, int) or dots < self.paper_dots:
                raise ConfigError(_key("profile"), f"'{self.profile}' does not declare a paper width of at least "
                                  f"{self.paper_dots} dots, which image printing needs (try TM-T20II)")
            if not features.get("bitImageRaster"):
                raise ConfigError(_key("profile"), f"'{self.profile}' cannot print raster images")
        if self.mode == "text" and self.qr == "native" and not features.get("qrCode"):
            raise ConfigError(_key("qr"), f"profile '{self.profile}' has no native QR codes: set qr = \"raster\"")
