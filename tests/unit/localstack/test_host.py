"""host.py and check.py without LocalStack: the interpreter search, the install stamp, the pins, the alerts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from check import CONTEXT, alert_records, app_config, cdklocal_command, makefile_pin
from host import REQUIREMENTS, LocalStack, LocalStackError, find_python, is_installed

from riskengine.codec import ALERTS_SUBJECT, AvroCodec, FixedIdRegistry


def test_a_python_that_is_not_3_13_is_refused_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.version_info[:2] == (3, 13):
        pytest.skip("this interpreter is 3.13")
    monkeypatch.setenv("LOCALSTACK_PYTHON", sys.executable)
    with pytest.raises(LocalStackError, match=r"needs Python 3\.13 .*pyenv install 3\.13"):
        find_python()


def test_a_venv_without_the_stamp_of_these_pins_is_not_installed(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(sys.executable)
    (tmp_path / "riskengine-requirements.txt").write_text("localstack-core[runtime]==2026.2.0\n")
    assert not is_installed(tmp_path)
    assert all("==" in requirement for requirement in REQUIREMENTS)


def test_starting_without_the_venv_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(LocalStackError, match="make localstack-install"):
        LocalStack(tmp_path / "work", 4566, venv=tmp_path / "absent").start()


def test_localstack_binds_loopback_only_with_private_folders(tmp_path: Path) -> None:
    env = LocalStack(tmp_path, 4599, venv=tmp_path).environment()
    assert env["GATEWAY_LISTEN"] == "127.0.0.1:4599" and env["GATEWAY_SERVER"] == "hypercorn"
    assert env["OVERRIDE_IN_DOCKER"] == "0"
    private = {"HOME": "home", "TMPDIR": "tmp", "FILESYSTEM_ROOT": "filesystem"}
    assert {name: env[name] for name in private} == {name: str(tmp_path / f) for name, f in private.items()}
    assert not [name for name in env if name.startswith("AWS_")]


def test_the_cdk_clis_are_the_makefiles_pins() -> None:
    command = cdklocal_command("deploy")
    assert f"--package={makefile_pin('CDK_CLI')}" in command and makefile_pin("CDK_CLI") == "aws-cdk@2.1148.1"
    assert makefile_pin("CDKLOCAL").startswith("aws-cdk-local@3.")


def test_the_check_builds_the_apps_standalone_stacks_with_its_queue() -> None:
    config = app_config()
    assert config.alerts_queue and config.prefix == "riskengine"
    assert CONTEXT["stacks"] == "alerting,configuration"


def test_the_alerts_cover_every_severity_and_decode_as_risk_alerts() -> None:
    records, severities = alert_records("risk-alerts", 12, "run")
    assert sorted(set(severities.values())) == ["CRITICAL", "HIGH", "LOW", "MEDIUM"]
    codec = AvroCodec(FixedIdRegistry())
    decoded = [codec.decode(ALERTS_SUBJECT, record.value) for record in records]
    assert {alert["alertId"]: alert["severity"] for alert in decoded} == severities
    assert len({record.partition for record in records}) > 1
