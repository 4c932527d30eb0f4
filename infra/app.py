#!/usr/bin/env python3
"""The CDK app: ``cdk synth`` / ``cdk deploy --all`` from the repository root (see cdk.json and docs/deploy.md).

Account and region come from the CLI's environment (``CDK_DEFAULT_ACCOUNT`` / ``CDK_DEFAULT_REGION``); without
them the stacks are synthesized environment-agnostic, which is how CI checks them with no AWS credentials.
"""

from __future__ import annotations

import os

import aws_cdk as cdk

from riskengine_infra import nag
from riskengine_infra.config import DeploymentConfig
from riskengine_infra.stacks import (
    AlertingStack,
    ApiStack,
    FunctionsStack,
    LayersStack,
    MonitoringStack,
    NetworkStack,
    SearchStack,
    StateStack,
    StreamingStack,
)


def build_foundation(app: cdk.App, config: DeploymentConfig, env: cdk.Environment) -> dict[str, cdk.Stack]:
    """The stacks up to and including the functions, wired together (the api and monitoring stacks use them)."""
    p = config.prefix
    network = NetworkStack(app, f"{p}-network", config=config, env=env)
    layers = LayersStack(app, f"{p}-layers", config=config, env=env)
    alerting = AlertingStack(app, f"{p}-alerting", config=config, env=env)
    streaming = StreamingStack(app, f"{p}-streaming", config=config, network=network, layers=layers, env=env)
    state = StateStack(app, f"{p}-state", config=config, network=network, env=env)
    search = SearchStack(app, f"{p}-search", config=config, network=network, layers=layers, env=env)
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
        env=env,
    )
    # The functions read the broker string from the streaming stack's SSM parameter, a reference CDK cannot see.
    functions.add_stack_dependency(streaming, "reads the bootstrap-broker SSM parameter of the streaming stack")
    return {
        "network": network,
        "layers": layers,
        "alerting": alerting,
        "streaming": streaming,
        "state": state,
        "search": search,
        "functions": functions,
    }


def build(app: cdk.App) -> dict[str, cdk.Stack]:
    """Every stack of the deployment, wired together; returned by concern for tests and tools."""
    config = DeploymentConfig.from_context(app.node.try_get_context)
    env = cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
    stacks = build_foundation(app, config, env)
    p = config.prefix
    stacks["api"] = ApiStack(app, f"{p}-api", config=config, functions=stacks["functions"], env=env)
    stacks["monitoring"] = MonitoringStack(
        app,
        f"{p}-monitoring",
        config=config,
        functions=stacks["functions"],
        streaming=stacks["streaming"],
        state=stacks["state"],
        search=stacks["search"],
        alerting=stacks["alerting"],
        api=stacks["api"],
        env=env,
    )
    for stack in stacks.values():
        cdk.Tags.of(stack).add("application", p)
    nag.add_checks(app)  # cdk-nag's AwsSolutions pack: an unacknowledged finding fails the synth
    return stacks


if __name__ == "__main__":
    application = cdk.App()
    build(application)
    application.synth()
