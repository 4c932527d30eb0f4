"""The operator tools' defaults name what the CDK app deploys."""

from __future__ import annotations

import inspect

from riskengine_infra.topics import Topics
from riskengine_tools.cli.redrive import redrive
from riskengine_tools.redrive import RedriveOptions


def test_redrive_reads_the_triggers_on_failure_topic_by_default() -> None:
    assert RedriveOptions("b:9092").failure_topic == Topics().trigger_failures
    assert inspect.signature(redrive).parameters["failure_topic"].default == Topics().trigger_failures
