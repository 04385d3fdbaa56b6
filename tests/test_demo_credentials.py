"""The shipped demo credentials are recognised (issue 9, item 8): ``serve`` refuses them on a non-loopback address
unless the config says ``[hall] demo = true``, and ``check-config`` warns loudly (exit 1 without the marker)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from shared.config import load_config, parse_config
from shared.demo_credentials import (DEMO_PASSWORDS, demo_accounts, demo_credentials, demo_password, is_loopback,
                                     refuse_to_serve)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config.toml"


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "onewindow", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def _replace_demo_credentials(text: str) -> str:
    """The shipped config with every demo password hash and demo token replaced by the hall's own."""
    from werkzeug.security import generate_password_hash

    from shared.demo_credentials import DEMO_PASSWORD_HASHES
    import hashlib
    import re

    own = generate_password_hash("the-hall's-own-password")
    for h in DEMO_PASSWORD_HASHES:
        text = text.replace(h, own)
    return re.sub(r'token_sha256 = "[0-9a-f]{64}"',
                  lambda m: f'token_sha256 = "{hashlib.sha256(m.group(0).encode() + b"own").hexdigest()}"', text)


def test_the_shipped_config_is_recognised_as_demo():
    found = demo_credentials(load_config(SHIPPED))
    assert "staff account 'supervisor' has the demo password" in found
    assert "keypad token 'keypad-1' is a demo token" in found
    assert "kiosk token 'kiosk-lobby-1' is a demo token" in found
    assert "tablet token 'tablet-9' is a demo token" in found


def test_demo_password_is_the_one_rule_for_accounts():
    """A shipped hash names the public password it verifies; the hall's own hash of that password is its own."""
    from dataclasses import replace

    from werkzeug.security import check_password_hash, generate_password_hash

    assert sorted(DEMO_PASSWORDS.values()) == ["demo-clerk", "demo-super"]
    assert all(check_password_hash(h, password) for h, password in DEMO_PASSWORDS.items())
    clerks = load_config(SHIPPED).clerks
    assert demo_password(clerks["clerk1"]) == "demo-clerk" and demo_password(clerks["supervisor"]) == "demo-super"
    assert demo_accounts(clerks.values()) == list(clerks)
    rehashed = replace(clerks["clerk1"], password_hash=generate_password_hash("demo-clerk"))
    assert demo_password(rehashed) is None and demo_accounts([rehashed, clerks["clerk2"]]) == ["clerk2"]


def test_serve_refuses_demo_credentials_on_a_non_loopback_address():
    r = _cli("serve", "--config", str(SHIPPED), "--host", "0.0.0.0", "--port", "1")
    assert r.returncode == 2
    assert "refusing to serve on 0.0.0.0" in r.stderr and "staff account 'clerk1' has the demo password" in r.stderr
    assert "demo = true" in r.stderr


def test_the_decision_loopback_demo_marker_and_own_credentials(tmp_path):
    config = load_config(SHIPPED)
    assert refuse_to_serve(config, "0.0.0.0") and refuse_to_serve(config, "192.0.2.10")
    assert refuse_to_serve(config, "hall-server.local")  # a name may resolve to anything
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        assert is_loopback(host) and refuse_to_serve(config, host) is None, host
    raw = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    raw["hall"]["demo"] = True
    assert refuse_to_serve(parse_config(raw, base_dir=ROOT), "0.0.0.0") is None
    own = tmp_path / "own.toml"
    own.write_text(_replace_demo_credentials(SHIPPED.read_text(encoding="utf-8")), encoding="utf-8")
    assert demo_credentials(load_config(own)) == [] and refuse_to_serve(load_config(own), "0.0.0.0") is None


def test_check_config_warns_loudly(tmp_path):
    r = _cli("check-config", "--config", str(SHIPPED))
    assert r.returncode == 1 and "WARNING" in r.stderr and "DEMO" in r.stderr and "keypad-1" in r.stderr
    marked = tmp_path / "demo.toml"
    marked.write_text(SHIPPED.read_text(encoding="utf-8").replace('timezone = "Asia/Shanghai"',
                                                                 'timezone = "Asia/Shanghai"\ndemo = true', 1),
                      encoding="utf-8")
    r = _cli("check-config", "--config", str(marked))
    assert r.returncode == 0 and "DEMO" in r.stderr and "marked as a demonstration" in r.stderr
    own = tmp_path / "own.toml"
    own.write_text(_replace_demo_credentials(SHIPPED.read_text(encoding="utf-8")), encoding="utf-8")
    r = _cli("check-config", "--config", str(own))
    assert r.returncode == 0 and r.stderr == "" and "OK" in r.stdout


def test_hash_token_prints_an_entry_the_config_accepts(tmp_path):
    r = _cli("hash-token", "--kind", "kiosk", "--kiosk", "lobby-7")
    assert r.returncode == 0
    token = r.stdout.split("pair the device with it): ", 1)[1].split("\n", 1)[0]
    entry = tomllib.loads(r.stdout)["tokens"][0]
    assert entry["kind"] == "kiosk" and entry["kiosk"] == "lobby-7" and token not in entry["token_sha256"]
    raw = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    raw["tokens"] = [entry, tomllib.loads(_cli("hash-token", "x" * 20, "--kind", "tablet", "--window", "3").stdout)["tokens"][0]]
    config = parse_config(raw, base_dir=ROOT)
    assert [(t.kind, t.kiosk, t.window) for t in config.tokens] == [("kiosk", "lobby-7", None), ("tablet", None, 3)]
    assert _cli("hash-token", "--kind", "kiosk").returncode == 2
    assert _cli("hash-token", "--kind", "tablet").returncode == 2
    assert _cli("hash-token", "--kind", "kiosk", "--kiosk", "lobby-1\n").returncode == 2
