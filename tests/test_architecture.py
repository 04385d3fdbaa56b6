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


def _ours(pattern: str) -> list[Path]:
    """Files matching ``pattern`` under the project's packages (a blueprint package may sit inside another, e.g.
    counter/supervisor/)."""
    return [p for package in ("kiosk", "display", "counter", "shared") for p in (ROOT / package).glob(f"**/{pattern}")]


def _static_file(app, url: str) -> Path:
    """The file a blueprint serves at ``url`` (its static folder under its static URL path)."""
    for bp in app.blueprints.values():
        if bp.static_url_path and bp.static_folder and url.startswith(bp.static_url_path + "/"):
            return Path(bp.static_folder) / url.removeprefix(bp.static_url_path + "/")
    raise AssertionError(f"no blueprint serves {url}")


def test_pages_load_nothing_from_other_hosts():
    external = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)
    css_import = re.compile(r"""url\(\s*["']?(?:https?:)?//""", re.I)
    offenders = []
    for path in [*_ours("templates/**/*.html"), *_ours("static/**/*.css")]:
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
    # (and so does the city supervisors' page, counter/city/)
    areas = {"kiosk": ("kiosk",), "display": ("display",), "counter.supervisor": ("counter.supervisor",),
             "counter.city": ("counter.city",), "counter": ("counter",)}
    offenders = []
    for package in BLUEPRINTS:
        for path, names in _imports(package).items():
            own = "counter.supervisor" if path.startswith("counter/supervisor/") else \
                "counter.city" if path.startswith("counter/city/") else package
            for name in names:
                for other in areas:
                    if other == own or not _matches(name, other):
                        continue
                    if own in ("counter.supervisor", "counter.city") and other == "counter" and _matches(name, own):
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


# ------------------------------------------------------------------------------------------------ the front end
LAYER = ROOT / "shared" / "static" / "js"
PAGE_SCRIPTS = sorted(p for p in _ours("static/**/*.js") if "vendor" not in p.parts and LAYER not in p.parents)
IMPORT = re.compile(r"""^\s*import\s[^'"]*['"]([^'"]+)['"]""", re.M)
#: the one place that loads files that are not the API (the voice clips and their manifest)
FETCHES_ASSETS = {"display/static/js/announcer.js"}


def _js_imports(path: Path) -> set[Path]:
    """Every module ``path`` imports, directly or not (only ours: /assets/… and relative paths)."""
    seen: set[Path] = set()
    todo = [path]
    while todo:
        current = todo.pop()
        for spec in IMPORT.findall(current.read_text(encoding="utf-8")):
            target = (LAYER / spec.removeprefix("/assets/js/")) if spec.startswith("/assets/js/") else \
                (current.parent / spec).resolve()
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _pages(client, engine) -> dict[str, str]:
    token = client.post("/api/v1/tickets", json={"service": "renshe"}).get_json()["ticket"]["token"]
    paths = ["/kiosk", "/counter", "/rate/1", "/supervisor", "/display", "/display/window/1", f"/t/{token}",
             "/display/window/99", "/book", "/b/K7M2-9QXD"]
    return {p: client.get(p).get_data(as_text=True) for p in paths}


def test_every_page_loads_the_common_layer(client, engine):
    for path, html in _pages(client, engine).items():
        assert '<link rel="stylesheet" href="/assets/fonts.css">' in html, path
        assert '<link rel="stylesheet" href="/assets/css/tokens.css">' in html, path
        modules = re.findall(r'<script type="module" src="([^"]+)"', html)
        assert len(modules) == 1, (path, modules)
        assert not re.search(r"<script(?![^>]*(type=\"module\"|type=\"application/json\"|src=\"/assets/vendor/))", html), path
        script = _static_file(client.application, modules[0])
        used = {p.name for p in _js_imports(script) if LAYER in p.parents}
        assert {"dom.js", "i18n.js"} <= used, (path, used)   # everything a page needs comes from the layer


def test_no_page_defines_what_the_layer_provides():
    """One $ / esc / element builder, one API client (fetch), one i18n (catalogues named *strings.js), one
    dialect (ES modules, const/let): a page that writes its own copy fails here."""
    own = re.compile(r"^(?:(?:export\s+)?(?:function|const|let|var)\s+(\$|\$\$|esc|el|h|fetchJSON)\s*(?:=|\())"
                     r"|function\s+(t|api)\s*\(", re.M)
    offenders = []
    for path in PAGE_SCRIPTS:
        name = str(path.relative_to(ROOT))
        text = path.read_text(encoding="utf-8")
        if own.search(text):
            offenders.append(f"{name}: defines {own.search(text).group(0)}")
        if "fetch(" in text and name not in FETCHES_ASSETS:
            offenders.append(f"{name}: calls fetch (use /assets/js/api.js)")
        if re.search(r"\bzh\s*:\s*\{", text) and not name.endswith("strings.js"):
            offenders.append(f"{name}: a word table outside a catalogue (*strings.js)")
        if re.search(r"\bvar\s", text) or re.search(r"^\(function", text, re.M) or \
                not (IMPORT.search(text) or "export " in text):
            offenders.append(f"{name}: not a modern ES module")
    for path in _ours("templates/**/*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"data-(zh|en|t)=", text):
            offenders.append(f"{path.relative_to(ROOT)}: data-zh/data-en/data-t (use data-i18n)")
    assert PAGE_SCRIPTS and offenders == []
