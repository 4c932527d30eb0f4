"""The two Lambda layers every function loads: the engine package, and its pinned runtime dependencies.

Both are bundled on this machine by default (``riskengine_infra.bundling``: a copy, and ``pip install
--platform``), so ``cdk synth`` needs neither Docker nor a matching CPU. With context ``bundling=docker`` the
local bundlers decline and CDK runs the same steps in the Lambda build image instead.

Functions in other stacks should take the layers through :meth:`LayersStack.layers_for`: a new layer version
has a new ARN, and CloudFormation refuses to change an export another stack imports, so a plain cross-stack
reference would fail the deployment after any change to the engine or its dependencies.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from riskengine_infra import bundling
from riskengine_infra.config import DeploymentConfig

ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}


@jsii.implements(cdk.ILocalBundling)
class LocalBundling:
    """Runs ``build(output_dir)`` on this machine; declines when disabled, so CDK falls back to Docker."""

    def __init__(self, build: Callable[[Path], None], *, enabled: bool) -> None:
        self._build = build
        self._enabled = enabled

    def try_bundle(self, output_dir: str, options: cdk.BundlingOptions) -> bool:
        if not self._enabled:
            return False
        self._build(Path(output_dir))
        return True


def build_engine(output_dir: Path) -> None:
    _report("engine", bundling.build_engine_layer(output_dir))


def dependency_builder(architecture: str, requirements: list[str]) -> Callable[[Path], None]:
    def build_dependencies(output_dir: Path) -> None:
        _report(f"dependency ({architecture})", bundling.build_dependency_layer(output_dir, architecture, requirements))

    return build_dependencies


def _report(layer: str, size: int) -> None:
    """Print the size (stderr: stdout belongs to cdk synth) and fail the bundling if this layer alone is over."""
    print(f"riskengine {layer} layer: {bundling.megabytes(size)} unzipped", file=sys.stderr)
    if size > bundling.UNZIPPED_LIMIT:
        raise bundling.LayerTooLarge(
            f"the riskengine {layer} layer is {bundling.megabytes(size)} unzipped, over Lambda's "
            f"{bundling.megabytes(bundling.UNZIPPED_LIMIT)} limit for a function and all its layers"
        )


def engine_docker_command() -> list[str]:
    """The fallback: copy the package, then the schemas (a link out of the mounted folder, mounted apart)."""
    script = (
        "set -euo pipefail; mkdir -p /asset-output/python; cp -R /asset-input/riskengine /asset-output/python/; "
        "rm -rf /asset-output/python/riskengine/schemas; cp -R /schemas /asset-output/python/riskengine/schemas; "
        "find /asset-output -name __pycache__ -prune -exec rm -rf {} +"
    )
    return ["bash", "-c", script]


def dependency_docker_command(requirements: list[str]) -> list[str]:
    """The fallback: pip inside the Lambda build image (native wheels), then the runtime's own SDK removed."""
    provided = " ".join(f"{name} {name}-*.dist-info" for name in sorted(bundling.RUNTIME_PROVIDED))
    script = (
        "set -euo pipefail; pip install --no-cache-dir --no-compile --only-binary=:all: "
        f"--target /asset-output/python {shlex.join(requirements)}; cd /asset-output/python; rm -rf {provided}"
    )
    return ["bash", "-c", script]


class LayersStack(cdk.Stack):
    """``engine_layer`` and ``dependency_layer`` for ``runtime`` on ``architecture``, their ARNs also in SSM."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.runtime = lambda_.Runtime.PYTHON_3_12
        self.architecture = ARCHITECTURES[config.architecture]
        self._parameter_prefix = f"/{config.prefix}/layers"
        local = config.bundling == "local"
        self.engine_layer = self._layer("EngineLayer", self._engine_code(local), "the riskengine package")
        self.dependency_layer = self._layer(
            "DependencyLayer",
            self._dependency_code(config.architecture, local),
            "pinned [project].dependencies of pyproject.toml (the AWS SDK comes with the runtime)",
        )
        if self.bundling_required:
            self._check_total(config.architecture)
        for name, layer in (("engine", self.engine_layer), ("dependencies", self.dependency_layer)):
            ssm.StringParameter(
                self,
                f"{name.capitalize()}LayerArn",
                parameter_name=f"{self._parameter_prefix}/{name}",
                string_value=layer.layer_version_arn,
                description=f"ARN of the current riskengine {name} layer version (read by the function stacks)",
            )

    def layers_for(self, scope: Construct) -> list[lambda_.ILayerVersion]:
        """Both layers for functions in ``scope``'s stack, resolved from SSM at each deployment of that stack.

        The CDK CLI always updates a stack that reads SSM parameters, so the functions move to a new layer
        version on the next ``cdk deploy`` without an export locking the old one.
        """
        cdk.Stack.of(scope).add_stack_dependency(self, "the functions load the layers")
        return [
            lambda_.LayerVersion.from_layer_version_arn(
                scope,
                f"{name.capitalize()}Layer",
                ssm.StringParameter.value_for_string_parameter(scope, f"{self._parameter_prefix}/{name}"),
            )
            for name in ("engine", "dependencies")
        ]

    def _check_total(self, architecture: str) -> None:
        """Measure the staged layers, whoever built them (this machine, Docker, or an earlier synth's cache)."""
        outdir = Path(cdk.Stage.of(self).outdir)
        staged = [outdir / self._asset(layer).asset_path for layer in (self.engine_layer, self.dependency_layer)]
        sizes = bundling.LayerSizes(
            engine=bundling.tree_size(staged[0]),
            dependencies=bundling.tree_size(staged[1]),
            function_code=bundling.largest_function_code(),
        )
        print(sizes.summary(architecture), file=sys.stderr)
        sizes.check()

    @staticmethod
    def _asset(layer: lambda_.LayerVersion) -> s3_assets.Asset:
        asset = layer.node.find_child("Code")  # where lambda_.Code.from_asset puts the asset it stages
        assert isinstance(asset, s3_assets.Asset)
        return asset

    def _layer(self, construct_id: str, code: lambda_.Code, what: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            construct_id,
            code=code,
            compatible_runtimes=[self.runtime],
            compatible_architectures=[self.architecture],
            description=f"riskengine: {what}",
            # Keep superseded versions: a failed update of a function stack rolls its functions back to the
            # previous version's ARN, which must still exist (CloudFormation deletes the old one otherwise).
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def _engine_code(self, local: bool) -> lambda_.Code:
        return lambda_.Code.from_asset(
            str(bundling.ENGINE_PACKAGE.parent),
            exclude=["*.egg-info", "__pycache__", "*.pyc"],
            # Hash the schema files behind the symbolic link, so a schema change makes a new layer version.
            follow_symlinks=cdk.SymlinkFollowMode.ALWAYS,
            bundling=cdk.BundlingOptions(
                image=self.runtime.bundling_image,
                platform=self.architecture.docker_platform,
                local=LocalBundling(build_engine, enabled=local),
                command=engine_docker_command(),
                volumes=[cdk.DockerVolume(host_path=str(bundling.REPO / "schemas"), container_path="/schemas")],
            ),
        )

    def _dependency_code(self, architecture: str, local: bool) -> lambda_.Code:
        requirements = bundling.runtime_requirements()
        # The pins decide the content, not any file: hash them (with the target) instead of a folder.
        target = [architecture, bundling.PYTHON_VERSION, sorted(bundling.RUNTIME_PROVIDED)]
        fingerprint = json.dumps([requirements, *target])
        return lambda_.Code.from_asset(
            str(bundling.REPO / "layers"),  # unused by the local build; Docker mounts it as /asset-input
            asset_hash=hashlib.sha256(fingerprint.encode()).hexdigest(),
            bundling=cdk.BundlingOptions(
                image=self.runtime.bundling_image,
                platform=self.architecture.docker_platform,
                local=LocalBundling(dependency_builder(architecture, requirements), enabled=local),
                command=dependency_docker_command(requirements),
            ),
        )
