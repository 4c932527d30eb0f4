"""functions/provision_search: the CDK Provider framework's on_event shapes, against a fake client."""

from collections.abc import Callable
from typing import Any

import pytest
from search_fakes import FakeSearch

import riskengine.search
from riskengine.errors import ConfigurationError
from riskengine.search import TEMPLATE_VERSION
from riskengine.search.provision import ProvisionFailed
from riskengine_tools.local import free_port
from riskengine_tools.local.bridge import load_handler
from riskengine_tools.local.paths import function_handler

PHYSICAL_ID = "riskengine-search@search.example.com"


def event(request_type: str, **properties: str) -> dict[str, Any]:
    """What the Provider framework passes to on_event (CloudFormation turns every property into a string)."""
    shape: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:eu-west-1:111122223333:function:provider-framework-onEvent",
        "ResponseURL": "https://cloudformation-custom-resource-response.example/...",
        "StackId": "arn:aws:cloudformation:eu-west-1:111122223333:stack/risk/1",
        "RequestId": "0b3f",
        "LogicalResourceId": "SearchProvisioning",
        "ResourceType": "Custom::SearchProvisioning",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", **properties},
    }
    if request_type != "Create":
        shape["PhysicalResourceId"] = PHYSICAL_ID
    if request_type == "Update":
        shape["OldResourceProperties"] = {"ServiceToken": "arn:aws:lambda:..."}
    return shape


@pytest.fixture
def on_event(monkeypatch: pytest.MonkeyPatch) -> Callable[[FakeSearch | None], Callable[[dict[str, Any]], Any]]:
    monkeypatch.setenv("OPENSEARCH_URL", "https://search.example.com")
    monkeypatch.setenv("OPENSEARCH_AUTH", "none")
    for name, value in {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "ERROR")

    def load(fake: FakeSearch | None) -> Callable[[dict[str, Any]], Any]:
        def client() -> FakeSearch:
            if fake is None:
                raise AssertionError("this request must not touch the cluster")
            return fake

        monkeypatch.setattr(riskengine.search, "default_client", client)
        return load_handler(function_handler("provision_search"), "on_event")

    return load


def test_create_provisions_from_the_string_properties(on_event: Any) -> None:
    fake = FakeSearch()
    response = on_event(fake)(event("Create", shards="2", replicas="0", retentionDays="30"))
    assert response["PhysicalResourceId"] == PHYSICAL_ID
    data = response["Data"]
    assert data["TemplateVersion"] == str(TEMPLATE_VERSION)
    assert data["template risk-alerts"] == "created"
    assert data["mappings risk-alerts"] == "unchanged"  # no index yet
    assert data["alias risk-alerts"] == "created"
    assert data["retention"] == "not supported"
    assert data["dashboards"] == "skipped"
    assert all(isinstance(value, str) for value in data.values())
    settings = fake.indices.templates["risk-alerts"]["template"]["settings"]["index"]
    assert settings == {"number_of_shards": "2", "number_of_replicas": "0"}


def test_update_runs_again_and_keeps_the_id(on_event: Any) -> None:
    fake = FakeSearch(ism=True)
    handler = on_event(fake)
    handler(event("Create", retentionDays="30"))
    response = handler(event("Update", retentionDays="90"))
    assert response["PhysicalResourceId"] == PHYSICAL_ID
    assert response["Data"]["template risk-alerts"] == "unchanged"
    assert response["Data"]["retention"] == "updated"
    policy = fake.transport.policies["riskengine-retention"]["policy"]
    assert policy["states"][0]["transitions"][0]["conditions"] == {"min_index_age": "90d"}


def test_delete_leaves_the_data_and_returns_the_same_id(on_event: Any) -> None:
    response = on_event(None)(event("Delete"))
    assert response == {"PhysicalResourceId": PHYSICAL_ID}


def test_a_bad_property_fails_the_deployment_with_its_name(on_event: Any) -> None:
    fake = FakeSearch()
    with pytest.raises(ConfigurationError, match="shards must be a whole number, got 'two'"):
        on_event(fake)(event("Create", shards="two"))
    assert fake.indices.templates == {}


def test_an_unknown_request_type_is_refused(on_event: Any) -> None:
    with pytest.raises(ValueError, match="RequestType must be Create, Update or Delete"):
        on_event(None)(event("Replace"))


def test_a_failed_dashboards_import_fails_the_deployment(on_event: Any) -> None:
    fake = FakeSearch()
    unreachable = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ProvisionFailed, match=f"dashboards: cannot reach OpenSearch Dashboards at {unreachable}"):
        on_event(fake)(event("Create", dashboardsUrl=unreachable))
    assert "risk-alerts" in fake.indices.templates  # the cluster side was provisioned before
