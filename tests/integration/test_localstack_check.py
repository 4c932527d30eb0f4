"""``make localstack-check`` as a test: LocalStack without Docker, the app's alerting and configuration stacks
deployed by cdklocal, dispatch_alerts' real handler publishing to them (localstack/check.py).

Skipped only when LocalStack's venv is absent; CI runs the script itself after ``make synth``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "localstack"), str(REPO / "infra")]

import check  # noqa: E402
from host import DEFAULT_VENV, is_installed  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(600),  # npx fetches the CDK CLIs on a first run
    pytest.mark.skipif(
        not is_installed(DEFAULT_VENV),
        reason=f"LocalStack's venv {DEFAULT_VENV} is absent: `make localstack-install` (Python 3.13 via pyenv)",
    ),
]


def test_the_deployed_filter_passes_exactly_the_high_and_critical_alerts(capsys: pytest.CaptureFixture[str]) -> None:
    status = check.main([])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "the queue received exactly the 6 HIGH and CRITICAL ones" in captured.err
