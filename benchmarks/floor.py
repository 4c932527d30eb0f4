"""The floor of this design: what one batch costs with nothing but the work every design must do.

Per batch: the trigger event's base64 and Confluent-Avro decode of every record (fastavro, the
engine's own codec), then ONE Lua call that ZADDs each trade into its user's sorted set and reads
that window's last four members back. No rules, no scoring, no results. The throughput benchmark
runs it back to back with the handler on the same stream and reports the handler as a fraction
of it (benchmarks/README.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import redis

from riskengine.codec import TRADES_SUBJECT, AvroCodec, CodecError, FixedIdRegistry
from riskengine.model import SourceRecord
from riskengine.msk import build_event, parse_event

__all__ = ["FLOOR_SCRIPT", "FloorRun", "time_floor"]

# KEYS: each trade's user window; ARGV: score, member per trade. Returns each window's last 4 members.
FLOOR_SCRIPT = """
local out = {}
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2 * i - 1], ARGV[2 * i])
  out[i] = redis.call('ZRANGE', KEYS[i], -4, -1)
end
return out
"""


class FloorRun:
    """The floor's work for one trigger event; returns how many trades decoded."""

    def __init__(self, client: redis.Redis) -> None:
        self._script = client.register_script(FLOOR_SCRIPT)
        self._codec = AvroCodec(FixedIdRegistry())

    def process(self, event: dict[str, Any]) -> int:
        keys: list[str] = []
        args: list[Any] = []
        for record in parse_event(event):
            try:
                trade = self._codec.decode(TRADES_SUBJECT, record.value or b"")
            except CodecError:
                continue  # the handler dead-letters these; the floor only skips them
            timestamp = trade.get("timestamp")
            if not isinstance(timestamp, int):
                continue  # an invalid trade (the stream injects some): dead-lettered by the handler
            keys.append(f"floor:u:{trade.get('userId')}")
            args += (timestamp, f"{timestamp}:{trade.get('tradeId')}")
        if keys:
            self._script(keys=keys, args=args)
        return len(keys)


def time_floor(
    client: redis.Redis, batches: Iterable[list[SourceRecord]], on_batch: Callable[[int], None]
) -> tuple[float, float, int]:
    """(wall seconds, this process's CPU seconds, trades) of the floor over ``batches``.

    Events are built outside the timed part, as for the handler (the trigger builds them).
    """
    run = FloorRun(client)
    wall = cpu = 0.0
    trades = 0
    for batch in batches:
        event = build_event(batch)
        started_cpu, started = time.process_time(), time.perf_counter()
        trades += run.process(event)
        wall += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
        on_batch(len(batch))
    return wall, cpu, trades
