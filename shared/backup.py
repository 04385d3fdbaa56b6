"""``onewindow backup`` / ``onewindow restore``: the hall's Redis data and its statistics archive in one file.

The backup file is a zip archive:

* ``manifest.json`` — format, hall id, when (hall time), the event ``seq`` the snapshot stands at, key count;
* ``redis.jsonl`` — one line per key: ``{"key", "pttl", "dump"}`` (the base64 of Redis ``DUMP``). All keys are
  dumped by one Lua script (``backup_dump.lua``), so the snapshot is one point in time even while tickets are being
  issued: every write acknowledged before the backup started is in it, and no half of a multi-key change is. On a
  cluster the script runs on the primary of the hall's slot (its KEYS carry the hall's hash tag) and its SCAN sees
  that node's keys — every key of the hall, since they all share that slot;
* ``stats.sqlite3`` — the archive of closed days, copied with SQLite's online backup API (a consistent copy while
  the archiver may be writing). It is taken *after* the Redis snapshot: a day trimmed from the stream in between is
  then in the archive copy; a day in both is harmless (archiving is idempotent by ``seq``).

Restore goes into a hall with no data (``backup_restore.lua`` checks and restores in one step) and a var directory
without an archive: restore on a fresh installation, then start the server. DUMP payloads need a Redis/Valkey of
the same or a newer version.
"""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from shared.config import Config
from shared.engine import Engine
from shared.errors import ConflictError, OneWindowError
from shared.redis_client import connect

logger = logging.getLogger(__name__)

FORMAT = 1


class BackupError(OneWindowError):
    """A backup file that cannot be read or restored."""

    code = "backup_invalid"
    status = 400


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    keys: int
    seq: int
    archive: bool


def _pattern(engine: Engine) -> str:
    return engine.keys.base.replace("{", "\\{").replace("}", "\\}") + ":*"


def backup(engine: Engine, redis_url: str, config: Config, dest: Path) -> BackupInfo:
    """Write the backup of ``engine``'s hall to ``dest`` (a .zip); returns what it holds."""
    raw = connect(redis_url, decode_responses=False, socket_timeout=60)  # on a cluster: routed to the hall's slot
    try:
        source = (resources.files("shared") / "lua" / "backup_dump.lua").read_text(encoding="utf-8")
        answer = raw.register_script(source)(keys=engine.runner.script_keys(), args=[_pattern(engine)])
    finally:
        raw.close()
    seq = int(answer[0])
    entries = answer[1:]
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("redis.jsonl", "w") as out:
            for i in range(0, len(entries), 3):
                key, pttl, dump = entries[i:i + 3]
                out.write(json.dumps({"key": key.decode(), "pttl": int(pttl),
                                      "dump": base64.b64encode(dump).decode()}).encode() + b"\n")
        has_archive = config.archive_path.is_file()
        if has_archive:
            with tempfile.TemporaryDirectory() as d:
                copy = Path(d) / "stats.sqlite3"
                _sqlite_copy(config.archive_path, copy)
                z.write(copy, "stats.sqlite3")
        z.writestr("manifest.json", json.dumps({
            "format": FORMAT, "hall": config.hall_id, "created_at": engine.clock.now().isoformat(), "seq": seq,
            "keys": len(entries) // 3, "archive": has_archive,
        }, ensure_ascii=False, indent=1))
    tmp.replace(dest)
    logger.info("backup of hall %s at seq %s: %s keys%s → %s", config.hall_id, seq, len(entries) // 3,
                " and the statistics archive" if has_archive else "", dest)
    return BackupInfo(dest, len(entries) // 3, seq, has_archive)


def restore(engine: Engine, config: Config, src: Path) -> BackupInfo:
    """Restore ``src`` into the (empty) hall of ``engine`` and the (absent) archive of ``config``."""
    try:
        z = zipfile.ZipFile(src)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BackupError(f"{src} is not a OneWindow backup: {exc}") from None
    with z:
        try:
            manifest = json.loads(z.read("manifest.json"))
        except (KeyError, ValueError) as exc:
            raise BackupError(f"{src} has no valid manifest.json: {exc}") from None
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{src}: backup format {manifest.get('format')!r} is not {FORMAT}")
        if manifest.get("hall") != config.hall_id:
            raise BackupError(f"{src} is a backup of hall '{manifest.get('hall')}', not '{config.hall_id}'")
        has_archive = "stats.sqlite3" in z.namelist()
        if has_archive and config.archive_path.exists() and config.archive_path.stat().st_size > 0:
            raise ConflictError(f"{config.archive_path} exists; restore into a fresh var directory",
                                code="archive_exists")
        keys, args = [], [_pattern(engine)]
        for line in z.read("redis.jsonl").splitlines():
            item = json.loads(line)
            keys.append(item["key"])
            args += [int(item["pttl"]), base64.b64decode(item["dump"])]
        if not all(k.startswith(engine.keys.base + ":") for k in keys):
            raise BackupError(f"{src} holds keys of another hall")
        engine.runner.run("backup_restore", keys, args,
                           {"hall_not_empty": ConflictError})
        if has_archive:
            with tempfile.TemporaryDirectory() as d:
                copy = Path(d) / "stats.sqlite3"
                copy.write_bytes(z.read("stats.sqlite3"))
                config.archive_path.parent.mkdir(parents=True, exist_ok=True)
                _sqlite_copy(copy, config.archive_path)
    logger.info("restored hall %s at seq %s: %s keys%s", config.hall_id, manifest["seq"], len(keys),
                " and the statistics archive" if has_archive else "")
    return BackupInfo(Path(src), len(keys), int(manifest["seq"]), has_archive)


def _sqlite_copy(src: Path, dest: Path) -> None:
    """SQLite's online backup API: a consistent copy even while another connection writes."""
    with sqlite3.connect(src, timeout=30) as s, sqlite3.connect(dest) as d:
        s.backup(d)
    s.close()
    d.close()
