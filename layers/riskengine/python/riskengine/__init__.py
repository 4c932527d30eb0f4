"""riskengine: real-time risk scoring and market-abuse detection for crypto trades.

The package is shipped as a Lambda layer (``layers/riskengine``) and installed into the
development environment by ``pyproject.toml``. Lambda handlers in ``functions/`` are thin
adapters over :mod:`riskengine.pipeline`.
"""

__version__ = "0.1.0"
ENGINE_VERSION = f"riskengine-{__version__}"

__all__ = ["ENGINE_VERSION", "__version__"]
