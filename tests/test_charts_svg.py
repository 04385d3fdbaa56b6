"""The server's SVG charts stay well-formed XML whatever their labels hold (quotes and angle brackets included)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from shared.stats import charts

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
