"""What can go wrong when answering a report request, one class per HTTP answer the API gives."""

from __future__ import annotations

from riskengine.errors import RiskEngineError

__all__ = ["AlertNotFound", "InvalidParameter", "SearchUnavailable"]


class InvalidParameter(RiskEngineError):
    """A request parameter the caller must fix (400); the detail says which one and how."""

    reason = "invalid_parameter"


class AlertNotFound(RiskEngineError):
    """The alert to acknowledge is not in the alerts index (404)."""

    reason = "alert_not_found"


class SearchUnavailable(RiskEngineError):
    """OpenSearch cannot be reached or is overloaded (503); the caller should retry later."""

    reason = "search_unavailable"
