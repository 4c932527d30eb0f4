"""``riskengine redrive``: records a Kafka trigger gave up on, through their function again (docs/runbook.md)."""

from riskengine_tools.redrive.failures import FailedInvocation, OffsetRange, UnreadableFailureRecord, parse_failure
from riskengine_tools.redrive.run import (
    Deliver,
    FailureTopicUnavailable,
    FunctionReport,
    RedriveOptions,
    RedriveReport,
    redrive,
)
from riskengine_tools.redrive.targets import deployed_functions, local_handlers

__all__ = [
    "Deliver",
    "FailedInvocation",
    "FailureTopicUnavailable",
    "FunctionReport",
    "OffsetRange",
    "RedriveOptions",
    "RedriveReport",
    "UnreadableFailureRecord",
    "deployed_functions",
    "local_handlers",
    "parse_failure",
    "redrive",
]
