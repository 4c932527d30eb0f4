"""A throwaway redis-server on loopback for local runs and integration tests."""

import shutil
import socket
import time
from pathlib import Path
from typing import ClassVar, Self

from riskengine_tools.local._process import LocalService
from riskengine_tools.local.errors import ServiceUnavailable
from riskengine_tools.local.ports import LOOPBACK, free_port

SLOTS = 16_384


class EmbeddedRedis(LocalService):
    """The real ``redis-server`` binary, memory only, so tests exercise genuine Redis semantics (Lua, TTLs).

    Persistence is off (``--save ''``, ``--appendonly no``) and ``--dir`` points at the private
    temp dir, so a run never writes outside it and never sees state from an earlier run.
    """

    name: ClassVar[str] = "redis-server"

    @property
    def url(self) -> str:
        """Connection URL for ``redis.Redis.from_url`` (database 0)."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    def _command(self, workdir: Path) -> list[str]:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceUnavailable(
                "redis-server not found on PATH: install redis-server (apt-get install -y redis-server)"
            )
        return [
            binary,
            "--bind", LOOPBACK,
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(workdir),
            "--daemonize", "no",
        ]  # fmt: skip

    def _is_ready(self) -> bool:
        """Send an inline PING over a raw socket, so every probe is bounded by a short timeout."""
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class ClusterNode(EmbeddedRedis):
    """A cluster-enabled redis-server that owns no slots yet."""

    bus_port: int

    def _command(self, workdir: Path) -> list[str]:
        # The cluster bus needs a port too; by default it is port + 10000, which may be taken or invalid.
        self.bus_port = free_port()
        return [*super()._command(workdir), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-port", str(self.bus_port)]  # fmt: skip

    def command(self, *words: str | int, reply_bytes: int = 4096) -> bytes:
        """One inline command over a raw socket (every call bounded by a short timeout); the raw reply."""
        with socket.create_connection((LOOPBACK, self.port), timeout=5) as sock:
            sock.sendall(" ".join(str(word) for word in words).encode() + b"\r\n")
            return sock.recv(reply_bytes)

    def wait_for_cluster_ok(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if b"cluster_state:ok" in self.command("CLUSTER", "INFO"):
                return
            time.sleep(0.05)
        raise ServiceUnavailable(f"the cluster did not reach state ok\n{self.log_tail()}")


class EmbeddedRedisCluster(ClusterNode):
    """A one-node Redis Cluster (all 16384 slots on one server).

    It enforces cluster-mode rules, above all that a script may only touch keys of one hash
    slot, so tests prove the engine's keys and calls are cluster-safe, as on ElastiCache.
    """

    def start(self) -> Self:
        super().start()
        try:
            if not self.command("CLUSTER", "ADDSLOTSRANGE", 0, SLOTS - 1).startswith(b"+OK"):
                raise ServiceUnavailable(f"could not assign the cluster's slots\n{self.log_tail()}")
            self.wait_for_cluster_ok()
        except ServiceUnavailable:
            self.stop()
            raise
        return self


class EmbeddedShardedCluster:
    """A Redis Cluster of ``shards`` masters on loopback, the slots split evenly (no replicas).

    For measuring how the engine's load spreads over shards; ``pids`` gives each master's process.
    """

    def __init__(self, shards: int = 3) -> None:
        self.nodes = [ClusterNode() for _ in range(shards)]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    @property
    def pids(self) -> list[int]:
        return [node.pid for node in self.nodes]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> Self:
        try:
            for node in self.nodes:
                node.start()
            share = SLOTS // len(self.nodes)
            for index, node in enumerate(self.nodes):
                last = SLOTS - 1 if index == len(self.nodes) - 1 else (index + 1) * share - 1
                node.command("CLUSTER", "ADDSLOTSRANGE", index * share, last)
            for node in self.nodes[1:]:
                self.nodes[0].command("CLUSTER", "MEET", LOOPBACK, node.port, node.bus_port)
            for node in self.nodes:
                node.wait_for_cluster_ok(timeout_s=30.0)
        except ServiceUnavailable:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
