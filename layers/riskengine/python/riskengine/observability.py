"""Powertools Logger, Metrics and Tracer for the functions, and the batch metrics they emit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from riskengine.pipeline import BatchOutcome

if TYPE_CHECKING:  # the score_trades function never loads the alerting or search packages
    from riskengine.alerting import DispatchOutcome
    from riskengine.search import IndexingOutcome

NAMESPACE = "RiskEngine"


def powertools(service: str) -> tuple[Logger, Metrics, Tracer]:
    """Logger (JSON), Metrics (EMF) and Tracer for one function; env vars may override them.

    The engine logs through the standard ``logging`` module; its loggers get the function
    logger's JSON formatter and level, so every line is structured and carries the same keys.
    """
    logger = Logger(service=service)
    copy_config_to_registered_loggers(source_logger=logger, include={"riskengine"})
    return logger, Metrics(namespace=NAMESPACE, service=service), Tracer(service=service)


def _start_invocation(metrics: Metrics) -> None:
    """Forget metrics an earlier invocation left behind.

    With POWERTOOLS_METRICS_DISABLED (local runs), Powertools never clears what it did not
    print, so the shared metric set would grow for ever and leak into the next invocation.
    """
    metrics.clear_metrics()


def record_batch_metrics(metrics: Metrics, outcome: BatchOutcome) -> None:
    """Add one score_trades invocation's metrics; ``log_metrics`` flushes them as one EMF record."""
    _start_invocation(metrics)
    metrics.add_metric(name="BatchSize", unit=MetricUnit.Count, value=outcome.received)
    metrics.add_metric(name="BatchLatencyMs", unit=MetricUnit.Milliseconds, value=outcome.latency_ms)
    metrics.add_metric(name="TradesScored", unit=MetricUnit.Count, value=outcome.scored)
    metrics.add_metric(name="DeadLettered", unit=MetricUnit.Count, value=sum(outcome.dead_letters.values()))
    metrics.add_metric(name="DuplicateTrades", unit=MetricUnit.Count, value=outcome.duplicates)
    metrics.add_metric(name="RedeliveredTrades", unit=MetricUnit.Count, value=outcome.redelivered)
    metrics.add_metric(
        name="ConflictingDuplicates", unit=MetricUnit.Count, value=outcome.dead_letters["conflicting_duplicate"]
    )
    metrics.add_metric(name="LateTrades", unit=MetricUnit.Count, value=outcome.late_trades)
    metrics.add_metric(name="AlertsSuppressed", unit=MetricUnit.Count, value=outcome.alerts_suppressed)
    metrics.add_metric(name="AlertsRepublished", unit=MetricUnit.Count, value=outcome.alerts_republished)
    metrics.add_metric(name="RuleFailures", unit=MetricUnit.Count, value=outcome.rule_failures)
    metrics.add_metric(name="BatchFailures", unit=MetricUnit.Count, value=int(outcome.failure is not None))
    per_pattern: dict[str, int] = {}
    for (pattern, _severity), count in outcome.alerts.items():
        per_pattern[pattern] = per_pattern.get(pattern, 0) + count
    for pattern, count in sorted(per_pattern.items()):
        # One metric name per pattern keeps the EMF blob to a single dimension set.
        metrics.add_metric(name=f"AlertsRaised_{pattern}", unit=MetricUnit.Count, value=count)


def log_batch_done(logger: Logger, outcome: BatchOutcome) -> None:
    """The one summary line per batch both scoring functions log."""
    logger.info(
        "batch done",
        extra={
            "received": outcome.received,
            "scored": outcome.scored,
            "dead_lettered": sum(outcome.dead_letters.values()),
            "alerts": sum(outcome.alerts.values()),
            "latency_ms": round(outcome.latency_ms, 1),
            "failure": outcome.failure,
        },
    )


def log_flagged_trades(logger: Logger, outcome: BatchOutcome) -> None:
    """One line per trade that raised or re-found an alert, with its trade id as correlation id."""
    if outcome.evaluation is None:
        return
    for record in outcome.evaluation.analyzed:
        if record["alertIds"]:
            logger.set_correlation_id(record["originalTrade"]["tradeId"])
            logger.info(
                "trade flagged",
                extra={
                    "user_id": record["originalTrade"]["userId"],
                    "patterns": record["triggeredPatterns"],
                    "alert_ids": record["alertIds"],
                    "risk_score": record["riskScore"],
                    "risk_level": record["finalRiskLevel"],
                },
            )
    logger.set_correlation_id(None)


def record_dispatch_metrics(metrics: Metrics, outcome: DispatchOutcome) -> None:
    """Add one dispatch_alerts invocation's metrics; ``log_metrics`` flushes them as one EMF record."""
    _start_invocation(metrics)
    for name, value in (
        ("AlertsDelivered", outcome.delivered),
        ("AlertsDigested", outcome.digested),
        ("DigestsSent", outcome.digests_sent),
        ("AlertsAlreadySent", outcome.already_sent),
        ("AlertsUndecodable", outcome.undecodable),
        ("DeliveryFailures", outcome.delivery_failures),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def record_index_metrics(metrics: Metrics, outcome: IndexingOutcome) -> None:
    """Add one index_search invocation's metrics; ``log_metrics`` flushes them as one EMF record."""
    _start_invocation(metrics)
    for name, value in (
        ("DocumentsIndexed", outcome.indexed),
        ("DocumentsDeadLettered", sum(outcome.dead_lettered.values())),
        ("IndexingFailures", len(outcome.failed_records)),
        ("BulkAttempts", outcome.bulk_attempts),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
