"""The engine's settings as SSM parameters under ``/{prefix}/configuration/``, one place to read them from.

- ``rules``: the rule settings (context ``risk-rules``, the JSON ``RISK_RULES_JSON`` takes; ``{}``: every rule with
  its defaults), checked at synth time by the engine's own loader, so a typo fails the synth, not the functions;
- ``topics``: each Kafka topic with its partitions and retention, as the streaming stack creates them;
- ``alert-severities``: the severities the alert e-mails (and the optional queue) are filtered to.

The stack needs no other stack, so it can be deployed alone (``-c stacks=configuration``), which is how
LocalStack's free edition gets it (docs/localstack.md).
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from riskengine.detectors import load_rules
from riskengine.errors import ConfigurationError
from riskengine_infra.config import ContextError, DeploymentConfig
from riskengine_infra.stacks.alerting import EMAIL_SEVERITIES
from riskengine_infra.topics import topic_settings

__all__ = ["ConfigurationStack"]


class ConfigurationStack(cdk.Stack):
    """``parameters`` by name (``rules``, ``topics``, ``alert-severities``); ``path`` is their common prefix."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        rules = json.loads(config.risk_rules)
        try:
            load_rules(rules)
        except ConfigurationError as exc:
            raise ContextError(f"context risk-rules: {exc}") from exc
        self.path = f"/{config.prefix}/configuration"
        self.parameters: dict[str, ssm.StringParameter | ssm.StringListParameter] = {
            "rules": self._json("Rules", "rules", rules, "rule settings, as RISK_RULES_JSON takes them"),
            "topics": self._json("Topics", "topics", topic_settings(config), "Kafka topics: partitions, retention"),
            "alert-severities": ssm.StringListParameter(
                self,
                "AlertSeverities",
                parameter_name=f"{self.path}/alert-severities",
                string_list_value=list(EMAIL_SEVERITIES),
                description="riskengine: the severities alert e-mails are filtered to",
            ),
        }

    def _json(self, construct_id: str, name: str, value: Any, description: str) -> ssm.StringParameter:
        return ssm.StringParameter(
            self,
            construct_id,
            parameter_name=f"{self.path}/{name}",
            string_value=json.dumps(value, sort_keys=True, separators=(",", ":")),
            description=f"riskengine: {description}",
        )
