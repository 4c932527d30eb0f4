"""A throwaway redis-server on loopback for local runs and integration tests."""

import shutil
import socket
import time
from pathlib import Path
from typing import ClassVar, Self

from riskengine_tools.local._process import LocalService
from riskengine_tools.local.errors import ServiceUnavailable
from riskengine_tools.local.ports import LOOPBACK, free_port


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


class EmbeddedRedisCluster(EmbeddedRedis):
    """A one-node Redis Cluster (all 16384 slots on one server).

    It enforces cluster-mode rules, above all that a script may only touch keys of one hash
    slot, so tests prove the engine's keys and calls are cluster-safe, as on ElastiCache.
    """

    def _command(self, workdir: Path) -> list[str]:
        # The cluster bus needs a port too; by default it is port + 10000, which may be taken or invalid.
        bus = str(free_port())
        return [*super()._command(workdir), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-port", bus]  # fmt: skip

    def start(self) -> Self:
        super().start()
        with socket.create_connection((LOOPBACK, self.port), timeout=5) as sock:
            sock.sendall(b"CLUSTER ADDSLOTSRANGE 0 16383\r\n")
            if not sock.recv(64).startswith(b"+OK"):
                self.stop()
                raise ServiceUnavailable(f"could not assign the cluster's slots\n{self.log_tail()}")
        self._wait_for_cluster_ok()
        return self

    def _wait_for_cluster_ok(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with socket.create_connection((LOOPBACK, self.port), timeout=1) as sock:
                sock.sendall(b"CLUSTER INFO\r\n")
                if b"cluster_state:ok" in sock.recv(4096):
                    return
            time.sleep(0.05)
        self.stop()
        raise ServiceUnavailable(f"the one-node cluster did not reach state ok\n{self.log_tail()}")
