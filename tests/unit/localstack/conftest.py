"""localstack/ is a folder of scripts: it goes on sys.path, as it is when they run (`python localstack/deploy.py`),
with infra/, whose bundling code builds the layers they zip."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(REPO / "localstack"), str(REPO / "infra")]
