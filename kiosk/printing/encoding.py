"""Chinese text for ESC/POS printers: sanitising, column widths, wrapping and the ``FS &`` / GB18030 encoding.

python-escpos switches to GB18030 only for strings holding a CJK ideograph (U+4E00–U+9FA5) and never sends
``FS &``, so full-width punctuation alone turns into ``?``. Here every run of non-ASCII characters is sent as
``FS &`` + GB18030 bytes + ``FS .`` (Chinese character mode on, off), and ASCII is sent as it is.
On the printer every character sent in Chinese mode is a full-width cell: two columns of font A.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

FS_CHINESE_ON = b"\x1c\x26"  # FS &  select Chinese character mode
FS_CHINESE_OFF = b"\x1c\x2e"  # FS .  cancel Chinese character mode

_RUNS = re.compile(r"[\x00-\x7f]+|[^\x00-\x7f]+")
_TOKENS = re.compile(r" +|[\x21-\x7e]+|[^\x00-\x7f]")
# Characters that must not begin a line (they hang on to the character before them).
_NO_LINE_START = set("，。、；：？！）》」』】〕…·%,.;:?!)]}")


def clean(text: str) -> str:
    """One printable line: control characters (ESC, GS, FS … could inject printer commands), line breaks and
    odd spaces become plain spaces; the ideographic space U+3000 stays."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Cf", "Zl", "Zp") or (category == "Zs" and ch != "\u3000"):
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def char_width(ch: str) -> int:
    """Columns of font A a character takes: 1 for ASCII, 2 for anything printed in Chinese mode."""
    return 1 if ord(ch) < 0x80 else 2


def display_width(text: str) -> int:
    """Columns a string takes on the printer."""
    return sum(char_width(ch) for ch in text)


def wrap(text: str, limit: float, measure: Callable[[str], float] = display_width) -> list[str]:
    """Break ``text`` into lines no wider than ``limit``, as measured by ``measure`` (printer columns by default;
    the image renderer passes pixel widths).

    ASCII words break at spaces (a word longer than a line is cut), Chinese characters break anywhere except
    before closing punctuation. A character is never split and no line is wider than ``limit``.
    """
    if measure(" ") > limit or measure("国") > limit:
        raise ValueError("limit is narrower than one character")
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(clean(text)):
        if token.startswith(" "):
            if line:
                line += " "
            continue
        while measure(token) > limit:  # a word longer than a whole line: cut it
            if line.strip():
                lines.append(line.rstrip())
                line = ""
            cut = next(i for i in range(len(token), 0, -1) if measure(token[:i]) <= limit)
            lines.append(token[:cut])
            token = token[cut:]
        if measure(line + token) <= limit:
            line += token
            continue
        carry = ""
        if (token[0] in _NO_LINE_START and len(line.rstrip()) > 1 and line[-1] != " "
                and measure(line[-1] + token) <= limit):
            carry, line = line[-1], line[:-1]  # keep the closing mark with the character before it
        if line.strip():
            lines.append(line.rstrip())
        line = carry + token
    if line.strip():
        lines.append(line.rstrip())
    return lines


def encode_text(text: str) -> bytes:
    """ESC/POS bytes for one line of text (without the line feed): ASCII plain, the rest ``FS &``+GB18030+``FS .``."""
    out = bytearray()
    for run in _RUNS.findall(clean(text)):
        if run[0] < "\x80":
            out += run.encode("ascii")
        else:
            out += FS_CHINESE_ON + run.encode("gb18030") + FS_CHINESE_OFF
    return bytes(out)
