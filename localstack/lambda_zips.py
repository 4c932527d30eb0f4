"""Zips for LocalStack: the two layers, and one self-contained zip per function.

The layers are built by the CDK app's own code (``infra/riskengine_infra/bundling.py``, also behind
``infra/scripts/build_layers.py``): a directory holding ``python/riskengine`` (the engine) and one
holding ``python/...`` (the pinned runtime dependencies, as CPython 3.12 wheels for Lambda's platform).
LocalStack's Community image stores layers but does not apply them when a function runs, so each
function zip carries both layers' ``python/`` contents next to its ``handler.py``: Lambda puts a
layer's ``python/`` on ``sys.path`` as ``/opt/python``, and the function zip's root (``/var/task``)
is on it too, so the same imports work.

Zips are reproducible (sorted entries, fixed time stamps), so unchanged sources give the same
``CodeSha256`` and a re-deploy leaves the function's code alone.
"""

from __future__ import annotations

import io
import os
import platform
import zipfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "add_files",
    "base_zip",
    "directory_zip",
    "function_zip",
    "lambda_architecture",
    "missing_modules",
    "tree_entries",
]

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: time stamps never change the bytes

Entry = tuple[str, Path]  # (name in the zip, file on disk)


def lambda_architecture(machine: str | None = None) -> str:
    """The host's architecture in Lambda's words, so LocalStack runs the function's container natively."""
    machine = (machine or platform.machine()).lower()
    if machine in {"x86_64", "amd64"}:
        return "x86_64"
    if machine in {"aarch64", "arm64"}:
        return "arm64"
    raise ValueError(f"Lambda runs on x86_64 or arm64; this machine is {machine!r}")


def tree_entries(root: Path, prefix: str = "") -> list[Entry]:
    """Every file under ``root`` as ``prefix + relative path``, without byte code (compiled per container).

    Symbolic links are followed, so a linked folder is stored as the files it holds.
    """
    entries: list[Entry] = []
    for folder, subfolders, files in os.walk(root, followlinks=True):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        for name in files:
            if not name.endswith(".pyc"):
                path = Path(folder, name)
                entries.append((prefix + path.relative_to(root).as_posix(), path))
    return sorted(entries)


def missing_modules(package: Path, layer: Path) -> list[str]:
    """Modules of ``package`` that the layer directory lacks (a function importing one fails to start)."""
    shipped = {name for name, _ in tree_entries(layer / "python" / package.name)}
    return [name for name, _ in tree_entries(package) if name.endswith(".py") and name not in shipped]


def add_files(archive: zipfile.ZipFile, entries: Iterable[Entry]) -> None:
    """Write ``entries`` with fixed time stamps; files stay readable by the runtime's user (0644, or 0755)."""
    for name, path in entries:
        info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
        archive.writestr(info, path.read_bytes())


def directory_zip(root: Path) -> bytes:
    """A layer directory (``root/python/...``) as the zip Lambda's PublishLayerVersion takes."""
    return _zip(tree_entries(root))


def base_zip(*layers: Path) -> bytes:
    """What every function zip starts from: each layer directory's ``python/`` files at the root.

    Fails when two layers ship the same file, since one would silently shadow the other.
    """
    entries = [entry for layer in layers for entry in tree_entries(layer / "python")]
    clashes = sorted(name for name, count in Counter(name for name, _ in entries).items() if count > 1)
    if clashes:
        raise ValueError(f"the layers both ship {clashes[:5]}")
    return _zip(sorted(entries))


def function_zip(base: bytes, function_dir: Path) -> bytes:
    """``base`` with the function's own files (its ``handler.py``) added at the root."""
    buffer = io.BytesIO(base)
    with zipfile.ZipFile(buffer, "a") as archive:
        own = tree_entries(function_dir)
        if set(archive.namelist()).intersection(name for name, _ in own):
            raise ValueError(f"{function_dir} has files the layers already ship")
        add_files(archive, own)
    return buffer.getvalue()


def _zip(entries: Iterable[Entry]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        add_files(archive, entries)
    return buffer.getvalue()
