"""The MSK triggers of the deployed system, as local bridges: which function consumes which topic.

``riskengine demo`` runs them until their topics are drained; ``riskengine api serve`` keeps them
running in the background, so a trade posted to the API is scored and indexed like in AWS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from riskengine.errors import RiskEngineError
from riskengine.sinks import Topics
from riskengine_tools.local.bridge import BridgeConfig, EventSourceMappingBridge, load_handler
from riskengine_tools.local.lifecycle import BackgroundThreads
from riskengine_tools.local.paths import function_handler

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Trigger:
    """One event source mapping: ``function`` consumes ``topic`` in its own consumer group."""

    function: str
    topic: str
    group_id: str

    def bridge(
        self, bootstrap_servers: str, batch_size: int = 500, batching_window_ms: int = 200
    ) -> EventSourceMappingBridge:
        config = BridgeConfig(
            bootstrap_servers=bootstrap_servers,
            topic=self.topic,
            group_id=self.group_id,
            batch_size=batch_size,
            batching_window_ms=batching_window_ms,
        )
        return EventSourceMappingBridge(config, load_handler(function_handler(self.function)))


def scoring(topics: Topics) -> tuple[Trigger, Trigger]:
    """The engine's two mappings: trades to score_trades, order events to its sibling score_orders
    (docs/decisions/0001-order-events.md); each topic has its own function and consumer group."""
    return (
        Trigger("score_trades", topics.trades, "riskengine-score-trades"),
        Trigger("score_orders", topics.orders, "riskengine-score-orders"),
    )


def dispatching(topics: Topics) -> Trigger:
    return Trigger("dispatch_alerts", topics.alerts, "riskengine-dispatch-alerts")


def indexing(topics: Topics) -> tuple[Trigger, Trigger]:
    """Two mappings of one function; each has its own consumer group, so neither rebalances the other."""
    return (
        Trigger("index_search", topics.analyzed, "riskengine-index-search-analyzed"),
        Trigger("index_search", topics.alerts, "riskengine-index-search-alerts"),
    )


class BackgroundTriggers(BackgroundThreads):
    """Each trigger's bridge on its own thread until ``stop()``; a bridge that gives up is logged, not raised."""

    def __init__(self, triggers: tuple[Trigger, ...], bootstrap_servers: str, batching_window_ms: int = 200) -> None:
        super().__init__()
        for trigger in triggers:
            name = f"trigger-{trigger.function}-{trigger.topic}"
            self.add(name, self._run, trigger, bootstrap_servers, batching_window_ms)

    def _run(self, trigger: Trigger, bootstrap_servers: str, batching_window_ms: int) -> None:
        bridge = trigger.bridge(bootstrap_servers, batching_window_ms=batching_window_ms)
        try:
            bridge.run(until=lambda _stats: self.stopping.is_set())
        except RiskEngineError as exc:  # retries exhausted: the trigger stops, as a disabled mapping would
            logger.error("%s on %s stopped: %s", trigger.function, trigger.topic, exc)
        finally:
            bridge.close()
