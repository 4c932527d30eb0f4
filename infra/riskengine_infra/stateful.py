"""What happens to the data of the stateful stacks (streaming, state, search) when a stack or a resource goes.

Context ``retain-data`` (default true): the MSK cluster, the cache and the OpenSearch domain are kept (or, where
CloudFormation can, snapshotted) when their stack is deleted or a change would replace them, with the KMS keys
that encrypt them, and the stacks have termination protection. ``retain-data=false`` is for dev environments:
every resource of these stacks is deleted with its stack and nothing protects the stacks, so ``cdk destroy --all``
leaves nothing behind that a second deployment with the same prefix would collide with.
"""

from __future__ import annotations

import aws_cdk as cdk

from riskengine_infra.config import DeploymentConfig

__all__ = ["protect_data"]


def protect_data(stack: cdk.Stack, config: DeploymentConfig, data: dict[cdk.CfnResource, cdk.RemovalPolicy]) -> None:
    """Apply ``retain-data`` to ``stack``: with it, each resource of ``data`` gets its policy (RETAIN, or SNAPSHOT
    where the resource type supports it) and the stack termination protection; without it, every resource of the
    stack is destroyed with it."""
    stack.termination_protection = config.retain_data
    if config.retain_data:
        for resource, policy in data.items():
            resource.apply_removal_policy(policy)
    else:
        cdk.RemovalPolicies.of(stack).destroy()
