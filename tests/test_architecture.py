"""The house rules that code review alone would let slip: shared/ is the domain core and never imports Flask;
every page asset is served locally (no CDN)."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import shared

ROOT = Path(__file__).resolve().parent.parent


def test_shared_never_imports_flask():
    modules = [m.name for m in pkgutil.walk_packages(shared.__path__, "shared.")]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('flask', 'flask_socketio', 'werkzeug'))\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert len(modules) > 10
    assert out.stdout.strip() == "", f"shared/ pulls in {out.stdout.strip()}"


def test_pages_load_nothing_from_other_hosts():
    external = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)
    css_import = re.compile(r"""url\(\s*["']?(?:https?:)?//""", re.I)
    offenders = []
    for path in [*ROOT.glob("*/templates/**/*.html"), *ROOT.glob("*/static/**/*.css")]:
        text = path.read_text(encoding="utf-8")
        if external.search(text) or css_import.search(text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
