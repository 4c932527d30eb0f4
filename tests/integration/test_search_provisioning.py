"""Provisioning against the real OpenSearch-compatible server (noida-db), through the API and the CLI."""

import re
from typing import Any

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import RequestError
from typer.testing import CliRunner

from riskengine.search import ALERTS, FAMILIES, TEMPLATE_VERSION, ProvisionOptions, provision
from riskengine.search.provision import Outcome
from riskengine_tools.cli.app import app
from riskengine_tools.local import EmbeddedSearch, free_port

pytestmark = pytest.mark.integration

EVENT_MS = 1_700_000_000_000  # 2023-11-14: a day no provisioning run creates


def alert(alert_id: str) -> dict[str, object]:
    return {
        "alertId": alert_id, "patternType": "WASH_TRADING", "rule": "wash_trading@1", "severity": "HIGH",
        "userId": "u-1", "customerId": "c-1", "symbol": "BTC/USDT", "exchange": "BINANCE", "timestamp": EVENT_MS,
        "detectedAt": EVENT_MS + 5, "description": "buy and sell back within 60 s", "recommendedAction": "review",
        "triggeredEvents": ["t-1", "t-2"], "metrics": {"roundTrips": 3.0}, "acknowledged": False,
    }  # fmt: skip


def spoofing_alert(alert_id: str) -> dict[str, object]:
    """An order-book alert document: its category and metrics came with template version 2."""
    metrics = {"orderNotional": 250_000.0, "notionalRatio": 12.5, "cancelAfterMs": 4_000.0, "oppositeTrades": 1.0}
    return alert(alert_id) | {"patternType": "SPOOFING", "category": "order_book", "metrics": metrics}


def version_1_alert_mappings() -> dict[str, Any]:
    """The alerts mapping as template version 1 made it: no category, no order-book metrics."""
    mappings = ALERTS.mappings()
    del mappings["properties"]["category"], mappings["properties"]["metrics"]["properties"]
    return mappings | {"_meta": {"template_version": 1}}


def test_first_run_creates_the_templates_and_the_second_reports_unchanged(search_client: OpenSearch) -> None:
    first = provision(search_client, ProvisionOptions(replicas=0))
    assert first.ok
    for family in FAMILIES:
        assert first.step(f"template {family.alias}").outcome is Outcome.CREATED
        (stored,) = search_client.indices.get_index_template(name=family.alias)["index_templates"]
        assert stored["index_template"]["version"] == TEMPLATE_VERSION
        assert stored["index_template"]["index_patterns"] == [family.pattern]

    second = provision(search_client, ProvisionOptions(replicas=0))
    assert {second.step(f"template {f.alias}").outcome for f in FAMILIES} == {Outcome.UNCHANGED}
    assert {second.step(f"alias {f.alias}").outcome for f in FAMILIES} == {Outcome.UNCHANGED}


def test_changed_replicas_update_the_templates(search_client: OpenSearch) -> None:
    provision(search_client, ProvisionOptions(replicas=0))
    report = provision(search_client, ProvisionOptions(replicas=2))
    assert report.step("template risk-alerts").outcome is Outcome.UPDATED
    (stored,) = search_client.indices.get_index_template(name="risk-alerts")["index_templates"]
    assert str(stored["index_template"]["template"]["settings"]["index"]["number_of_replicas"]) == "2"


def test_aliases_resolve_on_an_empty_cluster(search_client: OpenSearch) -> None:
    for family in FAMILIES:
        assert not search_client.indices.exists_alias(name=family.alias)
    report = provision(search_client, ProvisionOptions(replicas=0))
    for family in FAMILIES:
        step = report.step(f"alias {family.alias}")
        assert step.outcome is Outcome.CREATED
        assert re.fullmatch(rf"created {re.escape(family.alias)}-\d{{4}}\.\d{{2}}\.\d{{2}}", step.detail)
        assert search_client.indices.exists_alias(name=family.alias)
        assert search_client.count(index=family.alias)["count"] == 0  # queries work before the first document
        (index,) = search_client.indices.get_alias(name=family.alias)
        assert search_client.indices.get_mapping(index=index)[index]["mappings"]["dynamic"] == "strict"


def test_an_index_created_before_the_template_joins_the_alias(search_client: OpenSearch) -> None:
    search_client.indices.create(index="risk-alerts-2020.01.01")
    report = provision(search_client, ProvisionOptions(replicas=0))
    assert report.step("alias risk-alerts").outcome is Outcome.UPDATED
    assert list(search_client.indices.get_alias(name="risk-alerts")) == ["risk-alerts-2020.01.01"]


def test_a_document_in_a_daily_index_is_found_through_the_alias(search_client: OpenSearch) -> None:
    provision(search_client, ProvisionOptions(replicas=0))
    index = ALERTS.index_for(EVENT_MS)
    assert index == "risk-alerts-2023.11.14"
    search_client.index(index=index, id="a-1", body=alert("a-1"), refresh=True)

    hits = search_client.search(index=ALERTS.alias, body={"query": {"term": {"alertId": "a-1"}}})["hits"]["hits"]
    assert [(hit["_index"], hit["_id"]) for hit in hits] == [(index, "a-1")]


def test_an_index_of_the_previous_version_takes_order_book_alerts_once_provisioned(search_client: OpenSearch) -> None:
    index = ALERTS.index_for(EVENT_MS)  # e.g. today's index, created from the version 1 template
    search_client.indices.create(index=index, body={"mappings": version_1_alert_mappings()})
    with pytest.raises(RequestError, match="strict_dynamic_mapping_exception"):
        search_client.index(index=index, id="a-1", body=spoofing_alert("a-1"))

    step = provision(search_client, ProvisionOptions(replicas=0)).step("mappings risk-alerts")
    assert (step.outcome, step.detail) == (Outcome.UPDATED, f"1 index(es) brought to version {TEMPLATE_VERSION}")
    search_client.index(index=index, id="a-1", body=spoofing_alert("a-1"), refresh=True)
    mappings = search_client.indices.get_mapping(index=index)[index]["mappings"]
    assert mappings["_meta"] == {"template_version": TEMPLATE_VERSION}
    assert mappings["properties"]["category"] == {"type": "keyword"}
    assert mappings["properties"]["metrics"]["properties"]["orderNotional"] == {"type": "double"}
    found = search_client.search(index=ALERTS.alias, body={"query": {"term": {"category": "order_book"}}})
    assert [hit["_id"] for hit in found["hits"]["hits"]] == ["a-1"]

    again = provision(search_client, ProvisionOptions(replicas=0)).step("mappings risk-alerts")
    assert again.outcome is Outcome.UNCHANGED


def test_an_index_that_refuses_the_mapping_is_named_and_the_others_are_brought_up_to_date(
    search_client: OpenSearch,
) -> None:
    search_client.indices.create(index="risk-alerts-2023.11.13", body={"mappings": version_1_alert_mappings()})
    search_client.indices.create(
        index="risk-alerts-2023.11.14", body={"mappings": {"properties": {"userId": {"type": "long"}}}}
    )
    report = provision(search_client, ProvisionOptions(replicas=0))
    step = report.step("mappings risk-alerts")
    assert step.outcome is Outcome.FAILED and not report.ok
    assert step.detail.startswith(f"1 index(es) brought to version {TEMPLATE_VERSION}; 1 refused it")
    assert "risk-alerts-2023.11.14: mapper [userId] cannot be changed from type [long] to [keyword]" in step.detail
    updated = search_client.indices.get_mapping(index="risk-alerts-2023.11.13")["risk-alerts-2023.11.13"]
    assert updated["mappings"]["_meta"] == {"template_version": TEMPLATE_VERSION}


def test_retention_is_reported_not_supported_here(search_client: OpenSearch) -> None:
    report = provision(search_client, ProvisionOptions(replicas=0, retention_days=30))
    step = report.step("retention")
    assert step.outcome is Outcome.NOT_SUPPORTED
    assert step.detail.startswith("not supported by this cluster")
    assert report.ok  # never a failure


def test_role_mappings_are_reported_not_supported_without_a_security_plugin(search_client: OpenSearch) -> None:
    mappings = {"riskengine_writer": ("arn:aws:iam::123456789012:role/riskengine-index-search",)}
    report = provision(search_client, ProvisionOptions(replicas=0, role_mappings=mappings))
    assert report.step("access").outcome is Outcome.NOT_SUPPORTED
    assert report.ok


def test_cli_prints_the_report_and_exits_0(search_client: OpenSearch, search_server: EmbeddedSearch) -> None:
    runner = CliRunner()
    env = {"COLUMNS": "200", "OPENSEARCH_AUTH": "none"}
    result = runner.invoke(app, ["search", "init", "--url", search_server.url, "--replicas", "0"], env=env)
    assert result.exit_code == 0, result.output
    assert f"OpenSearch provisioning: {search_server.url}" in result.stdout
    for family in FAMILIES:
        assert re.search(rf"template {re.escape(family.alias)}\s+│\s+created", result.stdout)
    assert "not supported by this cluster" in result.stdout
    assert search_client.indices.exists_alias(name="risk-alerts")

    again = runner.invoke(app, ["search", "init", "--url", search_server.url, "--replicas", "0"], env=env)
    assert again.exit_code == 0, again.output
    assert re.search(r"template risk-alerts\s+│\s+unchanged", again.stdout)


def test_cli_exits_non_zero_with_a_readable_error_for_an_unreachable_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["search", "init", "--url", url], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert f"cannot reach OpenSearch at {url}" in result.stderr
    assert "Check --url" in result.stderr
    assert "Traceback" not in result.output
