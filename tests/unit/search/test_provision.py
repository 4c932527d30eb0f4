"""provision() step by step against a fake client: template versions, aliases, ISM present, missing or refused."""

from typing import Any

import pytest
from search_fakes import FakeSearch

from riskengine.errors import ConfigurationError
from riskengine.search import ALERTS, FAMILIES, TEMPLATE_VERSION
from riskengine.search.provision import (
    RETENTION_POLICY_ID,
    Outcome,
    ProvisionFailed,
    ProvisionOptions,
    provision,
    retention_policy,
)


def version_1_alert_mappings() -> dict[str, Any]:
    """The alerts mapping as template version 1 made it: no category, no order-book metrics."""
    mappings = ALERTS.mappings()
    del mappings["properties"]["category"], mappings["properties"]["metrics"]["properties"]
    return mappings | {"_meta": {"template_version": 1}}


def run(fake: FakeSearch, **options: Any) -> dict[str, Outcome]:
    report = provision(fake, ProvisionOptions(**options))
    return {step.name: step.outcome for step in report.steps}


def test_first_run_creates_everything_and_second_run_changes_nothing() -> None:
    fake = FakeSearch()
    first = run(fake)
    assert {first[f"template {f.alias}"] for f in FAMILIES} == {Outcome.CREATED}
    assert {first[f"mappings {f.alias}"] for f in FAMILIES} == {Outcome.UNCHANGED}  # no index yet
    assert {first[f"alias {f.alias}"] for f in FAMILIES} == {Outcome.CREATED}
    assert all(fake.indices.aliases[name] == {name.rsplit("-", 1)[0]} for name in fake.indices.aliases)
    second = run(fake)
    assert {second[f"template {f.alias}"] for f in FAMILIES} == {Outcome.UNCHANGED}
    assert {second[f"mappings {f.alias}"] for f in FAMILIES} == {Outcome.UNCHANGED}
    assert {second[f"alias {f.alias}"] for f in FAMILIES} == {Outcome.UNCHANGED}
    assert fake.indices.mapping_requests == []
    assert len(fake.indices.aliases) == len(FAMILIES)  # no second daily index


def test_an_older_template_version_or_new_layout_is_updated_but_a_newer_version_is_left() -> None:
    fake = FakeSearch()
    run(fake)
    fake.indices.templates[ALERTS.alias]["version"] = TEMPLATE_VERSION - 1
    assert run(fake)[f"template {ALERTS.alias}"] is Outcome.UPDATED
    assert fake.indices.templates[ALERTS.alias]["version"] == TEMPLATE_VERSION
    assert run(fake, shards=3)[f"template {ALERTS.alias}"] is Outcome.UPDATED
    assert fake.indices.templates[ALERTS.alias]["template"]["settings"]["index"]["number_of_shards"] == "3"
    fake.indices.templates[ALERTS.alias]["version"] = TEMPLATE_VERSION + 1
    report = provision(fake, ProvisionOptions(shards=3))
    assert report.step(f"template {ALERTS.alias}").outcome is Outcome.UNCHANGED
    assert "newer" in report.step(f"template {ALERTS.alias}").detail
    assert fake.indices.templates[ALERTS.alias]["version"] == TEMPLATE_VERSION + 1


def test_indices_created_before_the_template_are_added_to_the_alias() -> None:
    fake = FakeSearch()
    fake.indices.create("risk-alerts-2024.01.01")  # no template yet: no alias
    report = provision(fake, ProvisionOptions())
    assert report.step("alias risk-alerts").outcome is Outcome.UPDATED
    assert fake.indices.aliases["risk-alerts-2024.01.01"] == {"risk-alerts"}
    assert [n for n in fake.indices.aliases if n.startswith("risk-alerts-")] == ["risk-alerts-2024.01.01"]


def test_indices_of_an_older_template_version_get_the_current_mapping_and_newer_ones_are_left() -> None:
    fake = FakeSearch()
    fake.indices.create("risk-alerts-2024.01.01", body={"mappings": version_1_alert_mappings()})
    fake.indices.create("risk-alerts-2024.01.02", body={"mappings": ALERTS.mappings()})
    newer = ALERTS.mappings() | {"_meta": {"template_version": TEMPLATE_VERSION + 1}}
    fake.indices.create("risk-alerts-2024.01.03", body={"mappings": newer})

    report = provision(fake, ProvisionOptions())
    step = report.step("mappings risk-alerts")
    assert (step.outcome, step.detail) == (Outcome.UPDATED, f"1 index(es) brought to version {TEMPLATE_VERSION}")
    assert fake.indices.mapping_requests == ["risk-alerts-2024.01.01"]
    assert fake.indices.mappings["risk-alerts-2024.01.01"] == ALERTS.mappings()
    assert fake.indices.mappings["risk-alerts-2024.01.03"] == newer

    again = provision(fake, ProvisionOptions()).step("mappings risk-alerts")
    assert (again.outcome, again.detail) == (Outcome.UNCHANGED, f"3 index(es) at version {TEMPLATE_VERSION} or newer")


def test_a_year_of_daily_indices_is_brought_up_to_date_in_a_few_requests() -> None:
    fake = FakeSearch()
    days = [f"risk-alerts-2024.{month:02d}.{day:02d}" for month in range(1, 13) for day in range(1, 31)]
    for index in days:
        fake.indices.create(index, body={"mappings": version_1_alert_mappings()})
    assert run(fake)["mappings risk-alerts"] is Outcome.UPDATED
    assert [len(request.split(",")) for request in fake.indices.mapping_requests] == [50] * 7 + [10]
    assert all(fake.indices.mappings[index] == ALERTS.mappings() for index in days)


def test_an_index_that_refuses_the_mapping_fails_the_step_by_name_and_the_others_are_updated() -> None:
    fake = FakeSearch()
    fake.indices.create("risk-alerts-2024.01.01", body={"mappings": version_1_alert_mappings()})
    # Made by hand before any template, with userId as a number: the mapping cannot change that.
    fake.indices.create("risk-alerts-2024.01.02", body={"mappings": {"properties": {"userId": {"type": "long"}}}})
    fake.indices.create("risk-alerts-2024.01.03", body={"mappings": version_1_alert_mappings()})

    report = provision(fake, ProvisionOptions())
    step = report.step("mappings risk-alerts")
    assert step.outcome is Outcome.FAILED and not report.ok
    assert step.detail.startswith(f"2 index(es) brought to version {TEMPLATE_VERSION}; 1 refused it")
    assert step.detail.endswith(
        "risk-alerts-2024.01.02: mapper [userId] cannot be changed from type [long] to [keyword]"
    )
    assert fake.indices.mappings["risk-alerts-2024.01.01"] == ALERTS.mappings()
    assert fake.indices.mappings["risk-alerts-2024.01.03"] == ALERTS.mappings()
    assert report.step("alias risk-alerts").outcome is Outcome.UPDATED  # the other steps went on
    with pytest.raises(ProvisionFailed, match="mappings risk-alerts: 2 index"):
        report.raise_for_failures()


def test_without_ism_retention_is_reported_not_supported_and_the_rest_goes_on() -> None:
    fake = FakeSearch(ism=False)
    report = provision(fake, ProvisionOptions())
    assert report.ok
    assert report.step("retention").outcome is Outcome.NOT_SUPPORTED
    assert report.step("retention").detail.startswith("not supported by this cluster")
    assert report.step("alias risk-alerts").outcome is Outcome.CREATED


def test_with_ism_the_policy_is_created_then_unchanged_then_updated_with_seq_no() -> None:
    fake = FakeSearch(ism=True)
    fake.indices.create("risk-alerts-2024.01.01")
    assert run(fake, retention_days=30)["retention"] is Outcome.CREATED
    stored = fake.transport.policies[RETENTION_POLICY_ID]
    assert stored["policy"]["states"][0]["transitions"][0]["conditions"] == {"min_index_age": "30d"}
    assert stored["policy"]["ism_template"][0]["index_patterns"] == [f.pattern for f in FAMILIES]
    assert fake.transport.managed == {"risk-alerts-2024.01.01": 0}  # an index older than the policy

    assert run(fake, retention_days=30)["retention"] is Outcome.UNCHANGED
    assert fake.transport.policies[RETENTION_POLICY_ID]["_seq_no"] == 0

    assert run(fake, retention_days=90)["retention"] is Outcome.UPDATED
    stored = fake.transport.policies[RETENTION_POLICY_ID]
    assert stored["_seq_no"] == 1
    assert stored["policy"]["states"][0]["transitions"][0]["conditions"] == {"min_index_age": "90d"}
    assert fake.transport.managed["risk-alerts-2024.01.01"] == 1  # moved to the new policy version


def test_a_refused_retention_policy_fails_the_step_and_the_report_but_not_the_other_steps() -> None:
    fake = FakeSearch(ism=True, forbidden=True)
    report = provision(fake, ProvisionOptions())
    assert not report.ok
    assert report.step("retention").outcome is Outcome.FAILED
    assert "403" in report.step("retention").detail
    assert report.step("alias risk-alerts").outcome is Outcome.CREATED
    with pytest.raises(ProvisionFailed, match="retention: ISM answered HTTP 403"):
        report.raise_for_failures()


def test_retention_policy_deletes_after_the_given_days() -> None:
    policy = retention_policy(7)["policy"]
    assert policy["default_state"] == "hot"
    assert policy["states"][1] == {"name": "delete", "actions": [{"delete": {}}], "transitions": []}
    assert "7 days" in policy["description"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shards": 0}, "shards"),
        ({"replicas": -1}, "replicas"),
        ({"retention_days": 0}, "retention days"),
        ({"import_dashboards": True}, "--dashboards-url"),
    ],
)
def test_options_are_validated(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ProvisionOptions(**options)


def test_options_from_custom_resource_properties_which_are_strings() -> None:
    options = ProvisionOptions.from_resource_properties(
        {"ServiceToken": "arn:x", "shards": "2", "replicas": "0", "retentionDays": "30", "dashboardsUrl": "https://d/"}
    )
    assert options == ProvisionOptions(
        shards=2, replicas=0, retention_days=30, import_dashboards=True, dashboards_url="https://d"
    )
    assert ProvisionOptions.from_resource_properties({}) == ProvisionOptions()
    with pytest.raises(ConfigurationError, match="retentionDays must be a whole number"):
        ProvisionOptions.from_resource_properties({"retentionDays": "a year"})
