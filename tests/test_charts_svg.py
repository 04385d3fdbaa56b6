"""The server's SVG charts stay well-formed XML whatever their labels hold (quotes and angle brackets included),
and their value labels never sit on one another nor leave the drawing (near-equal rates above all)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from shared.stats import charts
from shared.stats.transfers import reason_list

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = 'A "quoted" <b>label</b> & more'


def _hall_row(label: str) -> dict:
    figures = {"issued": 3, "handled": 2, "consulted": 1, "satisfaction_rate": 90.0, "wait": {"mean_s": 120}}
    return {"label": label, "label_en": label, "figures": figures}


@pytest.mark.parametrize("draw", ["load", "halls"])
def test_a_title_with_quotes_and_brackets_stays_in_its_attribute(monkeypatch, draw):
    key = "load" if draw == "load" else "halls"
    monkeypatch.setitem(charts.TEXT, key, (HOSTILE, HOSTILE))
    svg = charts.hourly_load([]) if draw == "load" else charts.hall_comparison([_hall_row(HOSTILE)])
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    assert root.get("aria-label") == HOSTILE
    assert set(root.attrib) == {"viewBox", "width", "height", "role", "aria-label", "font-family", "font-size"}
    assert root.find(SVG + "title").text == HOSTILE
    assert not root.findall(".//" + SVG + "b")  # the label's markup is text, not elements


# -- value labels never sit on one another ------------------------------------------------------------------------
#
# Each <text> line of a drawing as a box: its width estimated from its characters at its font size (measured in the
# web font: digits 0.56 em, "%" and wide Latin letters 0.93 em, CJK and full-width forms 1 em), its height the em
# box (0.8 em above the baseline, 0.2 em below). Two boxes of one drawing must not overlap and every box must lie in
# the viewBox — for near-equal values above all, where the labels used to be drawn at (nearly) the same place.

WIDE = set("%MWmw@")


def text_width(text: str, size: float) -> float:
    return size * sum(1.0 if ord(ch) > 0x2000 else 0.95 if ch in WIDE else 0.3 if ch in ".,:;|!' " else 0.62
                      for ch in text)


def text_boxes(svg: str) -> list[tuple[str, float, float, float, float]]:
    """(text, x0, y0, x1, y1) of every line of text of ``svg`` (a <text>, or each of its <tspan>s)."""
    root = ET.fromstring(svg)
    boxes = []
    for el in root.iter(SVG + "text"):
        size = float(el.get("font-size", root.get("font-size")))
        anchor = el.get("text-anchor", "start")
        x, y = float(el.get("x")), float(el.get("y"))
        lines = [(x, y, el.text or "")]
        for span in el.findall(SVG + "tspan"):  # a row label on two lines
            y += float(span.get("dy", 0))
            lines.append((float(span.get("x", x)), y, span.text or ""))
        for lx, ly, text in lines:
            if not text.strip():
                continue
            w = text_width(text, size)
            x0 = lx - w if anchor == "end" else lx - w / 2 if anchor == "middle" else lx
            boxes.append((text, x0, ly - 0.8 * size, x0 + w, ly + 0.2 * size))
    return boxes


def assert_labels_apart(svg: str) -> None:
    root = ET.fromstring(svg)
    _x, _y, vw, vh = (float(v) for v in root.get("viewBox").split())
    boxes = text_boxes(svg)
    for text, x0, y0, x1, y1 in boxes:
        assert 0 <= x0 and x1 <= vw and 0 <= y0 and y1 <= vh, f"{text!r} leaves the viewBox 0 0 {vw:g} {vh:g}: {(x0, y0, x1, y1)}"
    clashes = [(a[0], b[0], a[1:], b[1:]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
               if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]]
    assert not clashes, clashes[:5]


def _hcp_rows(n: int, rates) -> list[dict]:
    keys = [key for key, _l, _c in charts.HCP_RATES]
    return [{"label": f"{i + 1}号窗口 · 人社综合窗口", "label_en": f"Window {i + 1} · Social security",
             "figures": dict(zip(keys, rates(i)))} for i in range(n)]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("n", [1, 3, 4, 6, 12])
@pytest.mark.parametrize("rates", [
    lambda i: (97.8, 97.8, 97.8, 97.8, 97.8, 97.8),            # six equal rates in every row
    lambda i: (97.8, 97.8, 97.9 - i / 10, 97.7, 98.0, 97.8),   # near-equal
    lambda i: (100.0, 100.0, 100.0, 100.0, 100.0, 100.0),      # the longest labels at the far end
    lambda i: (0.0, 0.5, 1.0, 0.0, 0.0, 0.0),                  # at the start of the bars
    lambda i: (50.0, None, 50.0, None, 50.1, 50.0),            # rates without a base left out
], ids=["equal", "near", "all100", "zero", "gaps"])
def test_the_haocaiping_charts_rate_labels_never_overlap(n, rates, lang):
    assert_labels_apart(charts.haocaiping_rates(_hcp_rows(n, rates), lang))


def _wait_rows(n: int, mean: float, p90: float) -> list[dict]:
    return [{"label": f"业务{i + 1}", "label_en": f"Service {i + 1}",
             "figures": {"wait": {"n": 5, "mean_s": mean * 60, "median_s": mean * 60, "p90_s": p90 * 60}}}
            for i in range(n)]


@pytest.mark.parametrize("n", [1, 5, 8, 12, 20])
@pytest.mark.parametrize("mean, p90", [(5.0, 5.1), (12.0, 12.0), (0.0, 0.0), (3.0, 60.0)])
def test_the_waiting_charts_mean_and_p90_labels_never_overlap(n, mean, p90):
    assert_labels_apart(charts.wait_by_service(_wait_rows(n, mean, p90)))


def _trend_rows(rates: list[float], defaults: bool = True) -> list[dict]:
    return [{"key": f"2026-11-{d + 1:02d}", "figures": {
        "satisfaction_rate": r, "ratings": 40 + d, "default_ratings": 3 if defaults else 0,
        "satisfaction_rate_with_default": r if r is None else min(100.0, r + 0.1)}} for d, r in enumerate(rates)]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("rates", [
    [97.8, 97.9] * 7, [100.0] * 14, [100.0] * 7, [100.0] * 3, [99.5, 100.0, 98.5, 100.0, 99.0], [97.8] * 31,
    [0.0, 100.0, 0.0, 50.0], [100.0, None, 100.0],
], ids=["near14", "all100x14", "all100x7", "all100x3", "high5", "month", "swing", "gap"])
def test_the_satisfaction_trends_point_labels_never_overlap(rates, lang):
    assert_labels_apart(charts.satisfaction_trend(_trend_rows(rates), lang))


def _transfer_report(counts: list[dict[str, int]]) -> dict:
    reasons = reason_list(())
    rows = [{"label": f"{i + 1}号窗口", "label_en": f"Window {i + 1}",
             "figures": {"transfers": sum(c.values()), "rate": 12.5,
                         "reasons": {r["code"]: c.get(r["code"], 0) for r in reasons}}}
            for i, c in enumerate(counts)]
    return {"reasons": reasons, "rows": rows}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("counts", [
    [{"wrong_service": 100, "other_department": 2400}],               # a 3-digit count in a 16 px segment
    [{"wrong_service": 12, "complaint": 290, "none": 13}],            # 2-digit counts in narrow segments
    [{"wrong_service": 1, "other_department": 1, "leader": 1}] * 4,   # every segment wide
    [{"other": 7}, {"wrong_service": 1000, "cannot_handle": 9}],
], ids=["three_digits", "two_digits", "wide", "mixed"])
def test_the_transfer_charts_counts_sit_inside_their_segments(counts, lang):
    """A reason's count is written on its segment only where it fits (the segment's <title> always has it): a
    number wider than its segment ran over its neighbours."""
    svg = charts.transfer_reasons_chart(_transfer_report(counts), lang)
    assert_labels_apart(svg)
    root = ET.fromstring(svg)
    segments = [(float(r.get("x")), float(r.get("x")) + float(r.get("width")), float(r.get("y")), r.find(SVG + "title").text)
                for r in root.iter(SVG + "rect") if r.find(SVG + "title") is not None]
    written = [(t.text, float(t.get("x")), float(t.get("y"))) for t in root.iter(SVG + "text") if t.get("fill") == "#ffffff"]
    assert written, "no count written on any segment"
    for text, x, y in written:
        half = text_width(text, 11) / 2
        home = [s for s in segments if s[0] <= x <= s[1] and s[2] <= y]
        assert home and home[-1][0] <= x - half and x + half <= home[-1][1], (text, x, home[-1:] if home else None)
        assert home[-1][3].endswith(f" {text}")
    shown = {t for t, _x, _y in written}
    assert all(s[3].rsplit(" ", 1)[1] in shown or s[1] - s[0] < text_width(s[3].rsplit(" ", 1)[1], 11) + 4
               for s in segments)  # what is not written did not fit
