"""The display pages as served (config JSON, layouts, languages, 404 pages, the hall's own voice clips) and the
/display Socket.IO namespace (public payloads in seq order, the clock acknowledgement)."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from hall_support import KIOSK_TOKEN
from display.relay import public_payload
from shared.config import parse_config
from shared.events import read_range

from hall_support import DATA, HALL_TOML


def page_config(html: str) -> dict:
    return json.loads(html.split('<script type="application/json" id="boot">', 1)[1].split("</script>", 1)[0])


def test_hall_display_page(client):
    r = client.get("/display")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    cfg = page_config(html)
    assert cfg["lang"] == "zh" and cfg["layout"] == "landscape"
    assert cfg["hall"]["name"] == "测试政务服务中心" and cfg["hall"]["notice"] == "今日领导带班：测试负责同志"
    assert [s["prefix"] for s in cfg["services"]] == ["A", "B", "F", "G"]
    assert [w["number"] for w in cfg["windows"]] == list(range(1, 8))
    assert cfg["state_url"] == "/api/v1/display/state" and cfg["namespace"] == "/display"
    assert cfg["voice"] == {"enabled": True, "repeat": 2, "english": False,
                            "base": "/display/static/voice/default/", "default_base": "/display/static/voice/default/"}
    assert 'lang="zh-CN"' in html and "layout-landscape" in html and "正在叫号" in html
    for link in ("/assets/vendor/socket.io/socket.io.min.js", "/assets/fonts.css", "/assets/css/tokens.css",
                 '<script type="module" src="/display/static/js/hall.js">'):
        assert link in html
    assert not re.search(r'(src|href)="(https?:)?//', html)   # no CDN, nothing external
    for asset in ("/assets/js/live.js", "/display/static/js/hall.js", "/display/static/js/hall-state.js",
                  "/display/static/js/announcer.js", "/display/static/css/hall.css",
                  "/display/static/voice/default/manifest.json"):
        assert client.get(asset).status_code == 200, asset


def test_hall_display_switches(client):
    html = client.get("/display?layout=portrait&lang=en&voice=0").get_data(as_text=True)
    cfg = page_config(html)
    assert cfg["layout"] == "portrait" and cfg["lang"] == "en" and cfg["voice"]["enabled"] is False
    assert 'lang="en"' in html and "layout-portrait" in html   # the words: the page's catalogue, in the browser
    odd = page_config(client.get("/display?layout=sideways&lang=fr").get_data(as_text=True))
    assert odd["layout"] == "landscape" and odd["lang"] == "zh"


def test_window_screen_and_its_404(client):
    r = client.get("/display/window/3")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    cfg = page_config(html)
    assert cfg["window"] == 3 and cfg["voice"]["enabled"] is False
    assert "市场综合窗口" in html and "<b>3</b>号窗口" in html
    assert page_config(client.get("/display/window/3?voice=1").get_data(as_text=True))["voice"]["enabled"] is True
    for bad in ("99", "0", "abc", "3a", "-1", "1/2"):
        nf = client.get(f"/display/window/{bad}")
        assert nf.status_code == 404 and nf.mimetype == "text/html", bad
        assert "没有这个窗口" in nf.get_data(as_text=True)


def test_hall_voice_dir_is_served_when_configured(client, tmp_path):
    assert client.get("/display/voice/hall/manifest.json").status_code == 404
    voice = tmp_path / "voice"
    voice.mkdir()
    (voice / "manifest.json").write_text('{"version": "1", "clips": {"qing": "qing.wav"}}', encoding="utf-8")
    (voice / "qing.wav").write_bytes(b"RIFF0000WAVE")
    raw = tomllib.loads(HALL_TOML.read_text(encoding="utf-8"))
    raw["storage"]["var_dir"] = str(tmp_path / "var")
    raw["display"] = {"voice_dir": str(voice), "voice_repeat": 3, "voice_english": True}
    config = parse_config(raw, base_dir=DATA)

    from onewindow import create_app

    hall = client.application.extensions["onewindow"]
    app = create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": hall.redis_url, "START_RELAY": False})
    c = app.test_client()
    cfg = page_config(c.get("/display").get_data(as_text=True))
    assert cfg["voice"]["base"] == "/display/voice/hall/" and cfg["voice"]["repeat"] == 3
    assert cfg["voice"]["english"] is True
    assert c.get("/display/voice/hall/manifest.json").get_json()["clips"] == {"qing": "qing.wav"}
    assert c.get("/display/voice/hall/qing.wav").data == b"RIFF0000WAVE"
    assert c.get("/display/voice/hall/../secret").status_code == 404
    assert c.get("/display/voice/hall/nothing.wav").status_code == 404


@pytest.fixture
def socket_client(app):
    socketio = app.extensions["socketio"]
    sc = socketio.test_client(app, namespace="/display")
    assert sc.is_connected("/display")
    yield sc
    sc.disconnect(namespace="/display")


def test_namespace_answers_clock_and_changes_nothing(socket_client, engine):
    before = engine.last_seq()
    answer = socket_client.emit("clock", {}, namespace="/display", callback=True)
    assert isinstance(answer["ts"], int) and answer["ts"] > 1_700_000_000_000
    socket_client.emit("ticket_called", {"seq": 99}, namespace="/display")   # clients cannot inject events
    assert engine.last_seq() == before
    assert socket_client.get_received("/display") == []


def test_clock_names_the_process_by_a_random_id_not_its_pid(socket_client):
    """``clock`` tells screens which process holds their socket by an id that means nothing outside it (a pid would
    tell strangers on the hall's Wi-Fi about the server); the id is the process's own — a forked child makes its
    own — and stays the same while the process lives."""
    import multiprocessing
    import os
    import re

    from display.namespace import process_id

    answer = socket_client.emit("clock", {}, namespace="/display", callback=True)
    assert isinstance(answer["process"], str) and re.fullmatch(r"[0-9a-f]{8}", answer["process"]), answer
    assert str(os.getpid()) not in str(answer)
    assert socket_client.emit("clock", {}, namespace="/display", callback=True)["process"] == answer["process"]
    assert process_id() == answer["process"]
    with multiprocessing.get_context("fork").Pool(1) as child:  # as gunicorn forks its workers
        assert child.apply(process_id) not in ("", answer["process"])


def test_public_payloads_hide_private_fields(client, clerk_client, engine):
    client.post("/api/v1/tickets", json={"service": "renshe", "lang": "en"},
                headers={"Authorization": f"Bearer {KIOSK_TOKEN}"})
    clerk_client(1).post("/api/v1/windows/1/call-next", json={})
    payloads = [public_payload(e) for e in read_range(engine.redis, engine.keys.events)]
    assert [p["seq"] for p in payloads] == list(range(1, len(payloads) + 1))
    called = next(p for p in payloads if p["type"] == "ticket_called")
    assert called["ticket"]["number"] == "A001" and called["window"] == 1
    text = json.dumps(payloads)
    for private in ('"clerk"', '"kiosk"', '"lang"', '"token"', "clerk1"):
        assert private not in text
    signed_in = next(p for p in payloads if p["type"] not in ("ticket_issued", "ticket_called"))
    assert set(signed_in) == {"seq", "type", "ts", "entry"}   # not shown, but no false gap either
