"""The schema files are a contract: they must parse, keep unique ids and evolve backward-compatibly.

Backward compatibility is proven twice: structurally (added fields have defaults, nothing is
removed without a default, no type changes) and with data (hypothesis generates records for each
older schema, written with it and read with the next version).
"""

from __future__ import annotations

import io
import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine.codec import ORDERS_SUBJECT, SCHEMA_DIR_ENV, TRADES_SUBJECT, FixedIdRegistry
from riskengine.model import EventType, OrderType, Side

REGISTRY = FixedIdRegistry()
NAMESPACE = "com.riskengine.avro"

PRIMITIVES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(width=32, allow_nan=False),
    "double": st.floats(allow_nan=False),
    "string": st.text(max_size=20),
    "bytes": st.binary(max_size=20),
}


def consecutive_versions() -> Iterator[Any]:
    """Yield one pytest param per (subject, older, newer) consecutive version pair."""
    for subject in REGISTRY.subjects():
        versions = REGISTRY.versions(subject)
        for (old_v, _, old), (new_v, _, new) in itertools.pairwise(versions):
            yield pytest.param(old, new, id=f"{subject}:v{old_v}->v{new_v}")


PAIRS = list(consecutive_versions())


class StrategyBuilder:
    """Turn a raw Avro schema into a hypothesis strategy of records that fit it.

    Named types are remembered as they are defined so later references by name resolve.
    """

    def __init__(self) -> None:
        self.named: dict[str, st.SearchStrategy[Any]] = {}

    def build(self, schema: Any, namespace: str = "") -> st.SearchStrategy[Any]:
        """Return the strategy for ``schema`` (a name, a union list or a complex type dict)."""
        if isinstance(schema, list):
            return st.one_of([self.build(branch, namespace) for branch in schema])
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return PRIMITIVES[schema]
            return self.named[schema if schema in self.named else f"{namespace}.{schema}"]
        kind = schema["type"]
        if kind == "array":
            return st.lists(self.build(schema["items"], namespace), max_size=4)
        if kind == "map":
            return st.dictionaries(st.text(max_size=8), self.build(schema["values"], namespace), max_size=4)
        if kind in ("record", "enum"):
            return self._named(schema, namespace)
        return PRIMITIVES[kind]

    def _named(self, schema: dict[str, Any], namespace: str) -> st.SearchStrategy[Any]:
        """Build and register a record or enum strategy under its full name."""
        name = schema["name"]
        namespace = schema.get("namespace", namespace)
        full_name = name if "." in name else f"{namespace}.{name}"
        if schema["type"] == "enum":
            strategy = st.sampled_from(schema["symbols"])
        else:
            fields = {f["name"]: self.build(f["type"], namespace) for f in schema["fields"]}
            strategy = st.fixed_dictionaries(fields)
        self.named[full_name] = strategy
        return strategy


def carried_over(value: Any, old: Any, new: Any) -> Any:
    """What reading ``value`` (written with ``old``) through ``new`` must give, per Avro resolution."""
    if not (isinstance(new, dict) and new.get("type") == "record" and isinstance(old, dict)):
        return value
    old_fields = {f["name"]: f["type"] for f in old["fields"]}
    return {
        f["name"]: carried_over(value[f["name"]], old_fields[f["name"]], f["type"])
        if f["name"] in old_fields
        else f["default"]
        for f in new["fields"]
    }


def without_docs(schema: Any) -> Any:
    """Strip ``doc`` recursively: documentation may change between versions, types may not."""
    if isinstance(schema, dict):
        return {k: without_docs(v) for k, v in schema.items() if k != "doc"}
    if isinstance(schema, list):
        return [without_docs(item) for item in schema]
    return schema


def evolution_violations(old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
    """List the rule violations between two versions of a record, recursing into nested records."""
    old_fields = {f["name"]: f for f in old["fields"]}
    new_fields = {f["name"]: f for f in new["fields"]}
    problems = [
        f"{path}.{n}: added without a default"
        for n in new_fields.keys() - old_fields.keys()
        if "default" not in new_fields[n]
    ]
    problems += [
        f"{path}.{n}: removed but had no default"
        for n in old_fields.keys() - new_fields.keys()
        if "default" not in old_fields[n]
    ]
    for name in old_fields.keys() & new_fields.keys():
        old_type, new_type = old_fields[name]["type"], new_fields[name]["type"]
        if all(isinstance(t, dict) and t.get("type") == "record" for t in (old_type, new_type)):
            problems += evolution_violations(old_type, new_type, f"{path}.{name}")
        elif without_docs(old_type) != without_docs(new_type):
            problems.append(f"{path}.{name}: type changed")
    return problems


def all_fields(schema: Any) -> Iterator[dict[str, Any]]:
    """Yield every field of every record nested anywhere in ``schema``."""
    if isinstance(schema, list):
        for branch in schema:
            yield from all_fields(branch)
    elif isinstance(schema, dict):
        for field in schema.get("fields", []):
            yield field
            yield from all_fields(field["type"])
        for key in ("items", "values"):
            yield from all_fields(schema.get(key))


@pytest.mark.parametrize("path", sorted(REGISTRY.schema_dir.glob("*/v*.avsc")), ids=lambda p: p.stem)
def test_every_schema_file_parses_and_is_documented(path: Path) -> None:
    raw = json.loads(path.read_text())
    fastavro.parse_schema(raw)
    assert raw["namespace"] == NAMESPACE
    undocumented = [f["name"] for f in all_fields(raw) if not f.get("doc")]
    assert undocumented == []


def test_every_schema_file_has_an_id_and_ids_are_unique() -> None:
    ids = json.loads((REGISTRY.schema_dir / "ids.json").read_text())
    all_ids = [schema_id for by_version in ids.values() for schema_id in by_version.values()]
    assert len(all_ids) == len(set(all_ids))
    on_disk = len(list(REGISTRY.schema_dir.glob("*/v*.avsc")))
    assert on_disk == len(all_ids), "every .avsc file must be listed in ids.json"


@pytest.mark.parametrize("subject", REGISTRY.subjects())
def test_latest_is_the_highest_version(subject: str) -> None:
    _, newest_id, raw = REGISTRY.versions(subject)[-1]
    schema_id, schema = REGISTRY.latest(subject)
    assert schema_id == newest_id
    assert schema is REGISTRY.schema_for_id(newest_id)
    assert schema["name"] == f"{NAMESPACE}.{raw['name']}"


def test_analyzed_trade_embeds_the_current_trade_schema() -> None:
    """originalTrade is the current CryptoTrade: a new trade version must be mirrored there."""
    _, _, analyzed = REGISTRY.versions("risk-analyzed-trades-value")[-1]
    _, _, trade = REGISTRY.versions("crypto-trades-value")[-1]
    embedded = next(f["type"] for f in analyzed["fields"] if f["name"] == "originalTrade")
    assert without_docs(embedded) == without_docs(trade)


def _field_type(schema: dict[str, Any], name: str) -> Any:
    return next(f["type"] for f in schema["fields"] if f["name"] == name)


def test_order_events_carry_the_fields_of_the_contract() -> None:
    _, schema_id, order = REGISTRY.versions(ORDERS_SUBJECT)[-1]
    assert (order["name"], schema_id) == ("OrderEvent", 5)
    assert [f["name"] for f in order["fields"]] == [
        "eventId", "orderId", "userId", "customerId", "symbol", "baseAsset", "quoteAsset", "side", "orderType",
        "eventType", "price", "quantity", "filledQuantity", "notional", "timestamp", "exchange",
        "walletAddress", "ipAddress", "country", "sessionId",
    ]  # fmt: skip
    optional = {f["name"]: (f["type"], f["default"]) for f in order["fields"] if "default" in f}
    assert optional == dict.fromkeys(["walletAddress", "ipAddress", "country", "sessionId"], (["null", "string"], None))
    assert [_field_type(order, name) for name in ("price", "quantity", "filledQuantity", "notional")] == ["double"] * 4
    assert _field_type(order, "timestamp") == "long"


def test_order_events_share_the_trades_side_and_order_type() -> None:
    """A side or an order type means the same on both topics: the enums are the CryptoTrade's (docs aside)."""
    _, _, order = REGISTRY.versions(ORDERS_SUBJECT)[-1]
    _, _, trade = REGISTRY.versions(TRADES_SUBJECT)[-1]
    for name in ("side", "orderType"):
        assert without_docs(_field_type(order, name)) == without_docs(_field_type(trade, name))


def test_the_schema_enums_are_the_models() -> None:
    _, _, order = REGISTRY.versions(ORDERS_SUBJECT)[-1]
    for name, enum in (("side", Side), ("orderType", OrderType), ("eventType", EventType)):
        assert _field_type(order, name)["symbols"] == [member.value for member in enum]


def test_the_trade_evolution_is_checked() -> None:
    """Guard against the parametrisation silently collapsing to nothing."""
    assert "crypto-trades-value:v1->v2" in [p.id for p in PAIRS]


@pytest.mark.parametrize(("old", "new"), PAIRS)
def test_evolution_follows_the_structural_rules(old: dict[str, Any], new: dict[str, Any]) -> None:
    assert evolution_violations(old, new, old["name"]) == []


def test_structural_rules_catch_breaking_changes() -> None:
    """Guard the guard: each rule fires on a deliberately breaking evolution."""
    old = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "kept", "type": "long"},
            {"name": "dropped", "type": "string"},
            {
                "name": "inner",
                "type": {"type": "record", "name": "I", "fields": [{"name": "x", "type": "int"}]},
            },
        ],
    }
    new = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "kept", "type": "string"},
            {"name": "added", "type": "string"},
            {
                "name": "inner",
                "type": {"type": "record", "name": "I", "fields": [{"name": "y", "type": "int"}]},
            },
        ],
    }
    assert sorted(evolution_violations(old, new, "R")) == [
        "R.added: added without a default",
        "R.dropped: removed but had no default",
        "R.inner.x: removed but had no default",
        "R.inner.y: added without a default",
        "R.kept: type changed",
    ]


@pytest.mark.parametrize(("old", "new"), PAIRS)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_old_data_is_readable_with_the_new_schema(
    old: dict[str, Any], new: dict[str, Any], data: st.DataObject
) -> None:
    record = data.draw(StrategyBuilder().build(old))
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(old), record)
    buf.seek(0)
    read = fastavro.schemaless_reader(buf, fastavro.parse_schema(old), fastavro.parse_schema(new))
    assert read == carried_over(record, old, new)


def test_schema_dir_can_be_overridden_by_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "schemas"
    shutil.copytree(REGISTRY.schema_dir, copy)
    ids = json.loads((copy / "ids.json").read_text())
    ids["risk-alerts-value"] = {"1": 44}
    (copy / "ids.json").write_text(json.dumps(ids))
    monkeypatch.setenv(SCHEMA_DIR_ENV, str(copy))
    registry = FixedIdRegistry()
    assert registry.schema_dir == copy
    assert registry.latest("risk-alerts-value")[0] == 44
