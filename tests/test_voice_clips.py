"""The shipped default voice clips, and the generator that makes them."""

from __future__ import annotations

import array
import json
import math
import subprocess
import sys
import wave
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VOICE_DIR = REPO / "display" / "static" / "voice" / "default"
SCRIPT = REPO / "scripts" / "make_voice_clips.py"

DIGITS = [f"d{i}" for i in range(10)]
LETTERS = [f"l{chr(c)}" for c in range(ord("A"), ord("Z") + 1)]
WORDS = ["qing", "hao", "dao", "chuangkou", "banli"]
EN = ["en_please", "en_number", "en_to_window"] + [f"en_{n}" for n in DIGITS + LETTERS]
REQUIRED = ["chime"] + DIGITS + LETTERS + WORDS + EN

MIN_PEAK = 0.05          # of full scale
MIN_SECONDS, MAX_SECONDS = 0.08, 1.5


def read_wav(path: Path) -> dict:
    with wave.open(str(path), "rb") as w:
        info = {
            "channels": w.getnchannels(),
            "width": w.getsampwidth(),
            "rate": w.getframerate(),
            "frames": w.getnframes(),
            "comptype": w.getcomptype(),
        }
        raw = w.readframes(w.getnframes())
    samples = array.array("h")
    samples.frombytes(raw)
    if sys.byteorder == "big":
        samples.byteswap()
    info["duration"] = info["frames"] / info["rate"]
    info["peak"] = max((abs(s) for s in samples), default=0) / 32768
    info["rms"] = math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768 if samples else 0.0
    return info


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((VOICE_DIR / "manifest.json").read_text(encoding="utf-8"))


def test_manifest_format(manifest):
    assert isinstance(manifest["version"], str) and manifest["version"]
    assert manifest["generator"].startswith("espeak-ng ")
    assert manifest["voices"]["zh"] == "cmn-latn-pinyin"
    assert isinstance(manifest["clips"], dict)


def test_manifest_lists_every_clip_the_announcer_needs(manifest):
    missing = [n for n in REQUIRED if n not in manifest["clips"]]
    assert not missing, f"missing clips: {missing}"


@pytest.mark.parametrize("name", REQUIRED)
def test_clip_is_valid_nonsilent_wav(manifest, name):
    path = VOICE_DIR / manifest["clips"][name]
    assert path.is_file(), path
    info = read_wav(path)  # raises wave.Error if it is not a PCM WAV
    assert info["comptype"] == "NONE"
    assert info["channels"] == 1
    assert info["width"] == 2
    assert info["rate"] in (16000, 22050, 44100, 48000)
    assert MIN_SECONDS <= info["duration"] <= MAX_SECONDS, f"{name}: {info['duration']:.3f} s"
    assert info["peak"] >= MIN_PEAK, f"{name} is silent (peak {info['peak']:.4f})"
    assert info["rms"] >= 0.01, f"{name} is nearly silent (rms {info['rms']:.4f})"


def test_no_stray_files_and_modest_size(manifest):
    listed = set(manifest["clips"].values()) | {"manifest.json"}
    present = {p.name for p in VOICE_DIR.iterdir()}
    assert present - listed == set(), "files not in the manifest"
    total = sum(p.stat().st_size for p in VOICE_DIR.iterdir())
    assert total < 3 * 1024 * 1024, f"clip set is {total} bytes"


def test_spoken_clips_are_trimmed(manifest):
    """Leading silence is trimmed, so back-to-back clips do not leave holes between words."""
    for name in ["qing", "d0", "lA", "hao", "en_please"]:
        with wave.open(str(VOICE_DIR / manifest["clips"][name]), "rb") as w:
            head = array.array("h")
            head.frombytes(w.readframes(int(0.03 * w.getframerate())))
        assert max(abs(s) for s in head) > 0.01 * 32768, f"{name} starts with silence"




def run_generator(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *args],
        capture_output=True, text=True, timeout=120,
    )


def test_generator_subset_matches_shipped_clips(tmp_path):
    res = run_generator(tmp_path, "--only", "d0,qing,chime")
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""  # prints nothing: progress goes to logging
    made = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert made["voices"]["zh"] == "cmn-latn-pinyin"
    assert set(made["clips"]) == {"d0", "qing", "chime"}
    assert sorted(p.name for p in tmp_path.glob("*.wav")) == ["chime.wav", "d0.wav", "qing.wav"]
    for name in ("d0", "qing", "chime"):
        new, shipped = read_wav(tmp_path / f"{name}.wav"), read_wav(VOICE_DIR / f"{name}.wav")
        assert (new["channels"], new["width"], new["rate"]) == (shipped["channels"], shipped["width"], shipped["rate"])
        assert abs(new["duration"] - shipped["duration"]) < 0.1, name
        assert new["peak"] >= MIN_PEAK


def test_generator_uses_the_pinyin_voice(tmp_path):
    """The shipped 请 is what cmn-latn-pinyin says for "qing3", not what the plain cmn voice says."""
    def espeak(voice: str, text: str) -> str:
        return subprocess.run(["espeak-ng", "-q", "-x", "-v", voice, text],
                              capture_output=True, text=True, check=True).stdout.strip()
    # The plain voice reads the pinyin as English letters: the reason for the pinyin voice.
    assert espeak("cmn-latn-pinyin", "qing3") != espeak("cmn", "qing3")
    src = SCRIPT.read_text(encoding="utf-8")
    assert 'ZH_VOICE = "cmn-latn-pinyin"' in src

    raw = tmp_path / "raw_pinyin.wav"
    subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "-s", "160", "-w", str(raw), "qing3"], check=True)
    wrong = tmp_path / "raw_cmn.wav"
    subprocess.run(["espeak-ng", "-v", "cmn", "-s", "160", "-w", str(wrong), "qing3"], check=True)
    shipped = read_wav(VOICE_DIR / "qing.wav")["duration"]
    # The trimmed clip is no longer than the pinyin voice's raw output; the cmn voice spells it
    # out letter by letter and takes far longer.
    assert shipped <= read_wav(raw)["duration"] + 0.05
    assert read_wav(wrong)["duration"] > shipped + 0.3


def test_generator_without_sox(tmp_path):
    res = run_generator(tmp_path, "--only", "d1,chime", "--no-sox")
    assert res.returncode == 0, res.stderr
    for name in ("d1", "chime"):
        info = read_wav(tmp_path / f"{name}.wav")
        assert info["channels"] == 1 and info["width"] == 2
        assert MIN_SECONDS <= info["duration"] <= MAX_SECONDS
        assert info["peak"] >= MIN_PEAK


def test_generator_rejects_unknown_names(tmp_path):
    res = run_generator(tmp_path, "--only", "nonsense")
    assert res.returncode == 1
    assert "unknown clip names" in res.stderr


# the kiosk's spoken guidance (docs/kiosk.md): the two phrases and the demo hall's service names, in both languages
KIOSK_CLIPS = ["kiosk_ninde_haoma", "kiosk_qing_qupiao", "en_kiosk_your_number", "en_kiosk_take_ticket"] + [
    f"{lang}svc_{code}" for lang in ("", "en_")
    for code in ("renshe", "shichang", "gongan", "sifa", "sheqi", "bubancheng", "lingdao")]
PHRASE_MAX_SECONDS = 3.5


@pytest.mark.parametrize("name", KIOSK_CLIPS)
def test_kiosk_guidance_clips_are_valid_phrases(manifest, name):
    info = read_wav(VOICE_DIR / manifest["clips"][name])
    assert (info["comptype"], info["channels"], info["width"]) == ("NONE", 1, 2)
    assert 0.3 <= info["duration"] <= PHRASE_MAX_SECONDS, f"{name}: {info['duration']:.3f} s"
    assert info["peak"] >= MIN_PEAK and info["rms"] >= 0.01, name


def test_every_service_of_the_shipped_hall_has_its_spoken_name(manifest):
    import tomllib
    services = tomllib.loads((REPO / "config.toml").read_text(encoding="utf-8"))["services"]
    for svc in services:
        assert f"svc_{svc['code']}" in manifest["clips"] and f"en_svc_{svc['code']}" in manifest["clips"], svc["code"]


def test_generator_makes_a_kiosk_phrase(tmp_path):
    res = run_generator(tmp_path, "--only", "kiosk_qing_qupiao")
    assert res.returncode == 0, res.stderr
    info = read_wav(tmp_path / "kiosk_qing_qupiao.wav")
    shipped = read_wav(VOICE_DIR / "kiosk_qing_qupiao.wav")
    assert abs(info["duration"] - shipped["duration"]) < 0.1 and info["peak"] >= MIN_PEAK
