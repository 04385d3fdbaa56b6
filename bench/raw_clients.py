"""Cheap load-generator clients for the display benchmarks: Socket.IO screens and an HTTP client, on raw asyncio.

Hundreds of python-socketio clients (two threads each, or aiohttp for the asyncio client) cost the load generator
more CPU than the server it measures, on the same two cores. :class:`RawScreen` speaks just enough of WebSocket
(RFC 6455), Engine.IO 4 and Socket.IO 5 to be a screen of the ``/display`` namespace: the handshake, the namespace
connect, pong to the server's ping, and every ``42/display,[…]`` frame kept as it came with its arrival time
(parsed after the run, not while measuring). :class:`RawHTTP` is one keep-alive HTTP/1.1 connection.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
import zlib


class RawScreen(asyncio.Protocol):
    """One screen on ``namespace``: ``frames`` collects ``(time.time(), text)`` of every event packet.

    ``deflate=True`` offers ``permessage-deflate`` as browsers do (the server then compresses every frame for this
    socket); the default does not, as python-socketio's client does not."""

    def __init__(self, namespace: str = "/display", *, deflate: bool = False) -> None:
        self.namespace = namespace
        self.prefix = f"42{namespace},"
        self.deflate = deflate
        self.inflater = None
        self.frames: list[tuple[float, str]] = []
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.joined = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.acks: dict[int, asyncio.Future] = {}
        self._ack_id = 0
        self._fragments: list[bytes] = []

    # -- connecting
    @classmethod
    async def open(cls, host: str, port: int, namespace: str = "/display", *, deflate: bool = False,
                   timeout: float = 20) -> "RawScreen":
        loop = asyncio.get_running_loop()
        _, screen = await asyncio.wait_for(loop.create_connection(lambda: cls(namespace, deflate=deflate), host, port),
                                           timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        ext = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else ""
        screen.transport.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                                f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                                f"Sec-WebSocket-Version: 13\r\n{ext}\r\n").encode())
        await asyncio.wait_for(asyncio.shield(screen.joined), timeout)
        return screen

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        if not self.joined.done():
            self.joined.set_exception(ConnectionError(f"closed before joining: {exc}"))
        if not self.closed.done():
            self.closed.set_result(exc)

    # -- receiving
    def defer(self) -> None:
        """From now on keep what arrives as it is, with its arrival time, and read it in :meth:`events` (a ping is
        still answered at once): parsing frames as they come is most of a screen's cost to the load generator, which
        shares the machine with the server it measures. Acknowledgements wait for the next :meth:`events`."""
        self.pending = []

    pending: list[tuple[float, bytes]] | None = None

    def _read_pending(self) -> None:
        pending, self.pending = self.pending, []
        for t, data in pending:
            self._received(data, t)

    _PING = b"\x81\x012"   # an Engine.IO ping: a server's unmasked text frame "2" (no event's bytes look like it)

    def data_received(self, data: bytes) -> None:
        if self.pending is not None:
            self.pending.append((time.time(), data))
            if self._PING in data:
                self._send(b"3")
            return
        self._received(data, time.time())

    def _received(self, data: bytes, t: float) -> None:
        """Frames completed by ``data``, which arrived at ``t``."""
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            del self.buf[:end + 4]
            if " 101 " not in head.split("\r\n", 1)[0]:
                self.transport.close()
                return
            if "permessage-deflate" not in head.lower():
                self.deflate = False
            elif self.deflate:
                self.inflater = zlib.decompressobj(-15)
            self.upgraded = True
        buf = self.buf
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n, at = b1 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, at = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, at = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < at + n:
                return
            payload = bytes(buf[at:at + n])
            del buf[:at + n]
            self._frame(b0, payload, t)

    def _frame(self, b0: int, payload: bytes, t: float) -> None:
        opcode, fin, rsv1 = b0 & 0x0F, b0 & 0x80, b0 & 0x40
        if opcode == 0x8:
            self.transport.close()
            return
        if opcode == 0x9:
            self._send(payload, 0xA)
            return
        if opcode in (0x1, 0x0):
            if rsv1 or self._fragments and self._compressed:
                self._compressed = True
            elif opcode == 0x1:
                self._compressed = False
            self._fragments.append(payload)
            if not fin:
                return
            data = b"".join(self._fragments)
            self._fragments = []
            if self._compressed:
                data = self.inflater.decompress(data + b"\x00\x00\xff\xff")
            self._message(data.decode(), t)

    _compressed = False

    def _message(self, text: str, t: float) -> None:
        if text.startswith(self.prefix):
            self.frames.append((t, text))
        elif text == "2" and self.pending is None:  # (deferred: answered on arrival)
            self._send(b"3")
        elif text.startswith("0{"):
            self._send(f"40{self.namespace},".encode())
        elif text.startswith(f"40{self.namespace},"):
            if not self.joined.done():
                self.joined.set_result(True)
        elif text.startswith(f"43{self.namespace},"):
            rest = text[len(self.namespace) + 3:]
            digits = len(rest) - len(rest.lstrip("0123456789"))
            fut = self.acks.pop(int(rest[:digits]), None)
            if fut is not None and not fut.done():
                fut.set_result(json.loads(rest[digits:]))
        elif text.startswith(f"44{self.namespace},"):
            if not self.joined.done():
                self.joined.set_exception(ConnectionError(text))

    # -- sending (client frames are masked)
    def _send(self, data: bytes, opcode: int = 0x1) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.transport.write(head + mask + masked)

    async def call(self, event: str, data=None, timeout: float = 10):
        """Emit with an acknowledgement; returns the acknowledgement's arguments."""
        self._ack_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.acks[self._ack_id] = fut
        self._send(f"42{self.namespace},{self._ack_id}{json.dumps([event, data or {}])}".encode())
        return await asyncio.wait_for(fut, timeout)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._send(b"\x03\xe8", 0x8)
            self.transport.close()

    # -- after the run
    def events(self) -> list[tuple[float, str, dict]]:
        """``(arrival, type, payload)`` of every event received, in arrival order."""
        if self.pending:
            self._read_pending()
        out = []
        cut = len(self.prefix)
        for t, text in self.frames:
            name, payload = json.loads(text[cut:])[:2]
            out.append((t, name, payload))
        return out


class RawHTTP:
    """One keep-alive HTTP/1.1 connection; :meth:`post` returns ``(status, json body)``."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None, *,
                 source: str | None = None) -> None:
        self.host, self.port, self.source = host, port, source
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, local_addr=(self.source, 0) if self.source else None)
        raw = json.dumps(body).encode()
        self.writer.write((f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.headers}"
                           f"Content-Type: application/json\r\nContent-Length: {len(raw)}\r\n\r\n").encode() + raw)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            raise
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        data = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, (json.loads(data) if data else {})

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
