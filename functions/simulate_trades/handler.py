"""EventBridge schedule (every minute): produce the running simulation's trades that came due since the last tick.

A thin adapter over ``riskengine.simulation.SimulationTicker``. The run is started and stopped
through the intake API (``functions/ingest_trade``); both share its state in Redis. Ticks claim
their trades in Redis before writing them, so overlapping or retried invocations never produce a
trade twice. Locally ``riskengine api serve`` invokes this handler about once a second.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from riskengine.observability import powertools
from riskengine.simulation import default_ticker

__all__ = ["lambda_handler"]

logger, metrics, tracer = powertools("simulate-trades")


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Powertools keeps unflushed metrics between invocations when metrics are disabled (local runs).
    metrics.clear_metrics()
    # Wall-clock time, not the event's: a retried or late invocation produces what is due now.
    result = default_ticker().tick(now_ms=int(time.time() * 1000))
    metrics.add_metric(name="TradesSimulated", unit=MetricUnit.Count, value=result.produced)
    if result.produced or result.finished:
        logger.info("tick done", extra=result.as_dict())
    return result.as_dict()
