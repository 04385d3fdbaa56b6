"""Fan-out of the relay's events to many sockets, cheaply: each event encoded once per audience, one queued item
and one ``send`` per socket per batch of events.

python-socketio already encodes a room's packet once, but then every socket pays, per event, an Engine.IO queue
put, a wake-up of its writer, a WebSocket frame built by wsproto in Python and a ``send`` system call. With 500
screens and 200 events a second that is 100,000 of each per second: the process spends its time writing frames
and a burst reaches the screens seconds late (bench/bench_display.py, docs/display.md "Under load").

Here, for a batch of events (one XREAD), each audience's packets are encoded once — Socket.IO packet, Engine.IO
packet, and the WebSocket frame itself (a server's frames are not masked: the same bytes suit every plain socket) —
and handed to each socket of the audience as one :class:`FrameBatch`: one queue item, one wake-up of its writer.
:class:`BatchingWebSocket` (installed in place of python-engineio's threading WebSocket wrapper by :func:`install`)
writes the batch's frames as they are with one ``sendall``. Under gevent (the default server), a socket whose writer
is idle — the usual case: a screen's writer is done with a batch long before the next — does not even get the queue
item: the relay writes the frames itself, with one non-blocking ``send`` (:meth:`BatchingWebSocket.write_now`), and
queues only what the kernel did not take. That spares each socket, per batch, the queue, the wake-up of its writer
and the writer's timed wait for the next item: most of what fanning out cost (docs/deploy.md, "Round 5").

What does not change: each event is its own Socket.IO ``EVENT`` packet in its own WebSocket message, so every
client (the pages' live.js, python-socketio) reads them as before, in order. A socket on long-polling gets the same
packets through the usual per-packet path. ``permessage-deflate``, which browsers offer, is declined: compressing
is per socket, and would cost more than everything else together.
"""

from __future__ import annotations

import _socket
import logging
import struct
import threading
from collections.abc import Callable, Sequence

import simple_websocket
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
from socketio import packet as sio_packet
from wsproto.events import TextMessage

logger = logging.getLogger(__name__)


def text_frame(text: str) -> bytes:
    """An unmasked, unfragmented WebSocket text frame (RFC 6455 §5.2) carrying ``text``: what a server sends."""
    data = text.encode("utf-8")
    n = len(data)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 127, n)
    return head + data


class FrameBatch(eio_packet.Packet):
    """Several Engine.IO MESSAGE packets (``texts``, each encoded already) queued to a socket as one item;
    ``frames`` is their WebSocket frames, concatenated. Only :class:`BatchingWebSocket` knows how to write it."""

    def __init__(self, texts: Sequence[str], frames: bytes) -> None:
        super().__init__(eio_packet.MESSAGE, data=f"<{len(texts)} events>")
        self.texts = texts
        self.frames = frames

    def encode(self, b64=False):  # the writer calls encode() and hands the result to the WebSocket's send()
        return self


class BatchingWebSocket(SimpleWebSocketWSGI):
    """python-engineio's threading WebSocket wrapper, writing a :class:`FrameBatch` (many events) with one
    ``sendall`` of frames built once, and anything else with a frame it builds itself (no wsproto in the way:
    server frames are plain bytes). ``sendall``, not simple-websocket's ``send``, which may write part of a large
    frame and drop the rest. The Engine.IO socket knows its wrapper as ``onewindow_ws``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.writing = threading.Lock()  # held while frames go out: the writer's and write_now()'s never interleave

    def __call__(self, environ, start_response):
        # Decline permessage-deflate (browsers offer it): compressing is per socket (each keeps its own zlib
        # context), so one event to 500 screens would be compressed 500 times, in Python's wsproto; the events are a
        # few hundred bytes on the hall's own network. Without it every socket takes the frames built once.
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        eio_socket = getattr(self.app, "__self__", None)
        if eio_socket is not None:
            eio_socket.onewindow_ws = self
        return super().__call__(environ, start_response)

    @property
    def plain(self) -> bool:
        """Connected without extensions (no permessage-deflate): frames built once fit this socket as they are."""
        try:
            return not self.ws.ws.connection._proto.extensions
        except AttributeError:
            return False

    def write_now(self, eio_socket, frames: bytes) -> bool:
        """Write ``frames`` (a plain socket's, built once) from the caller — the relay — without waking this
        socket's writer: True when they went out or are queued behind what did; False when they must be queued as
        usual (something is queued or being written, the socket is not a gevent one, it is closed).

        The writer's queue must be empty and no frame in flight (the :attr:`writing` lock free): then nothing the
        writer holds can come after these frames. That holds under gevent only, where the relay and the writers take
        turns in one thread: the writer takes a packet from its queue and starts writing it without yielding. The
        write does not block: the kernel takes what its buffer holds, and the rest is queued to the writer as
        frames (a slow screen's remainder never holds up the others)."""
        raw = self.raw_socket
        ws = self.ws
        if raw is None or not ws.connected or not eio_socket.queue.empty() or not self.writing.acquire(False):
            return False
        try:
            try:
                sent = _socket.socket.send(raw, frames)
            except BlockingIOError:
                sent = 0
            except OSError:
                ws.connected = False   # its reader sees the socket closed and ends the connection
                return True
            if sent < len(frames):
                eio_socket.send(FrameBatch((), frames[sent:]))   # queued while nothing else can be
            return True
        finally:
            self.writing.release()

    @property
    def raw_socket(self):
        """The non-blocking OS socket under a gevent socket (None for any other kind: gthread's, a test's)."""
        sock = getattr(self.ws, "sock", None)
        if sock is None or not type(sock).__module__.startswith("gevent"):
            return None
        raw = getattr(sock, "_sock", None)
        return raw if isinstance(raw, _socket.socket) else None

    def send(self, message):
        with self.writing:
            self._send(message)

    def _send(self, message):
        ws = self.ws
        if not ws.connected:
            raise OSError("websocket closed")
        if isinstance(message, FrameBatch):
            data = message.frames if self.plain else b"".join(ws.ws.send(TextMessage(data=t)) for t in message.texts)
        elif isinstance(message, bytes):
            data = ws.ws.send(simple_websocket.ws.Message(data=message))
        elif self.plain:
            data = text_frame(message)
        else:
            data = ws.ws.send(TextMessage(data=str(message)))
        try:
            ws.sock.sendall(data)
        except OSError:
            ws.connected = False
            raise


def install(socketio) -> bool:
    """Use :class:`BatchingWebSocket` for this Socket.IO server's WebSocket connections (threading mode; True when
    installed). Idempotent; sockets opened earlier keep the wrapper they have."""
    eio = socketio.server.eio if getattr(socketio, "server", None) is not None else None
    if eio is None or not isinstance(getattr(eio, "_async", None), dict):
        return False
    current = eio._async.get("websocket")
    if current is BatchingWebSocket:
        return True
    if current is not SimpleWebSocketWSGI:
        logger.info("not batching WebSocket writes: the server's WebSocket driver is %r", current)
        return False
    eio._async = {**eio._async, "websocket": BatchingWebSocket}
    return True


class Fanout:
    """Sends batches of ``(event name, payload)`` to a namespace or a room of it, each packet encoded once.

    ``socketio`` is Flask-SocketIO's object; anything else with an ``emit(event, data, namespace=, to=)`` (a test's
    recorder) gets one ``emit`` per item."""

    def __init__(self, socketio, on_delivered: Callable[[int, int], None] | None = None) -> None:
        self.socketio = socketio
        self.on_delivered = on_delivered  # callable(written, queued) per send: the batches of WebSocket sockets
        self.server = getattr(socketio, "server", None)
        self.batching = install(socketio) if self.server is not None else False
        self.encoded = 0   # Socket.IO packets encoded (one per event per audience that has a socket): tests read it
        self.batched = 0   # batches queued to a WebSocket as one item
        self.written = 0   # batches written to a WebSocket by the relay itself (BatchingWebSocket.write_now)

    def send(self, namespace: str, room: str | None,
             items: Sequence[tuple[str, dict]] | Callable[[], Sequence[tuple[str, dict]]]) -> int:
        """Send every item, in order, to every socket of ``namespace`` (``room``: only that room); returns how many
        sockets it went to. ``items`` may be a function giving them: it is called only when someone listens there
        (the relay's views of a batch are then not worked out for a room nobody is in)."""
        server = self.server
        if server is None or not hasattr(server, "manager"):
            for name, payload in (items() if callable(items) else items):
                self.socketio.emit(name, payload, namespace=namespace, to=room)
            return 0
        if namespace not in server.manager.rooms:
            return 0
        participants = list(server.manager.get_participants(namespace, room))
        if not participants:  # nobody listens here (a window without a tablet, a hall at night): nothing to work out
            return 0
        if callable(items):
            items = items()
        if not items:
            return 0
        messages = []   # the Socket.IO packets, encoded: an Engine.IO MESSAGE's data
        for name, payload in items:
            encoded = server.packet_class(sio_packet.EVENT, namespace=namespace, data=[name, payload]).encode()
            if not isinstance(encoded, str):  # binary attachments: events are JSON; sent another way they would
                raise TypeError(f"{name}: an event with binary data cannot be sent in order")  # overtake the batch
            messages.append(encoded)
            self.encoded += 1
        texts = [eio_packet.Packet(eio_packet.MESSAGE, m).encode() for m in messages]
        batch = FrameBatch(texts, b"".join(text_frame(t) for t in texts)) if self.batching and texts else None
        sockets = getattr(server.eio, "sockets", {})
        written = queued = 0
        for _sid, eio_sid in participants:
            sock = sockets.get(eio_sid)
            try:
                ws = getattr(sock, "onewindow_ws", None) if sock is not None else None
                if batch is not None and ws is not None and not sock.closed and sock.upgraded:
                    if ws.plain and ws.write_now(sock, batch.frames):
                        written += 1
                    else:
                        sock.send(batch)
                        queued += 1
                else:  # long-polling, a test client, not our WebSocket: one Engine.IO packet per event
                    for m in messages:
                        server._send_eio_packet(eio_sid, eio_packet.Packet(eio_packet.MESSAGE, m))
            except eio_exceptions.SocketIsClosedError:  # closed meanwhile: it reconnects and loads a snapshot
                continue
            except Exception:  # one socket must not keep the others of its audience from the batch
                logger.exception("sending %d events to %s failed", len(messages), eio_sid)
        self.written += written
        self.batched += queued
        if self.on_delivered is not None and (written or queued):
            self.on_delivered(written, queued)
        return len(participants)
