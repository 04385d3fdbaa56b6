"""`onewindow serve` under both gunicorn workers: a call made over HTTP reaches a Socket.IO screen, in seq order."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest
import socketio

from hall_support import KEYPAD_TOKEN, LiveServer


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


def test_livez_answers_while_password_hashes_run(redis_server, redis_client, live_config, tmp_path):
    """Issue 9, item 7: scrypt on the single gevent worker blocked every screen. Four wrong logins for an account
    with an expensive hash (~0.7 s each) are sent, their bytes already in the server's sockets, before any /livez:
    /livez keeps answering before the first login does (with the hash on the event loop only a few slip in between
    two hashes)."""
    import socket
    import select
    import time

    from werkzeug.security import generate_password_hash

    slow_hash = generate_password_hash("the-right-one", method="scrypt:131072:8:1")
    config = tmp_path / "slow.toml"
    config.write_text(live_config.read_text(encoding="utf-8") + f"""
[[clerks]]
username = "slowhash"
name = "慢"
password_hash = "{slow_hash}"
""", encoding="utf-8")
    server = LiveServer(config, redis_server.url, ("--worker", "gevent")).start()
    try:
        body = json.dumps({"username": "slowhash", "password": "wrong-guess", "window": 2}).encode()
        request = (f"POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        logins = []
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            s.sendall(request)
            logins.append(s)
        answered = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, _, _ = select.select(logins, [], [], 0)
            if ready:
                break
            with urllib.request.urlopen(server.url + "/livez", timeout=30) as r:
                assert r.status == 200
            answered += 1
        first = ready[0].recv(200).decode()
        assert first.startswith("HTTP/1.1 401"), first  # the logins were real password checks
        # measured here: ~250 with the hash off the loop, 8 with it on the loop (answered between two hashes)
        assert answered >= 30, f"only {answered} /livez answered while four password hashes ran"
        for s in logins:
            s.close()
    finally:
        server.stop()
