#!/usr/bin/env python3
"""Build the engine and dependency layers into a directory, without Docker, and print their unzipped sizes.

The same code the CDK app's local bundling runs (riskengine_infra.bundling): the engine package with its
package data, and the pinned [project].dependencies of pyproject.toml installed from PyPI as CPython 3.12
wheels for Lambda's architecture (the AWS SDK left out: the runtime has it). Exits 1 if function code and
layers would exceed Lambda's 250 MB unzipped quota.

    .venv/bin/python infra/scripts/build_layers.py --architecture arm64 --out build/layers
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # riskengine_infra lives in infra/

from riskengine_infra import bundling


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--architecture",
        choices=sorted(bundling.PLATFORMS),
        default="arm64",
        help="Lambda architecture the wheels are chosen for (default: arm64, as the app's context)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=bundling.REPO / "build" / "layers",
        help="directory that receives ARCH/engine/python and ARCH/dependencies/python (default: build/layers)",
    )
    return parser.parse_args(argv)


def build(out: Path, architecture: str) -> bundling.LayerSizes:
    engine_dir, dependency_dir = out / "engine", out / "dependencies"
    for folder in (engine_dir, dependency_dir):  # only what this script creates, never --out itself
        shutil.rmtree(folder, ignore_errors=True)
    return bundling.LayerSizes(
        engine=bundling.build_engine_layer(engine_dir),
        dependencies=bundling.build_dependency_layer(dependency_dir, architecture),
        function_code=bundling.largest_function_code(),
    )


def size_table(sizes: bundling.LayerSizes, out: Path, architecture: str) -> Table:
    table = Table(title=f"Lambda layers, {architecture} (unzipped)")
    table.add_column("part")
    table.add_column("size", justify="right")
    table.add_column("share of 250 MB", justify="right")
    table.add_column("where", overflow="fold")
    where = {"engine layer": out / "engine", "dependency layer": out / "dependencies"}
    for name, size in sizes.rows():
        share = f"{100 * size / bundling.UNZIPPED_LIMIT:.1f} %"
        table.add_row(name, bundling.megabytes(size), share, str(where.get(name, "")))
    return table


def packages_table(site: Path) -> Table:
    table = Table(title="largest entries of the dependency layer")
    table.add_column("python/…")
    table.add_column("size", justify="right")
    for name, size in bundling.largest_packages(site):
        table.add_row(name, bundling.megabytes(size))
    return table


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out.resolve() / args.architecture
    console = Console()
    with console.status(f"building the layers for {args.architecture} in {out}"):
        sizes = build(out, args.architecture)
    console.print(size_table(sizes, out, args.architecture))
    console.print(packages_table(out / "dependencies" / "python"))
    try:
        sizes.check()
    except bundling.LayerTooLarge as exc:
        console.print(f"[bold red]{exc}[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
