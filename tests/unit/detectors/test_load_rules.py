"""load_rules: discovery, validated overrides, disabled rules left out, bad settings refused."""

from __future__ import annotations

from typing import Any

import pytest

from riskengine.alerts import RECOMMENDED_ACTIONS
from riskengine.detectors import available_rules, load_rules
from riskengine.detectors.flash_crash import FlashCrash
from riskengine.detectors.large_order import LargeOrder
from riskengine.detectors.rapid_burst import RapidBurst
from riskengine.detectors.volume_spike import VolumeSpike
from riskengine.detectors.wash_trading import WashTrading
from riskengine.errors import ConfigurationError
from riskengine.scoring.risk import PATTERN_ACTIONS

ALL_RULES = [
    "EXCESSIVE_CANCELS",
    "FLASH_CRASH",
    "LARGE_ORDER",
    "LAYERING",
    "RAPID_BURST",
    "SELF_TRADE",
    "SPOOFING",
    "VOLUME_SPIKE",
    "WASH_TRADING",
]


def _by_name(settings: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    return {rule.name: rule for rule in load_rules(settings)}


def test_every_rule_is_discovered_and_loaded_with_defaults() -> None:
    assert list(available_rules()) == ALL_RULES
    rules = _by_name()
    assert sorted(rules) == ALL_RULES
    assert _by_name({}).keys() == rules.keys()
    assert rules["RAPID_BURST"].length == 21
    assert rules["RAPID_BURST"].window_ms == 10_000
    assert rules["FLASH_CRASH"].length == 10
    assert rules["FLASH_CRASH"].window_ms == 300_000
    assert rules["VOLUME_SPIKE"].length == 3
    assert rules["VOLUME_SPIKE"].window_ms == 120_000
    assert rules["WASH_TRADING"].length == 3
    assert rules["WASH_TRADING"].window_ms == 60_000
    # The order-book rules keep the events their definitions look back over (docs/detection.md).
    assert rules["SPOOFING"].length == 200
    assert rules["SPOOFING"].window_ms == 3_600_000 + 30_000
    assert rules["LAYERING"].length == 200
    assert rules["LAYERING"].window_ms == 90_000
    assert rules["EXCESSIVE_CANCELS"].length == 45 * 30 + 1
    assert rules["EXCESSIVE_CANCELS"].window_ms == 1_800_000
    assert dict(rules["LARGE_ORDER"].config.thresholds_usd) == {
        "BTC": 500_000.0,
        "ETH": 250_000.0,
        "SOL": 100_000.0,
        "ADA": 50_000.0,
        "DOT": 75_000.0,
    }
    assert rules["LARGE_ORDER"].config.default_threshold_usd == 50_000.0


def test_every_pattern_has_a_recommended_action_and_a_mitigation_action() -> None:
    # Without one, an alert would say only "Review." and a trade's record would list no action for it.
    patterns = {rule.pattern for rule in available_rules().values()}
    assert patterns <= RECOMMENDED_ACTIONS.keys()
    assert patterns <= PATTERN_ACTIONS.keys()


def test_overrides_are_applied_and_mappings_merged() -> None:
    rules = _by_name(
        {
            "LARGE_ORDER": {"thresholds_usd": {"BTC": 1_000_000, "PEPE": 5_000.0}, "base_strength": 1},
            "RAPID_BURST": {"max_trades": 5, "window_ms": 2_000},
            "FLASH_CRASH": {"sells": 4},
            "VOLUME_SPIKE": {"growth_factor": 2.0},
            "WASH_TRADING": {"max_quantity_ratio": 1.2},
        }
    )
    large = rules["LARGE_ORDER"]
    assert isinstance(large, LargeOrder)
    assert large.config.thresholds_usd["BTC"] == 1_000_000
    assert large.config.thresholds_usd["PEPE"] == 5_000.0
    assert large.config.thresholds_usd["ETH"] == 250_000.0  # untouched defaults survive the merge
    assert large.config.base_strength == 1
    assert isinstance(rules["RAPID_BURST"], RapidBurst)
    assert (rules["RAPID_BURST"].length, rules["RAPID_BURST"].window_ms) == (6, 2_000)
    assert isinstance(rules["FLASH_CRASH"], FlashCrash)
    assert rules["FLASH_CRASH"].length == 4
    assert isinstance(rules["VOLUME_SPIKE"], VolumeSpike)
    assert rules["VOLUME_SPIKE"].config.growth_factor == 2.0
    assert isinstance(rules["WASH_TRADING"], WashTrading)
    assert rules["WASH_TRADING"].config.max_quantity_ratio == 1.2
    # Overrides never leak into the defaults of a later load.
    assert _by_name()["LARGE_ORDER"].config.thresholds_usd["BTC"] == 500_000.0
    assert "PEPE" not in _by_name()["LARGE_ORDER"].config.thresholds_usd


def test_a_disabled_rule_is_left_out() -> None:
    rules = _by_name({"RAPID_BURST": {"enabled": False}, "SELF_TRADE": {"enabled": False}})
    assert sorted(rules) == [name for name in ALL_RULES if name not in ("RAPID_BURST", "SELF_TRADE")]
    assert sorted(_by_name({"RAPID_BURST": {"enabled": True}})) == ALL_RULES


def test_an_unknown_rule_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="PUMP_AND_DUMP") as info:
        load_rules({"PUMP_AND_DUMP": {}})
    assert info.value.reason == "bad_configuration"
    with pytest.raises(ConfigurationError, match="large_order"):
        load_rules({"large_order": {"enabled": False}})  # names are exact


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"RAPID_BURST": {"max_trade": 5}}, "max_trade"),
        ({"LARGE_ORDER": {"threshold_usd": {"BTC": 1.0}}}, "threshold_usd"),
        ({"WASH_TRADING": {"window": 1}}, "window"),
        ({"SPOOFING": {"cancel_within": 1}}, "cancel_within"),
    ],
)
def test_an_unknown_setting_is_a_configuration_error(settings: dict[str, dict[str, Any]], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        load_rules(settings)


@pytest.mark.parametrize(
    "settings",
    [
        {"RAPID_BURST": {"enabled": "no"}},
        {"RAPID_BURST": {"max_trades": 2.5}},
        {"RAPID_BURST": {"max_trades": "20"}},
        {"FLASH_CRASH": {"sells": True}},
        {"LARGE_ORDER": {"thresholds_usd": 5}},
        {"LARGE_ORDER": {"default_threshold_usd": "50000"}},
        {"VOLUME_SPIKE": {"growth_factor": None}},
        {"LAYERING": {"min_levels": 4.0}},
        {"EXCESSIVE_CANCELS": {"cancels_per_fill": "6"}},
    ],
)
def test_a_setting_of_the_wrong_type_is_a_configuration_error(settings: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(ConfigurationError):
        load_rules(settings)


@pytest.mark.parametrize(
    "settings",
    [
        {"FLASH_CRASH": {"sells": 1}},
        {"FLASH_CRASH": {"window_ms": 0}},
        {"RAPID_BURST": {"max_trades": 0}},
        {"VOLUME_SPIKE": {"growth_factor": 1.0}},
        {"VOLUME_SPIKE": {"trades": 1}},
        {"WASH_TRADING": {"max_quantity_ratio": 0.9}},
        {"LARGE_ORDER": {"thresholds_usd": {"BTC": 0}}},
        {"LARGE_ORDER": {"default_threshold_usd": -1.0}},
        {"LARGE_ORDER": {"saturation": 1.0}},
        {"SELF_TRADE": {"base_strength": 1.5}},
        {"WASH_TRADING": {"base_strength": -0.1}},
        {"SPOOFING": {"min_ratio": 0.5}},
        {"LAYERING": {"cancel_within_ms": 0}},
        {"EXCESSIVE_CANCELS": {"min_fills": 0}},
    ],
)
def test_a_setting_out_of_range_is_a_configuration_error(settings: dict[str, dict[str, Any]]) -> None:
    rule = next(iter(settings))
    with pytest.raises(ConfigurationError, match=rule):
        load_rules(settings)
