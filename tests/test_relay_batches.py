"""The relay's batches (display/fanout.py, shared/event_follower.py): many events reach every screen complete, once,
in ``seq`` order, with one write per socket per batch and each packet encoded once per audience."""

from __future__ import annotations

import dataclasses
import json
import socket
import struct
import threading
from types import SimpleNamespace

import socketio

from display.fanout import BatchingWebSocket, FrameBatch, text_frame
from display.namespace import DISPLAY_NAMESPACE, STAFF_NAMESPACE
from display.relay import Relay
from faults import wait_for
from hall_support import TABLET_TOKENS
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


def test_an_event_one_audience_cannot_view_keeps_no_other_audience_from_the_batch(app, engine, monkeypatch):
    """A view that raises (one audience, one event) is that audience's loss for this batch: the others get it, and
    emit_batch returns (before, the exception left the relay and the follower read the same batch again and again)."""
    socketio = app.extensions["socketio"]
    screen = socketio.test_client(app, namespace=DISPLAY_NAMESPACE)
    tablet = socketio.test_client(app, namespace=STAFF_NAMESPACE, auth={"token": TABLET_TOKENS[2]})
    screen.get_received(DISPLAY_NAMESPACE)
    tablet.get_received(STAFF_NAMESPACE)
    batch, relay = _issued(engine, socketio, 3)

    def broken(event):
        raise KeyError("ticket")

    relay.audiences = [dataclasses.replace(a, view=broken) if a.room == "tablet:2" else a for a in relay.audiences]
    relay.emit_batch(batch)
    assert [m["args"][0]["seq"] for m in screen.get_received(DISPLAY_NAMESPACE)] == [e.seq for e in batch]
    assert tablet.get_received(STAFF_NAMESPACE) == []


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
