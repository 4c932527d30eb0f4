"""The layers: what goes in them, the local bundling (for real, with pip from PyPI), the size limit, the stack."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from infra_testing import TEST_ACCOUNT, TEST_CONTEXT, TEST_REGION

from riskengine_infra import bundling
from riskengine_infra.config import DeploymentConfig
from riskengine_infra.stacks import layers as layers_module
from riskengine_infra.stacks.layers import (
    LayersStack,
    LocalBundling,
    dependency_docker_command,
    engine_docker_command,
)

ENV = cdk.Environment(account=TEST_ACCOUNT, region=TEST_REGION)
SCRIPT = bundling.REPO / "infra" / "scripts" / "build_layers.py"


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


# --- what goes in -------------------------------------------------------------------------------------------


def test_runtime_requirements_are_the_pinned_dependencies_without_the_sdk(tmp_path: Path) -> None:
    assert bundling.runtime_requirements() == [
        "aws-lambda-powertools[tracer]==3.37.0",
        "fastavro==1.13.1",
        "kafka-python==3.0.12",
        "opensearch-py==3.2.0",
        "pydantic==2.14.4",
        "redis[hiredis]==8.1.0",
        "hiredis==3.5.0",
    ]
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["boto3==1.44.8", "Botocore>=1", "redis==8.1.0"]\n')
    assert bundling.runtime_requirements(pyproject) == ["redis==8.1.0"]


def test_the_engine_layer_holds_every_module_and_the_package_data_as_real_files() -> None:
    files = bundling.engine_files()
    assert {
        "__init__.py",
        "py.typed",
        "windows/apply_batch.lua",
        "schemas/ids.json",
        "schemas/crypto_trade/v2.avsc",
        "search/saved_objects/compliance.ndjson",
        "codec/avro.py",
    } <= set(files)
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in files)
    sources = {p.relative_to(bundling.ENGINE_PACKAGE).as_posix() for p in bundling.ENGINE_PACKAGE.rglob("*.py")}
    assert sources - set(files) == set()  # every module, in regular and namespace subpackages alike
    # schemas/ is a link to the repository's schemas/: the sources are the real files behind it
    assert files["schemas/ids.json"].resolve() == (bundling.REPO / "schemas" / "ids.json").resolve()


# What the layer ships, as a list: the engine's modules and data, nothing of the local tooling (riskengine_tools).
ENGINE_LAYER_TOP_LEVEL = {
    "__init__.py", "alerting", "alerts.py", "apis", "arrivals.py", "codec", "detectors", "engine.py", "episodes.py",
    "errors.py", "intake", "ledger.py", "model.py", "msk.py", "observability.py", "pipeline.py", "provisioning",
    "py.typed", "reporting", "runtime.py", "schemas", "scoring", "search", "settings.py", "simulation", "sinks",
    "validation.py", "windows",
}  # fmt: skip


def test_the_engine_layer_file_list_has_no_local_tooling() -> None:
    assert {name.split("/")[0] for name in bundling.engine_files()} == ENGINE_LAYER_TOP_LEVEL


def test_every_module_the_layer_ships_is_imported_by_a_function() -> None:
    """The import closure of functions/*/handler.py within the engine is the layer's module list, exactly.

    Found statically (absolute and relative imports, parent packages), plus the detectors, which the registry
    loads by listing its package (a pattern is added by adding a file).
    """
    root = bundling.ENGINE_PACKAGE.parent
    shipped = {
        _module_name(root, bundling.ENGINE_PACKAGE / name) for name in bundling.engine_files() if name.endswith(".py")
    }
    starts: set[str] = set()
    for handler in (bundling.REPO / "functions").glob("*/handler.py"):
        starts |= _engine_imports(handler, "")
    reached = _import_closure(root, starts)
    assert "riskengine.detectors" in reached
    reached |= {name for name in shipped if name.startswith("riskengine.detectors.")}
    assert shipped - reached == set(), "shipped in the layer but imported by no function"
    assert reached - shipped == set()


def _module_name(root: Path, path: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def _engine_imports(path: Path, package: str) -> set[str]:
    """The ``riskengine`` modules a file names in its imports (``from m import x``: m, and m.x if x is a module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in names if name.split(".")[0] == "riskengine"}


def _import_closure(root: Path, starts: set[str]) -> set[str]:
    seen: set[str] = set()
    pending = list(starts)
    while pending:
        parts = pending.pop().split(".")
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
            name = ".".join(parts[:depth])
            base = root.joinpath(*name.split("."))
            found = [f for f in (base / "__init__.py", base.with_suffix(".py")) if f.is_file()]
            if found and name not in seen:
                seen.add(name)
                package = name if found[0].name == "__init__.py" else name.rpartition(".")[0]
                pending.extend(_engine_imports(found[0], package))
    return seen


@pytest.mark.parametrize(("architecture", "machine"), [("arm64", "aarch64"), ("x86_64", "x86_64")])
def test_pip_targets_lambda_s_platform_whatever_machine_runs_it(architecture: str, machine: str) -> None:
    args = bundling.pip_platform_args(architecture)
    assert args[args.index("--platform") + 1] == f"manylinux2014_{machine}"
    assert f"manylinux_2_28_{machine}" in args
    assert {"--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp"} <= set(args)
    with pytest.raises(ValueError, match="architecture must be one of"):
        bundling.pip_platform_args("riscv")


def test_sizes_over_the_limit_fail_with_what_was_measured() -> None:
    mb = bundling.MB
    bundling.LayerSizes(engine=1 * mb, dependencies=240 * mb, function_code=mb).check()
    with pytest.raises(bundling.LayerTooLarge, match=r"dependency layer 250\.0 MB.*over Lambda's 250\.0 MB limit"):
        bundling.LayerSizes(engine=1 * mb, dependencies=250 * mb, function_code=mb).check()


# --- Docker, only when asked ---------------------------------------------------------------------------------


def test_disabled_local_bundling_declines_without_building(tmp_path: Path) -> None:
    built: list[Path] = []
    options = cdk.BundlingOptions(image=cdk.DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"))
    assert LocalBundling(built.append, enabled=False).try_bundle(str(tmp_path), options) is False
    assert built == []
    assert LocalBundling(built.append, enabled=True).try_bundle(str(tmp_path), options) is True
    assert built == [tmp_path]


@pytest.mark.parametrize(("mode", "local"), [("local", True), ("docker", False)])
def test_context_bundling_decides_whether_the_local_bundlers_run(
    monkeypatch: pytest.MonkeyPatch, mode: str, local: bool
) -> None:
    seen: list[bool] = []

    class Recording(LocalBundling):
        def __init__(self, build: Any, *, enabled: bool) -> None:
            seen.append(enabled)
            super().__init__(build, enabled=enabled)

    monkeypatch.setattr(layers_module, "LocalBundling", Recording)
    LayersStack(cdk.App(context=TEST_CONTEXT), "riskengine-layers", config=DeploymentConfig(bundling=mode), env=ENV)
    assert seen == [local, local]


def test_the_docker_fallback_commands() -> None:
    shell, flag, script = dependency_docker_command(["fastavro==1.13.1", "redis[hiredis]==8.1.0"])
    assert (shell, flag) == ("bash", "-c")
    assert "pip install --no-cache-dir --no-compile --only-binary=:all: --target /asset-output/python" in script
    assert "fastavro==1.13.1 'redis[hiredis]==8.1.0'" in script
    assert "rm -rf boto3 boto3-*.dist-info botocore botocore-*.dist-info s3transfer s3transfer-*.dist-info" in script
    engine = engine_docker_command()[2]
    assert "cp -R /schemas /asset-output/python/riskengine/schemas" in engine


# --- the stack -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("architecture", "expected"), [("arm64", "arm64"), ("x86_64", "x86_64")])
def test_the_stack_publishes_both_layers_and_their_arns(architecture: str, expected: str) -> None:
    app = cdk.App(context=TEST_CONTEXT)
    stack = LayersStack(app, "riskengine-layers", config=DeploymentConfig(architecture=architecture), env=ENV)
    template = Template.from_stack(stack)
    layers = template.find_resources("AWS::Lambda::LayerVersion")
    assert len(layers) == 2
    for layer in layers.values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
        assert layer["Properties"]["CompatibleArchitectures"] == [expected]
    names = {p["Properties"]["Name"] for p in template.find_resources("AWS::SSM::Parameter").values()}
    assert names == {"/riskengine/layers/engine", "/riskengine/layers/dependencies"}
    assert stack.runtime.name == "python3.12"
    assert stack.architecture.name == expected


def test_superseded_layer_versions_are_retained_for_rollbacks() -> None:
    """A failed function-stack update rolls back to the previous version's ARN: CloudFormation must not delete it."""
    app = cdk.App(context=TEST_CONTEXT)
    template = Template.from_stack(LayersStack(app, "riskengine-layers", config=DeploymentConfig(), env=ENV))
    template.resource_count_is("AWS::Lambda::LayerVersion", 2)
    template.all_resources("AWS::Lambda::LayerVersion", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})


def test_another_stack_takes_the_layers_from_ssm_and_deploys_after_them() -> None:
    app = cdk.App(context=TEST_CONTEXT)
    layers = LayersStack(app, "riskengine-layers", config=DeploymentConfig(), env=ENV)
    consumer = cdk.Stack(app, "consumer", env=ENV)
    for index, layer in enumerate(layers.layers_for(consumer)):
        cdk.CfnOutput(consumer, f"Layer{index}", value=layer.layer_version_arn)
    template = Template.from_stack(consumer).to_json()
    parameters = template["Parameters"]
    read = [parameters[output["Value"]["Ref"]] for output in template["Outputs"].values()]
    assert [p["Type"] for p in read] == ["AWS::SSM::Parameter::Value<String>"] * 2
    assert [p["Default"] for p in read] == ["/riskengine/layers/engine", "/riskengine/layers/dependencies"]
    assert layers in consumer.dependencies  # no export: a new layer version never blocks the update


# --- bundling for real ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> tuple[LayersStack, Path]:
    """``cdk synth`` of the layers with local bundling (pip downloads the wheels from PyPI: a few seconds)."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir))
    stack = LayersStack(app, "riskengine-layers", config=DeploymentConfig(), env=ENV)
    app.synth()
    return stack, outdir


def asset_dir(stack: LayersStack, outdir: Path, layer: str) -> Path:
    return outdir / getattr(stack, layer).node.find_child("Code").asset_path


def test_the_engine_layer_holds_the_package_under_python(bundled: tuple[LayersStack, Path]) -> None:
    stack, outdir = bundled
    root = asset_dir(stack, outdir, "engine_layer")
    files = files_under(root)
    assert {"python/riskengine/windows/apply_batch.lua", "python/riskengine/windows/store.py"} <= files
    assert "python/riskengine/schemas/ids.json" in files
    assert {"python/riskengine/search/saved_objects/compliance.ndjson", "python/riskengine/py.typed"} <= files
    assert not (root / "python" / "riskengine" / "schemas").is_symlink()


def test_the_dependency_layer_holds_aarch64_wheels_and_no_sdk(bundled: tuple[LayersStack, Path]) -> None:
    stack, outdir = bundled
    python = asset_dir(stack, outdir, "dependency_layer") / "python"
    assert (python / "fastavro").is_dir()
    assert (python / "aws_lambda_powertools").is_dir()
    assert (python / "aws_xray_sdk").is_dir()  # the tracer extra
    objects = [p.name for p in python.rglob("*.so")]
    assert any("cpython-312-aarch64-linux-gnu" in name for name in objects)
    assert not [name for name in objects if "x86_64" in name]
    assert not any((python / name).exists() for name in ("boto3", "botocore", "s3transfer"))
    assert not list(python.rglob("*.pyc"))  # --no-compile: this machine's bytecode would be dead weight


def test_the_bundled_layers_fit_lambda_s_limit(bundled: tuple[LayersStack, Path]) -> None:
    stack, outdir = bundled
    sizes = bundling.LayerSizes(
        engine=bundling.tree_size(asset_dir(stack, outdir, "engine_layer")),
        dependencies=bundling.tree_size(asset_dir(stack, outdir, "dependency_layer")),
        function_code=bundling.largest_function_code(),
    )
    sizes.check()
    assert sizes.total < 100 * bundling.MB  # today ~55 MB: a jump means a dependency grew a lot


def test_a_layer_over_the_limit_fails_the_synth_with_its_size(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bundling, "UNZIPPED_LIMIT", 1000)
    app = cdk.App(outdir=str(tmp_path))
    with pytest.raises(RuntimeError, match=r"riskengine engine layer is \d+ KB unzipped, over Lambda's 1 KB limit"):
        LayersStack(app, "riskengine-layers", config=DeploymentConfig(), env=ENV)


def test_the_script_builds_both_layers_and_prints_their_sizes(tmp_path: Path) -> None:
    help_text = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--architecture {arm64,x86_64}" in help_text
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--architecture", "x86_64", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"COLUMNS": "160"},
    )
    assert result.returncode == 0, result.stderr
    assert "dependency layer" in result.stdout
    assert "total" in result.stdout
    objects = [p.name for p in (tmp_path / "x86_64" / "dependencies" / "python").rglob("*.so")]
    assert any("cpython-312-x86_64-linux-gnu" in name for name in objects)
    assert (tmp_path / "x86_64" / "engine" / "python" / "riskengine" / "windows" / "apply_batch.lua").is_file()
