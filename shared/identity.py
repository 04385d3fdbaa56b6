"""Real-name identity (实名): the 居民身份证号 checked by GB 11643, turned into a keyed hash, and forgotten.

A number comes in from the card-reader agent (:mod:`shared.cardreader`) or from manual entry at the kiosk or on
the phone. :func:`identify` checks it (GB 11643-1999: 18 characters, the last a check character by ISO 7064
MOD 11-2 where ``X`` stands for 10; characters 7–14 the birth date — a real date, not in the future, not before
1900) and returns an :class:`Identity` holding only

* ``hash`` — HMAC-SHA256 of the number under the hall's secret (hex, 128 bits): the same person gives the same
  hash in this hall and nothing else; without the secret the hash cannot be turned back into a number by trying
  the (small) space of valid numbers;
* ``birth_year`` — kept with a booking, for the 绿色通道 age rule when the card is not read again;
* ``masked`` — ``3404**********1234``, for the places a person must recognise their own number (a booking on the
  phone, the kiosk's "is this you?").

The number itself is never stored, printed, logged, put on the event stream or in an outbox, and never kept in an
object that outlives the request: :class:`Identity` does not hold it, and its ``repr`` shows the masked form only.
Errors never echo it.

**The hall's secret** is a file of 32 random bytes (hex), by default ``<var_dir>/realname.key``, created (mode 0600)
the first time a number is hashed — or the file named by ``[realname] secret_file``. It is deliberately not the
session secret (``var/secret_key``): rotating that one (after a suspected leak of staff sessions) must not sever
every citizen's history, and the two have different readers. It is not in Redis and not in ``onewindow backup``:
a stolen Redis dump or backup alone cannot be used to test candidate numbers. Several server processes on one
machine share ``var/``; servers on several machines must be given the same file (``secret_file``). Losing it loses
only the link between new reads and the past: open-ticket counts, no-show histories and finding a booking by card
(the booking code still works).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from shared.config import Config
from shared.errors import ValidationError
from shared.privacy import mask_name

#: ISO 7064 MOD 11-2 as GB 11643 writes it: weight of position i (0-based) is 2^(17-i) mod 11 …
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: … and the check character for (sum of digit × weight) mod 11
CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
HASH_HEX = 32  # 128 bits of the HMAC: collisions are out of reach for any hall's population
KEY_FILE = "realname.key"
_HASH_LABEL = b"onewindow:id:v1:"


def check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return CHECK_CHARS[total % 11]


def normalize(text: str) -> str:
    """Full-width digits and letters to ASCII, spaces and dashes taken out, ``x`` to ``X``."""
    if not isinstance(text, str):
        raise ValidationError("the ID number must be text", code="wrong_type", field="id_number")
    s = unicodedata.normalize("NFKC", text)
    s = re.sub(r"[\s\-]", "", s)
    return s.upper()


def check_number(text: str, *, today: date) -> tuple[str, date]:
    """(the normalised number, the birth date) of a valid 身份证号; :class:`ValidationError` otherwise, with a code
    saying what is wrong (``id_format``, ``id_check_digit``, ``id_birth_date``) and never the number itself."""
    number = normalize(text)
    if not _SHAPE.fullmatch(number):
        raise ValidationError("an ID number (身份证号) is 18 characters: 17 digits and a digit or X",
                              code="id_format", field="id_number")
    if number[0] == "0":
        raise ValidationError("an ID number does not start with 0", code="id_format", field="id_number")
    if check_char(number[:17]) != number[17]:
        raise ValidationError("the ID number's check character does not match (a mistyped digit?)",
                              code="id_check_digit", field="id_number")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError("characters 7–14 of the ID number are not a real birth date",
                              code="id_birth_date", field="id_number") from None
    if born > today or born.year < 1900:
        raise ValidationError("the birth date in the ID number is not possible", code="id_birth_date",
                              field="id_number")
    return number, born


def mask(number: str) -> str:
    """``340404195603011234`` → ``3404**********1234``: the first four and last four characters."""
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}"


def age_on(born: date, day: date) -> int:
    """Completed years on ``day`` (周岁)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def age_by_year(birth_year: int, day: date) -> int:
    """The age one reaches in ``day``'s year — all that the birth year alone can tell."""
    return day.year - birth_year


@dataclass(frozen=True, repr=False)
class Identity:
    """A checked person, without their number (see the module doc)."""

    hash: str
    birth_year: int
    masked: str
    birth_date: date = field(compare=False)  # for the age on the day it was read; never stored
    name_masked: str = ""
    source: str = "manual"  # manual | card

    def age_on(self, day: date) -> int:
        return age_on(self.birth_date, day)

    def __repr__(self) -> str:
        return f"Identity({self.masked}, {self.source}, born {self.birth_year})"

    def view(self) -> dict:
        """What a screen may show back to the person."""
        return {"masked": self.masked, "name": self.name_masked, "birth_year": self.birth_year, "source": self.source}


class IdentityKey:
    """The hall's HMAC key (see the module doc): read from its file, created on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def key(self) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = _load_or_create(self.path)
        return self._key

    def hash(self, number: str) -> str:
        return hmac.new(self.key(), _HASH_LABEL + number.encode("ascii"), hashlib.sha256).hexdigest()[:HASH_HEX]


def _load_or_create(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            text = path.read_text(encoding="ascii").strip()
        else:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(text + "\n")
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise ValueError(f"{path} is not a realname key (64 hex digits)")
    return bytes.fromhex(text)


_keys: dict[Path, IdentityKey] = {}
_keys_lock = threading.Lock()


def key_path(config: Config) -> Path:
    """Where the hall's HMAC key lives: ``[realname] secret_file``, else ``<var_dir>/realname.key``."""
    return config.realname.secret_file or config.var_dir / KEY_FILE


def hall_key(config: Config) -> IdentityKey:
    """The (process-wide, cached) key of the hall ``config`` describes."""
    path = key_path(config)  # (the config resolves var_dir and secret_file)
    found = _keys.get(path)
    if found is not None:
        return found
    with _keys_lock:
        found = _keys.get(path)
        if found is None:
            found = _keys[path] = IdentityKey(path)
    return found


def identify(config: Config, id_number: str, *, today: date, name: str = "", source: str = "manual") -> Identity:
    """Check an ID number (manual entry, or a card read) and return its :class:`Identity`; the number goes no
    further. ``today`` is the hall's business date (a birth date after it is refused)."""
    number, born = check_number(id_number, today=today)
    return Identity(hash=hall_key(config).hash(number), birth_year=born.year, masked=mask(number), birth_date=born,
                    name_masked=mask_name(" ".join(name.split())) if isinstance(name, str) else "", source=source)
