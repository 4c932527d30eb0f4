"""CryptoTrade records to the trades topic, as the scorer reads them: Confluent Avro, keyed by userId.

Used by the simulation ticks and by the trade intake API, so both write exactly what an exchange
would. Every trade is encoded before the first one is sent, so a trade that does not fit the
schema fails the call without writing anything.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from riskengine.codec import TRADES_SUBJECT, AvroCodec, registry_from_env
from riskengine.errors import SinkError
from riskengine.settings import Settings
from riskengine.sinks.kafka import unacknowledged

__all__ = ["DEFAULT_TIMEOUT_S", "TradeProducer", "default_trade_producer"]

# Connecting, sending (which blocks while metadata is missing) and flushing are each bounded, so
# an unreachable broker fails a request inside API Gateway's 29 s integration timeout.
DEFAULT_TIMEOUT_S = 8.0


class TradeProducer:
    def __init__(
        self, producer: KafkaProducer, codec: AvroCodec, topic: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.topic = topic
        self._producer = producer
        self._codec = codec
        self._timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> TradeProducer:
        """A producer on ``settings.kafka`` writing to ``settings.topics.trades``; SinkError if Kafka is unreachable."""
        timeout_ms = int(timeout_s * 1_000)
        config = settings.kafka.producer_config() | {"bootstrap_timeout_ms": timeout_ms, "max_block_ms": timeout_ms}
        try:
            producer = KafkaProducer(**config)
        except KafkaError as exc:
            raise SinkError(f"cannot connect to Kafka at {settings.kafka.bootstrap_servers}: {exc}") from exc
        return cls(producer, AvroCodec(registry_from_env()), settings.topics.trades, timeout_s=timeout_s)

    def send(self, trades: Sequence[dict[str, Any]]) -> None:
        """Write the trades and wait until every one is acknowledged; raise SinkError otherwise.

        The record timestamp is the trade's event time, as an exchange's producer would set it.
        Raises the codec's errors (e.g. RegistryUnavailable) before anything is sent.
        """
        values = self._codec.encode_many(TRADES_SUBJECT, trades)
        futures = []
        try:
            for trade, value in zip(trades, values, strict=True):
                key = trade["userId"].encode()
                futures.append(self._producer.send(self.topic, key=key, value=value, timestamp_ms=trade["timestamp"]))
            self._producer.flush(timeout=self._timeout_s)
        except KafkaError as exc:
            raise SinkError(f"writing {len(trades)} trades to {self.topic} failed: {exc}") from exc
        failures = [future.exception for future in futures if unacknowledged(future)]
        if failures:
            raise SinkError(f"{len(failures)} of {len(trades)} writes to {self.topic} failed; first: {failures[0]!r}")

    def close(self) -> None:
        self._producer.close(timeout=self._timeout_s)


@functools.cache
def default_trade_producer() -> TradeProducer:
    """The container's trades topic producer; SinkError (not cached) while Kafka is unreachable."""
    return TradeProducer.from_settings(Settings.from_env())
