"""display/static/js/announcer.js (an ES module) in headless Chromium, playing the real default clips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from browser_support import BROWSER_MARKS, console_log, serve_static

pytestmark = BROWSER_MARKS

STATIC = Path(__file__).resolve().parent.parent / "display" / "static"
MANIFEST = json.loads((STATIC / "voice" / "default" / "manifest.json").read_text(encoding="utf-8"))

HARNESS = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>announcer harness</title></head>
<body>
<script type="module">
  import { Announcer } from "/js/announcer.js";
  window.OneWindowAnnouncer = Announcer;

  // Wait for a promise, but never longer than `ms` (a stuck queue fails the test instead of hanging it).
  window.within = function (p, ms) {
    return Promise.race([p, new Promise(function (_, rej) {
      setTimeout(function () { rej(new Error("timed out after " + ms + " ms")); }, ms);
    })]);
  };
</script>
</body></html>
"""


def zh(number: str, window: str) -> list[str]:
    """Expected Chinese reading, written out independently of the announcer."""
    def sym(s):
        return [("d" if c.isdigit() else "l") + c for c in s]
    return ["qing", *sym(number), "hao", "dao", *sym(window), "hao", "chuangkou", "banli"]


def en(number: str, window: str) -> list[str]:
    def sym(s):
        return [("en_d" if c.isdigit() else "en_l") + c for c in s]
    return ["en_please", "en_number", *sym(number), "en_to_window", *sym(window)]


@pytest.fixture(scope="module")
def base():
    with serve_static(STATIC, pages={"/harness.html": HARNESS}) as url:
        yield url


@pytest.fixture()
def harness(base, new_page):
    page = new_page((800, 600))
    page.goto(base + "/harness.html")
    page.wait_for_function("() => typeof window.OneWindowAnnouncer === 'function'")
    return base, page


@pytest.fixture()
def page(harness):
    return harness[1]


def test_clips_for(page):
    got = page.evaluate("""() => {
        const a = new OneWindowAnnouncer({repeat: 2});
        const b = new OneWindowAnnouncer({repeat: 1, english: true});
        return {
            zh2: a.clipsFor("A012", 3),
            zh12: a.clipsFor("A013", 12, "zh"),
            en: a.clipsFor("B7", "4", "en"),
            both: b.clipsFor("Z9", 10),
            base: OneWindowAnnouncer.DEFAULT_BASE,
        };
    }""")
    assert got["zh2"] == ["chime", *zh("A012", "3"), *zh("A012", "3")]
    assert got["zh2"][:12] == ["chime", "qing", "lA", "d0", "d1", "d2", "hao", "dao", "d3", "hao", "chuangkou", "banli"]
    assert got["zh12"] == ["chime", *zh("A013", "12"), *zh("A013", "12")]
    assert got["en"] == ["chime", *en("B7", "4"), *en("B7", "4")]
    assert got["both"] == ["chime", *zh("Z9", "10"), *en("Z9", "10")]
    assert got["base"].endswith("/voice/default/")
    # every clip the announcer can ask for is in the shipped manifest
    assert set(got["zh2"] + got["en"] + got["both"]) <= set(MANIFEST["clips"])


def test_announcements_play_in_order_never_cut_off(page):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    log = console_log(page)
    result = page.evaluate("""async () => {
        const a = new OneWindowAnnouncer({repeat: 1, gapMs: 120});
        window.ann = a;
        await a.ready();
        const t0 = performance.now();
        a.announce({number: "A012", window: 3, kind: "call", id: "t1"});
        a.announce({number: "A013", window: 12, kind: "call", id: "t2"});   // immediately: must wait
        a.announce({number: "A012", window: 3, kind: "recall", id: "t1"});
        const duplicate = a.announce({number: "A013", window: 12, kind: "call", id: "t2"});
        await within(a.idle(), 60000);
        return {
            played: a.played, history: a.history, dropped: a.dropped, duplicate: duplicate,
            elapsed: (performance.now() - t0) / 1000, state: a._ctx.state,
            decoded: a._ctx.currentTime,
        };
    }""")
    expected = (["chime", *zh("A012", "3")] + ["chime", *zh("A013", "12")] + ["chime", *zh("A012", "3")])
    assert result["played"] == expected
    assert result["duplicate"] is False      # same kind+id already queued: not spoken twice
    assert result["dropped"] == []
    assert result["state"] == "running"      # real AudioContext, autoplay allowed by the flag

    hist = result["history"]
    ids = [h["id"] for h in hist]
    assert ids == ["t1"] * 12 + ["t2"] * 13 + ["t1"] * 12
    for prev, cur in zip(hist, hist[1:]):
        assert cur["start"] >= prev["end"] - 1e-6, "a clip started before the previous one ended"
        if prev["id"] == cur["id"] and not (cur["name"] == "chime"):
            assert abs(cur["start"] - prev["end"]) < 1e-3, "gap inside a reading"
    # the second announcement starts only after the first has finished, plus the gap
    first_end = hist[11]["end"]
    assert hist[12]["start"] >= first_end + 0.12 - 1e-3
    # it really played on the audio clock: that took as long as the clips last
    total = sum(h["end"] - h["start"] for h in hist)
    assert total > 10
    assert result["elapsed"] >= total - 0.5
    assert result["decoded"] >= hist[-1]["end"] - 0.05

    # each clip fetched (and decoded) once, though most are played several times
    clip_requests = [u for u in requests if u.split("?")[0].endswith(".wav")]
    assert len(clip_requests) == len(set(clip_requests)) == len(set(expected))
    assert not [m for m in log if m.startswith(("error", "pageerror"))], log


def test_queue_limit_drops_repeats_before_calls(page):
    log = console_log(page)
    result = page.evaluate("""async () => {
        const a = new OneWindowAnnouncer({repeat: 2, gapMs: 50, maxQueue: 3});
        await a.ready();
        const snap = () => a.queue.map(q => q.number + "x" + q.readings.length);
        const steps = [];
        for (const n of ["A001", "A002", "A003", "A004", "A005", "A006"]) {
            a.announce({number: n, window: 1, kind: "call", id: n});
            steps.push({current: a.current && a.current.number, queue: snap()});
        }
        const dropped = a.dropped.map(d => d.what + ":" + d.number);
        a.clear();                                   // pending only: A001 keeps playing
        await within(a.idle(), 60000);
        return {steps: steps, dropped: dropped, played: a.played, expected: a.clipsFor("A001", 1)};
    }""")
    steps = result["steps"]
    # A001 is being spoken from the start and is never touched
    assert all(s["current"] == "A001" for s in steps)
    assert [s["queue"] for s in steps] == [
        [],
        ["A002x2"],
        ["A002x1", "A003x2"],                      # 4 readings > 3: A002's repeat goes first
        ["A002x1", "A003x1", "A004x1"],            # then A003's, then the newcomer's
        ["A003x1", "A004x1", "A005x1"],            # no repeats left (A005's own dropped): oldest call goes
        ["A004x1", "A005x1", "A006x1"],
    ]
    assert result["dropped"] == [
        "repeat:A002",
        "repeat:A003", "repeat:A004",
        "repeat:A005", "call:A002",
        "repeat:A006", "call:A003",
    ]
    # the announcement being spoken played to the end, repeat included
    assert result["played"] == result["expected"] == ["chime", *zh("A001", "1"), *zh("A001", "1")]
    warnings = [m for m in log if m.startswith("warning") and "dropped" in m]
    assert any("queue full, dropped a repeat of call A002" in m for m in warnings)
    assert any("queue full, dropped call A002" in m for m in warnings)


def test_hall_clips_with_fallback_and_a_broken_clip(harness, page):
    """setClipBase: a hall's own clips win; missing ones come from the default set; a clip that
    fails to load is skipped with a warning and the announcement goes on."""
    base, _ = harness
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url.split("?")[0]))
    log = console_log(page)
    hall_manifest = json.dumps({
        "version": "hall-1",
        "clips": {"chime": "../voice/default/d9.wav", "hao": "no-such-file.wav", "qing": "qing.wav"},
    })
    page.route("**/hall/manifest.json*", lambda route: route.fulfill(
        status=200, content_type="application/json", body=hall_manifest))
    qing = (STATIC / "voice" / "default" / "qing.wav").read_bytes()
    page.route("**/hall/qing.wav*", lambda route: route.fulfill(status=200, content_type="audio/wav", body=qing))
    result = page.evaluate("""async () => {
        const a = new OneWindowAnnouncer({repeat: 1, gapMs: 50});
        await a.setClipBase("/hall");
        a.announce({number: "C5", window: 2, kind: "call", id: "x"});
        await within(a.idle(), 60000);
        return {played: a.played, base: a.clipBase};
    }""")
    assert result["base"] == base + "/hall/", log  # the console says why the hall manifest was not taken
    # 'hao' failed to load: skipped, everything else played
    assert result["played"] == ["chime", "qing", "lC", "d5", "dao", "d2", "chuangkou", "banli"]
    assert base + "/hall/qing.wav" in requests
    assert base + "/voice/default/qing.wav" not in requests
    assert base + "/voice/default/d9.wav" in requests           # the hall's "chime"
    assert base + "/voice/default/lC.wav" in requests           # fallback to the default set
    assert requests.count(base + "/hall/no-such-file.wav") == 1  # tried once, not per use
    assert any(m.startswith("warning") and "'hao'" in m and "skipped" in m for m in log), log


def test_a_hall_clip_base_wins_over_the_default_manifest_still_loading(harness, page):
    """The default set's manifest (asked for by the constructor) answers after the hall's own base was set: the
    hall's clips stay in use (the later load used to overwrite the earlier one's result whichever came last)."""
    base, _ = harness
    held = []

    def hold_first(route):
        (held.append(route) if not held else route.continue_())

    page.route("**/voice/default/manifest.json*", hold_first)
    page.route("**/hall/manifest.json*", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps({"version": "h", "clips": {"qing": "qing.wav"}})))
    page.evaluate("""async () => {
        window.a = new OneWindowAnnouncer({repeat: 1});
        window.first = a.ready();              // the constructor's load of the default manifest: held
        await within(a.setClipBase("/hall"), 30000);
    }""")
    assert page.evaluate("() => a.clipBase") == base + "/hall/"
    assert len(held) == 1
    held[0].continue_()
    assert page.evaluate("async () => { await within(first, 30000); return a.clipBase; }") == base + "/hall/"
