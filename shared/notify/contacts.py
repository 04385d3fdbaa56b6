"""A citizen's contact for notifications: a mobile number (the SMS gateway) and/or a WeChat openid (subscription
messages), checked, and given its delivery partition — the notify outbox keeps one citizen's messages in order by
keeping them in one partition (a hash of the contact)."""

from __future__ import annotations

import re
import zlib

from shared.config import Config
from shared.errors import ValidationError
from shared.privacy import mask_phone, normalize_phone

OPENID = re.compile(r"[A-Za-z0-9_-]{6,64}")
LANGS = ("zh", "en")


def make_contact(config: Config, *, phone: str = "", openid: str = "", lang: str = "zh") -> dict | None:
    """``{phone?, openid?, part, lang}``, or None when neither is given. A phone must be a mainland mobile number
    (an SMS goes to it); ValidationError otherwise."""
    p = normalize_phone(phone or "", field="phone")
    if p and "-" in p:
        raise ValidationError("'phone' must be a mobile number (a text message goes to it)", code="invalid_value",
                              field="phone")
    if openid and (not isinstance(openid, str) or not OPENID.fullmatch(openid)):
        raise ValidationError("'openid' must be 6–64 of A–Z a–z 0–9 _ -", code="invalid_value", field="openid")
    if not p and not openid:
        return None
    out: dict = {"part": zlib.crc32((p or openid).encode()) % config.notifications.partitions,
                 "lang": lang if lang in LANGS else "zh"}
    if p:
        out["phone"] = p
    if openid:
        out["openid"] = openid
    return out


def mask_contact(contact: dict | None) -> dict:
    """What a view shows of a contact: ``138****5678``, and only whether there is an openid."""
    if not isinstance(contact, dict):
        return {}
    out: dict = {}
    if contact.get("phone"):
        out["phone"] = mask_phone(contact["phone"])
    if contact.get("openid"):
        out["wechat"] = True
    return out
