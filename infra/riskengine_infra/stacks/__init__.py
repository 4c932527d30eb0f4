"""One CDK stack per concern; ``infra/app.py`` wires them together (see docs/deploy.md).

Each stack's module is imported on first use of its class: a test or tool that needs one stack does not
import the other modules.
"""

from __future__ import annotations

import importlib
from typing import Any

# Stack class -> the module of this package that defines it.
_MODULES = {
    "AlertingStack": "alerting",
    "ApiStack": "api",
    "ConfigurationStack": "configuration",
    "FunctionsStack": "functions",
    "LayersStack": "layers",
    "MonitoringStack": "monitoring",
    "NetworkStack": "network",
    "SearchStack": "search",
    "StateStack": "state",
    "StreamingStack": "streaming",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
