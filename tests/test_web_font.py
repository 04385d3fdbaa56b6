"""Pages on a machine without Chinese fonts: every page loads the shipped web font and every character it shows is
in that font (no boxes). Chromium runs with every CJK font directory hidden (unshare -m + tmpfs, as in
test_fresh_clone); a Latin font stays, as on any machine with Chromium (fontconfig depends on one)."""

from __future__ import annotations

import subprocess
from functools import lru_cache

import pytest
import requests
from PIL import Image, ImageDraw, ImageFont

import browser_support
from browser_support import BROWSER_MARKS, launch_chromium, open_context
from shared.fonts import bundled_font

pytestmark = BROWSER_MARKS
HIDE_CJK = ("for f in $(fc-list :lang=zh file | cut -d: -f1); do d=$(dirname \"$f\"); "
            "mountpoint -q \"$d\" || mount -t tmpfs none \"$d\"; done; "
            "[ -z \"$(fc-list :lang=zh)\" ] || exit 97; exec \"$CHROMIUM\" \"$@\"")
PAGES = ["/kiosk", "/display", "/display/window/1", "/display/window/99", "/rate/1", "/counter", "/supervisor"]


@pytest.fixture(scope="module")
def chromium_without_cjk(tmp_path_factory):
    """A Chromium wrapper that sees no CJK font (root: unshare -m; otherwise a user namespace)."""
    wrapper = tmp_path_factory.mktemp("nocjk") / "chromium"
    for prefix in ("unshare -m", "unshare -r -m"):
        wrapper.write_text(f"#!/bin/sh\nCHROMIUM={browser_support.CHROMIUM} exec {prefix} sh -c '{HIDE_CJK}' sh "
                           '"$@"\n')
        wrapper.chmod(0o755)
        if subprocess.run([str(wrapper), "--version"], capture_output=True, timeout=60).returncode == 0:
            return str(wrapper)
    raise RuntimeError("cannot hide the CJK fonts from Chromium here (needs root or user namespaces)")


@lru_cache(maxsize=None)
def _notdef() -> bytes:
    return _draw("\ue000")


@lru_cache(maxsize=4096)
def _draw(ch: str) -> bytes:
    img = Image.new("L", (48, 48), 255)
    ImageDraw.Draw(img).text((4, 2), ch, font=ImageFont.truetype(str(bundled_font()), 36), fill=0)
    return img.tobytes()


def missing_glyphs(text: str) -> set[str]:
    """Visible characters the shipped font would draw as its missing-glyph box."""
    return {c for c in set(text) if not c.isspace() and ord(c) > 0x20 and _draw(c) == _notdef()}


def test_every_page_shows_its_text_in_the_shipped_font(live_server, redis_client, chromium_without_cjk, playwright):
    ticket = requests.post(live_server.url + "/api/v1/tickets", json={"service": "renshe"}, timeout=10).json()["ticket"]
    # a browser of its own: this one is started through a wrapper that hides every CJK font
    with launch_chromium(playwright, executable=chromium_without_cjk) as chromium:
        page = open_context(chromium, (1280, 900)).new_page()
        for path in PAGES + [f"/t/{ticket['token']}"]:
            for lang in ("zh", "en"):
                page.goto(f"{live_server.url}{path}?voice=0&lang={lang}")
                # the face loads only when some text needs it: no system font had the glyphs
                try:
                    page.wait_for_function("() => [...document.fonts].some(f => f.family === 'OneWindow Sans SC' && "
                                           "f.status === 'loaded') && document.fonts.status === 'loaded'")
                except Exception:
                    faces = page.evaluate("() => [...document.fonts].map(f => [f.family, f.status])")
                    raise AssertionError(f"{path} ({lang}): the web font did not load: {faces}") from None
                text = page.evaluate("() => document.body.innerText + document.title")
                assert not missing_glyphs(text), (path, lang, missing_glyphs(text))
