"""A fake Epson-style network printer for the tests: a real raw-TCP ESC/POS server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading

DLE_EOT = b"\x10\x04"  # DLE EOT n: a real-time status question (n = 1 printer, 2 offline cause, 4 paper)

# Replies of an Epson TM printer to DLE EOT 1, 2, 4 (bits 1 and 4 always set).
REPLIES = {
    "ok": {1: 0x12, 2: 0x12, 4: 0x12},
    "paper_low": {1: 0x12, 2: 0x12, 4: 0x1E},  # near-end sensor
    "paper_out": {1: 0x1A, 2: 0x32, 4: 0x7E},  # offline, stopped by paper end, near-end + end sensors
    "cover_open": {1: 0x1A, 2: 0x16, 4: 0x12},  # offline, cover open
}


class FakePrinter:
    """Records every byte of each connection; answers DLE EOT n in real time like a TM printer.

    ``state``: one of ``REPLIES`` (may be changed while running). ``answer=False``: reads but never answers.
    ``read=False``: accepts, then never reads (a tiny receive buffer, so a large job cannot vanish into it), like a
    printer whose buffer is full. ``paper_out_after``: runs out of paper once that many bytes arrived.
    ``min_job_bytes``: a connection is recorded in ``jobs`` only if it brought at least that many bytes (e.g. to
    count tickets but not the status probes of a health check, which only ask DLE EOT n).
    """

    def __init__(self, state: str = "ok", *, answer: bool = True, read: bool = True, port: int = 0,
                 paper_out_after: int | None = None, min_job_bytes: int = 0) -> None:
        self.state, self.answer, self.read, self.paper_out_after = state, answer, read, paper_out_after
        self.min_job_bytes = min_job_bytes
        self.jobs: list[bytes] = []
        self._jobs_changed = threading.Condition()
        self._jobs_seen = 0  # jobs already handed out by wait_job()
        self._conns: list[socket.socket] = []
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if not read:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen(8)
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            if self.read:
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        received = bytearray()
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                for byte in chunk:  # real-time commands are answered as soon as they arrive
                    received.append(byte)
                    if self.paper_out_after is not None and len(received) > self.paper_out_after:
                        self.state = "paper_out"
                    if self.answer and received[-3:-1] == DLE_EOT and byte in (1, 2, 4):
                        conn.sendall(bytes([REPLIES[self.state][byte]]))
        if len(received) >= self.min_job_bytes:
            with self._jobs_changed:
                self.jobs.append(bytes(received))
                self._jobs_changed.notify_all()

    def wait_job(self, timeout: float = 3.0) -> bytes:
        """The latest job, once a job arrived that no earlier ``wait_job()`` call returned."""
        with self._jobs_changed:
            assert self._jobs_changed.wait_for(lambda: len(self.jobs) > self._jobs_seen, timeout), \
                "the fake printer received no new job"
            self._jobs_seen = len(self.jobs)
            return self.jobs[-1]

    def stop(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone would not
        except OSError:
            pass
        self._sock.close()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
