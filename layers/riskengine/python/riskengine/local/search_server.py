"""A throwaway OpenSearch-compatible server (noida-db's Elasticsearch 8 REST API) on loopback.

No OpenSearch distribution installs on our machines, so local runs and integration tests use
noida-db, which opensearch-py drives for bulk, index templates, aliases, searches and the
aggregations the reports use. It lacks the ISM plugin; provisioning reports that and goes on.
"""

import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import ClassVar

from riskengine.local._process import LocalService
from riskengine.local.errors import ServiceUnavailable
from riskengine.local.ports import LOOPBACK


class EmbeddedSearch(LocalService):
    name: ClassVar[str] = "search"

    @property
    def url(self) -> str:
        """Value for ``OPENSEARCH_URL``."""
        return f"http://{LOOPBACK}:{self.port}"

    def _command(self, workdir: Path) -> list[str]:
        beside_python = Path(sys.executable).with_name("noida-db")
        binary = str(beside_python) if beside_python.exists() else shutil.which("noida-db")
        if binary is None:
            raise ServiceUnavailable('noida-db not found: pip install -e ".[local]"')
        return [
            binary, "start", "--host", LOOPBACK, "--only", "elasticsearch",
            "--elasticsearch-port", str(self.port), "--data-dir", str(workdir / "data"),
        ]  # fmt: skip

    def _is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_cluster/health", timeout=0.5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False
