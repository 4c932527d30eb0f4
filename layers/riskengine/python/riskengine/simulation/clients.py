"""The container's simulation clients, built once from the environment (``Settings.from_env``).

Lambda keeps a warm container's Redis connection and Kafka producer between invocations; local
tools close them with :func:`close_default_clients` (``riskengine_tools.local.environment`` does). The
producer is the trade intake's (:func:`riskengine.intake.producer.default_trade_producer`), shared
with the ticks.
"""

from __future__ import annotations

import functools

from riskengine.intake.producer import default_trade_producer
from riskengine.runtime import redis_client
from riskengine.settings import Settings
from riskengine.simulation.control import SimulationControl
from riskengine.simulation.ticker import SimulationTicker


@functools.cache
def default_control() -> SimulationControl:
    return SimulationControl(redis_client(Settings.from_env()))


@functools.cache
def default_ticker() -> SimulationTicker:
    return SimulationTicker(default_control(), default_trade_producer())


def close_default_clients() -> None:
    """Close the cached producer and forget every cached client, so the next use is a cold start."""
    if default_trade_producer.cache_info().currsize:
        default_trade_producer().close()
    for factory in (default_ticker, default_trade_producer, default_control):
        factory.cache_clear()
