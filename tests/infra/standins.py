"""The deployment the layers, functions, api and monitoring tests start from.

While the network, alerting, streaming, state and search stacks were being written, this module held stand-ins
with their attributes; the real stacks replaced them. :func:`deployment` wires them as ``infra/app.py`` does, from
``cdk.json``'s context plus the test's overrides, in the test account and region, with bundling skipped and
cdk-nag 3 reporting (not raising) its findings, which :func:`findings` reads back after synthesis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from infra_testing import TEST_ACCOUNT, TEST_CONTEXT, TEST_REGION

from riskengine_infra import nag
from riskengine_infra.config import DeploymentConfig
from riskengine_infra.stacks.alerting import AlertingStack
from riskengine_infra.stacks.functions import FunctionsStack
from riskengine_infra.stacks.layers import LayersStack
from riskengine_infra.stacks.network import NetworkStack
from riskengine_infra.stacks.search import SearchStack
from riskengine_infra.stacks.state import StateStack
from riskengine_infra.stacks.streaming import StreamingStack

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
ENV = cdk.Environment(account=TEST_ACCOUNT, region=TEST_REGION)


@dataclass
class Deployment:
    app: cdk.App
    config: DeploymentConfig
    network: NetworkStack
    layers: LayersStack
    alerting: AlertingStack
    streaming: StreamingStack
    state: StateStack
    search: SearchStack
    functions: FunctionsStack
    assembly: cdk.cx_api.CloudAssembly | None = field(default=None)

    def synth(self) -> cdk.cx_api.CloudAssembly:
        """Synthesize once (add the stacks under test first), with the AwsSolutions checks."""
        if self.assembly is None:
            nag.add_checks(self.app)
            self.assembly = self.app.synth()
        return self.assembly

    def findings(self, stack: cdk.Stack) -> list[str]:
        """Unacknowledged AwsSolutions findings on ``stack``: any of them, warnings too, fails ``cdk synth``."""
        return nag.aws_solutions_findings(self.synth(), stack)


def deployment(context: dict[str, Any] | None = None) -> Deployment:
    """Every stack up to the functions stack; ``context`` overrides cdk.json (kebab-case keys)."""
    app = cdk.App(context=CONTEXT | TEST_CONTEXT | nag.REPORT_ONLY_CONTEXT | (context or {}))
    config = DeploymentConfig.from_context(app.node.try_get_context)
    p = config.prefix
    network = NetworkStack(app, f"{p}-network", config=config, env=ENV)
    layers = LayersStack(app, f"{p}-layers", config=config, env=ENV)
    alerting = AlertingStack(app, f"{p}-alerting", config=config, env=ENV)
    streaming = StreamingStack(app, f"{p}-streaming", config=config, network=network, layers=layers, env=ENV)
    state = StateStack(app, f"{p}-state", config=config, network=network, env=ENV)
    search = SearchStack(app, f"{p}-search", config=config, network=network, layers=layers, env=ENV)
    functions = FunctionsStack(
        app,
        f"{p}-functions",
        config=config,
        network=network,
        layers=layers,
        streaming=streaming,
        state=state,
        search=search,
        alerting=alerting,
        env=ENV,
    )
    return Deployment(app, config, network, layers, alerting, streaming, state, search, functions)
