"""FGAC provisioning: the engine's roles exactly as defined, function roles mapped exclusively, admins added."""

import json

import pytest
from search_fakes import FakeSearch

from riskengine.errors import ConfigurationError
from riskengine.search.access import ROLES
from riskengine.search.provision import Outcome, ProvisionOptions, provision

WRITER, READER = "arn:aws:iam::1:role/riskengine-index-search", "arn:aws:iam::1:role/riskengine-report-api"
ADMIN = "arn:aws:iam::1:role/compliance-admins"
MAPPINGS = {"riskengine_writer": (WRITER,), "riskengine_reader": (READER,), "all_access": (ADMIN,)}


def access_steps(fake: FakeSearch, mappings: dict[str, tuple[str, ...]] = MAPPINGS) -> dict[str, tuple[str, str]]:
    report = provision(fake, ProvisionOptions(role_mappings=mappings))  # type: ignore[arg-type]
    return {s.name: (s.outcome, s.detail) for s in report.steps if s.name.startswith("access")}


def test_engine_roles_are_defined_and_the_function_roles_mapped() -> None:
    fake = FakeSearch(security=True)
    steps = access_steps(fake)
    assert {name: outcome for name, (outcome, _) in steps.items()} == {
        "access riskengine_writer": Outcome.UPDATED,
        "access riskengine_reader": Outcome.UPDATED,
        "access all_access": Outcome.UPDATED,
    }
    assert fake.transport.roles == dict(ROLES)
    assert fake.transport.mappings["riskengine_writer"] == {"backend_roles": [WRITER]}
    assert fake.transport.mappings["riskengine_reader"] == {"backend_roles": [READER]}


def test_admins_are_added_to_all_access_without_dropping_who_is_there() -> None:
    fake = FakeSearch(security=True)
    fake.transport.mappings["all_access"] = {"backend_roles": ["arn:aws:iam::1:role/master"], "users": ["admin"]}
    access_steps(fake)
    assert fake.transport.mappings["all_access"] == {
        "backend_roles": ["arn:aws:iam::1:role/master", ADMIN],
        "users": ["admin"],
    }


def test_a_rerun_changes_nothing_and_a_removed_function_role_is_unmapped() -> None:
    fake = FakeSearch(security=True)
    access_steps(fake)
    assert {outcome for outcome, _ in access_steps(fake).values()} == {Outcome.UNCHANGED}
    access_steps(fake, {"riskengine_writer": ("arn:aws:iam::1:role/new-indexer",)})
    assert fake.transport.mappings["riskengine_writer"] == {"backend_roles": ["arn:aws:iam::1:role/new-indexer"]}


def test_a_cluster_without_the_security_plugin_reports_one_not_supported_step() -> None:
    assert access_steps(FakeSearch()) == {
        "access": (Outcome.NOT_SUPPORTED, "no security plugin on this cluster: nothing to map")
    }


def test_role_mappings_come_from_the_custom_resource_as_a_json_string() -> None:
    options = ProvisionOptions.from_resource_properties({"roleMappings": json.dumps({"riskengine_writer": [WRITER]})})
    assert options.role_mappings == {"riskengine_writer": (WRITER,)}


def test_an_unknown_role_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown roles"):
        ProvisionOptions(role_mappings={"readall": (ADMIN,)})
