"""Build the two Lambda layers on this machine, without Docker: the engine package and its runtime dependencies.

Used by the CDK app's local bundling (``stacks/layers.py``) and by ``infra/scripts/build_layers.py``. Nothing
here imports the CDK, so the script starts fast. Each layer is a directory holding ``python/...``, which Lambda
unpacks under ``/opt``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = REPO / "pyproject.toml"
ENGINE_PACKAGE = REPO / "layers" / "riskengine" / "python" / "riskengine"
FUNCTIONS_DIR = REPO / "functions"

PYTHON_VERSION = "3.12"
MB = 1024 * 1024
# Lambda's quota on the unzipped size of a function's code plus all its layers.
UNZIPPED_LIMIT = 250 * MB
# The AWS SDK ships with the Python runtime; bundling it would add ~30 MB for nothing. aws-xray-sdk (the tracer
# extra of Powertools) asks for botocore, so it is dropped from the resolved set, not only from the top level.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
# manylinux2014 (glibc 2.17) as asked by most wheels; manylinux_2_28 too, because the Python 3.12 runtime
# (Amazon Linux 2023, glibc 2.34) runs it and some projects no longer publish 2014 wheels.
PLATFORMS = {
    "arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64"),
}


class LayerTooLarge(RuntimeError):
    """The layers (with the largest function's code) would not fit Lambda's unzipped size quota."""


@dataclass(frozen=True, slots=True)
class LayerSizes:
    """Unzipped bytes of each part a function of this app loads."""

    engine: int
    dependencies: int
    function_code: int

    @property
    def total(self) -> int:
        return self.engine + self.dependencies + self.function_code

    def rows(self) -> list[tuple[str, int]]:
        return [
            ("engine layer", self.engine),
            ("dependency layer", self.dependencies),
            ("largest function code", self.function_code),
            ("total", self.total),
        ]

    def check(self) -> None:
        if self.total > UNZIPPED_LIMIT:
            parts = ", ".join(f"{name} {megabytes(size)}" for name, size in self.rows()[:-1])
            raise LayerTooLarge(
                f"the Lambda layers do not fit: {parts}: {megabytes(self.total)} unzipped, over Lambda's "
                f"{megabytes(UNZIPPED_LIMIT)} limit for a function and its layers. Drop or replace a dependency "
                f"in [project].dependencies of pyproject.toml (infra/scripts/build_layers.py lists the largest)."
            )

    def summary(self, architecture: str) -> str:
        parts = ", ".join(f"{name} {megabytes(size)}" for name, size in self.rows()[:-1])
        limit = megabytes(UNZIPPED_LIMIT)
        return f"riskengine layers ({architecture}): {parts}; total {megabytes(self.total)} of {limit} unzipped"


def megabytes(size: int) -> str:
    """Human size: KB below one megabyte (function code), MB with one decimal above."""
    return f"{size / MB:.1f} MB" if size >= MB else f"{size / 1024:.0f} KB"


# --- what goes in ---------------------------------------------------------------------------------


def runtime_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """The pinned ``[project].dependencies``, less what the Lambda runtime already provides."""
    with pyproject.open("rb") as f:
        dependencies: list[str] = tomllib.load(f)["project"]["dependencies"]
    return [req for req in dependencies if distribution_name(req) not in RUNTIME_PROVIDED]


def distribution_name(requirement: str) -> str:
    """PEP 503 normalised name of a requirement string (``redis[hiredis]==8.1.0`` -> ``redis``)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def package_data(pyproject: Path = PYPROJECT) -> list[str]:
    """The engine's package-data globs, as setuptools ships them (relative to the package)."""
    with pyproject.open("rb") as f:
        return list(tomllib.load(f)["tool"]["setuptools"]["package-data"]["riskengine"])


def engine_files(package: Path = ENGINE_PACKAGE, pyproject: Path = PYPROJECT) -> dict[str, Path]:
    """Path in the package -> file to copy: every module (namespace subpackages too), plus the package data.

    ``schemas`` is a symbolic link to the repository's ``schemas/``; globbing through it yields the real
    files, so the layer gets copies, not a link that would dangle outside the repository.
    """
    files: dict[str, Path] = {}
    for folder, dirs, names in os.walk(package, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(n for n in names if n.endswith(".py")):
            path = Path(folder) / name
            files[path.relative_to(package).as_posix()] = path
    for pattern in package_data(pyproject):
        for path in sorted(package.glob(pattern)):
            if path.is_file():
                files[path.relative_to(package).as_posix()] = path
    return files


def pip_platform_args(architecture: str) -> list[str]:
    """Select wheels for the Lambda runtime, whatever machine runs pip: CPython 3.12 on Linux, binaries only."""
    if architecture not in PLATFORMS:
        raise ValueError(f"architecture must be one of {', '.join(PLATFORMS)}, got {architecture!r}")
    platforms = [arg for platform in PLATFORMS[architecture] for arg in ("--platform", platform)]
    return [*platforms, "--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation", "cp"]


# --- building ---------------------------------------------------------------------------------------


def build_engine_layer(output_dir: Path) -> int:
    """Copy the engine package into ``output_dir/python/riskengine``; returns its size in bytes."""
    target = output_dir / "python" / "riskengine"
    for relative, source in engine_files().items():
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    return tree_size(output_dir)


def build_dependency_layer(output_dir: Path, architecture: str, requirements: Sequence[str] | None = None) -> int:
    """pip-install the runtime requirements for Lambda's platform into ``output_dir/python``; returns bytes.

    Two steps: resolve the full set (a dry run, metadata only), then install exactly that set minus the
    runtime-provided SDK with ``--no-deps``. ``--no-compile``: bytecode of this machine's Python would be
    useless to 3.12 and only add size.
    """
    pins = resolve(requirements or runtime_requirements(), architecture)
    target = str(output_dir / "python")
    _pip("install", "--quiet", "--no-deps", "--no-compile", "--target", target, *pip_platform_args(architecture), *pins)
    return tree_size(output_dir)


def resolve(requirements: Sequence[str], architecture: str) -> list[str]:
    """``name==version`` of every distribution the requirements pull in on Lambda, except the runtime's own."""
    with tempfile.TemporaryDirectory(prefix="riskengine-resolve-") as tmp:
        report = Path(tmp) / "report.json"
        options = ("--quiet", "--dry-run", "--ignore-installed", "--report", str(report))
        _pip("install", *options, *pip_platform_args(architecture), *requirements)
        resolved = json.loads(report.read_text(encoding="utf-8"))["install"]
    return sorted(
        f"{item['metadata']['name']}=={item['metadata']['version']}"
        for item in resolved
        if distribution_name(item["metadata"]["name"]) not in RUNTIME_PROVIDED
    )


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"pip failed ({result.returncode}): {' '.join(command)}\n{result.stderr.strip()}")


# --- measuring --------------------------------------------------------------------------------------


def tree_size(root: Path) -> int:
    """Bytes of every regular file under ``root``: what Lambda's unzipped quota counts."""
    return sum(path.stat().st_size for path in _files(root))


def _files(root: Path) -> Iterator[Path]:
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


def largest_function_code(functions_dir: Path = FUNCTIONS_DIR) -> int:
    """The biggest ``functions/<name>`` folder: the worst case sharing the quota with the layers."""
    return max((tree_size(folder) for folder in functions_dir.iterdir() if folder.is_dir()), default=0)


def largest_packages(site: Path, count: int = 8) -> list[tuple[str, int]]:
    """The top-level entries of a layer's ``python/`` by size, biggest first (what to cut when over)."""
    sizes = [(entry.name, tree_size(entry) if entry.is_dir() else entry.stat().st_size) for entry in site.iterdir()]
    return sorted(sizes, key=lambda item: item[1], reverse=True)[:count]
