"""A throwaway OpenSearch-compatible server (noida-db's Elasticsearch 8 REST API) on loopback.

No OpenSearch distribution installs on our machines, so local runs and integration tests use
noida-db, which opensearch-py drives for bulk, index templates, aliases, searches and the
aggregations the reports use. It lacks the ISM plugin; provisioning reports that and goes on.
"""

import importlib.resources
import urllib.error
import urllib.request
from pathlib import Path
from typing import ClassVar

from riskengine_tools.local._process import LocalService
from riskengine_tools.local.errors import ServiceUnavailable
from riskengine_tools.local.ports import LOOPBACK


class EmbeddedSearch(LocalService):
    name: ClassVar[str] = "search"

    @property
    def url(self) -> str:
        """Value for ``OPENSEARCH_URL``."""
        return f"http://{LOOPBACK}:{self.port}"

    def _command(self, workdir: Path) -> list[str]:
        binary = _server_binary()
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


def _server_binary() -> str:
    """The server binary itself: the ``noida-db`` console script is a Python wrapper whose child
    would outlive a terminated wrapper, so the service must own the real process."""
    try:
        package = importlib.resources.files("noida_db")
    except ModuleNotFoundError as exc:
        raise ServiceUnavailable('noida-db is not installed: pip install -e ".[local]"') from exc
    binary = Path(str(package.joinpath("noida-db")))
    if not binary.is_file():
        raise ServiceUnavailable(f"the noida-db package has no server binary at {binary}: reinstall it")
    binary.chmod(0o755)  # wheels do not always keep the executable bit
    return str(binary)
