"""Faults for the exactly-once tests: a private embedded Redis that can be stalled (SIGSTOP / SIGCONT), killed and
restarted, and a way to see, from the kernel, how many commands are waiting unread in its sockets.

redis-py resends a command whose answer timed out: it closes the connection and sends the command again on a new
one. While the server is stopped, the first copy stays unread in the receive queue of the server's side of the old
connection (half-closed: CLOSE_WAIT), and the server still reads and runs it once it continues; the new connection
waits in the accept queue with redis-py's handshake, the second copy follows once the server answers. Reading the
server-side sockets from ``/proc/net/tcp`` is how a test knows this happened, without sleeping.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from shared.embedded import EmbeddedRedis

LISTEN = "0A"
CLOSE_WAIT = "08"


def _server_sockets(port: int) -> list[tuple[str, int]]:
    """(TCP state, unread bytes) of each server-side socket on ``port`` (not the listening one)."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, queues = fields[1], fields[3], fields[4]
            if int(local.rsplit(":", 1)[1], 16) == port and state != LISTEN:
                out.append((state, int(queues.split(":")[1], 16)))
    return out


def sockets_with_unread_bytes(port: int) -> int:
    """Server-side sockets on ``port`` holding bytes the server has not read yet."""
    return sum(1 for _state, unread in _server_sockets(port) if unread)


def abandoned_commands(port: int) -> int:
    """Connections their client closed (a timeout) while a command on them is still unread: each such command
    will run when the server continues, and redis-py is sending it again."""
    return sum(1 for state, unread in _server_sockets(port) if state == CLOSE_WAIT and unread)


def wait_for(condition: Callable[[], object], timeout: float, what: str, step: float = 0.02):
    """Poll ``condition`` until it is truthy (returns its value) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


class StallableRedis:
    """A private embedded server (AOF on) that tests may stop, continue, kill and restart on the same port."""

    def __init__(self, data_dir: Path) -> None:
        self.server = EmbeddedRedis(data_dir)
        self.stopped = False

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def pid(self) -> int:
        assert self.server.process is not None
        return self.server.process.pid

    def start(self) -> StallableRedis:
        self.server.start()
        return self

    def stop_process(self) -> None:
        """SIGSTOP: the server keeps its sockets but answers nothing (the kernel still accepts connections)."""
        os.kill(self.pid, signal.SIGSTOP)
        self.stopped = True

    def continue_process(self) -> None:
        if self.stopped:
            os.kill(self.pid, signal.SIGCONT)
            self.stopped = False

    def wait_for_resend(self, timeout: float = 30.0) -> None:
        """Block until redis-py has given up on a command sent to the stopped server (it will still run) and is
        sending it again on a new connection."""
        wait_for(lambda: abandoned_commands(self.port) >= 1 and sockets_with_unread_bytes(self.port) >= 2, timeout,
                 "redis-py to time out and send a command again")

    def kill(self) -> None:
        """SIGKILL (a crash): what the AOF holds survives; ``restart`` brings it back on the same port."""
        self.continue_process()
        proc = self.server.process
        assert proc is not None
        proc.kill()
        proc.wait()
        self.server.process = None

    def restart(self) -> None:
        self.server = EmbeddedRedis(self.server.data_dir, port=self.server.port)
        self.server.start()

    def close(self) -> None:
        self.continue_process()
        self.server.stop()
