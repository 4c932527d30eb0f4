"""Where redriven records go: the deployed function (Lambda Invoke), or its handler run in this process."""

from __future__ import annotations

from typing import Any

from riskengine_tools.local.bridge import Invoke, load_handler
from riskengine_tools.local.lambda_invoke import LambdaInvoker, lambda_client
from riskengine_tools.local.paths import function_handler
from riskengine_tools.redrive.run import Deliver

__all__ = ["deployed_functions", "local_handlers"]


def deployed_functions(endpoint_url: str | None, region: str) -> Deliver:
    """Invoke the function named in the failure record, as its trigger would (RequestResponse)."""
    client = lambda_client(endpoint_url, region)
    return lambda function, event: LambdaInvoker(client, function)(event)


def local_handlers(prefix: str) -> Deliver:
    """Run ``functions/<name>/handler.py`` here, configured by this environment (REDIS_URL, KAFKA_*, ...).

    ``<prefix>-score-trades`` (the deployed name) runs ``functions/score_trades``.
    """
    handlers: dict[str, Invoke] = {}

    def deliver(function: str, event: dict[str, Any]) -> dict[str, Any] | None:
        if function not in handlers:
            folder = function.removeprefix(f"{prefix}-").replace("-", "_")
            handlers[function] = load_handler(function_handler(folder))
        return handlers[function](event)

    return deliver
