"""Fine-grained access control: the engine's OpenSearch roles and which IAM roles they map to.

With FGAC on (Amazon OpenSearch Service), an IAM principal the domain policy admits still sees
nothing until the security plugin maps it to a role. Provisioning runs as the master user, so it
defines two roles of its own and maps the functions' IAM role ARNs to them, and maps the operators'
admin roles to ``all_access``. Clusters without the security plugin (local servers, Serverless)
report the step as not supported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

_API = "/_plugins/_security/api"
INDEX_PATTERNS = ["risk-*"]
ADMIN_ROLE = "all_access"

# What each function needs, and nothing more: the indexer writes every family; the reporting API reads
# them and writes only acknowledgements (the audit trail).
ROLES: Mapping[str, dict[str, Any]] = MappingProxyType(
    {
        "riskengine_writer": {
            "description": "functions/index_search: bulk-index analysed trades and alerts",
            "cluster_permissions": ["cluster_composite_ops", "cluster_monitor"],
            "index_permissions": [
                {"index_patterns": INDEX_PATTERNS, "allowed_actions": ["crud", "create_index", "manage_aliases"]}
            ],
        },
        "riskengine_reader": {
            "description": "functions/report_api: read alerts and trades, record acknowledgements",
            "cluster_permissions": ["cluster_composite_ops_ro"],
            "index_permissions": [
                {"index_patterns": INDEX_PATTERNS, "allowed_actions": ["read"]},
                {"index_patterns": ["risk-alert-acks-*"], "allowed_actions": ["crud", "create_index"]},
            ],
        },
    }
)


class SecurityPluginMissing(Exception):
    """The cluster has no security API: nothing to map (and nothing enforced)."""


def put_engine_role(client: OpenSearch, role: str) -> None:
    """Define (or redefine) one of the engine's own roles: PUT replaces, so a rerun converges."""
    _call(client, "PUT", f"{_API}/roles/{role}", ROLES[role])


def map_backend_roles(client: OpenSearch, role: str, arns: Sequence[str], *, exclusive: bool) -> list[str]:
    """Map IAM role ARNs to ``role``; return the ARNs newly mapped.

    ``exclusive`` (the engine's own roles) makes the mapping exactly ``arns``; otherwise (``all_access``,
    shared with whoever else administers the domain) the ARNs are only added.
    """
    current = _mapped(client, role)
    wanted = list(arns) if exclusive else current + [arn for arn in arns if arn not in current]
    added = [arn for arn in wanted if arn not in current]
    if added or (exclusive and set(current) != set(wanted)):
        body = {"backend_roles": wanted}
        if not exclusive:
            body |= {k: v for k, v in _mapping(client, role).items() if k in ("users", "hosts")}
        _call(client, "PUT", f"{_API}/rolesmapping/{role}", body)
    return added


def _mapped(client: OpenSearch, role: str) -> list[str]:
    return list(_mapping(client, role).get("backend_roles", []))


def _mapping(client: OpenSearch, role: str) -> dict[str, Any]:
    try:
        answer = _call(client, "GET", f"{_API}/rolesmapping/{role}")
    except TransportError as exc:
        if exc.status_code == 404:
            return {}
        raise
    return dict(answer.get(role, {}))


def _call(client: OpenSearch, method: str, path: str, body: Any = None) -> Any:
    try:
        return client.transport.perform_request(method, path, body=body)
    except TransportError as exc:
        text = f"{exc.error} {exc.info}".lower()
        if "no handler found" in text or exc.status_code in (405, 501):
            raise SecurityPluginMissing(path) from exc
        raise
