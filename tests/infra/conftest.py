"""The CDK app's tests: stacks synthesized in-process (Node.js through jsii), no Docker, no AWS credentials.

Constants shared by the test modules live in ``infra_testing.py`` (import that, not this conftest).
"""

import os
import sys
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra"
sys.path.insert(0, str(INFRA))  # the CDK app's package lives beside its app.py, as `cdk synth` runs it
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/infra/" in str(item.fspath):
            item.add_marker(pytest.mark.infra)
