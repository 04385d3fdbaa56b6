#!/usr/bin/env python3
"""Regenerate the bundled CJK font: shared/static/fonts/OneWindowSans-SC.{otf,woff2} and its licence.

Source: the PyPI wheel ``noto-cjk-sans-otc`` (Noto Sans CJK Regular, version 2.004, SIL OFL 1.1), pinned below
by version and SHA-256. Its collection holds the JP, KR, SC, TC and HK faces; we take **Noto Sans CJK SC** (the
Simplified-Chinese glyph forms — the face whose name says SC, checked below) and subset it with fontTools to:

* printable ASCII, Latin-1, general punctuation, arrows and a few symbols the pages use;
* CJK symbols and punctuation, full-width forms;
* every character of GB 2312 (6,763 hanzi and its symbols);
* every non-ASCII character in the project's own text: config files, templates, scripts, the Python sources
  (page strings, ticket wording) — so a hall's names and notices print even if they are outside GB 2312.

Run ``make font`` (it installs the pinned fontTools + brotli into the venv first). The output is deterministic for a
given source wheel and fontTools version. The OFL allows subsetting and redistribution with the licence; the subset
keeps the licence text and copyright in its name table.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SOURCE = "noto-cjk-sans-otc==0.0.1"
SOURCE_SHA256 = "44596df7f0c1590cb9c4cfe85b9213b7e91e1086a8a024f1a05df6d6badd33ec"
FACE = "Noto Sans CJK SC"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "shared" / "static" / "fonts"
STEM = "OneWindowSans-SC"
SCAN_DIRS = ("onewindow", "kiosk", "display", "counter", "shared", "tests/data")
SCAN_FILES = ("config.toml",)
SCAN_SUFFIXES = {".py", ".html", ".js", ".css", ".toml", ".json", ".txt"}
RANGES = [
    (0x20, 0x7E), (0xA0, 0xFF), (0x2010, 0x2027), (0x2030, 0x205E), (0x2190, 0x21FF), (0x2460, 0x24FF),
    (0x2500, 0x257F), (0x25A0, 0x25FF), (0x2600, 0x26FF), (0x2700, 0x27BF), (0x3000, 0x303F), (0xFF01, 0xFF5E),
    (0xFFE0, 0xFFE6),
]


def gb2312() -> set[str]:
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def project_text() -> set[str]:
    chars: set[str] = set()
    paths = [ROOT / f for f in SCAN_FILES if (ROOT / f).exists()]
    for d in SCAN_DIRS:
        paths += [p for p in (ROOT / d).rglob("*") if p.suffix in SCAN_SUFFIXES and "vendor" not in p.parts]
    for p in sorted(paths):
        try:
            chars |= {c for c in p.read_text(encoding="utf-8") if ord(c) > 0x7F}
        except (UnicodeDecodeError, OSError):
            continue
    return chars


def fetch_source(tmp: Path) -> tuple[Path, Path]:
    """pip-download the pinned wheel, check its hash, return (the .ttc, the licence file)."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(tmp), SOURCE],
                   check=True)
    wheel = next(tmp.glob("*.whl"))
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        raise SystemExit(f"{wheel.name}: sha256 {digest} is not the pinned {SOURCE_SHA256}")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp / "x")
    return next((tmp / "x").rglob("*.ttc")), next((tmp / "x").rglob("LICENSE*"))


def main() -> int:
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    with tempfile.TemporaryDirectory() as d:
        ttc, licence = fetch_source(Path(d))
        collection = TTCollection(str(ttc))
        faces = [f for f in collection.fonts if f["name"].getDebugName(1) == FACE]
        if len(faces) != 1:
            raise SystemExit(f"no single face named {FACE!r} in {ttc.name}")
        font = faces[0]
        cmap = font.getBestCmap()
        wanted = {chr(c) for lo, hi in RANGES for c in range(lo, hi + 1)} | gb2312() | project_text()
        missing = sorted(c for c in wanted if ord(c) not in cmap and not (0xD800 <= ord(c) <= 0xDFFF))
        unicodes = sorted(ord(c) for c in wanted if ord(c) in cmap)
        options = subset.Options()
        options.layout_features = ["*"]  # keep vertical forms, proportional digits, locl etc.
        options.name_IDs = ["*"]
        options.name_languages = ["*"]
        options.notdef_outline = True
        options.drop_tables += ["DSIG"]
        sub = subset.Subsetter(options)
        sub.populate(unicodes=unicodes)
        sub.subset(font)
        OUT.mkdir(parents=True, exist_ok=True)
        font.flavor = None
        font.save(OUT / f"{STEM}.otf")
        font.flavor = "woff2"
        font.save(OUT / f"{STEM}.woff2")
        (OUT / "OFL.txt").write_text(licence.read_text(encoding="utf-8"), encoding="utf-8")
        version = font["name"].getDebugName(5)
    (OUT / "FONT.txt").write_text(
        f"{STEM}: a subset of {FACE} ({version}), SIL Open Font License 1.1 (OFL.txt).\n"
        f"Source: PyPI {SOURCE} (sha256 {SOURCE_SHA256}), regenerated by scripts/make_font.py (make font).\n"
        f"Characters: {len(unicodes)} (GB 2312, ASCII/Latin-1, CJK punctuation, full-width forms and the project's "
        f"own strings); {len(missing)} wanted characters are not in the source face.\n", encoding="utf-8")
    for name in (f"{STEM}.otf", f"{STEM}.woff2"):
        print(f"{OUT / name}: {(OUT / name).stat().st_size / 1e6:.1f} MB")
    print(f"{len(unicodes)} characters; not in the source: {''.join(missing[:40])}{'…' if len(missing) > 40 else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
