"""MSK trigger on ``crypto-trades``: score every trade, detect patterns, publish results.

A thin adapter: parse the trigger event, hand the records to the engine, return the
partial-batch response (empty unless the batch must be retried as a whole).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from riskengine.msk import parse_event
from riskengine.observability import log_batch_done, log_flagged_trades, powertools, record_batch_metrics
from riskengine.runtime import default_processor

logger, metrics, tracer = powertools("score-trades")


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = parse_event(event)
    outcome = default_processor().process(records)
    record_batch_metrics(metrics, outcome)
    log_flagged_trades(logger, outcome)
    log_batch_done(logger, outcome)
    return outcome.response()
