"""A fake OpenSearch client: just the calls provisioning makes, answering the way OpenSearch 2.x does.

With ``ism=False`` it answers ISM requests like a cluster without the plugin (the local emulator,
Elasticsearch); with ``ism=True`` it keeps policies with seq_no/primary_term like the ISM plugin.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Iterator
from typing import Any

from opensearchpy.exceptions import AuthorizationException, ConflictError, NotFoundError, RequestError


class FakeIndices:
    def __init__(self) -> None:
        self.templates: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, set[str]] = {}  # index -> its aliases
        self.mappings: dict[str, dict[str, Any]] = {}  # index -> its mappings
        self.mapping_requests: list[str] = []  # the index names of every put-mapping request

    def get_index_template(self, name: str) -> dict[str, Any]:
        if name not in self.templates:
            raise NotFoundError(404, "resource_not_found_exception", {"error": f"index template [{name}] missing"})
        return {"index_templates": [{"name": name, "index_template": self.templates[name]}]}

    def put_index_template(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        settings = body["template"]["settings"]
        stored = {
            **body,
            "template": {**body["template"], "settings": {"index": {k: str(v) for k, v in settings.items()}}},
        }
        self.templates[name] = stored  # as the server answers: settings under "index", values as strings
        return {"acknowledged": True}

    def get_alias(self, index: str) -> dict[str, Any]:
        matching = [name for name in self.aliases if fnmatch.fnmatch(name, index)]
        return {name: {"aliases": {alias: {} for alias in self.aliases[name]}} for name in matching}

    def create(self, index: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if index in self.aliases:
            raise RequestError(400, "resource_already_exists_exception", {"error": f"index [{index}] already exists"})
        aliases: set[str] = set()
        mappings: dict[str, Any] = {}
        for template in self.templates.values():
            if any(fnmatch.fnmatch(index, pattern) for pattern in template["index_patterns"]):
                aliases |= set(template["template"].get("aliases", {}))
                mappings = template["template"].get("mappings", {})
        self.aliases[index] = aliases
        self.mappings[index] = copy.deepcopy((body or {}).get("mappings", mappings))
        return {"acknowledged": True, "index": index}

    def get_mapping(self, index: str) -> dict[str, Any]:
        return {name: {"mappings": self.mappings[name]} for name in self.aliases if fnmatch.fnmatch(name, index)}

    def put_mapping(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        """All named indices take the mapping or none does: a field of another type is refused, as OpenSearch does."""
        self.mapping_requests.append(index)
        names = index.split(",")
        for name in names:
            for field, conflict in _type_conflicts(self.mappings[name].get("properties", {}), body["properties"]):
                reason = f"mapper [{field}] cannot be changed from type [{conflict[0]}] to [{conflict[1]}]"
                raise RequestError(400, "illegal_argument_exception", {"error": {"reason": reason}})
        for name in names:
            stored = self.mappings[name]
            properties = _merged(stored.get("properties", {}), body["properties"])
            self.mappings[name] = {**stored, **copy.deepcopy(body), "properties": properties}
        return {"acknowledged": True}

    def update_aliases(self, body: dict[str, Any]) -> dict[str, Any]:
        for action in body["actions"]:
            self.aliases[action["add"]["index"]].add(action["add"]["alias"])
        return {"acknowledged": True}


def _type_conflicts(
    stored: dict[str, Any], wanted: dict[str, Any], prefix: str = ""
) -> Iterator[tuple[str, tuple[str, str]]]:
    for name, spec in wanted.items():
        old = stored.get(name)
        if old is None:
            continue
        if "type" in old and "type" in spec and old["type"] != spec["type"]:
            yield prefix + name, (old["type"], spec["type"])
        yield from _type_conflicts(old.get("properties", {}), spec.get("properties", {}), f"{prefix}{name}.")


def _merged(stored: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """Put-mapping adds fields (and fields of objects) and keeps those already there."""
    merged = dict(stored)
    for name, spec in wanted.items():
        old = stored.get(name)
        if old is None:
            merged[name] = spec
        elif "properties" in spec:
            merged[name] = {**old, **spec, "properties": _merged(old.get("properties", {}), spec["properties"])}
    return merged


class FakeTransport:
    def __init__(self, indices: FakeIndices, *, ism: bool, forbidden: bool, security: bool = False) -> None:
        self.indices = indices
        self.ism = ism
        self.forbidden = forbidden
        self.security = security
        self.roles: dict[str, Any] = {}
        self.mappings: dict[str, dict[str, Any]] = {}
        self.policies: dict[str, dict[str, Any]] = {}
        self.managed: dict[str, int] = {}  # index -> seq_no of the policy version it runs
        self.calls: list[tuple[str, str]] = []

    def perform_request(
        self, method: str, url: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> dict[str, Any]:
        self.calls.append((method, url))
        if url.startswith("/_plugins/_security/"):
            return self._security(method, url, body)
        if not self.ism:
            message = f"no handler found for uri [{url}] and method [{method}]"
            raise RequestError(400, message, {"error": message})
        if self.forbidden:
            raise AuthorizationException(403, "security_exception", {"error": {"reason": "no permissions for ISM"}})
        parts = url.strip("/").split("/")  # _plugins, _ism, policies|add|change_policy, ...
        if parts[2] == "policies":
            return self._policy(method, parts[3], params or {}, body)
        return self._attach(parts[2], parts[3].split(","))

    def _policy(self, method: str, policy_id: str, params: dict[str, Any], body: Any) -> dict[str, Any]:
        stored = self.policies.get(policy_id)
        if method == "GET":
            if stored is None:
                error = {"root_cause": [{"type": "status_exception", "reason": "Policy not found"}]}
                raise NotFoundError(404, "status_exception", {"error": error, "status": 404})
            return stored
        if stored is not None and (params.get("if_seq_no"), params.get("if_primary_term")) != (
            stored["_seq_no"],
            stored["_primary_term"],
        ):
            raise ConflictError(409, "version_conflict_engine_exception", {})
        seq_no = 0 if stored is None else stored["_seq_no"] + 1
        policy = {**body["policy"], "policy_id": policy_id, "last_updated_time": 1, "schema_version": 21}
        self.policies[policy_id] = {"_id": policy_id, "_seq_no": seq_no, "_primary_term": 1, "policy": policy}
        return {"_id": policy_id, "_seq_no": seq_no, "_primary_term": 1, "policy": {"policy": policy}}

    def _security(self, method: str, url: str, body: Any) -> dict[str, Any]:
        """The security plugin's roles and rolesmapping API (PUT replaces, GET of an unmapped role is 404)."""
        if not self.security:
            message = f"no handler found for uri [{url}] and method [{method}]"
            raise RequestError(400, message, {"error": message})
        kind, name = url.rstrip("/").split("/")[-2:]
        store = self.roles if kind == "roles" else self.mappings
        if method == "GET":
            if name not in store:
                raise NotFoundError(404, "NOT_FOUND", {"status": "NOT_FOUND"})
            return {name: store[name]}
        store[name] = body
        return {"status": "OK"}

    def _attach(self, action: str, patterns: list[str]) -> dict[str, Any]:
        seq_no = next(iter(self.policies.values()))["_seq_no"]
        names = [n for n in self.indices.aliases if any(fnmatch.fnmatch(n, p) for p in patterns)]
        chosen = [n for n in names if (n in self.managed) == (action == "change_policy")]
        for name in chosen:
            self.managed[name] = seq_no
        return {"updated_indices": len(chosen), "failures": False, "failed_indices": []}


class FakeSearch:
    def __init__(self, *, ism: bool = False, forbidden: bool = False, security: bool = False) -> None:
        self.indices = FakeIndices()
        self.transport = FakeTransport(self.indices, ism=ism, forbidden=forbidden, security=security)
