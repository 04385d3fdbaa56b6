"""The credentials shipped for demonstrations, recognised wherever they turn up in a config.

The shipped ``config.toml`` signs clerks in with ``demo-clerk``, the supervisor with ``demo-super``, and its devices
with tokens named ``demo-<kind>-token-…``. They are public (README), so a hall must never go live with them:
``onewindow serve`` refuses to bind a non-loopback address while any is configured, unless ``[hall] demo = true``
says the installation is a demonstration, and ``onewindow check-config`` warns (exit 1 without ``demo = true``).

Password hashes are salted, so the demo passwords are recognised by the exact hashes shipped (a hall that re-hashed
``demo-clerk`` itself is not caught — the README tells it not to); a token's SHA-256 is not salted, so every token of
the demo naming scheme is recognised.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from functools import cache

from shared.config import Clerk, Config

#: The shipped hash of each demo password (public: README): ``demo-clerk`` (clerks), ``demo-super`` (supervisors).
DEMO_PASSWORDS = {
    "scrypt:32768:8:1$6d9nTRJo84Aj6zb6$e609a2c92bad11d7ba2a22bec6e43992f4dd2b480d5dd161cc55bd606a7e254c2781752bda20f4d5a9cf47e075d36a362d36337e32d614b7c9c632b0ca751aca": "demo-clerk",
    "scrypt:32768:8:1$1uCYyxLMnTzsFiYy$967b3e98d08ddfc8934f76674286c080eceaee6b03ad08410b27013d100c047b5bcbb82290c6f1ca940f2dfd10a03cadbf5e106aab9ecf55d8f8a9c6c46689b5": "demo-super",
}
DEMO_PASSWORD_HASHES = frozenset(DEMO_PASSWORDS)


def demo_password(account: Clerk) -> str | None:
    """The public demo password ``account`` signs in with — its hash is a shipped one — else None (its own)."""
    return DEMO_PASSWORDS.get(account.password_hash)


def demo_accounts(accounts: Iterable[Clerk]) -> list[str]:
    """The user names of ``accounts`` that sign in with a demo password (:func:`demo_password`), in order."""
    return [c.username for c in accounts if demo_password(c)]


@cache
def demo_token_digests() -> frozenset[str]:
    """SHA-256 of every token of the demo scheme: ``demo-keypad-token-window-N``, ``demo-tablet-token-window-N``
    (N = 1 … 999) and ``demo-kiosk-token-lobby-N`` (N = 1 … 99)."""
    names = [f"demo-{kind}-token-window-{n}" for kind in ("keypad", "tablet") for n in range(1, 1000)]
    names += [f"demo-kiosk-token-lobby-{n}" for n in range(1, 100)]
    return frozenset(hashlib.sha256(name.encode()).hexdigest() for name in names)


def demo_credentials(config: Config) -> list[str]:
    """What in ``config`` is a shipped demo credential, one line each (empty: none)."""
    found = [f"staff account '{username}' has the demo password" for username in demo_accounts(config.clerks.values())]
    found += [f"{t.kind} token '{t.name}' is a demo token" for t in config.tokens
              if t.token_sha256 in demo_token_digests()]
    return found


def is_loopback(host: str) -> bool:
    """Does binding ``host`` keep the server on this machine? (``localhost`` or a loopback address.)"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def refuse_to_serve(config: Config, host: str) -> str | None:
    """Why ``serve`` must not start on ``host`` with ``config`` (None: it may)."""
    found = demo_credentials(config)
    if not found or config.demo or is_loopback(host):
        return None
    return ("refusing to serve on " + host + ": the config holds the shipped demo credentials, which are public:\n  - "
            + "\n  - ".join(found) + "\nReplace them (`onewindow hash-password`, `onewindow hash-token`), bind "
            "127.0.0.1, or mark the installation as a demonstration with `demo = true` under [hall].")
