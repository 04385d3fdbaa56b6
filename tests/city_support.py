"""A city of two halls for the several-halls tests: a config directory written from the test hall
(tests/data/hall.toml) — ``east`` (the test hall as it is: its clerks, its demo tokens) and ``west`` (its own
clerks ``westclerk1`` … and supervisor ``westsuper``, its own device tokens) — and a ``city.toml`` with the
process-wide sections and one city supervisor (``city`` / ``demo-super``)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from hall_support import HALL_TOML

CITY_SUPERVISOR = "city"
CITY_PASSWORD = "demo-super"
WEST_KIOSK_TOKEN = "west-kiosk-token-lobby-1"
WEST_KEYPAD_TOKEN = "west-keypad-token-window-1"
SUPER_HASH = ("scrypt:32768:8:1$1uCYyxLMnTzsFiYy$967b3e98d08ddfc8934f76674286c080eceaee6b03ad08410b27013d100c047b5bcbb"
              "82290c6f1ca940f2dfd10a03cadbf5e106aab9ecf55d8f8a9c6c46689b5")


def _blocks(text: str) -> list[str]:
    return [b for b in re.split(r"\n\s*\n", text) if b.strip()]


def hall_text(hall_id: str, *, west: bool = False) -> str:
    """The test hall's file as a hall of a config directory (no [redis], no [storage])."""
    keep = []
    for block in _blocks(HALL_TOML.read_text(encoding="utf-8")):
        head = next((line for line in block.splitlines() if line.startswith("[")), "")
        if head in ("[redis]", "[storage]") or (west and head == "[[tokens]]"):
            continue
        keep.append(block)
    text = "\n\n".join(keep) + "\n"
    text = text.replace('id = "testhall"', f'id = "{hall_id}"', 1)
    if west:
        text = re.sub(r'username = "clerk(\d)"', r'username = "westclerk\1"', text)
        text = text.replace('username = "supervisor"', 'username = "westsuper"')
        for name, kind, bound, token in (("kiosk-lobby-1", "kiosk", 'kiosk = "lobby-1"', WEST_KIOSK_TOKEN),
                                         ("keypad-1", "keypad", "window = 1", WEST_KEYPAD_TOKEN)):
            text += (f'\n[[tokens]]\nname = "{name}"\nkind = "{kind}"\n{bound}\n'
                     f'token_sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"\n')
    return text


def city_text(var_dir: Path) -> str:
    return (f'[city]\nid = "testcity"\nname = "测试市"\nname_en = "Test City"\n\n[redis]\nurl = ""\n\n'
            f'[storage]\nvar_dir = "{var_dir}"\n\n[[supervisors]]\nusername = "{CITY_SUPERVISOR}"\nname = "市值班"\n'
            f'password_hash = "{SUPER_HASH}"\n')


def write_city(directory: Path) -> Path:
    """``directory`` holding city.toml, east.toml and west.toml; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "city.toml").write_text(city_text(directory / "var"), encoding="utf-8")
    (directory / "east.toml").write_text(hall_text("east"), encoding="utf-8")
    (directory / "west.toml").write_text(hall_text("west", west=True), encoding="utf-8")
    return directory
