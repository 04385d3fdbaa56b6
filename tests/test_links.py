"""Tracking links that work: with no hall.public_url they follow the address the server was reached on;
check-config warns when a loopback public_url is served to the network."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from hall_support import HALL_TOML
from kiosk.qr import qr_svg


@pytest.fixture
def app_without_public_url(redis_client, redis_server, hall_config, clock):
    from onewindow import create_app

    return create_app({"TESTING": True, "CONFIG": replace(hall_config, public_url=""), "REDIS_URL": redis_server.url,
                       "CLOCK": clock, "START_RELAY": False})


@pytest.mark.parametrize("base", ["http://192.168.10.20:8000", "http://hall.example:8080", "http://[fd00::5]:8000",
                                  "http://gov.example/yichuang"])  # (a proxy mounting the app under a path)
def test_tracking_url_follows_the_request_address(app_without_public_url, base):
    client = app_without_public_url.test_client()
    r = client.post("/api/v1/tickets", json={"service": "renshe"}, base_url=base)
    ticket = r.get_json()["ticket"]
    assert ticket["tracking_url"] == f"{base}/t/{ticket['token']}"
    svg = client.get(f"/kiosk/qr/{ticket['token']}.svg", base_url=base).get_data(as_text=True)
    assert svg == qr_svg(ticket["tracking_url"])  # the kiosk's QR code holds the same URL


def test_a_configured_public_url_wins(client):
    r = client.post("/api/v1/tickets", json={"service": "renshe"}, base_url="http://10.1.2.3:9000")
    ticket = r.get_json()["ticket"]
    assert ticket["tracking_url"] == f"http://127.0.0.1:8000/t/{ticket['token']}"  # tests/data/hall.toml


def demo_hall(tmp_path, text: str | None = None):
    """The test hall written to ``tmp_path``, marked ``[hall] demo = true`` (it signs in with the shipped demo
    credentials, which check-config refuses otherwise: see test_demo_credentials.py)."""
    text = (text or HALL_TOML.read_text(encoding="utf-8")).replace("[hall]\n", "[hall]\ndemo = true\n", 1)
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


def check_config(path, *args):
    return subprocess.run([sys.executable, "-m", "onewindow", "check-config", "--config", str(path), *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("host,warns", [("0.0.0.0", True), ("192.168.1.5", True), ("127.0.0.1", False),
                                        ("localhost", False), ("::1", False), (None, False)])
def test_check_config_warns_about_a_loopback_public_url_served_to_the_network(host, warns, tmp_path):
    r = check_config(demo_hall(tmp_path), *(["--host", host] if host else []))
    assert r.returncode == 0 and "OK" in r.stdout
    assert ("hall.public_url is http://127.0.0.1:8000" in r.stderr) == warns, r.stderr


def test_no_warning_without_a_public_url(tmp_path):
    path = demo_hall(tmp_path, HALL_TOML.read_text(encoding="utf-8").replace('public_url = "http://127.0.0.1:8000"\n', ""))
    r = check_config(path, "--host", "0.0.0.0")
    assert r.returncode == 0 and "public_url" not in r.stderr


def test_a_missing_ticket_font_is_a_warning_not_an_error(tmp_path):
    text = HALL_TOML.read_text(encoding="utf-8").replace("[printer]\n", '[printer]\nfont_path = "/no/such/font.ttc"\n')
    r = check_config(demo_hall(tmp_path, text))
    assert r.returncode == 0 and "OK" in r.stdout
    assert "printer.font_path: /no/such/font.ttc does not exist" in r.stderr
