"""Where the repository's Lambda functions are, for tools that invoke the real handlers locally."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import riskengine

FUNCTIONS_DIR_ENV = "RISKENGINE_FUNCTIONS_DIR"


def function_handler(name: str) -> Path:
    """``functions/<name>/handler.py`` of this checkout (or of ``$RISKENGINE_FUNCTIONS_DIR``)."""
    default = Path(riskengine.__file__).resolve().parents[4] / "functions"
    path = Path(os.environ.get(FUNCTIONS_DIR_ENV, default)) / name / "handler.py"
    if not path.is_file():
        raise FileNotFoundError(f"cannot find {path}: run from a checkout of the repository or set {FUNCTIONS_DIR_ENV}")
    return path


def import_handler(path: Path) -> ModuleType:
    """Import a function's ``handler.py`` from its folder, as Lambda loads it (not as part of a package)."""
    spec = importlib.util.spec_from_file_location(f"{path.parent.name}_handler", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no handler module at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
