"""A throwaway moto_server (AWS APIs: SNS, SQS, ...) on loopback for local runs and integration tests."""

import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import ClassVar

from riskengine_tools.local._process import LocalService
from riskengine_tools.local.errors import ServiceUnavailable
from riskengine_tools.local.ports import LOOPBACK


class EmbeddedAws(LocalService):
    """The real ``moto_server`` over HTTP, so boto3 clients are exercised exactly as against AWS or LocalStack."""

    name: ClassVar[str] = "moto-server"

    @property
    def endpoint_url(self) -> str:
        """Value for ``AWS_ENDPOINT_URL`` / boto3's ``endpoint_url``."""
        return f"http://{LOOPBACK}:{self.port}"

    def _command(self, workdir: Path) -> list[str]:
        beside_python = Path(sys.executable).with_name("moto_server")
        binary = str(beside_python) if beside_python.exists() else shutil.which("moto_server")
        if binary is None:
            raise ServiceUnavailable('moto_server not found: pip install "moto[server]"')
        return [binary, "-H", LOOPBACK, "-p", str(self.port)]

    def _is_ready(self) -> bool:
        """Any HTTP answer to GET / means the server accepts requests."""
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/", timeout=0.5) as response:
                return response.status < 500
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except OSError:
            return False
