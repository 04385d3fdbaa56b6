"""Devices are identities: keypads, evaluation tablets and kiosks authenticate with a bearer token whose SHA-256 is
in ``[[tokens]]`` (``onewindow hash-token``). A keypad or tablet is bound to one window, a kiosk to one kiosk id.

A device presents its token as ``Authorization: Bearer <token>``; the kiosk and tablet pages keep it in the
browser's local storage after a one-time pairing (docs/kiosk.md, docs/counter.md). Nothing here knows HTTP beyond
the header's text, so every blueprint reads devices the same way.
"""

from __future__ import annotations

import hashlib

from shared.config import Config, MachineToken
from shared.errors import AuthenticationError, PermissionDeniedError

KEYPAD, TABLET, KIOSK = "keypad", "tablet", "kiosk"


def token_digest(token: str) -> str:
    """The SHA-256 (hex) of a token, as ``[[tokens]] token_sha256`` holds it."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization`` header value; None when there is no header; 401 ``bad_token`` when the
    header is not ``Bearer <token>``."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("use 'Authorization: Bearer <token>'", code="bad_token")
    return token.strip()


def identify(config: Config, header: str | None) -> MachineToken | None:
    """The device behind an ``Authorization`` header value (None without one); 401 ``bad_token`` when unknown."""
    token = bearer_token(header)
    if token is None:
        return None
    digest = token_digest(token)
    for device in config.tokens:  # a handful of devices; the digest is of a secret, so a plain compare is fine
        if device.token_sha256 == digest:
            return device
    raise AuthenticationError("unknown device token", code="bad_token")


def require_kind(device: MachineToken, *kinds: str) -> MachineToken:
    """``device`` if it is one of ``kinds``, else 403 ``wrong_device``."""
    if device.kind not in kinds:
        raise PermissionDeniedError(f"a {device.kind} token cannot do this (needs: {' or '.join(kinds)})",
                                    code="wrong_device")
    return device


def describe(device: MachineToken) -> dict:
    """A device as it may see itself (never its digest)."""
    return {"name": device.name, "kind": device.kind, "window": device.window, "kiosk": device.kiosk}
