"""A fresh copy of the project as a new user gets it: the files git tracks (with the working tree's changes), and
nothing else — no .venv, no var/, no build output."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tracked_copy(dest: Path) -> Path:
    """Copy every file git tracks (as it is in the working tree) to ``dest``, which becomes a git repository."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for raw in filter(None, names):
        name = raw.decode()
        src = ROOT / name
        if not src.exists():  # deleted in the working tree
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest
