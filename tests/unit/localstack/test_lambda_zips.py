"""The zips deploy.py uploads: the layer directories (built by the CDK app's bundling) zipped, self-contained
function zips with both layers at the root, reproducible bytes, and the check that no engine module is left out."""

from __future__ import annotations

import fnmatch
import io
import tomllib
import zipfile
from pathlib import Path

import lambda_zips
import pytest

from riskengine_infra import bundling

REPO = Path(__file__).resolve().parents[3]
ENGINE = bundling.ENGINE_PACKAGE


@pytest.fixture
def dependencies(tmp_path: Path) -> Path:
    """A small stand-in for the dependencies layer directory."""
    site = tmp_path / "dependencies" / "python"
    (site / "fastavro" / "__pycache__").mkdir(parents=True)
    (site / "fastavro" / "__init__.py").write_text("VERSION = 1\n")
    (site / "fastavro" / "_read.so").write_bytes(b"\x7fELF")
    (site / "fastavro" / "_read.so").chmod(0o755)
    (site / "fastavro" / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"")
    return site.parent


@pytest.fixture
def engine(tmp_path: Path) -> Path:
    """The engine layer directory as the CDK app's bundling builds it."""
    layer = tmp_path / "engine"
    bundling.build_engine_layer(layer)
    return layer


@pytest.fixture
def function_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "functions" / "score_trades"
    folder.mkdir(parents=True)
    (folder / "handler.py").write_text("def lambda_handler(event, context):\n    return {}\n")
    return folder


def names(code: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(code)).namelist()


@pytest.mark.parametrize(
    ("machine", "architecture"),
    [("x86_64", "x86_64"), ("AMD64", "x86_64"), ("aarch64", "arm64"), ("arm64", "arm64")],
)
def test_functions_run_on_the_hosts_architecture(machine: str, architecture: str) -> None:
    assert lambda_zips.lambda_architecture(machine) == architecture
    assert architecture in bundling.PLATFORMS  # the bundling has wheels to offer for it


def test_a_machine_lambda_cannot_run_on_is_refused() -> None:
    with pytest.raises(ValueError, match="riscv64"):
        lambda_zips.lambda_architecture("riscv64")


def test_tree_entries_skip_byte_code_and_follow_linked_folders(tmp_path: Path, dependencies: Path) -> None:
    package = tmp_path / "package"
    package.mkdir()
    (package / "schemas").symlink_to(dependencies / "python" / "fastavro", target_is_directory=True)
    entries = [name for name, _ in lambda_zips.tree_entries(package, "python/package/")]
    assert entries == ["python/package/schemas/__init__.py", "python/package/schemas/_read.so"]


def test_a_layer_zip_keeps_the_python_folder_lambda_unpacks_under_opt(dependencies: Path) -> None:
    assert names(lambda_zips.directory_zip(dependencies)) == [
        "python/fastavro/__init__.py",
        "python/fastavro/_read.so",
    ]


def test_every_engine_module_and_data_file_reaches_the_function_zips(engine: Path, dependencies: Path) -> None:
    """The functions import the whole engine: a module left out of the layer fails them on import."""
    contents = set(names(lambda_zips.base_zip(engine, dependencies)))
    modules = [name for name, _ in lambda_zips.tree_entries(ENGINE, "riskengine/") if name.endswith(".py")]
    assert [module for module in modules if module not in contents] == []
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["riskengine"]
    for pattern in declared:
        assert fnmatch.filter(contents, f"riskengine/{pattern}"), f"no {pattern} in the function zips"


def test_missing_modules_names_what_a_layer_lacks(tmp_path: Path) -> None:
    package = tmp_path / "src" / "riskengine"
    (package / "windows").mkdir(parents=True)  # a folder without __init__.py: a namespace package
    (package / "__init__.py").write_text("")
    (package / "windows" / "events.py").write_text("")
    (package / "windows" / "apply_batch.lua").write_text("")
    layer = tmp_path / "layer"
    (layer / "python" / "riskengine").mkdir(parents=True)
    (layer / "python" / "riskengine" / "__init__.py").write_text("")
    assert lambda_zips.missing_modules(package, layer) == ["windows/events.py"]
    (layer / "python" / "riskengine" / "windows").mkdir()
    (layer / "python" / "riskengine" / "windows" / "events.py").write_text("")
    assert lambda_zips.missing_modules(package, layer) == []


def test_a_function_zip_holds_its_handler_and_both_layers_at_the_root(
    tmp_path: Path, dependencies: Path, function_dir: Path
) -> None:
    engine = tmp_path / "engine-stand-in"
    (engine / "python" / "riskengine").mkdir(parents=True)
    (engine / "python" / "riskengine" / "__init__.py").write_text("")
    contents = names(lambda_zips.function_zip(lambda_zips.base_zip(engine, dependencies), function_dir))
    assert sorted(contents) == ["fastavro/__init__.py", "fastavro/_read.so", "handler.py", "riskengine/__init__.py"]


def test_zips_are_reproducible_so_unchanged_code_is_not_uploaded_again(dependencies: Path, function_dir: Path) -> None:
    def build() -> bytes:
        return lambda_zips.function_zip(lambda_zips.base_zip(dependencies), function_dir)

    first = build()
    (dependencies / "python" / "fastavro" / "__init__.py").touch()  # a new modification time changes nothing
    assert build() == first
    (function_dir / "handler.py").write_text("def lambda_handler(event, context):\n    return None\n")
    assert build() != first


def test_files_are_readable_by_the_runtime_and_keep_their_execute_bit(dependencies: Path) -> None:
    archive = zipfile.ZipFile(io.BytesIO(lambda_zips.directory_zip(dependencies)))
    modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert modes == {"python/fastavro/__init__.py": 0o644, "python/fastavro/_read.so": 0o755}
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_two_layers_shipping_the_same_file_are_refused(tmp_path: Path, dependencies: Path) -> None:
    shadow = tmp_path / "shadow" / "python" / "fastavro"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    with pytest.raises(ValueError, match=r"fastavro/__init__\.py"):
        lambda_zips.base_zip(dependencies, shadow.parents[1])


def test_a_function_file_shadowing_a_layer_file_is_refused(dependencies: Path, function_dir: Path) -> None:
    (function_dir / "fastavro").mkdir()
    (function_dir / "fastavro" / "__init__.py").write_text("")
    with pytest.raises(ValueError, match="already ship"):
        lambda_zips.function_zip(lambda_zips.base_zip(dependencies), function_dir)
