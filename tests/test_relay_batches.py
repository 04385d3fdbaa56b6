"""The relay's batches (display/fanout.py, shared/event_follower.py): many events reach every screen complete, once,
in ``seq`` order, with one write per socket per batch and each packet encoded once per audience."""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import struct
import threading
import urllib.request
from types import SimpleNamespace

import requests
import socketio

from desk_support import serve
from display.fanout import BatchingWebSocket, FrameBatch, text_frame
from display.namespace import DISPLAY_NAMESPACE, RESYNC, STAFF_NAMESPACE
from display.relay import Relay
from display_support import failing_once, relaying
from faults import wait_for
from hall_support import TABLET_TOKENS
from shared import events
from shared.engine import Engine
from shared.event_follower import EventFollower


def read_frames(data: bytes) -> list[str]:
    """The text messages in a run of unmasked, unfragmented WebSocket frames (what a server writes)."""
    out, at = [], 0
    while at < len(data):
        b0, n = data[at], data[at + 1] & 0x7F
        assert b0 == 0x81, f"a final text frame, not {b0:#x}"
        at += 2
        if n == 126:
            n, at = struct.unpack_from("!H", data, at)[0], at + 2
        elif n == 127:
            n, at = struct.unpack_from("!Q", data, at)[0], at + 8
        out.append(data[at:at + n].decode("utf-8"))
        at += n
    return out


class CountingSocket:
    """A socket that counts its sendall() calls."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.writes = 0

    def sendall(self, data: bytes) -> None:
        self.writes += 1
        self.sock.sendall(data)


def batching_websocket(sock) -> BatchingWebSocket:
    """A BatchingWebSocket on ``sock`` as python-engineio's writer sees it, connected without extensions."""
    ws = BatchingWebSocket.__new__(BatchingWebSocket)
    ws.writing = threading.Lock()
    ws.ws = SimpleNamespace(connected=True, sock=sock,
                            ws=SimpleNamespace(connection=SimpleNamespace(_proto=SimpleNamespace(extensions=[]))))
    return ws


def _issued(engine: Engine, socketio, n: int) -> tuple[list, Relay]:
    """``n`` tickets issued now: their events (one batch) and a relay of ``socketio`` to hand them to."""
    first = engine.last_seq()
    for _ in range(n):
        engine.issue("renshe")
    batch = [e for e in engine.events_since() if e.seq > first]
    return batch, Relay(socketio, "redis://unused", engine.keys.events, windows=engine.config.windows)


def test_a_batch_goes_out_in_one_write_with_each_event_its_own_message():
    texts = [f'42/display,["ticket_issued",{{"seq":{i},"type":"ticket_issued","n":"号{i}"}}]' for i in range(1, 501)]
    texts[7] = '42/display,["ticket_issued",' + json.dumps({"seq": 8, "long": "字" * 30000}) + "]"  # a 64-bit length
    first, second = texts[:300], texts[300:]
    a, b = socket.socketpair()
    received = bytearray()
    reader = threading.Thread(target=lambda: [received.extend(c) for c in iter(lambda: b.recv(65536), b"")])
    reader.start()
    try:
        counting = CountingSocket(a)
        ws = batching_websocket(counting)
        ws.send(FrameBatch(first, b"".join(text_frame(t) for t in first)))
        assert counting.writes == 1                        # one sendall for 300 messages
        ws.send("3")                                       # a pong, framed here
        ws.send(FrameBatch(second, b"".join(text_frame(t) for t in second)))
        assert counting.writes == 3
        a.shutdown(socket.SHUT_WR)
        reader.join(20)
    finally:
        a.close()
        b.close()
    assert read_frames(bytes(received)) == [*first, "3", *second]


def _gevent_pair(sndbuf: int | None = None):
    """A gevent socket (as the server's WebSocket has under gevent) and the plain socket at its other end."""
    from gevent import socket as gsocket

    a, b = socket.socketpair()
    if sndbuf:
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, sndbuf)
    return gsocket.socket(fileno=a.detach()), b


class QueuedSocket:
    """The Engine.IO socket's side of a BatchingWebSocket: its writer's queue."""

    def __init__(self) -> None:
        import queue

        self.queue = queue.Queue()

    def send(self, pkt) -> None:
        self.queue.put(pkt)


def _frames(*texts: str) -> bytes:
    return b"".join(text_frame(t) for t in texts)


def test_the_relay_writes_a_batch_itself_to_an_idle_socket_and_leaves_a_busy_one_to_its_writer():
    a, b = _gevent_pair()
    try:
        ws, eio = batching_websocket(a), QueuedSocket()
        assert ws.write_now(eio, _frames("42/display,[1]", "42/display,[2]"))     # idle: written at once …
        assert eio.queue.empty()                                                   # … no queue item, no wake-up
        assert read_frames(b.recv(65536)) == ["42/display,[1]", "42/display,[2]"]

        eio.send("2")                                     # a ping the writer has not written yet
        assert not ws.write_now(eio, _frames("42/display,[3]"))   # after it, not before: queue this one
        eio.queue.get()
        with ws.writing:                                   # the writer in the middle of a write
            assert not ws.write_now(eio, _frames("42/display,[3]"))
        assert eio.queue.empty() and ws.write_now(eio, _frames("42/display,[3]"))
        assert read_frames(b.recv(65536)) == ["42/display,[3]"]
    finally:
        a.close()
        b.close()


def test_what_the_kernel_does_not_take_is_queued_and_reaches_the_screen_in_order():
    a, b = _gevent_pair(sndbuf=4096)
    big = [f'42/display,["ticket_issued",{{"seq":{i},"pad":"{"字" * 2000}"}}]' for i in range(200)]  # ~1.2 MB
    received = bytearray()
    try:
        ws, eio = batching_websocket(a), QueuedSocket()
        assert ws.write_now(eio, _frames(*big[:100]))
        assert not ws.write_now(eio, _frames(*big[100:]))    # the next batch goes behind that rest, to the writer
        rest = eio.queue.get_nowait()                       # the kernel took part: the rest is the writer's
        assert isinstance(rest, FrameBatch) and 0 < len(rest.frames) < len(_frames(*big[:100]))
        reader = threading.Thread(target=lambda: [received.extend(c) for c in iter(lambda: b.recv(65536), b"")])
        reader.start()
        ws.send(rest)                                       # the writer: what was left, then the next batch
        ws.send(FrameBatch(big[100:], _frames(*big[100:])))
        a.shutdown(socket.SHUT_WR)
        reader.join(30)
    finally:
        a.close()
        b.close()
    assert read_frames(bytes(received)) == big                 # every message whole, once, in order


def test_a_socket_gone_is_marked_closed_not_raised_and_other_sockets_are_not_written_by_the_relay():
    a, b = _gevent_pair()
    b.close()
    ws, eio = batching_websocket(a), QueuedSocket()
    try:
        assert ws.write_now(eio, _frames("42/display,[1]"))   # EPIPE: nothing to queue, its reader ends it
        assert ws.ws.connected is False and eio.queue.empty()
        assert not ws.write_now(eio, _frames("42/display,[2]"))
    finally:
        a.close()
    plain_a, plain_b = socket.socketpair()                     # gthread's sockets: the writer thread writes
    try:
        assert not batching_websocket(plain_a).write_now(QueuedSocket(), _frames("42/display,[1]"))
    finally:
        plain_a.close()
        plain_b.close()


def test_batches_follow_the_stream_in_order_and_coalesce(redis_server, redis_client, hall_config):
    engine = Engine(redis_client, hall_config)
    engine.issue("renshe")
    follower = EventFollower(redis_server.url, engine.keys.events, min_interval=1.0)
    follower.last_id = "0-0"
    batches: list[list[int]] = []
    threading.Thread(target=follower.run, kwargs={"on_batch": lambda b: batches.append([e.seq for e in b])},
                     daemon=True).start()
    try:
        wait_for(lambda: batches, 20, "the first batch")
        for _ in range(200):
            engine.issue("shichang")
        wait_for(lambda: sum(map(len, batches)) >= 201, 60, "every event handed on")
    finally:
        follower.stop()
    seqs = [s for b in batches for s in b]
    assert seqs == list(range(1, 202))                    # each once, in order
    assert len(batches) <= 50, f"{len(batches)} batches for 201 events a second apart: not coalesced"
    assert follower.position() is not None


def test_each_packet_is_encoded_once_per_audience_whatever_the_sockets(app, engine):
    socketio = app.extensions["socketio"]
    clients = [socketio.test_client(app, namespace=DISPLAY_NAMESPACE) for _ in range(3)]
    tablet = socketio.test_client(app, namespace=STAFF_NAMESPACE, auth={"token": TABLET_TOKENS[2]})
    assert all(c.is_connected(DISPLAY_NAMESPACE) for c in clients) and tablet.is_connected(STAFF_NAMESPACE)
    for c in clients:
        c.get_received(DISPLAY_NAMESPACE)
    tablet.get_received(STAFF_NAMESPACE)
    batch, relay = _issued(engine, socketio, 40)
    relay.emit_batch(batch)
    # the public screens and window 2's tablet listen; the staff room and the other tablets have nobody
    assert relay.fanout.encoded == 2 * len(batch)
    for c in clients:
        got = c.get_received(DISPLAY_NAMESPACE)
        assert [m["args"][0]["seq"] for m in got] == [e.seq for e in batch]
        assert all("token" not in m["args"][0]["ticket"] for m in got)
    assert [m["args"][0]["seq"] for m in tablet.get_received(STAFF_NAMESPACE)] == [e.seq for e in batch]


def test_a_burst_reaches_every_screen_complete_once_and_in_order(live_server, redis_client, hall_config, monkeypatch):
    from engineio.payload import Payload

    # python-engineio's client refuses a long-polling answer of more than 16 packets (a guard of its own; browsers'
    # client has none): a burst gives one poll hundreds
    monkeypatch.setattr(Payload, "max_decode_packets", 10_000)
    screens = []
    for transport in ("websocket", "websocket", "websocket", "polling"):
        seqs: list[int] = []
        sio = socketio.Client(reconnection=False)
        sio.on("ticket_issued", lambda data, seqs=seqs: seqs.append(data["seq"]), namespace=DISPLAY_NAMESPACE)
        sio.connect(live_server.url, namespaces=[DISPLAY_NAMESPACE], transports=[transport], wait_timeout=10)
        screens.append((sio, seqs))
    try:
        engine = Engine(redis_client, hall_config)

        def following() -> bool:  # the relay follows from its first read on: until then, events pass it by
            if all(s for _, s in screens):
                return True
            engine.issue("renshe")
            return False
        wait_for(following, 60, "the relay to follow the stream")
        first = engine.last_seq()
        for i in range(500):
            engine.issue(("renshe", "shichang")[i % 2])
        wanted = list(range(first + 1, first + 501))
        try:
            wait_for(lambda: all(s[-1] >= first + 500 for _, s in screens), 90, "every screen to have the 500 events")
        except AssertionError:
            raise AssertionError("missing: " + "; ".join(
                f"{sio.transport()} connected={sio.connected} {sorted(set(wanted) - set(s))[:20]}"
                for sio, s in screens)) from None
        for _, seqs in screens:
            assert [n for n in seqs if n > first] == wanted                # complete, once each, in order
        with urllib.request.urlopen(live_server.url + "/metrics", timeout=10) as r:
            by = dict(re.findall(r'^onewindow_relay_batches_total\{by="(\w+)"\} (\S+)$', r.read().decode(), re.M))
        assert float(by["relay"]) > 0          # gevent: the relay wrote batches to idle sockets itself …
        assert set(by) == {"relay", "writer"}  # … and queued the others to their writers, in the same order
    finally:
        for sio, _ in screens:
            sio.disconnect()


def test_a_socket_closing_mid_batch_keeps_no_other_screen_from_it(app, engine, monkeypatch):
    from engineio.exceptions import SocketIsClosedError

    socketio = app.extensions["socketio"]
    clients = [socketio.test_client(app, namespace=DISPLAY_NAMESPACE) for _ in range(3)]
    for c in clients:
        c.get_received(DISPLAY_NAMESPACE)
    server = socketio.server
    victim = next(iter(server.manager.get_participants(DISPLAY_NAMESPACE, None)))[1]   # the first one served
    send = server._send_eio_packet

    def closing(eio_sid, pkt):
        if eio_sid == victim:
            raise SocketIsClosedError()
        return send(eio_sid, pkt)

    monkeypatch.setattr(server, "_send_eio_packet", closing)
    batch, relay = _issued(engine, socketio, 5)
    relay.emit_batch(batch)
    got = [[m["args"][0]["seq"] for m in c.get_received(DISPLAY_NAMESPACE)] for c in clients]
    assert sorted(got, key=len) == [[], [e.seq for e in batch], [e.seq for e in batch]]


def _screen_and_tablet(app):
    """The app's Socket.IO server, a public screen and window 2's tablet (test clients), what they heard on
    connecting read away."""
    socketio = app.extensions["socketio"]
    screen = socketio.test_client(app, namespace=DISPLAY_NAMESPACE)
    tablet = socketio.test_client(app, namespace=STAFF_NAMESPACE, auth={"token": TABLET_TOKENS[2]})
    screen.get_received(DISPLAY_NAMESPACE)
    tablet.get_received(STAFF_NAMESPACE)
    return socketio, screen, tablet


def test_an_event_one_audience_cannot_view_keeps_no_other_audience_from_the_batch(app, engine, caplog):
    """A view that raises (one audience, every event of the batch) costs that audience the events' payloads, not
    their place: it gets ``resync`` at each seq (its screens load their state), the others get the batch, the
    failure is logged once, and emit_batch returns (before, the exception left the relay and the follower read the
    same batch again and again)."""
    socketio, screen, tablet = _screen_and_tablet(app)
    batch, relay = _issued(engine, socketio, 3)

    def broken(event):
        raise KeyError("ticket")

    relay.audiences = [dataclasses.replace(a, view=broken) if a.room == "tablet:2" else a for a in relay.audiences]
    relay.emit_batch(batch)
    assert [m["args"][0]["seq"] for m in screen.get_received(DISPLAY_NAMESPACE)] == [e.seq for e in batch]
    told = tablet.get_received(STAFF_NAMESPACE)
    assert [(m["name"], m["args"][0]["seq"], m["args"][0]["event"]) for m in told] == \
        [(RESYNC, e.seq, "ticket_issued") for e in batch]
    assert [r.getMessage() for r in caplog.records if r.name == "display.relay"] == [
        "the view of /staff tablet:2 failed for 3 event(s) (" + ", ".join(f"ticket_issued #{e.seq}" for e in batch)
        + "): KeyError in broken (test_relay_batches.py:" + str(broken.__code__.co_firstlineno + 1)
        + "); its screens are told to resync"]


def test_a_view_failing_once_mid_batch_puts_resync_in_that_events_place_only(app, engine):
    socketio = app.extensions["socketio"]
    screen = socketio.test_client(app, namespace=DISPLAY_NAMESPACE)
    screen.get_received(DISPLAY_NAMESPACE)
    batch, relay = _issued(engine, socketio, 2)
    engine.call_next(1)
    batch += [e for e in engine.events_since() if e.seq > batch[-1].seq]
    engine.issue("renshe")
    batch += [e for e in engine.events_since() if e.seq > batch[-1].seq]
    failed = failing_once(relay, DISPLAY_NAMESPACE, events.TICKET_CALLED)
    relay.emit_batch(batch)
    got = [(m["name"], m["args"][0]["seq"]) for m in screen.get_received(DISPLAY_NAMESPACE)]
    assert got == [(RESYNC if e.seq in failed else e.type, e.seq) for e in batch]
    assert [name for name, _ in got] == ["ticket_issued", "ticket_issued", RESYNC, "ticket_issued"]


def test_a_batch_an_audience_cannot_be_sent_tells_it_to_resync_at_each_seq(app, engine):
    """A view that returns what cannot be encoded in order (binary data) fails the whole send for its audience:
    that audience gets ``resync`` at every seq of the batch instead of nothing."""
    socketio, screen, tablet = _screen_and_tablet(app)
    batch, relay = _issued(engine, socketio, 3)
    relay.audiences = [dataclasses.replace(a, view=lambda e, v=a.view: {**v(e), "blob": b"\x00"})
                       if a.namespace == DISPLAY_NAMESPACE else a for a in relay.audiences]
    relay.emit_batch(batch)
    assert [(m["name"], m["args"][0]["seq"]) for m in screen.get_received(DISPLAY_NAMESPACE)] == \
        [(RESYNC, e.seq) for e in batch]
    assert [m["args"][0]["seq"] for m in tablet.get_received(STAFF_NAMESPACE)] == [e.seq for e in batch]


def test_a_view_that_failed_and_then_a_send_that_failed_count_each_event_once(app, engine):
    """One event's view raises (counted), then the batch cannot be encoded for that audience either: the audience is
    told to resync, and each event of the batch is counted as failed once, not the first one twice."""
    socketio, screen, _tablet = _screen_and_tablet(app)
    batch, relay = _issued(engine, socketio, 3)
    counts: list[tuple[str, str]] = []
    relay.on_view_failed = lambda label, etype: counts.append((label, etype))
    failing_once(relay, DISPLAY_NAMESPACE, batch[0].type)
    relay.audiences = [dataclasses.replace(a, view=lambda e, v=a.view: {**v(e), "blob": b"\x00"})
                       if a.namespace == DISPLAY_NAMESPACE else a for a in relay.audiences]
    relay.emit_batch(batch)
    assert [(m["name"], m["args"][0]["seq"]) for m in screen.get_received(DISPLAY_NAMESPACE)] == \
        [(RESYNC, e.seq) for e in batch]
    assert counts == [(DISPLAY_NAMESPACE, e.type) for e in batch]


def test_a_screen_whose_view_failed_is_told_at_once_and_its_snapshot_has_the_call(app, engine, redis_server, caplog):
    """A real relay following Redis, the public view of one call failing once: a python-socketio screen gets, at the
    call's seq and with no further event, ``resync``; what it then loads (the hall snapshot) shows the call; a tablet
    got its own view of the same event; one log line without the exception's message; /metrics counts it."""
    with relaying(app, redis_server.url, engine, fail=(DISPLAY_NAMESPACE, events.TICKET_CALLED)) as relay, \
            serve(app) as base:
        heard: dict[str, list] = {DISPLAY_NAMESPACE: [], STAFF_NAMESPACE: []}
        clients = []
        for namespace, auth in ((DISPLAY_NAMESPACE, None), (STAFF_NAMESPACE, {"token": TABLET_TOKENS[1]})):
            sio = socketio.Client(reconnection=False)
            sio.on("*", lambda name, data, ns=namespace: heard[ns].append((name, data)), namespace=namespace)
            sio.connect(base, namespaces=[namespace], transports=["polling"], auth=auth, wait_timeout=10)
            clients.append(sio)
        try:
            ticket = engine.issue("renshe").ticket
            called = engine.call_next(1)
            wait_for(lambda: len(heard[DISPLAY_NAMESPACE]) >= 2 and len(heard[STAFF_NAMESPACE]) >= 2, 30,
                     "both screens to hear the issue and the call")
        finally:
            for sio in clients:
                sio.disconnect()
        [seq] = relay.failed
        screen = heard[DISPLAY_NAMESPACE]
        assert [(name, data["seq"]) for name, data in screen] == [("ticket_issued", seq - 1), (RESYNC, seq)]
        assert screen[1][1]["event"] == events.TICKET_CALLED and screen[1][1]["entry"]
        assert [(name, data["seq"]) for name, data in heard[STAFF_NAMESPACE]] == \
            [("ticket_issued", seq - 1), ("ticket_called", seq)]
        state = requests.get(base + "/api/v1/display/state", timeout=5).json()  # what live.js loads on `resync`
        assert state["seq"] >= seq
        assert [(w["window"], (w.get("ticket") or {}).get("number")) for w in state["windows"]
                if w["window"] == 1] == [(1, called["number"])]
        metrics = app.test_client().get("/metrics").get_data(as_text=True)
    logged = [r for r in caplog.records if r.name == "display.relay"]
    assert len(logged) == 1 and logged[0].levelname == "ERROR"
    line = logged[0].getMessage()
    assert f"/display failed for 1 event(s) (ticket_called #{seq})" in line and "RuntimeError" in line
    assert "store went away" not in line and ticket["id"] not in line and not logged[0].exc_info
    assert 'onewindow_relay_view_failures_total{audience="/display",type="ticket_called"} 1.0' in metrics


def test_an_audience_nobody_listens_to_costs_no_views(app, engine):
    """The views of an audience without a socket (the staff room, a window without its tablet, every screen at night)
    are not worked out at all: each would be built for every event and thrown away (a worker's CPU under load)."""
    socketio = app.extensions["socketio"]
    screen = socketio.test_client(app, namespace=DISPLAY_NAMESPACE)
    screen.get_received(DISPLAY_NAMESPACE)
    batch, relay = _issued(engine, socketio, 3)
    viewed: dict[str, int] = {}

    def counted(audience):
        def view(event):
            viewed[audience.room or audience.namespace] = viewed.get(audience.room or audience.namespace, 0) + 1
            return audience.view(event)
        return dataclasses.replace(audience, view=view)

    relay.audiences = [counted(a) for a in relay.audiences]
    relay.emit_batch(batch)
    assert viewed == {DISPLAY_NAMESPACE: len(batch)}  # the public screens only: nobody on /staff
    assert [m["args"][0]["seq"] for m in screen.get_received(DISPLAY_NAMESPACE)] == [e.seq for e in batch]
    tablet = socketio.test_client(app, namespace=STAFF_NAMESPACE, auth={"token": TABLET_TOKENS[2]})
    tablet.get_received(STAFF_NAMESPACE)
    viewed.clear()
    relay.emit_batch(batch)
    assert viewed == {DISPLAY_NAMESPACE: len(batch), "tablet:2": len(batch)}  # window 2's tablet is there now
