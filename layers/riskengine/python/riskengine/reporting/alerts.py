"""The alert list with each alert's acknowledgement status, and acknowledging an alert.

Acknowledgements live only in their own audit index (``risk-alert-acks``), one document per
acknowledgement, never updated: alert documents are re-indexed whenever ``risk-alerts`` is
redelivered, which would erase anything written into them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from opensearchpy import OpenSearch

from riskengine.reporting.errors import AlertNotFound
from riskengine.reporting.models import Acknowledgement, AcknowledgeRequest, AlertPage, AlertView
from riskengine.reporting.params import AlertCursor, AlertFilters, to_datetime
from riskengine.reporting.queries import acknowledgements_query, alert_by_id_query, alerts_page_query
from riskengine.reporting.store import create_document, search
from riskengine.search import ACKNOWLEDGEMENTS, ALERTS, alert_category

__all__ = ["acknowledge", "list_alerts"]


def list_alerts(client: OpenSearch, filters: AlertFilters, size: int, cursor: str | None = None) -> AlertPage:
    """One page of alerts, newest first, each with its acknowledgement status (two searches in all)."""
    after = AlertCursor.decode(cursor) if cursor else None
    response = search(client, ALERTS.alias, alerts_page_query(filters, size, after))
    hits = response["hits"]["hits"]
    page, more = hits[:size], len(hits) > size
    acks = _acknowledgements(client, [hit["_source"]["alertId"] for hit in page])
    return AlertPage(
        alerts=[_alert_view(hit["_source"], *acks.get(hit["_source"]["alertId"], (None, 0))) for hit in page],
        total=response["hits"]["total"]["value"],
        next_cursor=AlertCursor(*page[-1]["sort"]).encode() if more else None,
    )


def acknowledge(
    client: OpenSearch,
    alert_id: str,
    request: AcknowledgeRequest,
    *,
    now_ms: int,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> Acknowledgement:
    """Record that ``request.acknowledged_by`` acknowledged the alert; raises AlertNotFound if there is none.

    Every call adds a document: the id is random because two acknowledgements of one alert, even by
    the same person, are two events of the audit trail, not one to deduplicate.
    """
    hits = search(client, ALERTS.alias, alert_by_id_query(alert_id))["hits"]["hits"]
    if not hits:
        raise AlertNotFound(f"no alert with alertId {alert_id!r}: check the id against GET /alerts")
    alert = hits[0]["_source"]
    document = {
        "ackId": new_id(),
        "alertId": alert_id,
        "acknowledgedBy": request.acknowledged_by,
        "acknowledgedAt": now_ms,
        "userId": alert["userId"],
        "patternType": alert["patternType"],
        "severity": alert["severity"],
    }
    if request.note:
        document["note"] = request.note
    create_document(client, ACKNOWLEDGEMENTS.index_for(now_ms), document["ackId"], document)
    return _acknowledgement(document)


def _acknowledgements(client: OpenSearch, alert_ids: Sequence[str]) -> dict[str, tuple[Acknowledgement, int]]:
    """alertId -> (its first acknowledgement, how many it has), for the alerts that have any."""
    if not alert_ids:
        return {}
    response = search(client, ACKNOWLEDGEMENTS.alias, acknowledgements_query(alert_ids))
    buckets = response.get("aggregations", {}).get("byAlert", {}).get("buckets", [])
    return {
        bucket["key"]: (_acknowledgement(bucket["first"]["hits"]["hits"][0]["_source"]), bucket["doc_count"])
        for bucket in buckets
    }


def _acknowledgement(document: dict[str, Any]) -> Acknowledgement:
    return Acknowledgement(
        ack_id=document["ackId"],
        alert_id=document["alertId"],
        acknowledged_by=document["acknowledgedBy"],
        acknowledged_at=to_datetime(document["acknowledgedAt"]),
        note=document.get("note"),
        user_id=document["userId"],
        pattern_type=document["patternType"],
        severity=document["severity"],
    )


def _alert_view(source: dict[str, Any], acknowledgement: Acknowledgement | None, count: int) -> AlertView:
    return AlertView(
        alert_id=source["alertId"],
        pattern_type=source["patternType"],
        # From the pattern, as the indexer derives it: alerts indexed before the field existed have none.
        category=alert_category(source["patternType"]),
        rule=source["rule"],
        severity=source["severity"],
        user_id=source["userId"],
        customer_id=source["customerId"],
        symbol=source["symbol"],
        exchange=source["exchange"],
        timestamp=to_datetime(source["timestamp"]),
        detected_at=to_datetime(source["detectedAt"]),
        description=source["description"],
        recommended_action=source["recommendedAction"],
        triggered_events=source.get("triggeredEvents", []),
        metrics=source.get("metrics", {}),
        # The alert document's own flag is always false (as raised); the audit trail is the truth.
        acknowledged=acknowledgement is not None,
        acknowledgement=acknowledgement,
        acknowledgements=count,
    )
