"""Make a cluster ready for the index families: templates, aliases, retention and (optionally) dashboards.

Every step is idempotent, so ``riskengine search init`` and the CloudFormation custom resource can
run it on every deployment. Each step's outcome goes into a :class:`ProvisionReport`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from opensearchpy import OpenSearch
from opensearchpy.exceptions import RequestError, TransportError

from riskengine.errors import ConfigurationError, RiskEngineError
from riskengine.search.access import ADMIN_ROLE, ROLES, SecurityPluginMissing, map_backend_roles, put_engine_role
from riskengine.search.dashboards import DashboardsImportError, import_saved_objects
from riskengine.search.indices import FAMILIES, TEMPLATE_VERSION, IndexFamily

__all__ = [
    "RETENTION_POLICY_ID",
    "Outcome",
    "ProvisionFailed",
    "ProvisionOptions",
    "ProvisionReport",
    "Step",
    "physical_resource_id",
    "provision",
    "retention_policy",
]

RETENTION_POLICY_ID = "riskengine-retention"
_ISM_POLICY = f"/_plugins/_ism/policies/{RETENTION_POLICY_ID}"
# Index names per put-mapping request: a year of daily indices in a few requests, each URL well within limits.
_INDICES_PER_MAPPING_REQUEST = 50


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    IMPORTED = "imported"
    SKIPPED = "skipped"
    NOT_SUPPORTED = "not supported"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    outcome: Outcome
    detail: str


class ProvisionFailed(RiskEngineError):
    """A step that must not be skipped silently failed (retention refused, dashboards import rejected)."""

    reason = "provisioning_failed"


@dataclass(frozen=True, slots=True)
class ProvisionReport:
    steps: tuple[Step, ...]

    @property
    def ok(self) -> bool:
        return all(step.outcome is not Outcome.FAILED for step in self.steps)

    def step(self, name: str) -> Step:
        return next(step for step in self.steps if step.name == name)

    def as_data(self) -> dict[str, str]:
        """Flat string attributes (what CloudFormation's ``Fn::GetAtt`` can read), one per step."""
        return {"TemplateVersion": str(TEMPLATE_VERSION)} | {step.name: step.outcome.value for step in self.steps}

    def raise_for_failures(self) -> None:
        failures = [f"{step.name}: {step.detail}" for step in self.steps if step.outcome is Outcome.FAILED]
        if failures:
            raise ProvisionFailed("; ".join(failures))


@dataclass(frozen=True, slots=True)
class ProvisionOptions:
    shards: int = 1
    replicas: int = 1
    # Long by default: these indices are a compliance record; shorten only with the compliance team.
    retention_days: int = 365
    import_dashboards: bool = False
    dashboards_url: str = ""
    # FGAC: IAM role ARNs per OpenSearch role (the engine's roles in access.ROLES, or all_access for admins).
    role_mappings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ConfigurationError(f"shards must be >= 1, got {self.shards}")
        if self.replicas < 0:
            raise ConfigurationError(f"replicas must be >= 0, got {self.replicas}")
        if self.retention_days < 1:
            raise ConfigurationError(f"retention days must be >= 1, got {self.retention_days}")
        if self.import_dashboards and not self.dashboards_url:
            raise ConfigurationError("importing dashboards needs the OpenSearch Dashboards URL (--dashboards-url)")
        unknown = set(self.role_mappings) - {*ROLES, ADMIN_ROLE}
        if unknown:
            raise ConfigurationError(
                f"role mappings name unknown roles {sorted(unknown)}; known: {[*ROLES, ADMIN_ROLE]}"
            )

    @classmethod
    def from_resource_properties(cls, properties: Mapping[str, Any]) -> ProvisionOptions:
        """CloudFormation passes every custom-resource property as a string ("3", not 3)."""
        defaults = cls()
        dashboards_url = str(properties.get("dashboardsUrl") or "").rstrip("/")
        return cls(
            shards=_int_property(properties, "shards", defaults.shards),
            replicas=_int_property(properties, "replicas", defaults.replicas),
            retention_days=_int_property(properties, "retentionDays", defaults.retention_days),
            import_dashboards=bool(dashboards_url),
            dashboards_url=dashboards_url,
            role_mappings=_role_arns(properties.get("roleMappings")),
        )


def _role_arns(raw: Any) -> dict[str, tuple[str, ...]]:
    """``{"riskengine_writer": ["arn:…"], …}``; CloudFormation may hand it over as a JSON string."""
    if raw in (None, ""):
        return {}
    mappings = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(mappings, Mapping) or not all(isinstance(v, list) for v in mappings.values()):
        raise ConfigurationError("custom resource property roleMappings must map role names to lists of ARNs")
    return {role: tuple(str(arn) for arn in arns) for role, arns in mappings.items()}


def _int_property(properties: Mapping[str, Any], name: str, default: int) -> int:
    raw = properties.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(str(raw).strip())
    except ValueError as exc:
        raise ConfigurationError(f"custom resource property {name} must be a whole number, got {raw!r}") from exc


def provision(
    client: OpenSearch,
    options: ProvisionOptions,
    *,
    dashboards_auth: Any = None,
    verify_certs: bool = True,
) -> ProvisionReport:
    """Templates, then the mappings of existing indices, then retention (so today's new indices are picked
    up by it), then aliases, then dashboards.

    Failures of the templates or aliases raise (nothing else can work without them); an index whose
    mapping cannot be brought up to date, retention and dashboards record a failed step and let the
    rest finish.
    """
    steps = [_put_template(client, family, options.shards, options.replicas) for family in FAMILIES]
    steps.extend(_update_mappings(client, family) for family in FAMILIES)
    steps.append(_put_retention(client, options.retention_days, FAMILIES))
    now_ms = int(time.time() * 1000)
    steps.extend(_ensure_alias(client, family, now_ms) for family in FAMILIES)
    steps.append(_import_dashboards(options, dashboards_auth, verify_certs))
    steps.extend(_map_roles(client, options.role_mappings))
    return ProvisionReport(tuple(steps))


def physical_resource_id(opensearch_url: str) -> str:
    """The custom resource's id: one per cluster, so pointing the stack at another cluster replaces it."""
    return f"riskengine-search@{urlsplit(opensearch_url).hostname}"


def _put_template(client: OpenSearch, family: IndexFamily, shards: int, replicas: int) -> Step:
    name = f"template {family.alias}"
    stored = _stored_template(client, family.alias)
    if stored is None:
        client.indices.put_index_template(name=family.alias, body=family.template(shards, replicas))
        return Step(name, Outcome.CREATED, f"version {TEMPLATE_VERSION}, {shards} shard(s), {replicas} replica(s)")
    version = stored.get("version")
    if isinstance(version, int) and version > TEMPLATE_VERSION:
        # A newer engine put it (e.g. during a rollback): older mappings would reject its documents.
        return Step(name, Outcome.UNCHANGED, f"cluster has version {version}, newer than {TEMPLATE_VERSION}: left")
    stored_layout = _shards_and_replicas(stored)
    if version == TEMPLATE_VERSION and stored_layout == (shards, replicas):
        return Step(name, Outcome.UNCHANGED, f"version {TEMPLATE_VERSION}")
    client.indices.put_index_template(name=family.alias, body=family.template(shards, replicas))
    return Step(
        name,
        Outcome.UPDATED,
        f"version {version} -> {TEMPLATE_VERSION}, shards/replicas {stored_layout} -> {(shards, replicas)}"
        " (applies to indices created from now on)",
    )


def _stored_template(client: OpenSearch, name: str) -> dict[str, Any] | None:
    try:
        answer = client.indices.get_index_template(name=name)
    except TransportError as exc:
        if exc.status_code == 404:
            return None
        raise
    templates = answer.get("index_templates", [])
    return templates[0]["index_template"] if templates else None


def _shards_and_replicas(template: Mapping[str, Any]) -> tuple[int, int] | None:
    settings = template.get("template", {}).get("settings", {})
    index = settings.get("index", settings)
    try:
        return int(index["number_of_shards"]), int(index["number_of_replicas"])
    except (KeyError, TypeError, ValueError):
        return None


def _update_mappings(client: OpenSearch, family: IndexFamily) -> Step:
    """Bring the mappings of the family's existing daily indices up to ``TEMPLATE_VERSION``.

    A template applies only when an index is created, so today's index (and any older one a late or
    redriven record goes to) would keep the previous mapping, and being strict it would reject every
    document with a field added since. Putting a mapping adds fields and leaves existing ones alone;
    a field whose type differs is refused, and those indices are named in a failed step. Indices of a
    newer version (a newer engine put them) are left, as their template is.
    """
    name = f"mappings {family.alias}"
    stored = client.indices.get_mapping(index=family.pattern)
    versions = {index: _mapping_version(body) for index, body in stored.items()}
    stale = sorted(index for index, version in versions.items() if version is None or version < TEMPLATE_VERSION)
    if not versions:
        return Step(name, Outcome.UNCHANGED, "no index yet")
    if not stale:
        return Step(name, Outcome.UNCHANGED, f"{len(versions)} index(es) at version {TEMPLATE_VERSION} or newer")
    refused: dict[str, str] = {}
    for start in range(0, len(stale), _INDICES_PER_MAPPING_REQUEST):
        refused |= _put_mappings(client, family, stale[start : start + _INDICES_PER_MAPPING_REQUEST])
    updated = f"{len(stale) - len(refused)} index(es) brought to version {TEMPLATE_VERSION}"
    if refused:
        reasons = "; ".join(f"{index}: {reason}" for index, reason in sorted(refused.items()))
        return Step(
            name,
            Outcome.FAILED,
            f"{updated}; {len(refused)} refused it (documents with fields it lacks are dead-lettered there "
            f"until it is reindexed into the current mapping): {reasons}",
        )
    return Step(name, Outcome.UPDATED, updated)


def _mapping_version(index_body: Mapping[str, Any]) -> int | None:
    """The template version an index's mapping was made from; None for indices the template did not make."""
    version = index_body.get("mappings", {}).get("_meta", {}).get("template_version")
    return version if isinstance(version, int) else None


def _put_mappings(client: OpenSearch, family: IndexFamily, indices: list[str]) -> dict[str, str]:
    """Put the family's mappings on ``indices``; returns the indices that refused and why.

    One request for all of them; the server applies such a request to every index or to none, so
    when it is refused, each index is asked on its own to find which refuse.
    """
    refusal = _put_mapping(client, family, indices)
    if refusal is None:
        return {}
    if len(indices) == 1:
        return {indices[0]: refusal}
    answers = {index: _put_mapping(client, family, [index]) for index in indices}
    return {index: reason for index, reason in answers.items() if reason is not None}


def _put_mapping(client: OpenSearch, family: IndexFamily, indices: list[str]) -> str | None:
    """None when every index took the mapping, else the server's reason (a field of another type)."""
    try:
        client.indices.put_mapping(index=",".join(indices), body=family.mappings())
    except RequestError as exc:
        return _reason(exc)
    return None


def _ensure_alias(client: OpenSearch, family: IndexFamily, now_ms: int) -> Step:
    """Queries and dashboards use the alias; it must resolve before the first document is indexed."""
    name = f"alias {family.alias}"
    indices = client.indices.get_alias(index=family.pattern)
    if not indices:
        index = family.index_for(now_ms)
        try:
            client.indices.create(index=index)  # the template adds mappings and the alias
        except RequestError as exc:
            if exc.error != "resource_already_exists_exception":  # a writer created it first: fine
                raise
        return Step(name, Outcome.CREATED, f"created {index}")
    missing = sorted(index for index, body in indices.items() if family.alias not in body.get("aliases", {}))
    if missing:
        # Indices created before the template: reachable through the alias now, but check their mappings.
        actions = [{"add": {"index": index, "alias": family.alias}} for index in missing]
        client.indices.update_aliases(body={"actions": actions})
        return Step(name, Outcome.UPDATED, f"added to {len(missing)} index(es) created without the template")
    return Step(name, Outcome.UNCHANGED, f"resolves to {len(indices)} index(es)")


def retention_policy(days: int, families: Iterable[IndexFamily] = FAMILIES) -> dict[str, Any]:
    """An ISM policy deleting every daily index ``days`` after its creation.

    The description spells out everything the policy does, so comparing descriptions tells whether
    the stored policy is current (the stored copy carries server-added fields that defeat a diff).
    """
    patterns = [family.pattern for family in families]
    return {
        "policy": {
            "description": f"riskengine: delete {', '.join(patterns)} {days} days after index creation",
            "default_state": "hot",
            "states": [
                {"name": "hot", "actions": [], "transitions": [
                    {"state_name": "delete", "conditions": {"min_index_age": f"{days}d"}},
                ]},
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
            ],
            "ism_template": [{"index_patterns": patterns, "priority": 100}],
        }
    }  # fmt: skip


def _put_retention(client: OpenSearch, days: int, families: tuple[IndexFamily, ...]) -> Step:
    wanted = retention_policy(days, families)
    patterns = ",".join(family.pattern for family in families)
    try:
        stored = _stored_policy(client)
    except TransportError as exc:
        if _ism_missing(exc):
            return Step(
                "retention",
                Outcome.NOT_SUPPORTED,
                "not supported by this cluster (no ISM at /_plugins/_ism): indices are kept until deleted by hand",
            )
        return Step("retention", Outcome.FAILED, f"ISM answered HTTP {exc.status_code}: {_reason(exc)}")
    try:
        if stored is None:
            client.transport.perform_request("PUT", _ISM_POLICY, body=wanted)
            outcome = Outcome.CREATED
        elif stored["policy"].get("description") == wanted["policy"]["description"]:
            outcome = Outcome.UNCHANGED
        else:
            params = {"if_seq_no": stored["_seq_no"], "if_primary_term": stored["_primary_term"]}
            client.transport.perform_request("PUT", _ISM_POLICY, params=params, body=wanted)
            # Managed indices keep the policy version they started with until told to change.
            _ism_call(client, "change_policy", patterns)
            outcome = Outcome.UPDATED
        # ism_template only catches indices created after the policy: attach the older ones too.
        attached = _ism_call(client, "add", patterns)
    except TransportError as exc:
        return Step("retention", Outcome.FAILED, f"ISM answered HTTP {exc.status_code}: {_reason(exc)}")
    detail = f"policy {RETENTION_POLICY_ID}: delete after {days} days"
    return Step("retention", outcome, detail + (f"; attached to {attached} existing index(es)" if attached else ""))


def _stored_policy(client: OpenSearch) -> dict[str, Any] | None:
    try:
        return client.transport.perform_request("GET", _ISM_POLICY)
    except TransportError as exc:
        if exc.status_code == 404 and "policy not found" in str(exc.info).lower():
            return None
        raise


def _ism_call(client: OpenSearch, action: str, patterns: str) -> int:
    """``add`` or ``change_policy``; indices it cannot apply to (e.g. already managed) are not errors."""
    try:
        answer = client.transport.perform_request(
            "POST", f"/_plugins/_ism/{action}/{patterns}", body={"policy_id": RETENTION_POLICY_ID}
        )
    except TransportError as exc:
        if exc.status_code == 404 and "index_not_found" in str(exc.info):  # no daily index yet
            return 0
        raise
    return int(answer.get("updated_indices", 0))


def _ism_missing(exc: TransportError) -> bool:
    """No ISM endpoint at all (Elasticsearch, the local emulator, Serverless), as opposed to an ISM error."""
    text = f"{exc.error} {exc.info}".lower()
    if "no handler found" in text:
        return True
    return exc.status_code in (405, 501) or (exc.status_code == 404 and "policy not found" not in text)


def _reason(exc: TransportError) -> str:
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error")
    if isinstance(error, dict):
        return str(error.get("reason") or error.get("type") or exc.error)
    return str(error or exc.error)


def _import_dashboards(options: ProvisionOptions, auth: Any, verify_certs: bool) -> Step:
    if not options.import_dashboards:
        return Step("dashboards", Outcome.SKIPPED, "no Dashboards URL given")
    try:
        result = import_saved_objects(options.dashboards_url, auth=auth, verify_certs=verify_certs)
    except DashboardsImportError as exc:
        return Step("dashboards", Outcome.FAILED, exc.detail)
    return Step("dashboards", Outcome.IMPORTED, f"{result.summary()} into {options.dashboards_url}")


def _map_roles(client: OpenSearch, mappings: Mapping[str, tuple[str, ...]]) -> list[Step]:
    """The engine's FGAC roles and their IAM principals; without a security plugin there is nothing to map."""
    steps: list[Step] = []
    for role, arns in mappings.items():
        name = f"access {role}"
        try:
            if role in ROLES:
                put_engine_role(client, role)
            added = map_backend_roles(client, role, arns, exclusive=role in ROLES)
        except SecurityPluginMissing:
            return [Step("access", Outcome.NOT_SUPPORTED, "no security plugin on this cluster: nothing to map")]
        except TransportError as exc:
            steps.append(Step(name, Outcome.FAILED, f"security API answered HTTP {exc.status_code}: {_reason(exc)}"))
            continue
        outcome = Outcome.UPDATED if added else Outcome.UNCHANGED
        steps.append(Step(name, outcome, f"{len(arns)} IAM role(s) mapped" + (f", {len(added)} new" if added else "")))
    return steps
