"""End-to-end latency: a trade produced to ``crypto-trades`` -> its alert readable on ``risk-alerts``.

Everything real and local: the embedded Kafka-protocol broker, a fresh redis-server, the trigger
bridge (batching window 0, as a latency-minded mapping would run) invoking the real score_trades
handler with the Kafka sink, and a consumer of the alerts topic, all in one process so one clock
times both ends. Trades are produced at a fixed rate; an alert's latency is from the send of the
last of its trades to the moment the consumer holds it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from riskengine.codec import ALERTS_SUBJECT, TRADES_SUBJECT, AvroCodec, CodecError, FixedIdRegistry
from riskengine.model import SourceRecord
from riskengine.sinks import Topics
from riskengine_tools.local import EmbeddedBroker, EmbeddedRedis
from riskengine_tools.local.bridge import BridgeConfig, EventSourceMappingBridge, load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.paths import function_handler

__all__ = ["EndToEnd", "measure_end_to_end"]

JOIN_TIMEOUT_S = 30.0
QUIET_S = 2.0
CODEC = AvroCodec(FixedIdRegistry())


@dataclass(frozen=True, slots=True)
class EndToEnd:
    trades: int
    rate_per_s: float
    batch_size: int
    alerts: int
    latencies_ms: tuple[float, ...]  # ascending


def measure_end_to_end(
    records: Sequence[SourceRecord], rate_per_s: float, batch_size: int, progress: Callable[[int], None]
) -> EndToEnd:
    """Produce ``records`` at ``rate_per_s``; ``progress(n)`` with the trades the handler has taken so far."""
    topics = Topics()
    with ExitStack() as stack:
        redis_url = stack.enter_context(EmbeddedRedis()).url
        broker = stack.enter_context(EmbeddedBroker())
        broker.create_topics([topics.trades, topics.analyzed, topics.alerts, topics.dead_letter], partitions=1)
        env = {"REDIS_URL": redis_url, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers, "RISKENGINE_SINK": "kafka"}
        stack.enter_context(handler_environment(env))
        config = BridgeConfig(
            broker.bootstrap_servers, topic=topics.trades, batch_size=batch_size, batching_window_ms=0
        )
        bridge = EventSourceMappingBridge(config, load_handler(function_handler("score_trades")))
        stack.callback(bridge.close)
        done = threading.Event()
        scoring = threading.Thread(target=bridge.run, args=(lambda _stats: done.is_set(),), daemon=True)
        alerts = _AlertReader(broker.bootstrap_servers, topics.alerts)
        scoring.start()
        alerts.start()
        _wait_for(bridge.joined, "the trigger bridge to join its consumer group")
        sent = _produce(broker.bootstrap_servers, topics.trades, records, rate_per_s)  # bridge scores meanwhile
        _wait_for(lambda: progress(bridge.stats.records) or bridge.stats.records >= len(records),
                  "the handler to take every trade", timeout=300)  # fmt: skip
        time.sleep(QUIET_S)  # the last batch's alerts reach the topic
        done.set()
        alerts.stop()
        scoring.join()
    latencies = sorted(
        (seen - max(sent[t] for t in trade_ids)) * 1000
        for seen, trade_ids in alerts.seen
        if trade_ids and all(t in sent for t in trade_ids)
    )
    return EndToEnd(len(records), rate_per_s, batch_size, len(alerts.seen), tuple(latencies))


def _produce(bootstrap: str, topic: str, records: Iterable[SourceRecord], rate_per_s: float) -> dict[str, float]:
    """Send each record at its slot of a fixed rate; returns each trade id's send time (perf_counter)."""
    sent: dict[str, float] = {}
    with closing(KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)) as producer:
        start = time.perf_counter()
        for index, record in enumerate(records):
            delay = start + index / rate_per_s - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            producer.send(topic, key=record.key, value=record.value, timestamp_ms=record.timestamp)
            trade_id = _trade_id(record.value)
            if trade_id is not None:
                sent[trade_id] = time.perf_counter()
        producer.flush()
    return sent


def _trade_id(value: bytes | None) -> str | None:
    try:
        return str(CODEC.decode(TRADES_SUBJECT, value or b"").get("tradeId"))
    except CodecError:
        return None


class _AlertReader(threading.Thread):
    """Reads the alerts topic from the start; notes when each alert was in hand and its trades."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.seen: list[tuple[float, list[str]]] = []
        self._stopping = threading.Event()
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        self._consumer.assign([TopicPartition(topic, 0)])
        self._consumer.seek_to_beginning()

    def run(self) -> None:
        with closing(self._consumer):
            while not self._stopping.is_set():
                for batch in self._consumer.poll(timeout_ms=20).values():
                    now = time.perf_counter()
                    self.seen += [(now, _alert_trades(r.value)) for r in batch]

    def stop(self) -> None:
        self._stopping.set()
        self.join()


def _alert_trades(value: bytes | None) -> list[str]:
    alert: dict[str, Any] = CODEC.decode(ALERTS_SUBJECT, value or b"")
    return [str(t) for t in alert.get("triggeredEvents") or []]


def _wait_for(condition: Any, what: str, timeout: float = JOIN_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.05)
