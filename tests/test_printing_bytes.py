"""The exact ESC/POS bytes of a ticket, and that every Chinese byte in them decodes back right."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

import pytest

from kiosk.printing import PrinterSettings, TicketSlip, ticket_bytes
from kiosk.printing.encoding import display_width, encode_text, wrap

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
CN_ON, CN_OFF = b"\x1c\x26", b"\x1c\x2e"


# ----------------------------------------------------------------------------------- an independent ESC/POS reader
@dataclass
class Printout:
    """What a printer would make of the bytes: text lines (with their width in font-A columns) and commands."""

    lines: list[str] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    commands: list[bytes] = field(default_factory=list)
    qr_payloads: list[bytes] = field(default_factory=list)
    rasters: list[tuple[int, int, bytes]] = field(default_factory=list)  # (width bytes, height, data)


def read_escpos(data: bytes) -> Printout:
    """Parse the commands the ticket uses; fail on anything else (a stray control byte, a high byte outside
    Chinese mode, a GB18030 sequence that does not decode)."""
    out = Printout()
    line, width, scale_w, i, chinese = "", 0, 1, 0, False

    def take(n: int) -> bytes:
        nonlocal i
        chunk = data[i:i + n]
        assert len(chunk) == n, f"truncated command at {i}"
        i += n
        return chunk

    while i < len(data):
        b = data[i]
        if b == 0x0A:
            out.lines.append(line)
            out.widths.append(width)
            line, width = "", 0
            i += 1
        elif data[i:i + 2] == CN_ON:
            assert not chinese, "FS & twice"
            chinese = True
            i += 2
            end = data.index(CN_OFF, i)
            run = data[i:end].decode("gb18030")  # strict: raises on any broken sequence
            assert all(ord(ch) >= 0x80 for ch in run), "ASCII inside a Chinese run"
            line += run
            width += 2 * len(run) * scale_w
            i = end + 2
            chinese = False
        elif b == 0x1B:
            cmd = take(2)
            if cmd in (b"\x1b@",):
                out.commands.append(cmd)
            elif cmd in (b"\x1ba", b"\x1bE", b"\x1bd"):
                out.commands.append(cmd + take(1))
            else:
                raise AssertionError(f"unexpected ESC command {cmd!r} at {i - 2}")
        elif b == 0x1D:
            cmd = take(2)
            if cmd == b"\x1d!":
                n = take(1)[0]
                scale_w = (n >> 4) + 1
                out.commands.append(cmd + bytes([n]))
            elif cmd in (b"\x1dB",):
                out.commands.append(cmd + take(1))
            elif cmd == b"\x1dV":
                m = take(1)
                out.commands.append(cmd + m + (take(1) if m[0] in (65, 66) else b""))
            elif cmd == b"\x1d(":
                sub = take(1)
                assert sub == b"k", f"unexpected GS ( {sub!r}"
                length = int.from_bytes(take(2), "little")
                body = take(length)
                out.commands.append(cmd + sub + body[:2])
                if body[:3] == b"1P0":
                    out.qr_payloads.append(body[3:])
            elif cmd == b"\x1dv":
                head = take(6)
                assert head[:2] == b"0\x00"
                xb, yd = int.from_bytes(head[2:4], "little"), int.from_bytes(head[4:6], "little")
                out.rasters.append((xb, yd, take(xb * yd)))
                out.commands.append(b"\x1dv0")
            else:
                raise AssertionError(f"unexpected GS command {cmd!r} at {i - 2}")
        elif b < 0x20 or b >= 0x7F:
            raise AssertionError(f"stray byte 0x{b:02x} at {i} (outside Chinese mode)")
        else:
            line += chr(b)
            width += scale_w
            i += 1
    assert line == "", f"text after the last line feed: {line!r}"
    return out


# ----------------------------------------------------------------------------------------------------- tests
SETTINGS_80 = PrinterSettings()
SETTINGS_58 = PrinterSettings(paper_width_mm=58)

EXPECTED_80 = [
    "谢家集区政务服务中心", "-" * 48,
    "人社综合", "Human Resources & Social Security", "",
    "A012", "",
    "请到 1、2 号窗口", "Windows 1, 2",
    "前面还有 3 人等候", "3 people ahead of you",
    "预计等候约 9 分钟", "Estimated wait: about 9 min", "-" * 48,
    "扫码查看排队进度", "Scan to follow your place in the queue", "-" * 48,
    "过号请重新取号", "If you miss your call, please take a new ticket",
    "取号时间 Issued 2026-11-27 09:15",
]


def test_sample_80mm_significant_segments():
    data = ticket_bytes(TicketSlip.sample(), SETTINGS_80)
    assert data.startswith(ESC + b"@" + ESC + b"a\x01")  # init, centre
    hall = CN_ON + "谢家集区政务服务中心".encode("gb18030") + CN_OFF
    assert hall == CN_ON + bytes.fromhex("d0bbbcd2bcafc7f8d5fecef1b7fecef1d6d0d0c4") + CN_OFF
    assert ESC + b"E\x01" + GS + b"!\x01" + hall + b"\n" in data  # bold, double height
    assert ESC + b"E\x01" + GS + b"!\x55A012\n" + GS + b"!\x00" in data  # the number 6x6
    assert GS + b"!\x11" + CN_ON + "人社综合".encode("gb18030") + CN_OFF + b"\n" in data
    url = b"http://127.0.0.1:8000/t/SAMPLETOKEN"
    qr = (GS + b"(k\x04\x001A2\x00"  # model 2
          + GS + b"(k\x03\x001C\x06"  # 6 dots a module
          + GS + b"(k\x03\x001E1"  # error correction M
          + GS + b"(k" + (len(url) + 3).to_bytes(2, "little") + b"1P0" + url  # store the data
          + GS + b"(k\x03\x001Q0")  # print it
    assert qr in data
    assert CN_ON + b"\xc7\xeb\xb5\xbd" + CN_OFF + b" 1" + CN_ON + b"\xa1\xa2" + CN_OFF + b"2 " in data  # 请到 1、2
    assert data.endswith(ESC + b"d\x06" + GS + b"V\x00")  # feed, full cut
    assert b"?" not in data.replace(url, b"")


def test_sample_80mm_decodes_back_to_the_expected_text():
    out = read_escpos(ticket_bytes(TicketSlip.sample(), SETTINGS_80))
    assert out.lines == EXPECTED_80
    text = "".join(out.lines)
    assert "\ufffd" not in text and "?" not in text
    assert out.qr_payloads == [b"http://127.0.0.1:8000/t/SAMPLETOKEN"]
    assert max(out.widths) <= 48
    assert out.widths[EXPECTED_80.index("A012")] == 24  # 4 characters at 6x width


def test_full_width_punctuation_alone_round_trips():
    data = encode_text("（）：，")
    assert data == CN_ON + b"\xa3\xa8\xa3\xa9\xa3\xba\xa3\xac" + CN_OFF
    assert read_escpos(data + b"\n").lines == ["（）：，"]
    assert b"?" not in data


def test_the_hall_articles_mojibake_cannot_happen():
    # /work/shared/seed/hall-article.txt reads "!薄白鳛檎⻊(wù)服務" where the original was "!”“作為政務服務":
    # GBK bytes read one byte out of step. Our bytes must be exact, so they decode to the original.
    original = "“作為政務服務"
    data = encode_text(original)
    assert data == CN_ON + bytes.fromhex("a1b0d7f79ee9d5fe84d5b7fe84d5") + CN_OFF
    assert read_escpos(data + b"\n").lines == [original]
    out_of_step = data[len(CN_ON) + 1:-len(CN_OFF)].decode("gb18030", errors="replace")
    assert out_of_step.startswith("白鳛檎")  # what one byte of drift prints, as in the article
    assert read_escpos(encode_text("!”“作為政務服務") + b"\n").lines == ["!”“作為政務服務"]


def test_every_non_ascii_run_is_wrapped_in_fs_and_and_fs_dot():
    data = encode_text("No. 12 号 · 窗口—A")
    assert data == (b"No. 12 " + CN_ON + "号".encode("gb18030") + CN_OFF + b" " + CN_ON + "·".encode("gb18030")
                    + CN_OFF + b" " + CN_ON + "窗口—".encode("gb18030") + CN_OFF + b"A")


def test_control_characters_in_slip_text_cannot_inject_commands():
    slip = replace(TicketSlip.sample(), service_en="Evil\x1b@\x1dV\x00 name", service_zh="人社\n综合")
    out = read_escpos(ticket_bytes(slip, SETTINGS_80))  # would fail on a stray ESC / GS
    assert "Evil @ V name" in out.lines and "人社 综合" in out.lines


LONG = replace(
    TicketSlip.sample(),
    hall_name="寿县淮南市谢家集区政务服务中心（一楼东侧综合大厅）",
    service_zh="不动产登记、税务、公积金“一窗受理”综合窗口",
    service_en="Real Estate Registration, Taxation and Housing Provident Fund One-Window Acceptance",
    windows=(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
    ahead=128, wait_minutes=95, priority=True,
)


@pytest.mark.parametrize("settings,columns", [(SETTINGS_58, 32), (SETTINGS_80, 48)])
def test_wrapping_stays_within_the_paper_and_never_splits_a_character(settings, columns):
    out = read_escpos(ticket_bytes(LONG, settings))  # strict GB18030 decoding of every run
    assert max(out.widths) <= columns
    text = "".join(out.lines).replace(" ", "")
    for part in (LONG.hall_name, LONG.service_zh, LONG.service_en, "1、2、3、4、5、6、7、8、9、10、11、12"):
        assert part.replace(" ", "") in text  # nothing lost or reordered
    assert "绿色通道" in text


def test_58mm_sample_lines():
    data = ticket_bytes(TicketSlip.sample(), SETTINGS_58)
    out = read_escpos(data)
    assert max(out.widths) <= 32
    assert "If you miss your call, please" in out.lines and "take a new ticket" in out.lines
    assert out.commands.count(GS + b"!\x55") == 1  # the 6x number still fits 32 columns: 24
    assert GS + b"(k\x03\x001C\x05" in data  # 5-dot QR modules on narrow paper


def test_wrap_properties_on_random_mixed_text():
    rng = random.Random(7)
    alphabet = list("政务服务中心窗口号请到，。、（）：“”") + list("abcdefg XYZ 0123-,.") + [" "]
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80)))
        for columns in (8, 16, 32, 48):
            lines = wrap(text, columns)
            assert all(display_width(line) <= columns for line in lines)
            assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_wrap_keeps_closing_punctuation_off_the_line_start():
    assert wrap("过号请重新取号，谢谢合作。", 12) == ["过号请重新取", "号，谢谢合", "作。"]


def test_raster_qr_option_prints_the_code_as_an_image():
    settings = PrinterSettings(qr="raster")
    out = read_escpos(ticket_bytes(TicketSlip.sample(), settings))
    assert out.qr_payloads == []
    [(width_bytes, height, _)] = out.rasters
    assert width_bytes == 576 // 8 and height > 150
    assert out.lines == EXPECTED_80


# ------------------------------------------------------------------------- the 绿色通道 note, the hall's address and phone
HALL = replace(TicketSlip.sample(), hall_address="淮南市谢家集区民生路 18 号", hall_phone="0554-5678123")


def test_priority_ticket_carries_the_kiosks_note_in_both_languages():
    data = ticket_bytes(replace(TicketSlip.sample(), priority=True), SETTINGS_80)
    note = (CN_ON + "请到窗口出示相关证件".encode("gb18030") + CN_OFF + b"\n"
            + b"Please show your ID at the window\n")
    assert note == CN_ON + bytes.fromhex("c7ebb5bdb4b0bfdab3f6cabecfe0b9d8d6a4bcfe") + CN_OFF + b"\n" \
        + b"Please show your ID at the window\n"
    assert b"Priority service\n" + note + ESC + b"E\x01" + GS + b"!\x11" + CN_ON + "人社综合".encode("gb18030") in data
    lines = read_escpos(data).lines
    assert lines[2:8] == ["绿色通道", "Priority service", "请到窗口出示相关证件", "Please show your ID at the window",
                          "人社综合", "Human Resources & Social Security"]
    # a normal ticket has no such note
    assert "请到窗口出示相关证件" not in read_escpos(ticket_bytes(TicketSlip.sample(), SETTINGS_80)).lines


def test_every_ticket_carries_the_halls_address_and_phone():
    data = ticket_bytes(HALL, SETTINGS_80)
    tail = (b"\xc8\xa1\xba\xc5\xca\xb1\xbc\xe4" + CN_OFF + b" Issued 2026-11-27 09:15\n"  # 取号时间
            + CN_ON + "地址".encode("gb18030") + CN_OFF + b" Address: " + CN_ON + "淮南市谢家集区民生路".encode("gb18030")
            + CN_OFF + b" 18 " + CN_ON + "号".encode("gb18030") + CN_OFF + b"\n"
            + CN_ON + "咨询电话".encode("gb18030") + CN_OFF + b" Tel: 0554-5678123\n"
            + ESC + b"d\x06" + GS + b"V\x00")
    assert data.endswith(tail)
    assert read_escpos(data).lines == [*EXPECTED_80, "地址 Address: 淮南市谢家集区民生路 18 号", "咨询电话 Tel: 0554-5678123"]
    # unset: no empty lines for them
    assert read_escpos(ticket_bytes(TicketSlip.sample(), SETTINGS_80)).lines == EXPECTED_80


def test_a_long_address_wraps_within_58mm_paper():
    slip = replace(HALL, hall_address="安徽省淮南市谢家集区民生路 18 号 谢家集区政务服务中心一楼东侧综合受理大厅", priority=True)
    out = read_escpos(ticket_bytes(slip, SETTINGS_58))
    assert max(out.widths) <= 32
    text = "".join(out.lines).replace(" ", "")
    assert ("地址Address:" + slip.hall_address.replace(" ", "")) in text
    assert "咨询电话Tel:0554-5678123" in text and "请到窗口出示相关证件" in text


def test_the_kiosk_prints_the_configured_address_and_phone(hall_config):
    from kiosk.printing import slip_for

    config = replace(hall_config, hall_address="淮南市谢家集区民生路 18 号", hall_phone="0554-5678123")
    ticket = {"number": "A001", "service_name": "人社综合", "service_name_en": "HR", "windows": [1], "ahead": 0,
              "estimated_wait_minutes": 0, "issued_at": "2026-11-27T09:15:00+08:00",
              "tracking_url": "http://127.0.0.1:8000/t/X", "priority": True}
    lines = read_escpos(ticket_bytes(slip_for(ticket, config), SETTINGS_80)).lines
    assert lines[-2:] == ["地址 Address: 淮南市谢家集区民生路 18 号", "咨询电话 Tel: 0554-5678123"]
    assert "请到窗口出示相关证件" in lines
    plain = read_escpos(ticket_bytes(slip_for(ticket, hall_config), SETTINGS_80)).lines
    assert plain[-1].startswith("取号时间")  # no address or phone configured: no lines for them


# ----------------------------------------------------------------------------- issue 14: 预约 and real-name tickets
def test_an_appointment_ticket_is_marked_预约_with_its_slot_and_a_real_name_ticket_prints_no_id():
    """A check-in's ticket prints an inverted 预约 banner with its slot; nothing of the person (the public ticket of a
    real-name check-in carries no ID data, and none reaches the bytes)."""
    from kiosk.printing import slip_for
    from shared.config import load_config

    public = {"number": "A012", "service_name": "人社综合", "service_name_en": "Human Resources & Social Security",
              "windows": [1, 2], "ahead": 3, "estimated_wait_minutes": 9, "issued_at": "2026-11-27T09:15:00+08:00",
              "tracking_url": "http://127.0.0.1:8000/t/SAMPLETOKEN", "priority": False, "realname": True,
              "appointment": True, "slot": "10:30", "booking": "BK0000042", "green": None}
    config = replace(load_config("tests/data/hall.toml"), hall_name="谢家集区政务服务中心", hall_address="",
                     hall_phone="")
    slip = slip_for(public, config)
    assert (slip.appointment, slip.slot) == (True, "10:30")
    data = ticket_bytes(slip, SETTINGS_80)
    banner = (GS + b"B\x01" + ESC + b"E\x01" + GS + b"!\x11" + CN_ON + "预约".encode("gb18030") + CN_OFF + b" 10:30\n"
              + GS + b"!\x00" + ESC + b"E\x00" + GS + b"B\x00" + b"Appointment 10:30\n")
    assert banner == bytes.fromhex("1d42011b45011d21111c26d4a4d4bc1c2e2031303a33300a1d21001b45001d4200") + \
        b"Appointment 10:30\n"
    assert b"-" * 48 + b"\n" + banner + ESC + b"E\x01" + GS + b"!\x11" + CN_ON + "人社综合".encode("gb18030") in data
    out = read_escpos(data)
    assert out.lines == EXPECTED_80[:2] + ["预约 10:30", "Appointment 10:30"] + EXPECTED_80[2:]
    assert b"BK0000042" not in data  # the booking's id is the hall's, not the citizen's: not printed either
    walk_in = ticket_bytes(slip_for({**public, "appointment": False, "slot": None}, config), SETTINGS_80)
    assert "预约".encode("gb18030") not in walk_in and read_escpos(walk_in).lines == EXPECTED_80
