"""MSK trigger on ``risk-analyzed-trades`` and ``risk-alerts``: index every record into OpenSearch.

A thin adapter: parse the trigger event, hand the records to the search indexer, emit metrics
and return the partial-batch response (the records that still failed, for a retry).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from riskengine.msk import parse_event
from riskengine.observability import powertools, record_index_metrics
from riskengine.search import default_search_indexer

logger, metrics, tracer = powertools("index-search")


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = default_search_indexer().process(parse_event(event))
    record_index_metrics(metrics, outcome)
    logger.info(
        "batch done",
        extra={
            "received": outcome.received,
            "indexed": outcome.indexed,
            "dead_lettered": dict(outcome.dead_lettered),
            "failed": len(outcome.failed_records),
            "bulk_attempts": outcome.bulk_attempts,
        },
    )
    return outcome.response()
