"""MSK trigger on ``risk-alerts``: publish every RiskAlert to the alerts SNS topic.

A thin adapter: parse the trigger event, hand the records to the dispatcher, emit metrics and
return the partial-batch response (the records whose SNS message still failed, for a retry).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from riskengine.alerting import default_dispatcher
from riskengine.msk import parse_event
from riskengine.observability import powertools, record_dispatch_metrics

logger, metrics, tracer = powertools("dispatch-alerts")


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = default_dispatcher().dispatch(parse_event(event))
    record_dispatch_metrics(metrics, outcome)
    logger.info(
        "batch done",
        extra={
            "received": outcome.received,
            "delivered": outcome.delivered,
            "digested": outcome.digested,
            "digests_sent": outcome.digests_sent,
            "already_sent": outcome.already_sent,
            "undecodable": outcome.undecodable,
            "delivery_failures": outcome.delivery_failures,
        },
    )
    return outcome.response()
