"""The preview backend, the rendered image, image mode's raster bytes and the file backend."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageOps

from kiosk.printing import (
    PrinterFault,
    PrinterSettings,
    TicketSlip,
    make_printer,
    print_sample,
    render_png,
    ticket_bytes,
)
from kiosk.printing.render import render_image


def rasters(data: bytes) -> tuple[int, bytes]:
    """Width (bytes) and the concatenated rows of every ``GS v 0`` block in ``data``."""
    width, rows, i = None, bytearray(), 0
    while (i := data.find(b"\x1dv0", i)) >= 0:
        m = data[i + 3]
        xb, yd = int.from_bytes(data[i + 4:i + 6], "little"), int.from_bytes(data[i + 6:i + 8], "little")
        assert m == 0 and (width is None or width == xb)
        width = xb
        rows += data[i + 8:i + 8 + xb * yd]
        i += 8 + xb * yd
    assert width is not None, "no GS v 0 raster"
    return width, bytes(rows)


def test_preview_writes_the_bytes_and_the_picture(tmp_path):
    settings = PrinterSettings(preview_dir=tmp_path / "tickets")
    result = make_printer(settings).print_slip(TicketSlip.sample())
    bin_path, png_path = result.files
    assert bin_path == tmp_path / "tickets" / "20261127-A012-091500.bin"
    assert png_path == tmp_path / "tickets" / "20261127-A012-091500.png"
    assert bin_path.read_bytes() == ticket_bytes(TicketSlip.sample(), settings)
    assert result.bytes_sent == bin_path.stat().st_size
    assert result.confirmed is True and result.backend == "preview"
    with Image.open(png_path) as img:
        assert img.mode == "1" and img.width == 576 and img.height > 800
    assert sorted(p.name for p in (tmp_path / "tickets").iterdir()) == [bin_path.name, png_path.name]  # no .tmp


@pytest.mark.parametrize("paper,width", [(58, 384), (80, 576)])
def test_png_width_follows_the_paper(paper, width):
    png = render_png(TicketSlip.sample(), PrinterSettings(paper_width_mm=paper))
    with Image.open(io.BytesIO(png)) as img:
        assert img.size[0] == width
        assert img.info["dpi"] == pytest.approx((203, 203), abs=0.5)
        # black ink on white paper, and plenty of both
        black = img.convert("L").histogram()[0] / (img.width * img.height)
        assert 0.05 < black < 0.5


def test_image_mode_is_one_gs_v_0_raster_of_the_rendered_ticket():
    settings = PrinterSettings(mode="image")
    data = ticket_bytes(TicketSlip.sample(), settings)
    assert data.startswith(b"\x1b@\x1dv0\x00")
    assert data.endswith(b"\x1bd\x06\x1dV\x00")
    width, rows = rasters(data)
    assert width == 576 // 8
    expected = ImageOps.invert(render_image(TicketSlip.sample(), settings).convert("L")).convert("1")
    assert rows == expected.tobytes()  # a set bit is a black dot


def test_image_mode_on_58mm_paper_is_384_dots_wide():
    width, _ = rasters(ticket_bytes(TicketSlip.sample(), PrinterSettings(mode="image", paper_width_mm=58)))
    assert width == 384 // 8


def test_preview_in_image_mode_stores_the_raster(tmp_path):
    settings = PrinterSettings(preview_dir=tmp_path, mode="image")
    result = print_sample(settings)
    assert result.files[0].read_bytes()[:5] == b"\x1b@\x1dv0"


def test_preview_dir_that_cannot_be_written_is_a_printer_fault(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the directory should be")
    printer = make_printer(PrinterSettings(preview_dir=blocker / "tickets"))
    with pytest.raises(PrinterFault) as info:
        printer.print_slip(TicketSlip.sample())
    assert info.value.kind == "error"
    assert printer.status().online is False


def test_preview_status_is_online(tmp_path):
    status = make_printer(PrinterSettings(preview_dir=tmp_path / "t")).status()
    assert (status.online, status.paper) == (True, "ok")


def test_file_backend_writes_the_bytes_but_cannot_confirm(tmp_path):
    target = tmp_path / "lp0"
    settings = PrinterSettings(backend="file", file_path=target)
    printer = make_printer(settings)
    result = printer.print_slip(TicketSlip.sample())
    assert target.read_bytes() == ticket_bytes(TicketSlip.sample(), settings)
    assert result.confirmed is False and result.status.online is None
    assert printer.status().online is None
    assert target.read_bytes() == ticket_bytes(TicketSlip.sample(), settings)  # status() did not truncate it


def test_file_backend_in_a_missing_directory_is_offline(tmp_path):
    printer = make_printer(PrinterSettings(backend="file", file_path=tmp_path / "missing" / "lp0"))
    with pytest.raises(PrinterFault) as info:
        printer.print_slip(TicketSlip.sample())
    assert info.value.kind == "offline"
    assert printer.status().online is False
