"""Alert delivery: RiskAlerts from ``risk-alerts`` to an SNS topic, once each, storms digested."""

from riskengine.alerting.config import DispatchConfig
from riskengine.alerting.dispatcher import AlertDispatcher, DispatchOutcome, default_dispatcher, sns_client
from riskengine.alerting.messages import SnsMessage, format_alert, format_digest, metric_lines
from riskengine.alerting.planning import Plan, plan_batch
from riskengine.alerting.publisher import PublishResult, SnsPublisher, is_retryable_entry, is_retryable_error
from riskengine.alerting.state import DispatchState

__all__ = [
    "AlertDispatcher",
    "DispatchConfig",
    "DispatchOutcome",
    "DispatchState",
    "Plan",
    "PublishResult",
    "SnsMessage",
    "SnsPublisher",
    "default_dispatcher",
    "format_alert",
    "format_digest",
    "is_retryable_entry",
    "is_retryable_error",
    "metric_lines",
    "plan_batch",
    "sns_client",
]
