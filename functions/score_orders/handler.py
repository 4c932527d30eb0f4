"""MSK trigger on ``crypto-orders``: place every order event in its windows, detect order-book abuse, publish alerts.

A thin adapter, the sibling of ``score_trades`` (docs/decisions/0001-order-events.md): parse the
trigger event, hand the records to the engine, return the partial-batch response (empty unless the
batch must be retried as a whole). Order events raise alerts; they are not scored records.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from riskengine.msk import parse_event
from riskengine.observability import log_batch_done, powertools, record_batch_metrics
from riskengine.runtime import default_order_processor

logger, metrics, tracer = powertools("score-orders")


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = parse_event(event)
    outcome = default_order_processor().process(records)
    record_batch_metrics(metrics, outcome)
    log_batch_done(logger, outcome)
    return outcome.response()
