"""The README's set-up on a fresh machine: `make run` in a fresh copy of the repository, with no font visible to
the process, installs everything, serves every page and stops cleanly; the demo hall then issues a ticket whose
preview PNG shows the Chinese service name in the shipped font, not tofu.

Hiding the fonts: as root (CI), `unshare -m` and a tmpfs over every font directory (nothing outside changes); as
another user, `unshare -r -m` (a user namespace) does the same where the kernel allows it. Where neither works, the
test still runs and proves the fallback another way: the config points `printer.font_path` at a font that does not
exist, which used to stop the server, and the ticket must come out of the shipped font all the same.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

from fresh_support import ROOT, tracked_copy
from kiosk.printing import printer_settings, slip_for
from kiosk.printing import PrinterSettings
from kiosk.printing.backends import preview_stem
from kiosk.printing.render import render_image
from shared.config import load_config
from shared.demo_hall import demo_config
from shared.embedded import free_port
from shared.fonts import bundled_font, web_font

FONT_DIRS = ["/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts"]
HIDE = ("for d in " + " ".join(FONT_DIRS) + "; do d=$(eval echo $d); [ -d \"$d\" ] && mount -t tmpfs none \"$d\"; "
        "done; echo \"visible font files: $(find " + " ".join(FONT_DIRS[:2]) + " -type f 2>/dev/null | wc -l)\"; "
        "exec \"$@\"")

SHIPPED_KIOSK_TOKEN = "demo-kiosk-token-lobby-1"  # the demo kiosk of the shipped config.toml (README)


def font_hider() -> list[str] | None:
    """The command prefix that runs a command with no font visible, or None where this machine cannot."""
    for prefix in (["unshare", "-m"], ["unshare", "-r", "-m"]):
        cmd = [*prefix, "sh", "-c", HIDE, "sh"]
        try:
            probe = subprocess.run([*cmd, "true"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0 and "visible font files: 0" in probe.stdout:
            return cmd
    return None


class Make:
    """`make TARGET` in the clone, as a terminal job (own session; Ctrl-C = SIGINT to its process group)."""

    def __init__(self, clone: Path, prefix: list[str], *args: str) -> None:
        path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not p.startswith(sys.prefix))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ONEWINDOW_", "VIRTUAL_ENV", "PYTHONPATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"))}
        env["PATH"] = path  # the clone's make finds the machine's python3, not this test's venv
        self.proc = subprocess.Popen([*prefix, "make", *args], cwd=clone, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.proc.poll() is None, self.output[-5000:]
            assert time.monotonic() < deadline, self.output[-5000:]
            time.sleep(0.2)

    def ctrl_c(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(60)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.reader.join(5)


def get(url: str) -> tuple[int, dict, bytes]:
    with urllib.request.urlopen(url, timeout=20) as r:
        return r.status, dict(r.headers), r.read()


def glyph(font: ImageFont.FreeTypeFont, ch: str) -> bytes:
    img = Image.new("L", (80, 80), 255)
    ImageDraw.Draw(img).text((8, 4), ch, font=font, fill=0)
    return img.tobytes()


def test_make_run_and_demo_in_a_fresh_clone_without_fonts(tmp_path):
    clone = tracked_copy(tmp_path / "clone")
    hider = font_hider()
    args: list[str] = []
    if hider is None:  # prove the fallback another way (see the module doc)
        text = (clone / "config.toml").read_text(encoding="utf-8").replace(
            "[printer]\n", '[printer]\nfont_path = "/usr/share/fonts/no-such-dir/no-such-font.ttc"\n')
        (clone / "nofont.toml").write_text(text, encoding="utf-8")
        args.append("CONFIG=nofont.toml")
    prefix = hider or []
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    # 1. `make run`, exactly as the README says (plus a free port)
    run = Make(clone, prefix, "run", f"PORT={port}", *args)
    try:
        run.wait_for("Ctrl-C stops", timeout=900)  # creates .venv and installs from the lock first
        if hider:
            assert "visible font files: 0" in run.output
        banner = run.output[run.output.index("OneWindow 一窗通"):]
        for path in ("/kiosk", "/counter", "/rate/1", "/display", "/display/window/1", "/supervisor"):
            assert f"{base}{path} " in banner
        for page in ("/kiosk", "/display", "/display/window/1", "/rate/1", "/counter", "/supervisor"):
            status, _, html = get(base + page)
            assert status == 200 and b'href="/assets/fonts.css"' in html, page
        status, headers, css = get(base + "/assets/fonts.css")
        assert b"OneWindow Sans SC" in css and b"/assets/fonts/OneWindowSans-SC.woff2" in css
        status, headers, woff2 = get(base + "/assets/fonts/OneWindowSans-SC.woff2")
        assert status == 200 and headers["Content-Type"] == "font/woff2" and woff2 == web_font().read_bytes()
    finally:
        run.ctrl_c()
    assert "SIGKILL" not in run.output and "relay lost Redis" not in run.output, run.output[-3000:]
    assert run.output.index("server stopped") < run.output.index("embedded Redis stopped")

    # 2. the demo hall (open whatever the hour) issues a ticket at a kiosk: its preview is the shipped font's
    demo = Make(clone, prefix, "demo", f"PORT={port}", *args)
    try:
        demo.wait_for("Ctrl-C stops", timeout=300)
        req = urllib.request.Request(base + "/api/v1/tickets", method="POST",
                                     data=json.dumps({"service": "renshe"}).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {SHIPPED_KIOSK_TOKEN}"})
        with urllib.request.urlopen(req, timeout=20) as r:
            answer = json.loads(r.read())
    finally:
        demo.ctrl_c()
    assert answer["print"]["status"] == "preview", answer
    ticket = answer["ticket"]
    config = demo_config(load_config(clone / (args[0].split("=")[1] if args else "config.toml")))
    slip = slip_for(ticket, config)
    png = printer_settings(config).preview_dir / f"{preview_stem(slip)}.png"
    assert png.is_file(), sorted(p.name for p in png.parent.iterdir())
    # the preview is exactly the ticket drawn with the shipped font …
    known = render_image(slip, replace(PrinterSettings(), preview_dir=tmp_path))
    with Image.open(png) as printed:
        assert printed.size == known.size
        assert ImageChops.difference(printed.convert("L"), known.convert("L")).getbbox() is None
    # … and that font draws the service name's characters, each its own glyph, none the missing-glyph box
    font = ImageFont.truetype(str(bundled_font()), 64)
    shapes = [glyph(font, ch) for ch in ticket["service_name"]]
    assert ticket["service_name"] == "人社综合" and len(set(shapes)) == 4
    tofu = glyph(font, "\ue000")  # a private-use character: not in the font, drawn as .notdef
    assert tofu not in shapes and all(s != glyph(font, " ") for s in shapes)


def test_readme_shows_exactly_two_set_up_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Two commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
