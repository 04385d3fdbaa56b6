"""`onewindow serve` under both gunicorn workers: a call made over HTTP reaches a Socket.IO screen, in seq order."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest
import socketio

from conftest import KEYPAD_TOKEN, LiveServer


def post(url: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@pytest.mark.parametrize("worker", ["gthread", "gevent"])
def test_call_reaches_a_screen(worker, redis_server, redis_client, live_config):
    server = LiveServer(live_config, redis_server.url, ("--worker", worker)).start()
    received: list[dict] = []
    called = threading.Event()
    sio = socketio.Client(reconnection=False)

    @sio.on("ticket_called", namespace="/display")
    def on_called(data):
        received.append(data)
        called.set()

    @sio.on("ticket_issued", namespace="/display")
    def on_issued(data):
        received.append(data)

    try:
        sio.connect(server.url, namespaces=["/display"], transports=["websocket"], wait_timeout=10)
        ticket = post(server.url + "/api/v1/tickets", {"service": "renshe"})["ticket"]
        post(server.url + "/api/v1/windows/1/call-next", {}, KEYPAD_TOKEN)
        assert called.wait(5), f"no ticket_called reached the screen under {worker}"
        assert [e["type"] for e in received] == ["ticket_issued", "ticket_called"]
        assert received[1]["ticket"]["number"] == ticket["number"] and received[1]["window"] == 1
        assert received[1]["seq"] == received[0]["seq"] + 1
        assert "token" not in received[1]["ticket"] and "clerk" not in received[1]
    finally:
        sio.disconnect()
        server.stop()
