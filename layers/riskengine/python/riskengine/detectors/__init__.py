"""Detection rules: one module per rule, each exposing ``DETECTOR`` (its class).

Adding a pattern means adding a module here; :func:`load_rules` discovers it. Settings come
from a JSON object keyed by rule name, e.g. ``{"LARGE_ORDER": {"thresholds_usd": {"BTC": 1e6}},
"RAPID_BURST": {"enabled": false}}``; unknown rules or settings are configuration errors.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from riskengine.detectors.base import Match, Rule, RuleConfig, SequenceRule, TradeRule
from riskengine.errors import ConfigurationError

__all__ = ["Match", "Rule", "RuleConfig", "SequenceRule", "TradeRule", "available_rules", "load_rules"]


def available_rules() -> dict[str, type[Rule]]:
    """Every rule class in this package, by rule name, in a stable order."""
    rules: dict[str, type[Rule]] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        detector = getattr(module, "DETECTOR", None)
        if detector is not None:
            rules[detector.name] = detector
    return rules


def load_rules(settings: Mapping[str, Mapping[str, Any]] | None = None) -> list[Rule]:
    """Instantiate every enabled rule with its validated configuration."""
    settings = settings or {}
    rules = available_rules()
    unknown = set(settings) - set(rules)
    if unknown:
        raise ConfigurationError(
            f"unknown rule(s) in rule settings: {', '.join(sorted(unknown))}; known: {', '.join(rules)}"
        )
    loaded = [cls(_config(cls, settings.get(name, {}))) for name, cls in rules.items()]
    return [rule for rule in loaded if rule.config.enabled]


def _config(cls: type[Rule], overrides: Mapping[str, Any]) -> RuleConfig:
    fields = {f.name: f for f in dataclasses.fields(cls.Config)}
    unknown = set(overrides) - set(fields)
    if unknown:
        raise ConfigurationError(
            f"{cls.name}: unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(fields)}"
        )
    defaults = cls.Config()
    values = {}
    for name, value in overrides.items():
        current = getattr(defaults, name)
        if isinstance(current, Mapping):
            if not isinstance(value, Mapping):
                raise ConfigurationError(f"{cls.name}.{name} must be an object, got {value!r}")
            value = MappingProxyType({**current, **value})
        elif isinstance(current, bool) != isinstance(value, bool) or not isinstance(value, type(current) | int):
            raise ConfigurationError(f"{cls.name}.{name} must be {type(current).__name__}, got {value!r}")
        values[name] = value
    try:
        return dataclasses.replace(defaults, **values)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{cls.name}: {exc}") from exc
