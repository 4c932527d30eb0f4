"""Settings from the environment: the event-time bounds, the ledger horizon and what is refused."""

from __future__ import annotations

import pytest

from riskengine.errors import ConfigurationError
from riskengine.settings import Settings
from riskengine.validation import DEFAULT_MAX_FUTURE_SKEW_MS, DEFAULT_MAX_TRADE_AGE_MS


def test_defaults_make_a_trade_stamped_within_the_skew_harmless_to_its_user() -> None:
    settings = Settings.from_env({})
    assert settings.user_lateness_ms == 10_000
    assert settings.market_lateness_ms == 60_000
    assert settings.max_future_skew_ms == DEFAULT_MAX_FUTURE_SKEW_MS == 5_000
    assert settings.user_lateness_ms > settings.max_future_skew_ms
    assert settings.max_trade_age_ms == DEFAULT_MAX_TRADE_AGE_MS
    assert settings.duplicate_horizon_ms == 3_600_000


def test_every_bound_is_configurable() -> None:
    env = {
        "USER_LATENESS_MS": "15000",
        "MARKET_LATENESS_MS": "120000",
        "MAX_FUTURE_SKEW_MS": "2000",
        "MAX_TRADE_AGE_MS": "86400000",
        "DUPLICATE_HORIZON_MS": "600000",
    }
    settings = Settings.from_env(env)
    assert (
        settings.user_lateness_ms,
        settings.market_lateness_ms,
        settings.max_future_skew_ms,
        settings.max_trade_age_ms,
        settings.duplicate_horizon_ms,
    ) == (15_000, 120_000, 2_000, 86_400_000, 600_000)


def test_the_order_topic_is_crypto_orders_unless_renamed() -> None:
    assert Settings.from_env({}).topics.orders == "crypto-orders"
    renamed = Settings.from_env({"ORDERS_TOPIC": "orders-eu", "TRADES_TOPIC": "trades-eu"}).topics
    assert (renamed.orders, renamed.trades) == ("orders-eu", "trades-eu")


def test_the_retired_single_lateness_setting_is_refused_with_what_to_do() -> None:
    with pytest.raises(ConfigurationError, match=r"USER_LATENESS_MS .* MARKET_LATENESS_MS"):
        Settings.from_env({"ALLOWED_LATENESS_MS": "5000"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("USER_LATENESS_MS", "-1"),
        ("MARKET_LATENESS_MS", "-1"),
        ("MAX_FUTURE_SKEW_MS", "-5"),
        ("MAX_TRADE_AGE_MS", "0"),
        ("DUPLICATE_HORIZON_MS", "0"),
        ("MARKET_LATENESS_MS", "a minute"),
    ],
)
def test_a_bound_out_of_range_is_a_configuration_error_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: value})
