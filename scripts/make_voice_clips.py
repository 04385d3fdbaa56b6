#!/usr/bin/env python3
"""Build the default voice clip set of the hall display, offline, with espeak-ng.

Every clip is one short WAV file (mono, 16-bit PCM, espeak-ng's 22050 Hz); the display's announcer
(display/static/js/announcer.js) strings them together, e.g. "请 A 零 一 二 号 到 三 号 窗口 办理".

Mandarin uses the ``cmn-latn-pinyin`` voice fed with tone-numbered pinyin: the plain ``cmn`` voice
misreads characters. English uses the ``en`` voice. The chime is a two-tone ding-dong synthesised
with sox (or with pure Python when sox is absent). When sox is present, each spoken clip is trimmed
of leading/trailing silence, normalised and given a short tail; without sox the same is done in Python.

Usage:
    python scripts/make_voice_clips.py                      # writes display/static/voice/default/
    python scripts/make_voice_clips.py --out DIR --only d0,qing,chime
    python scripts/make_voice_clips.py --no-sox             # force the pure-Python post-processing

Nothing is printed on success; progress goes to logging (``-v`` for INFO). Exit status 1 if a clip
fails its check (empty, silent or too long).
"""

from __future__ import annotations

import argparse
import array
import hashlib
import json
import logging
import math
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("make_voice_clips")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "display" / "static" / "voice" / "default"

ZH_VOICE = "cmn-latn-pinyin"
EN_VOICE = "en"
SPEED_WPM = 160          # a little slower than espeak's 175: halls are noisy
SAMPLE_RATE = 22050      # espeak-ng's native rate; every clip (and the chime) uses it
MAX_SECONDS = 1.5        # a single clip longer than this is a sign something went wrong
MIN_SECONDS = 0.05
MIN_PEAK = 0.05          # fraction of full scale: below this a clip counts as silent
TAIL_SECONDS = 0.04      # silence left after each spoken clip so words do not run together

# Digits are read one by one: 零一二三四五六七八九.
ZH_DIGITS = ["ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3"]

# Latin letters as they are commonly said in Chinese service halls (pinyin approximations of
# the English letter names: A "ei", H "aiqi", W "dabuliu", Z "zei" ...).
ZH_LETTERS = {
    "A": "ei1", "B": "bi4", "C": "xi1", "D": "di4", "E": "yi4", "F": "ai2fu1", "G": "ji4",
    "H": "ai1qi1", "I": "ai4", "J": "zhei4", "K": "kai4", "L": "ai2lou5", "M": "ai2mu5",
    "N": "en1", "O": "ou1", "P": "pi1", "Q": "kiu1", "R": "a1er3", "S": "ai1si1", "T": "ti4",
    "U": "you1", "V": "wei1", "W": "da2bu5liu1", "X": "ai2ke4si1", "Y": "wai1", "Z": "zei4",
}

ZH_WORDS = {
    "qing": "qing3",            # 请
    "hao": "hao4",              # 号
    "dao": "dao4",              # 到
    "chuangkou": "chuang1kou3",  # 窗口
    "banli": "ban4li3",         # 办理
}

# The kiosk's spoken guidance (适老化, docs/kiosk.md): "您的号码 A 零 一 三 请取票" after a ticket is issued, and the
# name of each service of the demo hall when it is touched (svc_<service code>; a hall with other services records
# its own svc_<code> clips in its voice_dir). Phrases: longer than one word, checked against PHRASE_MAX_SECONDS.
KIOSK_ZH = {
    "kiosk_ninde_haoma": "nin2 de5 hao4 ma3",   # 您的号码
    "kiosk_qing_qupiao": "qing3 qu3 piao4",     # 请取票
    "svc_renshe": "ren2 she4 zong1 he2",        # 人社综合
    "svc_shichang": "shi4 chang3 zong1 he2",    # 市场综合
    "svc_gongan": "gong1 an1 zong1 he2",        # 公安综合
    "svc_sifa": "si1 fa3 zong1 he2",            # 司法综合
    "svc_sheqi": "she4 qi3 fu2 wu4",            # 涉企服务
    "svc_bubancheng": "ban4 bu4 cheng2 shi4 fan3 ying4",  # 办不成事反映
    "svc_lingdao": "ling3 dao3 dai4 ban1",      # 领导带班
}
KIOSK_EN = {
    "en_kiosk_your_number": "your number is",
    "en_kiosk_take_ticket": "please take your ticket",
    "en_svc_renshe": "human resources and social security",
    "en_svc_shichang": "market regulation",
    "en_svc_gongan": "public security",
    "en_svc_sifa": "justice",
    "en_svc_sheqi": "business services",
    "en_svc_bubancheng": "can't get it done complaints",
    "en_svc_lingdao": "leader on duty",
}
PHRASE_MAX_SECONDS = 3.5

EN_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

EN_WORDS = {
    "en_please": "please",
    "en_number": "number",
    "en_to_window": "to window",
}


@dataclass(frozen=True)
class Clip:
    name: str
    voice: str | None   # None: synthesised tone (the chime)
    text: str
    max_seconds: float = MAX_SECONDS


def clip_table() -> list[Clip]:
    """Every clip of the default set, in a stable order."""
    clips = [Clip("chime", None, "ding-dong")]
    clips += [Clip(f"d{i}", ZH_VOICE, p) for i, p in enumerate(ZH_DIGITS)]
    clips += [Clip(f"l{c}", ZH_VOICE, p) for c, p in ZH_LETTERS.items()]
    clips += [Clip(n, ZH_VOICE, p) for n, p in ZH_WORDS.items()]
    clips += [Clip(n, EN_VOICE, t) for n, t in EN_WORDS.items()]
    clips += [Clip(f"en_d{i}", EN_VOICE, w) for i, w in enumerate(EN_DIGITS)]
    # A capital letter alone is read by the en voice as its letter name ("A" -> /eI/).
    clips += [Clip(f"en_l{c}", EN_VOICE, c) for c in ZH_LETTERS]
    clips += [Clip(n, ZH_VOICE, p, PHRASE_MAX_SECONDS) for n, p in KIOSK_ZH.items()]
    clips += [Clip(n, EN_VOICE, t, PHRASE_MAX_SECONDS) for n, t in KIOSK_EN.items()]
    return clips


# --------------------------------------------------------------------------- tools


def espeak_version() -> str:
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"text-to-speech:\s*([0-9][^\s]*)", out)
    return m.group(1) if m else out.strip().split("\n")[0]


def have_sox() -> bool:
    return shutil.which("sox") is not None


def run_espeak(voice: str, text: str, dest: Path) -> None:
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(SPEED_WPM), "-w", str(dest), text],
        check=True, capture_output=True,
    )


# --------------------------------------------------------------------------- WAV helpers (pure Python)


def read_pcm16(path: Path) -> tuple[array.array, int]:
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected mono 16-bit PCM")
        rate = w.getframerate()
        data = array.array("h")
        data.frombytes(w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        data.byteswap()
    return data, rate


def write_pcm16(path: Path, samples: array.array, rate: int) -> None:
    data = array.array("h", samples)
    if sys.byteorder == "big":
        data.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


def py_postprocess(src: Path, dest: Path) -> None:
    """Trim silence, normalise to -1 dBFS, fade the edges, add a short tail (no sox)."""
    data, rate = read_pcm16(src)
    threshold = 0.01 * 32767
    idx = [i for i, s in enumerate(data) if abs(s) > threshold]
    if idx:
        data = data[idx[0]: idx[-1] + 1]
    peak = max((abs(s) for s in data), default=0)
    gain = (0.89 * 32767 / peak) if peak else 1.0
    out = [s * gain for s in data]
    fade_in, fade_out = int(0.005 * rate), int(0.015 * rate)
    n = len(out)
    for i in range(min(fade_in, n)):
        out[i] *= i / fade_in
    for i in range(min(fade_out, n)):
        out[n - 1 - i] *= i / fade_out
    out += [0.0] * int(TAIL_SECONDS * rate)
    write_pcm16(dest, array.array("h", (max(-32768, min(32767, int(round(s)))) for s in out)), rate)


def sox_postprocess(src: Path, dest: Path) -> None:
    """Trim leading/trailing silence, normalise to -1 dBFS, fade the edges, add a short tail."""
    subprocess.run(
        ["sox", str(src), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(dest),
         # trim the start; reverse, trim the (old) end and fade it out; reverse back and fade in
         "silence", "1", "0.01", "1%", "reverse", "silence", "1", "0.01", "1%", "fade", "t", "0.015",
         "reverse", "fade", "t", "0.005", "norm", "-1", "pad", "0", str(TAIL_SECONDS)],
        check=True, capture_output=True,
    )


def chime_sox(dest: Path) -> None:
    """Ding (E5) then dong (C5), each a sine with its octave, decaying."""
    with tempfile.TemporaryDirectory() as tmp:
        parts = []
        for i, (freq, length) in enumerate(((659.25, 0.42), (523.25, 0.75))):
            part = Path(tmp) / f"p{i}.wav"
            subprocess.run(
                ["sox", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(part),
                 "synth", str(length), "sine", str(freq), "synth", str(length), "sine", "mix", str(freq * 2),
                 "fade", "l", "0.005", str(length), str(length - 0.01), "norm", "-3"],
                check=True, capture_output=True,
            )
            parts.append(str(part))
        subprocess.run(["sox", *parts, str(dest), "pad", "0", str(TAIL_SECONDS)], check=True, capture_output=True)


def chime_python(dest: Path) -> None:
    rate = SAMPLE_RATE
    out: list[float] = []
    for freq, length in ((659.25, 0.42), (523.25, 0.75)):
        n = int(length * rate)
        for i in range(n):
            t = i / rate
            env = math.exp(-4.0 * t / length) * min(1.0, t / 0.005) * min(1.0, (n - i) / (0.01 * rate))
            out.append(env * (0.7 * math.sin(2 * math.pi * freq * t) + 0.3 * math.sin(4 * math.pi * freq * t)))
    out += [0.0] * int(TAIL_SECONDS * rate)
    peak = max(abs(s) for s in out)
    scale = 0.7 * 32767 / peak
    write_pcm16(dest, array.array("h", (int(round(s * scale)) for s in out)), rate)


# --------------------------------------------------------------------------- checks


def measure(path: Path) -> tuple[float, float]:
    """(duration in seconds, peak as a fraction of full scale) of a clip."""
    if have_sox():
        res = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True)
        if res.returncode == 0:
            fields = dict(
                (k.strip(), v.strip()) for k, v in (ln.split(":", 1) for ln in res.stderr.splitlines() if ":" in ln)
            )
            try:
                dur = float(fields["Length (seconds)"])
                peak = max(abs(float(fields["Maximum amplitude"])), abs(float(fields["Minimum amplitude"])))
                return dur, peak
            except (KeyError, ValueError):
                pass
    data, rate = read_pcm16(path)
    return len(data) / rate, (max((abs(s) for s in data), default=0) / 32768)


def check_clip(path: Path, max_seconds: float = MAX_SECONDS) -> list[str]:
    problems = []
    dur, peak = measure(path)
    if dur < MIN_SECONDS:
        problems.append(f"{path.name}: too short ({dur:.3f} s)")
    if dur > max_seconds:
        problems.append(f"{path.name}: too long ({dur:.3f} s)")
    if peak < MIN_PEAK:
        problems.append(f"{path.name}: silent (peak {peak:.3f})")
    log.info("%-14s %.3f s peak %.2f", path.name, dur, peak)
    return problems


# --------------------------------------------------------------------------- main


def build(out: Path, only: set[str] | None = None, use_sox: bool | None = None) -> dict:
    """Generate the clips (all, or the names in ``only``) into ``out`` and write its manifest."""
    if use_sox is None:
        use_sox = have_sox()
    elif use_sox and not have_sox():
        raise RuntimeError("sox requested but not installed")
    table = clip_table()
    if only is not None:
        unknown = only - {c.name for c in table}
        if unknown:
            raise ValueError(f"unknown clip names: {', '.join(sorted(unknown))}")
        table = [c for c in table if c.name in only]
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    out.mkdir(parents=True, exist_ok=True)

    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip in table:
            dest = out / f"{clip.name}.wav"
            if clip.voice is None:
                (chime_sox if use_sox else chime_python)(dest)
            else:
                raw = Path(tmp) / f"{clip.name}.raw.wav"
                run_espeak(clip.voice, clip.text, raw)
                (sox_postprocess if use_sox else py_postprocess)(raw, dest)
            problems += check_clip(dest, clip.max_seconds)

    manifest_path = out / "manifest.json"
    clips: dict[str, str] = {}
    if only is not None and manifest_path.exists():
        try:
            clips = dict(json.loads(manifest_path.read_text(encoding="utf-8")).get("clips", {}))
        except (ValueError, AttributeError):
            clips = {}
    clips.update({c.name: f"{c.name}.wav" for c in table})
    digest = hashlib.sha256()
    for name in sorted(clips):
        f = out / clips[name]
        if f.exists():
            digest.update(name.encode() + b"\0" + f.read_bytes())
    manifest = {
        "version": digest.hexdigest()[:12],
        "generator": f"espeak-ng {espeak_version()}",
        "voices": {"zh": ZH_VOICE, "en": EN_VOICE},
        "clips": dict(sorted(clips.items())),
    }
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %d clips and %s", len(table), manifest_path)
    if problems:
        for p in problems:
            log.error("%s", p)
        raise RuntimeError(f"{len(problems)} clip(s) failed the check")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    ap.add_argument("--only", help="comma-separated clip names to (re)build, e.g. d0,qing,chime")
    ap.add_argument("--no-sox", action="store_true", help="do the post-processing and chime in pure Python")
    ap.add_argument("-v", "--verbose", action="store_true", help="log each clip (INFO)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(name)s: %(levelname)s: %(message)s")
    only = {n.strip() for n in args.only.split(",") if n.strip()} if args.only else None
    try:
        build(args.out, only=only, use_sox=False if args.no_sox else None)
    except (RuntimeError, ValueError, subprocess.CalledProcessError) as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
