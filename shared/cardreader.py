"""The card-reader agent contract: how the kiosk page receives a 居民身份证 read (docs/realname.md has the full text).

A USB ID-card reader (二代证阅读器) is read through its vendor's SDK by a small **agent** running on the kiosk PC.
The agent offers the kiosk page (a browser on the same PC) a local HTTP endpoint on the loopback address; the page
polls it, shows the person their masked number, and sends the read to the OneWindow server with the request that
uses it (issue, check-in). The server checks it here (:func:`identify_card`) and keeps only the keyed hash
(:mod:`shared.identity`). The agent is the only program that sees the card's photo and address: they are not part
of the contract.

**Endpoint** (``http://127.0.0.1:18645`` by default; JSON, UTF-8):

* ``GET /v1/status`` → ``200 {"agent": str, "contract": 1, "reader": "ready" | "disconnected" | "error",
  "card_present": bool, "seq": int}``.
* ``GET /v1/card?after=<seq>&wait=<seconds>`` — long poll: the next read with a sequence number above ``after``,
  waiting up to ``wait`` seconds (at most 25): ``200 {"seq": int, "read_at": ISO 8601, "card": {"name": str,
  "id_number": str, "birth_date": "YYYY-MM-DD", "sex": "男" | "女" | "", "nation": str}}``; ``204`` when no card
  was placed in that time; ``503 {"error": {"code": "reader_disconnected" | "read_failed", "message": str}}``.
  A read is offered for :data:`HOLD_SECONDS` after the card was placed (or until it is lifted), then forgotten: the
  agent keeps no history, writes nothing to disk and logs no card field.
* CORS: the agent answers only the hall's origins it was configured with (``Access-Control-Allow-Origin``), to
  ``GET`` and the preflight (``OPTIONS``, with ``Access-Control-Allow-Private-Network: true`` — the page comes from
  the hall's server, the agent listens on loopback). It listens on 127.0.0.1 only, never on the network.

What the page sends the server is the ``card`` object as it came (:func:`parse_card` checks it), with the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from shared.config import Config
from shared.errors import ValidationError
from shared.identity import Identity, check_number, identify

AGENT_PORT = 18645
CONTRACT_VERSION = 1
STATUS_PATH = "/v1/status"
CARD_PATH = "/v1/card"
MAX_WAIT_SECONDS = 25
HOLD_SECONDS = 10  # how long the agent offers one read
NAME_MAX = 30
CARD_FIELDS = ("name", "id_number", "birth_date", "sex", "nation")


@dataclass(frozen=True, repr=False)
class CardRead:
    """A card as the agent reads it (held in memory for one request only)."""

    name: str
    id_number: str
    birth_date: date | None
    sex: str = ""
    nation: str = ""

    def __repr__(self) -> str:  # never the number
        return "CardRead(…)"


def parse_card(payload: object) -> CardRead:
    """The ``card`` object of a read, checked for shape (the number is checked by :func:`identify_card`)."""
    if not isinstance(payload, dict):
        raise ValidationError("'card' must be the card object the reader agent sent", code="invalid_card",
                              field="card")
    unknown = sorted(set(payload) - set(CARD_FIELDS))
    if unknown:
        raise ValidationError(f"unknown card field '{unknown[0]}'", code="invalid_card", field="card")
    number = payload.get("id_number")
    if not isinstance(number, str):
        raise ValidationError("the card has no ID number", code="invalid_card", field="card")
    name = payload.get("name", "")
    if not isinstance(name, str) or len(name) > NAME_MAX:
        raise ValidationError(f"the card's name must be text of at most {NAME_MAX} characters", code="invalid_card",
                              field="card")
    born = payload.get("birth_date")
    birth_date = None
    if born not in (None, ""):
        if not isinstance(born, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", born):
            raise ValidationError("the card's birth_date must be YYYY-MM-DD", code="invalid_card", field="card")
        try:
            birth_date = date.fromisoformat(born)
        except ValueError:
            raise ValidationError("the card's birth_date is not a date", code="invalid_card", field="card") from None
    sex, nation = payload.get("sex", ""), payload.get("nation", "")
    if not isinstance(sex, str) or not isinstance(nation, str) or len(sex) > 4 or len(nation) > 16:
        raise ValidationError("the card's sex and nation must be short text", code="invalid_card", field="card")
    return CardRead(name=" ".join(name.split()), id_number=number, birth_date=birth_date, sex=sex, nation=nation)


def identify_card(config: Config, payload: object, *, today: date) -> Identity:
    """A card read (the ``card`` object from the agent) → :class:`~shared.identity.Identity`; ValidationError when
    the number is not valid (``id_format``, ``id_check_digit``, ``id_birth_date``) or the card's birth date is not
    the one in its number (``card_mismatch``: a misread)."""
    card = parse_card(payload)
    _number, born = check_number(card.id_number, today=today)
    if card.birth_date is not None and card.birth_date != born:
        raise ValidationError("the card's birth date does not match its ID number (a misread: place the card again)",
                              code="card_mismatch", field="card")
    return identify(config, card.id_number, today=today, name=card.name, source="card")
