"""The deployment the layers, functions, api and monitoring tests start from.

:func:`deployment` wires the real stacks with ``infra/app.py``'s own ``build_foundation``, from
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

from app import build_foundation
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
    return Deployment(app, config, **build_foundation(app, config, ENV))  # type: ignore[arg-type]
