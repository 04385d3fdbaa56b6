"""The house rules that code review alone would let slip: shared/ is the domain core and never imports Flask (nor a
blueprint); no blueprint imports another or reaches Redis but through the core; every page asset is served locally."""

from __future__ import annotations

import ast
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


BLUEPRINTS = ("kiosk", "display", "counter")
# a blueprint reaches Redis only through named operations of the core, never with a client or the runner of its own
REDIS_MODULES = ("redis", "shared.redis_client", "shared.runner")


def _imports(package: str) -> dict[str, set[str]]:
    """Every module each file of ``package`` imports (absolute names; relative imports resolved)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        here = parts[:-1]  # the package the file is in (for __init__.py, the package itself)
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = here[:len(here) - node.level + 1] if node.level else []
                module = ".".join([*base, node.module] if node.module else base)
                names.add(module)
                names.update(f"{module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    assert found, f"no modules under {package}/"
    return found


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_no_blueprint_imports_another():
    # the supervisor's package sits inside counter/ but is a blueprint of its own
    areas = {"kiosk": ("kiosk",), "display": ("display",), "counter.supervisor": ("counter.supervisor",),
             "counter": ("counter",)}
    offenders = []
    for package in BLUEPRINTS:
        for path, names in _imports(package).items():
            own = "counter.supervisor" if path.startswith("counter/supervisor/") else package
            for name in names:
                for other in areas:
                    if other == own or not _matches(name, other):
                        continue
                    if own == "counter.supervisor" and other == "counter" and _matches(name, "counter.supervisor"):
                        continue
                    if own == "counter" and other == "counter.supervisor" and path == "counter/__init__.py":
                        continue
                    offenders.append(f"{path} imports {name}")
    assert offenders == []


def test_no_blueprint_uses_a_redis_client():
    offenders = [f"{path} imports {name}"
                 for package in BLUEPRINTS for path, names in _imports(package).items()
                 for name in names if any(_matches(name, banned) for banned in REDIS_MODULES)]
    assert offenders == []


def test_shared_imports_no_flask_in_its_source():
    """The run-time check above sees what importing shared/ loads; this one reads every import line, including
    those inside functions that importing never runs."""
    offenders = [f"{path} imports {name}" for path, names in _imports("shared").items() for name in names
                 if any(_matches(name, web) for web in ("flask", "flask_socketio", "werkzeug", "onewindow",
                                                          *BLUEPRINTS))]
    assert offenders == []


def test_tests_share_code_through_support_modules_only():
    """One import style: shared test code lives in tests/*_support.py (and a few fakes), imported by module name;
    no test module imports conftest (pytest's, for fixtures) or another test module."""
    offenders = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                first = name.split(".")[0]
                if first in ("tests", "conftest") or first.startswith("test_"):
                    offenders.append(f"tests/{path.name} imports {name}")
    assert offenders == []
