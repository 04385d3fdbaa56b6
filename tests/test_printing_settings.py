"""``[printer]`` settings: defaults, and a ConfigError naming the key for every mistake."""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.printing import PrinterSettings, TicketSlip
from shared.errors import ConfigError
from shared.fonts import bundled_font


def test_defaults(tmp_path):
    s = PrinterSettings.from_mapping({}, tmp_path)
    assert (s.backend, s.mode, s.qr, s.paper_width_mm, s.profile) == ("preview", "text", "native", 80, "TM-T20II")
    assert (s.port, s.baudrate, s.timeout_seconds) == (9100, 9600, 3.0)
    assert s.preview_dir == (tmp_path / "var" / "tickets").resolve()
    assert s.font_path is None and s.font == bundled_font()  # the shipped CJK font, no system package needed
    assert (s.columns, s.paper_dots) == (48, 576)


def test_a_full_network_table(tmp_path):
    s = PrinterSettings.from_mapping({
        "backend": "network", "host": "192.168.1.50", "port": 9101, "paper_width_mm": 58, "mode": "image",
        "timeout_seconds": 2, "profile": "TM-T20II", "qr": "raster", "preview_dir": "out",
    }, tmp_path)
    assert (s.host, s.port, s.columns, s.paper_dots, s.timeout_seconds) == ("192.168.1.50", 9101, 32, 384, 2.0)
    assert isinstance(s.timeout_seconds, float)
    assert s.preview_dir == (tmp_path / "out").resolve()


@pytest.mark.parametrize("table,key", [
    ({"colour": "red"}, "printer.colour"),
    ({"port": "9100", "backend": "network", "host": "h"}, "printer.port"),
    ({"port": True, "backend": "network", "host": "h"}, "printer.port"),
    ({"port": 70000, "backend": "network", "host": "h"}, "printer.port"),
    ({"backend": "network"}, "printer.host"),
    ({"backend": "network", "host": "bad host"}, "printer.host"),
    ({"backend": "bluetooth"}, "printer.backend"),
    ({"backend": "usb", "usb_product_id": 0x0202}, "printer.usb_vendor_id"),
    ({"backend": "usb", "usb_vendor_id": 0x04B8}, "printer.usb_product_id"),
    ({"backend": "usb", "usb_vendor_id": "0x04b8", "usb_product_id": 1}, "printer.usb_vendor_id"),
    ({"backend": "serial"}, "printer.serial_device"),
    ({"baudrate": 0}, "printer.baudrate"),
    ({"backend": "file"}, "printer.file_path"),
    ({"backend": "file", "file_path": " "}, "printer.file_path"),
    ({"paper_width_mm": 76}, "printer.paper_width_mm"),
    ({"paper_width_mm": 80.0}, "printer.paper_width_mm"),
    ({"mode": "graphics"}, "printer.mode"),
    ({"timeout_seconds": 0}, "printer.timeout_seconds"),
    ({"timeout_seconds": 600}, "printer.timeout_seconds"),
    ({"timeout_seconds": True}, "printer.timeout_seconds"),
    ({"profile": "TM-NOPE"}, "printer.profile"),
    ({"profile": "default", "mode": "image"}, "printer.profile"),  # no paper width: image() would refuse
    ({"profile": "TM-T88V", "mode": "image"}, "printer.profile"),  # 512 dots < 576 for 80 mm
    ({"profile": "POS-5890"}, "printer.qr"),  # no native QR codes
    ({"qr": "svg"}, "printer.qr"),
    ({"mode": "image", "font_path": " "}, "printer.font_path"),
    ({"preview_dir": 3}, "printer.preview_dir"),
])
def test_every_mistake_names_its_key(tmp_path, table, key):
    with pytest.raises(ConfigError) as info:
        PrinterSettings.from_mapping(table, tmp_path)
    assert info.value.key == key, info.value.message
    assert info.value.code == "config_invalid"


def test_a_missing_font_is_a_warning_and_the_shipped_font_is_used(tmp_path, caplog):
    with caplog.at_level("WARNING"):
        s = PrinterSettings.from_mapping({"mode": "image", "font_path": "no/such/font.ttc"}, tmp_path)
    assert s.font_path == (tmp_path / "no/such/font.ttc").resolve() and s.font == bundled_font()
    assert "no/such/font.ttc does not exist" in caplog.text and s.warnings() == [caplog.records[0].getMessage()]


def test_an_existing_font_is_used(tmp_path):
    font = tmp_path / "hall.otf"
    font.write_bytes(bundled_font().read_bytes())
    s = PrinterSettings.from_mapping({"font_path": "hall.otf"}, tmp_path)
    assert s.font == font and s.warnings() == []


def test_the_table_must_be_a_table(tmp_path):
    with pytest.raises(ConfigError) as info:
        PrinterSettings.from_mapping(["network"], tmp_path)
    assert info.value.key == "printer"


def test_direct_construction_is_checked_too():
    with pytest.raises(ConfigError) as info:
        PrinterSettings(backend="network")
    assert info.value.key == "printer.host"


def test_58mm_profile_for_narrow_paper_in_image_mode(tmp_path):
    s = PrinterSettings.from_mapping({"paper_width_mm": 58, "mode": "image", "profile": "POS-5890"}, tmp_path)
    assert s.paper_dots == 384


def test_slip_rejects_a_naive_time_and_keeps_windows_as_a_tuple():
    sample = TicketSlip.sample()
    with pytest.raises(ValueError):
        TicketSlip(**{**sample.__dict__, "issued_at": datetime(2026, 11, 27, 9, 15)})
    slip = TicketSlip(**{**sample.__dict__, "windows": [3, 4]})
    assert slip.windows == (3, 4)
    hash(slip)
