"""Helpers for browser tests: Debian's Chromium driven by Playwright, plus a tiny static server.

Playwright cannot download its own browsers here, so the system Chromium is used
(``/usr/bin/chromium``, or ``$ONEWINDOW_CHROMIUM``). Typical use::

    from browser_support import BROWSER_MARKS, browser_page, console_log, serve_static

    pytestmark = BROWSER_MARKS          # or @browser_test on single tests

    def test_something():
        with serve_static(ROOT, pages={"/t.html": HTML}) as base, browser_page(viewport=(1280, 720)) as page:
            log = console_log(page)
            page.goto(base + "/t.html")
            ...

Every browser gets a fresh temporary profile (user-data-dir) that is removed afterwards, and the
flags that keep Chromium from calling out to the network on a closed machine.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import mimetypes
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterator, Mapping

import pytest

CHROMIUM = os.environ.get("ONEWINDOW_CHROMIUM", "/usr/bin/chromium")

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


def require_browser() -> None:
    """Fail loudly (never skip) when Playwright or Chromium is missing: CI installs both (.ci/run)."""
    import playwright.sync_api  # noqa: F401  (ImportError is the clear message)

    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        raise RuntimeError(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")


#: For a whole module: ``pytestmark = BROWSER_MARKS`` (marks the tests `browser`; select with -m browser).
BROWSER_MARKS = [pytest.mark.browser]


def browser_test(fn):
    """Decorator for one test: marks it `browser`."""
    return pytest.mark.browser(fn)


@contextlib.contextmanager
def launch_browser(viewport: tuple[int, int] = (1280, 800), *, extra_args: list[str] | None = None,
                   locale: str = "zh-CN", **context_kwargs) -> Iterator["BrowserContext"]:  # noqa: F821
    """A headless Chromium persistent context with a fresh temporary profile.

    Yields a Playwright ``BrowserContext``; everything (browser, Playwright driver, profile
    directory) is torn down on exit.
    """
    require_browser()
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="onewindow-chromium-")
    try:
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS + list(extra_args or []),
                viewport={"width": viewport[0], "height": viewport[1]},
                locale=locale,
                **context_kwargs,
            )
            ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
            try:
                yield ctx
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@contextlib.contextmanager
def browser_page(viewport: tuple[int, int] = (1280, 800), **kwargs) -> Iterator["Page"]:  # noqa: F821
    """One page in a fresh headless Chromium (see ``launch_browser`` for the options)."""
    with launch_browser(viewport, **kwargs) as ctx:
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        yield page


def console_log(page) -> list[str]:
    """Start collecting the page's console messages and uncaught errors; returns the live list.

    Entries look like ``"warning: announcer: ..."`` or ``"pageerror: ..."``.
    """
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda err: messages.append(f"pageerror: {err}"))
    return messages


class _Handler(http.server.SimpleHTTPRequestHandler):
    pages: Mapping[str, tuple[str, bytes]] = {}

    def log_message(self, format, *args):  # keep the test output clean
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

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
        if path == "/favicon.ico" and not Path(self.directory, "favicon.ico").exists():
            self.send_response(204)  # keeps "404 favicon" errors out of the page's console
            self.end_headers()
            return
        super().do_GET()


@contextlib.contextmanager
def serve_static(root: str | os.PathLike, pages: Mapping[str, str | bytes] | None = None) -> Iterator[str]:
    """Serve directory ``root`` (plus in-memory ``pages``: URL path -> HTML/text) on 127.0.0.1.

    Yields the base URL (``http://127.0.0.1:PORT``), no trailing slash. A random free port is used.
    """
    served: dict[str, tuple[str, bytes]] = {}
    for path, body in (pages or {}).items():
        ctype = mimetypes.guess_type(path)[0] or "text/html"
        if ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
            ctype += "; charset=utf-8"
        served[path] = (ctype, body.encode("utf-8") if isinstance(body, str) else body)
    handler = type("Handler", (_Handler,), {"pages": served})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(Path(root)))
    )
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="static-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
