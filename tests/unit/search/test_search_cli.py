"""``riskengine search``: help everywhere, and settings problems reported before touching any cluster."""

import pytest
from typer.testing import CliRunner

from riskengine_tools.cli.app import app


@pytest.mark.parametrize(
    ("command", "mentions"),
    [
        (("search",), ("init", "export-dashboards")),
        (
            ("search", "init"),
            (
                "--url",
                "OPENSEARCH_URL",
                "--auth",
                "sigv4",
                "--shards",
                "--replicas",
                "--retention-days",
                "--dashboards-url",
            ),
        ),
        (("search", "export-dashboards"), ("--out",)),
    ],
)
def test_help_lists_the_options(command: tuple[str, ...], mentions: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert [word for word in mentions if word not in result.stdout] == []


def test_basic_auth_without_credentials_is_a_configuration_error() -> None:
    env = {"OPENSEARCH_USERNAME": "", "OPENSEARCH_PASSWORD": "", "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["search", "init", "--auth", "basic", "--url", "http://127.0.0.1:1"], env=env)
    assert result.exit_code == 2
    assert "OPENSEARCH_AUTH=basic needs OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD" in result.stderr


def test_an_unknown_auth_mode_is_refused_by_the_parser() -> None:
    result = CliRunner().invoke(app, ["search", "init", "--auth", "kerberos"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "kerberos" in result.output
