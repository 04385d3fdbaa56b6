"""Contact details of citizens (a 差评's call-back number, a 办不成事 case's contact): checked, kept where the hall
needs them, and shown masked everywhere except to a supervisor (who makes the call-back).

Rater data is confidential (local 好差评 rules): a contact never goes on the event stream or into an outbox entry
in clear — only masked (``138****5678``, ``王*``).
"""

from __future__ import annotations

import re

from shared.errors import ValidationError

NAME_MAX = 32
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"(0[1-9][0-9]{1,2})-?([1-9][0-9]{6,7})")


def normalize_phone(text: str, *, field: str = "phone") -> str:
    """A mainland mobile number (11 digits: ``13812345678``) or a landline with its area code (``0554-6661234``),
    spaces and a leading +86 / 0086 taken off; '' stays ''. Anything else is a :class:`ValidationError`."""
    if not isinstance(text, str):
        raise ValidationError(f"'{field}' must be text", code="wrong_type", field=field)
    s = re.sub(r"[\s()（）]", "", text)
    if not s:
        return ""
    s = re.sub(r"^(\+86|0086)-?", "", s)
    if _MOBILE.fullmatch(s):
        return s
    m = _LANDLINE.fullmatch(s)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    raise ValidationError(f"'{field}' is not a phone number (a mobile number like 13812345678 or a landline with its "
                          "area code like 0554-6661234)", code="invalid_value", field=field)


def normalize_name(text: str, *, field: str = "name") -> str:
    if not isinstance(text, str):
        raise ValidationError(f"'{field}' must be text", code="wrong_type", field=field)
    s = " ".join(text.split())
    if len(s) > NAME_MAX:
        raise ValidationError(f"'{field}' is longer than {NAME_MAX} characters", code="invalid_value", field=field)
    return s


def mask_phone(phone: str | None) -> str:
    """``13812345678`` → ``138****5678``; ``0554-6661234`` → ``0554-***1234``; '' → ''."""
    if not phone:
        return ""
    if "-" in phone:
        area, number = phone.split("-", 1)
        return f"{area}-{'*' * max(0, len(number) - 4)}{number[-4:]}"
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_name(name: str | None) -> str:
    """``王芳`` → ``王*``, ``欧阳娜娜`` → ``欧***``: the first character only."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)


def make_contact(name: str = "", phone: str = "", *, prefix: str = "") -> dict[str, str]:
    """A checked contact {name?, phone?} (empty parts left out; {} when there is none)."""
    out = {}
    n = normalize_name(name or "", field=f"{prefix}name")
    p = normalize_phone(phone or "", field=f"{prefix}phone")
    if n:
        out["name"] = n
    if p:
        out["phone"] = p
    return out


def mask_contact(contact: dict | None) -> dict[str, str]:
    """The contact as anyone but a supervisor sees it."""
    if not isinstance(contact, dict):
        return {}
    out = {}
    if contact.get("name"):
        out["name"] = mask_name(contact["name"])
    if contact.get("phone"):
        out["phone"] = mask_phone(contact["phone"])
    return out
