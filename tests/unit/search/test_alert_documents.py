"""Alert documents and the alerts mapping for order-book alerts: category, order-event evidence, metrics.

The alerts are built by the engine's own builder (``riskengine.alerts.build_alert``) from an order
event, as the engine raises them: their evidence is order eventIds and no analysed trade exists.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from riskengine.alerts import build_alert
from riskengine.detectors import available_rules
from riskengine.detectors.base import Match, Rule, RuleConfig, SequenceRule
from riskengine.model import EventType, OrderEvent, OrderType, RiskLevel, Side
from riskengine.search import (
    ALERTS,
    ORDER_BOOK_METRICS,
    ORDER_BOOK_PATTERNS,
    TEMPLATE_VERSION,
    AlertCategory,
    alert_category,
    alert_document,
)

SPINE_PATTERNS = ("WASH_TRADING", "SELF_TRADE", "LARGE_ORDER", "VOLUME_SPIKE", "FLASH_CRASH", "RAPID_BURST")
CANCEL_MS = 1_764_000_030_000


def cancel(order_id: str = "O-BAIT") -> OrderEvent:
    """The CANCEL that completes an order-book match (the event an order-book alert is raised by)."""
    return OrderEvent(
        event_id=f"{order_id}-cancel", order_id=order_id, user_id="U-SPOOF", customer_id="C-SPOOF",
        symbol="BTC/USDT", side=Side.BUY, order_type=OrderType.LIMIT, event_type=EventType.CANCEL,
        price=100_000.0, quantity=0.0, filled_quantity=0.0, notional=0.0, timestamp=CANCEL_MS,
        exchange="BINANCE", country=None, record={},
    )  # fmt: skip


def raised(pattern: str, metrics: dict[str, float], evidence: tuple[str, ...]) -> dict[str, Any]:
    """A RiskAlert record as the engine builds it for a rule of ``pattern`` completed by an order event."""
    rule = type("Stub", (Rule,), {"name": pattern, "pattern": pattern, "version": 1, "Config": RuleConfig})
    match = Match(0.8, evidence, CANCEL_MS, metrics, "bait cancelled", episode="O-BAIT")
    return build_alert(rule(), match, RiskLevel.HIGH, cancel(), "rk:v2:{u:U-SPOOF}:ob:BTC/USDT@BINANCE", CANCEL_MS + 40)


def order_book_alert(pattern: str) -> dict[str, Any]:
    metrics = {name: float(i + 1) for i, name in enumerate(ORDER_BOOK_METRICS[pattern])}
    return raised(pattern, metrics, ("O-BAIT-new", "T-OPPOSITE-1", "O-BAIT-cancel"))


def mapped(path: str) -> dict[str, Any] | None:
    """The mapping of a dotted field in the alerts template, or None when the template does not name it."""
    spec: dict[str, Any] | None = {"properties": ALERTS.mappings()["properties"]}
    for part in path.split("."):
        spec = (spec or {}).get("properties", {}).get(part)
    return spec


def test_every_order_book_pattern_has_its_metrics_mapped_and_nothing_else_is_called_order_book() -> None:
    assert set(ORDER_BOOK_METRICS) == ORDER_BOOK_PATTERNS == {"SPOOFING", "LAYERING", "EXCESSIVE_CANCELS"}
    for pattern in SPINE_PATTERNS:
        assert alert_category(pattern) is AlertCategory.TRADES


def test_an_order_book_alert_document_holds_its_category_its_order_events_and_every_field_is_mapped() -> None:
    for pattern in ORDER_BOOK_PATTERNS:
        alert = order_book_alert(pattern)
        document = alert_document(alert)
        assert document == alert | {"category": "order_book"}
        assert document["triggeredEvents"] == ["O-BAIT-new", "T-OPPOSITE-1", "O-BAIT-cancel"]
        assert document["rule"] == f"{pattern}@1" and document["timestamp"] == CANCEL_MS
        # The mapping is strict: a field it does not name would be rejected, so every field must be there.
        for field in document:
            assert mapped(field) is not None, f"{pattern}: {field} is not in the alerts mapping"
        for metric in document["metrics"]:
            assert mapped(f"metrics.{metric}") == {"type": "double"}, f"{pattern}: metrics.{metric}"


def test_a_trade_alert_document_is_of_category_trades() -> None:
    alert = raised("WASH_TRADING", {"quantityRatio": 1.02, "windowMs": 30_000.0}, ("T-1", "T-2", "T-3"))
    assert alert_document(alert)["category"] == "trades"


def test_the_alerts_mapping_is_strict_but_takes_any_other_metric_as_a_double() -> None:
    mappings = ALERTS.mappings()
    assert mappings["dynamic"] == "strict"
    assert mappings["_meta"] == {"template_version": TEMPLATE_VERSION}
    assert mapped("category") == {"type": "keyword"}
    assert mappings["properties"]["metrics"]["dynamic"] is True
    assert mappings["dynamic_templates"] == [
        {"metrics_as_doubles": {"path_match": "metrics.*", "mapping": {"type": "double"}}}
    ]


def test_each_rule_that_reads_order_book_windows_is_an_order_book_pattern_and_no_other_rule_is() -> None:
    for rule in available_rules().values():
        reads_orders = issubclass(rule, SequenceRule) and OrderEvent in rule.scope.kinds
        assert (rule.pattern in ORDER_BOOK_PATTERNS) == reads_orders, rule.pattern


@given(st.text(alphabet=st.characters(categories=["Lu", "Nd"], include_characters="_"), min_size=1))
def test_the_category_depends_on_the_pattern_alone(pattern: str) -> None:
    expected = AlertCategory.ORDER_BOOK if pattern in ORDER_BOOK_PATTERNS else AlertCategory.TRADES
    assert alert_category(pattern) is expected


@given(
    st.sampled_from(sorted(ORDER_BOOK_PATTERNS) + list(SPINE_PATTERNS)),
    st.dictionaries(st.sampled_from(["orders", "cancels", "windowMs", "other"]), st.floats(allow_nan=False)),
)
def test_building_the_document_again_gives_the_same_document_and_leaves_the_alert_as_it_was(
    pattern: str, metrics: dict[str, float]
) -> None:
    alert = raised(pattern, metrics, ("E-1", "E-2"))
    before = {**alert, "triggeredEvents": list(alert["triggeredEvents"]), "metrics": dict(alert["metrics"])}
    first, second = alert_document(alert), alert_document(alert)
    assert first == second  # a redelivered alert overwrites its document with the same content
    first["triggeredEvents"].append("X")
    first["metrics"]["X"] = 1.0
    assert alert == before  # the document shares no list or dict with the record
