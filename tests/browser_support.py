"""The browser tests' one helper module: Debian's Chromium driven by Playwright, one browser for the whole test
session and a fresh context (cookies, storage, viewport) per test, a tiny static server for harness pages, and
waits on conditions (never fixed sleeps).

Playwright cannot download its own browsers here, so the system Chromium is used (``/usr/bin/chromium``, or
``$ONEWINDOW_CHROMIUM``). Typical use::

    from browser_support import BROWSER_MARKS

    pytestmark = BROWSER_MARKS

    def test_something(new_page, live_server):
        page = new_page((1280, 720))              # a page in a context of its own; closed after the test
        page.goto(live_server.url + "/display")
        ...
        assert page_errors(page) == []

The fixtures (``chromium``, ``new_context``, ``new_page``) are registered by tests/conftest.py. The pages run under
``script-src 'self'`` (no eval): wait predicates are written as functions (``"() => …"``), which Playwright runs
in the page without eval, or as locator assertions.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import mimetypes
import os
import threading
from pathlib import Path
from typing import Iterator, Mapping

import pytest

CHROMIUM = os.environ.get("ONEWINDOW_CHROMIUM", "/usr/bin/chromium")
DOCS = Path(__file__).resolve().parent.parent / "docs"

CHROMIUM_ARGS = [
    "--no-sandbox",                 # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",   # hall displays speak without a click
]

DEFAULT_TIMEOUT_MS = 15_000
#: For a whole module: ``pytestmark = BROWSER_MARKS`` (marks the tests `browser`; select with -m browser).
BROWSER_MARKS = [pytest.mark.browser]


def require_browser() -> None:
    """Fail loudly (never skip) when Playwright or Chromium is missing: `make test` installs both."""
    import playwright.sync_api  # noqa: F401  (ImportError is the clear message)

    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        raise RuntimeError(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")


@contextlib.contextmanager
def launch_chromium(playwright, *, executable: str | None = None, extra_args: list[str] | None = None):
    """A headless Chromium (Playwright ``Browser``) from the session's driver (the ``playwright`` fixture); closed on
    exit. The session's browser is the ``chromium`` fixture: launch another only where the launch itself differs
    (another autoplay policy, a Chromium that sees no CJK font)."""
    browser = playwright.chromium.launch(executable_path=executable or CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS + list(extra_args or []))
    try:
        yield browser
    finally:
        browser.close()


def open_context(browser, viewport: tuple[int, int] = (1280, 800), *, locale: str = "zh-CN", **kwargs):
    """A fresh context (its own cookies and storage) in ``browser``, with the default timeout set."""
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, locale=locale, **kwargs)
    ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return ctx


def console_log(page) -> list[str]:
    """Start collecting the page's console messages and uncaught errors; returns the live list.

    Entries look like ``"warning: announcer: ..."`` or ``"pageerror: ..."``.
    """
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda err: messages.append(f"pageerror: {err}"))
    return messages


def settle(page) -> None:
    """Return once every request the page started before now has reached the test's request listeners (Playwright
    reports requests in order: a marker request sent now comes after them) — a condition, not a sleep, for "the page
    sent nothing more"."""
    with page.expect_request(lambda r: r.url.endswith("/livez?settle")):
        page.evaluate("() => { fetch('/livez?settle', {cache: 'no-store'}).catch(() => {}); }")


def page_errors(page, *, allow: tuple[str, ...] = ()) -> list[str]:
    """The console errors and uncaught exceptions of a page made by ``new_page`` (``page.log``), except those
    containing one of ``allow`` (refusals a test provokes, e.g. "401")."""
    return [m for m in page.log if m.startswith(("error", "pageerror")) and not any(a in m for a in allow)]


def screenshot_dir(tmp_path: Path) -> Path:
    """Where a test writes its screenshots: docs/ with ``ONEWINDOW_SCREENSHOTS=1`` (to regenerate the pictures in the
    docs), else a temporary folder (the pages are still laid out, checked and drawn)."""
    folder = DOCS if os.environ.get("ONEWINDOW_SCREENSHOTS") == "1" else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def layout_problems(page, selectors: str) -> list[str]:
    """What does not fit: the page scrolls, or an element matched by ``selectors`` (visible ones) lies outside the
    viewport or has content overflowing its box. Measured in the final font (waits for ``document.fonts``)."""
    # laid out in its final font; awaited, not polled (the page's clock may be a fake one)
    page.evaluate("() => document.fonts.ready.then(() => true)")
    return page.evaluate(r"""(selectors) => {
      const problems = [];
      const root = document.scrollingElement;
      if (root.scrollHeight > innerHeight + 1 || root.scrollWidth > innerWidth + 1) problems.push('page scrolls');
      for (const e of document.querySelectorAll(selectors)) {
        if (!e.getClientRects().length || getComputedStyle(e).visibility === 'hidden') continue;
        const r = e.getBoundingClientRect();
        const name = e.id ? '#' + e.id : e.tagName.toLowerCase() + '.' + [...e.classList].join('.');
        if (r.left < -1 || r.top < -1 || r.bottom > innerHeight + 1 || r.right > innerWidth + 1) {
          problems.push('outside the screen: ' + name + ' ' + JSON.stringify([r.left, r.top, r.right, r.bottom].map(Math.round)));
        }
        if (e.scrollHeight > e.clientHeight + 2 || e.scrollWidth > e.clientWidth + 2) {
          problems.push('overflows: ' + name + ' ' + JSON.stringify([e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]) +
                        ' ' + e.textContent.trim().replace(/\s+/g, ' ').slice(0, 30));
        }
      }
      return problems;
    }""", selectors)


class _Handler(http.server.SimpleHTTPRequestHandler):
    pages: Mapping[str, tuple[str, bytes]] = {}
    mounts: Mapping[str, str] = {}

    def log_message(self, format, *args):  # keep the test output clean
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def translate_path(self, path):
        clean = path.split("?", 1)[0]
        for prefix, folder in self.mounts.items():
            if clean.startswith(prefix):
                return str(Path(folder) / clean[len(prefix):])
        return super().translate_path(path)

    def guess_type(self, path):
        return "text/javascript" if str(path).endswith(".js") else super().guess_type(path)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in self.pages:
            ctype, body = self.pages[path]
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path == "/favicon.ico":
            self.send_response(204)  # keeps "404 favicon" errors out of the page's console
            self.end_headers()
            return
        super().do_GET()


@contextlib.contextmanager
def serve_static(root: str | os.PathLike, pages: Mapping[str, str | bytes] | None = None,
                 mounts: Mapping[str, str | os.PathLike] | None = None) -> Iterator[str]:
    """Serve directory ``root`` (plus in-memory ``pages``: URL path -> HTML/text, and ``mounts``: URL prefix ->
    folder, e.g. {"/assets/": "shared/static"}) on 127.0.0.1. Yields the base URL, no trailing slash."""
    served: dict[str, tuple[str, bytes]] = {}
    for path, body in (pages or {}).items():
        ctype = mimetypes.guess_type(path)[0] or "text/html"
        if ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
            ctype += "; charset=utf-8"
        served[path] = (ctype, body.encode("utf-8") if isinstance(body, str) else body)
    handler = type("Handler", (_Handler,), {"pages": served, "mounts": {k: str(v) for k, v in (mounts or {}).items()}})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(Path(root))))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="static-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def playwright():
    """The session's Playwright driver (one per thread: a second sync driver cannot start beside it)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def chromium(playwright):
    """The one headless Chromium of the test session (launching one costs about a second on this machine)."""
    with launch_chromium(playwright) as browser:
        yield browser


@pytest.fixture
def new_context(chromium):
    """``new_context(viewport, **options)``: a fresh browser context (closed after the test)."""
    made = []

    def make(viewport: tuple[int, int] = (1280, 800), **kwargs):
        ctx = open_context(chromium, viewport, **kwargs)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        with contextlib.suppress(Exception):
            ctx.close()


@pytest.fixture
def new_page(new_context):
    """``new_page(viewport, **context options)``: a page in a fresh context, its console collected in ``page.log``."""

    def make(viewport: tuple[int, int] = (1280, 800), **kwargs):
        page = new_context(viewport, **kwargs).new_page()
        page.log = console_log(page)
        return page

    return make

