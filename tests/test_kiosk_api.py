"""The kiosk page as served (no browser), the on-screen QR code endpoint, and the default preview printer."""

from __future__ import annotations

import json
import re

import qrcode

from hall_support import KIOSK2_TOKEN
from kiosk.qr import QUIET_ZONE


def boot_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="boot">(.*?)</script>', html, re.S)
    assert m, "the page carries no boot data"
    return json.loads(m.group(1))


def test_kiosk_page_is_served_with_its_services(client):
    r = client.get("/kiosk")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "测试政务服务中心" in html and 'lang="zh-CN"' in html
    boot = boot_data(html)
    assert "kiosk" not in boot and boot["timezone"] == "Asia/Shanghai"  # which kiosk it is comes from its token
    services = {s["code"]: s for s in boot["services"]}
    assert set(services) == {"renshe", "shichang", "bubancheng", "lingdao"}
    assert services["lingdao"]["open"] is False and services["lingdao"]["closed_reason"] == "closed_today"
    # every script, style sheet and image comes from this server (no CDN, no web fonts)
    for url in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert url.startswith("/") or url.startswith("data:"), url
    assert "/assets/vendor/socket.io/socket.io.min.js" in html
    for asset in ("/kiosk/static/kiosk.js", "/kiosk/static/kiosk.css", "/assets/vendor/socket.io/socket.io.min.js"):
        assert client.get(asset).status_code == 200, asset


def test_the_page_reflects_nothing_of_its_query(client):
    html = client.get("/kiosk?id=%3Cscript%3E").get_data(as_text=True)
    assert "<script>" not in html.split('id="boot"')[1][:200]


def test_root_redirects_to_the_kiosk(client):
    r = client.get("/")
    assert r.status_code in (301, 302) and r.headers["Location"].endswith("/kiosk")


def dark_modules(svg: str) -> set[tuple[int, int]]:
    cells = set()
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        for i in range(int(w)):
            cells.add((int(x) + i, int(y)))
    return cells


def test_qr_code_of_the_tracking_url_for_a_valid_token_only(client):
    ticket = client.post("/api/v1/tickets", json={"service": "renshe"}).get_json()["ticket"]
    r = client.get(f"/kiosk/qr/{ticket['token']}.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    assert "no-store" in r.headers["Cache-Control"]
    svg = r.get_data(as_text=True)
    assert svg.startswith("<svg") and "http://" not in svg.replace("http://www.w3.org/2000/svg", "")
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(ticket["tracking_url"])
    code.make(fit=True)
    expected = {(x, y) for y, row in enumerate(code.get_matrix()) for x, dark in enumerate(row) if dark}
    assert dark_modules(svg) == expected

    for bad in ("20261127" + "x" * 22, "nope"):
        r = client.get(f"/kiosk/qr/{bad}.svg")
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_default_preview_printer_writes_the_ticket_under_var_tickets(client, hall_config):
    kiosk = {"Authorization": f"Bearer {KIOSK2_TOKEN}"}
    r = client.post("/api/v1/tickets", json={"service": "shichang"}, headers=kiosk)
    assert r.status_code == 201
    assert r.get_json()["print"] == {"status": "preview", "reason": None, "confirmed": True}
    folder = hall_config.var_dir / "tickets"
    for suffix in (".bin", ".png"):  # named by day, number and issue time (the test clock stands at 10:00:00)
        assert (folder / f"20261127-B001-100000{suffix}").stat().st_size > 0
    health = client.get("/api/v1/kiosks/lobby-2/health", headers=kiosk).get_json()
    assert health["status"] == "ok" and health["printer"]["backend"] == "preview"
    assert health["printer"]["last_print"]["number"] == "B001"
