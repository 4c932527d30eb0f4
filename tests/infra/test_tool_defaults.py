"""The operator tools' defaults name what the CDK app deploys."""

from __future__ import annotations

import inspect

from standins import deployment

from riskengine.sinks import Topics as EngineTopics
from riskengine_infra.topics import Topics
from riskengine_tools.cli.redrive import redrive
from riskengine_tools.local.triggers import dispatching, indexing, scoring
from riskengine_tools.redrive import RedriveOptions


def test_redrive_reads_the_triggers_on_failure_topic_by_default() -> None:
    assert RedriveOptions("b:9092").failure_topic == Topics().trigger_failures
    assert inspect.signature(redrive).parameters["failure_topic"].default == Topics().trigger_failures


def test_the_local_bridges_stand_in_for_exactly_the_deployed_triggers() -> None:
    """``riskengine demo``, ``api serve`` and ``make localstack-bridge`` run these: function, topic and group of
    every event source mapping of the functions stack (with the default prefix), none more."""
    local = {*scoring(EngineTopics()), dispatching(EngineTopics()), *indexing(EngineTopics())}
    deployed = deployment().functions.triggers
    assert sorted((t.function, t.topic, t.group_id) for t in local) == sorted(
        (t.function, t.topic, t.group) for t in deployed
    )
