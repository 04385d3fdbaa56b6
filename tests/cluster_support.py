"""A real Redis / Valkey Cluster for the tests, from the server binary the project already uses
(:func:`shared.embedded.server_binary`): three primaries with one replica each, cluster mode on loopback ports.

The nodes are joined from Python — ``CLUSTER MEET`` to the first node, ``CLUSTER ADDSLOTSRANGE`` on each primary
(the 16384 slots in three ranges), ``CLUSTER REPLICATE`` on each replica — and the cluster is ready once every node
says ``cluster_state:ok`` and every replica's link to its primary is up. Tests may stop (SIGSTOP), continue and kill a
node, and make a replica take over (``CLUSTER FAILOVER [FORCE|TAKEOVER]``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from faults import wait_for
from shared.embedded import server_binary

SLOTS = 16384


@dataclass
class Node:
    port: int
    bus_port: int  # its own free port: the default (port + 10000) may be past 65535 or taken
    data_dir: Path
    process: subprocess.Popen | None = None
    stopped: bool = False
    id: str = ""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, timeout: float = 2.0) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=timeout, decode_responses=True)

    def call(self, *args, timeout: float = 2.0):
        c = self.client(timeout)
        try:
            return c.execute_command(*args)
        finally:
            c.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class LocalCluster:
    """``primaries`` primaries with ``replicas`` replica(s) each, on free loopback ports (see the module doc)."""

    primaries: int = 3
    replicas: int = 1
    node_timeout_ms: int = 3000
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ow-cluster-")))
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The URL the app takes for this cluster (every node as a start node)."""
        return "redis+cluster://" + ",".join(n.address for n in self.nodes)

    def start(self, timeout: float = 30.0) -> LocalCluster:
        """Start and join the nodes (stopping whatever started when that fails)."""
        try:
            return self._start(timeout)
        except BaseException:
            self.close()
            raise

    def _start(self, timeout: float) -> LocalCluster:
        total = self.primaries * (1 + self.replicas)
        ports = _distinct_ports(2 * total)
        for i in range(total):
            node = Node(ports[2 * i], ports[2 * i + 1], self.root / f"node{i}")
            node.data_dir.mkdir(parents=True)
            self.nodes.append(node)
            self._spawn(node)
        for node in self.nodes:
            wait_for(lambda n=node: _pings(n), timeout, f"cluster node {node.address} to answer")
            node.id = node.call("CLUSTER", "MYID")
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.call("CLUSTER", "MEET", "127.0.0.1", first.port, first.bus_port)
        primaries = self.nodes[:self.primaries]
        bounds = [SLOTS * i // self.primaries for i in range(self.primaries + 1)]
        for i, node in enumerate(primaries):
            node.call("CLUSTER", "ADDSLOTSRANGE", bounds[i], bounds[i + 1] - 1)
        replicas = self.nodes[self.primaries:]
        for i, node in enumerate(replicas):
            primary = primaries[i % self.primaries]
            wait_for(lambda n=node, p=primary: p.id in n.call("CLUSTER", "NODES"), timeout,
                     f"{node.address} to learn of {primary.address}")
            node.call("CLUSTER", "REPLICATE", primary.id)
        self.wait_healthy(timeout)
        return self

    def _spawn(self, node: Node) -> None:
        cmd = [server_binary(), "--bind", "127.0.0.1", "--port", str(node.port), "--dir", str(node.data_dir),
               "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
               "--cluster-port", str(node.bus_port),
               "--cluster-node-timeout", str(self.node_timeout_ms), "--appendonly", "no", "--save", "",
               "--daemonize", "no", "--protected-mode", "yes", "--logfile", str(node.data_dir / "server.log")]
        node.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        node.stopped = False

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Every live node sees the whole cluster ok, and every live replica's link to its primary is up."""
        def ok() -> bool:
            for node in self.nodes:
                if not node.alive() or node.stopped:
                    continue
                try:
                    if "cluster_state:ok" not in node.call("CLUSTER", "INFO"):
                        return False
                    info = node.client().info("replication")
                    if info.get("role") == "slave" and info.get("master_link_status") != "up":
                        return False
                except redis.RedisError:
                    return False
            return True

        wait_for(ok, timeout, "the cluster to be ok with every replica in sync", step=0.1)

    # who serves what
    def primary_of(self, key: str) -> Node:
        """The live node that is primary for ``key``'s slot now (as the node itself says)."""
        slot = None
        for node in self.nodes:
            if not node.alive() or node.stopped:
                continue
            if slot is None:
                slot = node.call("CLUSTER", "KEYSLOT", key)
            try:
                if node.client().info("replication").get("role") != "master":
                    continue
                for start, end, *_ in node.call("CLUSTER", "SLOTS"):
                    if start <= slot <= end and int(_[0][1]) == node.port:
                        return node
            except redis.RedisError:
                continue
        raise AssertionError(f"no live primary serves the slot of {key}")

    def serves(self, node: Node, key: str) -> bool:
        """``node`` is now the primary of ``key``'s slot (False while no live node is)."""
        try:
            return self.primary_of(key) is node
        except AssertionError:
            return False

    def replica_of(self, primary: Node) -> Node:
        for node in self.nodes:
            if node is primary or not node.alive() or node.stopped:
                continue
            info = node.client().info("replication")
            if info.get("role") == "slave" and int(info.get("master_port", 0)) == primary.port:
                return node
        raise AssertionError(f"{primary.address} has no live replica")

    # faults
    def stop_node(self, node: Node) -> None:
        """SIGSTOP: the node keeps its sockets but answers nothing (nor replicates)."""
        assert node.process is not None
        os.kill(node.process.pid, signal.SIGSTOP)
        node.stopped = True

    def continue_node(self, node: Node) -> None:
        if node.stopped and node.process is not None:
            os.kill(node.process.pid, signal.SIGCONT)
            node.stopped = False

    def kill(self, node: Node) -> None:
        """SIGKILL: a crash (the tests' nodes keep no AOF; what the replica did not get is gone)."""
        self.continue_node(node)
        assert node.process is not None
        node.process.kill()
        node.process.wait()

    def restart(self, node: Node, timeout: float = 30.0) -> None:
        """Start a killed node again on its port with its nodes.conf: it rejoins (as a replica if it was taken over)."""
        self._spawn(node)
        wait_for(lambda: _pings(node), timeout, f"{node.address} to answer again")

    def close(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                self.continue_node(node)
                node.process.terminate()
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(10)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _distinct_ports(n: int) -> list[int]:
    """``n`` free loopback ports, all different (held open together while they are picked)."""
    held = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            held.append(s)
        ports = [s.getsockname()[1] for s in held]
    finally:
        for s in held:
            s.close()
    return ports


def _pings(node: Node) -> bool:
    try:
        return bool(node.call("PING", timeout=0.5))
    except redis.RedisError:
        return False


def wait_until(condition, timeout: float, what: str):
    """:func:`faults.wait_for` with a step fit for cluster state changes."""
    return wait_for(condition, timeout, what, step=0.05)


def now_ms() -> int:
    return int(time.time() * 1000)
