"""The index families: daily indices behind an alias, created from a template with explicit mappings.

Documents land in ``<alias>-YYYY.MM.DD`` chosen by the record's *event* time, so a redelivered
record always goes to the same index and its ``_id`` (tradeId, alertId) overwrites the first copy.
Queries and dashboards use the alias, which spans every daily index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

# Bump when a mapping changes: `riskengine search init` puts the templates again with the new version
# and brings the mappings of existing daily indices up to it (additive changes only, see provision.py).
# 2: alerts' ``category`` and the order-book rules' metrics; analysed trades' ``scoreContributions.orderBook``.
TEMPLATE_VERSION = 2

KEYWORD = MappingProxyType({"type": "keyword"})
DOUBLE = MappingProxyType({"type": "double"})
INTEGER = MappingProxyType({"type": "integer"})
BOOLEAN = MappingProxyType({"type": "boolean"})
DATE = MappingProxyType({"type": "date", "format": "epoch_millis||strict_date_optional_time"})
TEXT = MappingProxyType({"type": "text"})


@dataclass(frozen=True, slots=True)
class IndexFamily:
    alias: str
    id_field: str
    time_field: str
    properties: Mapping[str, Mapping[str, Any]]
    dynamic_templates: tuple[Mapping[str, Any], ...] = ()

    @property
    def pattern(self) -> str:
        return f"{self.alias}-*"

    def index_for(self, epoch_ms: int) -> str:
        """The daily index (UTC) holding a document whose event time is ``epoch_ms``."""
        day = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
        return f"{self.alias}-{day:%Y.%m.%d}"

    def mappings(self) -> dict[str, Any]:
        mappings: dict[str, Any] = {
            # Documents are built by our own code (documents.py), so an unknown field is a bug or a
            # schema change without a template change: reject it (dead letter) rather than guess a type.
            "dynamic": "strict",
            "_meta": {"template_version": TEMPLATE_VERSION},
            "properties": _plain(self.properties),
        }
        if self.dynamic_templates:
            mappings["dynamic_templates"] = _plain(list(self.dynamic_templates))
        return mappings

    def template(self, shards: int = 1, replicas: int = 1) -> dict[str, Any]:
        """A composable index template (OpenSearch 1.x+, Elasticsearch 7.8+) that also attaches the alias."""
        return {
            "index_patterns": [self.pattern],
            "priority": 100,
            "version": TEMPLATE_VERSION,
            "template": {
                "settings": {"number_of_shards": shards, "number_of_replicas": replicas},
                "mappings": self.mappings(),
                "aliases": {self.alias: {}},
            },
        }


def _plain(value: Any) -> Any:
    """Read-only mappings -> fresh dicts and lists a JSON serializer (and a caller) can use freely."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


ANALYZED_TRADES = IndexFamily(
    alias="risk-analyzed-trades",
    id_field="tradeId",
    time_field="timestamp",
    properties={
        **dict.fromkeys(
            ["tradeId", "userId", "customerId", "symbol", "baseAsset", "quoteAsset", "exchange", "side", "orderType"],
            KEYWORD,
        ),
        **dict.fromkeys(
            ["walletAddress", "sessionId", "ipAddress", "country", "orderId", "counterpartyUserId"], KEYWORD
        ),
        **dict.fromkeys(["quantity", "price", "notional"], DOUBLE),
        "timestamp": DATE,
        "riskScore": DOUBLE,
        "riskLevel": KEYWORD,
        **dict.fromkeys(["triggeredPatterns", "alertIds", "complianceFlags", "riskMitigationActions"], KEYWORD),
        # One double per score component (RiskScorer): orderBook is the order-book signal's share.
        "scoreContributions": MappingProxyType(
            {"properties": dict.fromkeys(["behaviour", "orderBook", "volume", "compliance", "marketImpact"], DOUBLE)}
        ),
        **dict.fromkeys(["volumeZScore", "maxPatternStrength", "symbolVolume5m", "impactRatio"], DOUBLE),
        **dict.fromkeys(["baselineTrades", "patternCount"], INTEGER),
        "lateEvent": BOOLEAN,
        "processedAt": DATE,
        "engineVersion": KEYWORD,
    },
)

# What each order-book rule measures (Match.metrics), mapped explicitly rather than left to the dynamic
# template: every daily index has these fields from its creation, so the Dashboards index pattern
# lists them (and panels and filters on them work) before the day's first order-book alert. All
# doubles, as the RiskAlert contract carries them (map<double>) and as the dynamic template maps
# every other metric, so one name has one type in every daily index behind the alias and bringing an
# older index up to this mapping only ever adds fields.
ORDER_BOOK_METRICS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "SPOOFING": (
            "orderNotional", "medianOrderNotional", "notionalRatio", "notionalRatioThreshold",
            "cancelAfterMs", "cancelWithinMs", "oppositeTrades",
        ),
        "LAYERING": (
            "orders", "ordersThreshold", "priceLevels", "priceLevelsThreshold", "placementSpanMs", "cancelSpanMs",
            "oppositeTrades",
        ),
        "EXCESSIVE_CANCELS": (
            "ordersPlaced", "cancels", "fills", "cancelsPerFill", "cancelsPerFillThreshold",
            "orderEvents", "orderEventsThreshold", "windowMs",
        ),
    }
)  # fmt: skip

ALERTS = IndexFamily(
    alias="risk-alerts",
    id_field="alertId",
    time_field="timestamp",
    properties={
        **dict.fromkeys(["alertId", "patternType", "rule", "severity", "userId", "customerId", "symbol"], KEYWORD),
        "exchange": KEYWORD,
        "category": KEYWORD,  # "order_book" or "trades", from patternType (categories.py)
        "timestamp": DATE,
        "detectedAt": DATE,
        "description": TEXT,
        "recommendedAction": TEXT,
        "triggeredEvents": KEYWORD,
        # Each rule measures different things (notional, zScore, dropPct, ...): any name, always a double
        # (the dynamic template below); the order-book rules' names are there from the index's creation.
        "metrics": MappingProxyType(
            {
                "type": "object",
                "dynamic": True,
                "properties": dict.fromkeys(sorted(set().union(*ORDER_BOOK_METRICS.values())), DOUBLE),
            }
        ),
        "acknowledged": BOOLEAN,
    },
    dynamic_templates=({"metrics_as_doubles": {"path_match": "metrics.*", "mapping": {"type": "double"}}},),
)

# The audit trail of acknowledgements: one document per acknowledgement, never overwritten, so
# redelivered alerts (which re-index the alert document) can never erase who acknowledged what.
ACKNOWLEDGEMENTS = IndexFamily(
    alias="risk-alert-acks",
    id_field="ackId",
    time_field="acknowledgedAt",
    properties={
        **dict.fromkeys(["ackId", "alertId", "acknowledgedBy", "userId", "patternType", "severity"], KEYWORD),
        "acknowledgedAt": DATE,
        "note": TEXT,
    },
)

FAMILIES: tuple[IndexFamily, ...] = (ANALYZED_TRADES, ALERTS, ACKNOWLEDGEMENTS)
