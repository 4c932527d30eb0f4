#!/usr/bin/env python3
"""The CDK app: ``cdk synth`` / ``cdk deploy --all`` from the repository root (see cdk.json and docs/deploy.md).

Account and region come from the CLI's environment (``CDK_DEFAULT_ACCOUNT`` / ``CDK_DEFAULT_REGION``); without
them the stacks are synthesized environment-agnostic, which is how CI checks them with no AWS credentials.

Context ``stacks`` (``-c stacks=alerting,configuration``) builds only those of the stacks that need no other
stack, so they synthesize and deploy without the heavy ones (no layers built): that is how LocalStack's free
edition gets them (``make localstack-check``, docs/localstack.md).
"""

from __future__ import annotations

import os

import aws_cdk as cdk

from riskengine_infra import nag
from riskengine_infra.config import ContextError, DeploymentConfig
from riskengine_infra.stacks import (
    AlertingStack,
    ApiStack,
    ConfigurationStack,
    FunctionsStack,
    LayersStack,
    MonitoringStack,
    NetworkStack,
    SearchStack,
    StateStack,
    StreamingStack,
)

# The stacks that need no other stack, hence can be built alone (context ``stacks``).
STANDALONE = {"alerting": AlertingStack, "configuration": ConfigurationStack}


def build_standalone(app: cdk.App, config: DeploymentConfig, env: cdk.Environment, names: str) -> dict[str, cdk.Stack]:
    """The stacks of the comma-separated ``names``, each one of ``STANDALONE``, and nothing else."""
    selected = [name.strip() for name in names.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(STANDALONE))
    if unknown or not selected:
        raise ContextError(
            f"context stacks may name only stacks that stand alone ({', '.join(STANDALONE)}), got {names!r}; "
            "the others are built by the whole app (no -c stacks)"
        )
    return {name: STANDALONE[name](app, f"{config.prefix}-{name}", config=config, env=env) for name in selected}


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
    """Every stack of the deployment, wired together, or those context ``stacks`` names; returned by concern."""
    config = DeploymentConfig.from_context(app.node.try_get_context)
    env = cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
    p = config.prefix
    only = app.node.try_get_context("stacks")
    stacks = build_standalone(app, config, env, str(only)) if only else _build_all(app, config, env)
    for stack in stacks.values():
        cdk.Tags.of(stack).add("application", p)
    nag.add_checks(app)  # cdk-nag's AwsSolutions pack: an unacknowledged finding fails the synth
    return stacks


def _build_all(app: cdk.App, config: DeploymentConfig, env: cdk.Environment) -> dict[str, cdk.Stack]:
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
    stacks["configuration"] = ConfigurationStack(app, f"{p}-configuration", config=config, env=env)
    return stacks


if __name__ == "__main__":
    application = cdk.App()
    build(application)
    application.synth()
