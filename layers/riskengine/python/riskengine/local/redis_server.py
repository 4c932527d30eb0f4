"""A throwaway redis-server on loopback for local runs and integration tests."""

import shutil
import socket
from pathlib import Path
from typing import ClassVar

from riskengine.local._process import LocalService
from riskengine.local.errors import ServiceUnavailable
from riskengine.local.ports import LOOPBACK


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
