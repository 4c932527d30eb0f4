"""Redis memory of the dispatcher: alert ids already sent, and messages per pattern per minute.

Both reads of a batch go in one pipelined round trip and both writes in another. Pipelines of
single-key commands (no MGET) keep this valid on Redis Cluster, where ids land in many slots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import redis
from redis.cluster import RedisCluster

SENT_PREFIX = "rk:v1:alerting:sent:"
RATE_PREFIX = "rk:v1:alerting:rate:"
RATE_TTL_S = 120  # the minute itself plus slack for clock skew between containers


class DispatchState:
    def __init__(self, client: redis.Redis | RedisCluster, sent_ttl_s: int) -> None:
        self._client = client
        self._sent_ttl_s = sent_ttl_s

    def read(self, alert_ids: Sequence[str], patterns: Sequence[str], minute: int) -> tuple[set[str], dict[str, int]]:
        """Ids already sent and this minute's message count per pattern, in one round trip."""
        pipe = self._client.pipeline(transaction=False)
        for alert_id in alert_ids:
            pipe.exists(SENT_PREFIX + alert_id)
        for pattern in patterns:
            pipe.get(_rate_key(pattern, minute))
        replies = pipe.execute()
        sent = {alert_id for alert_id, hit in zip(alert_ids, replies, strict=False) if hit}
        counts = {p: int(v or 0) for p, v in zip(patterns, replies[len(alert_ids) :], strict=True)}
        return sent, counts

    def mark(self, alert_ids: Iterable[str], per_pattern: Mapping[str, int], minute: int) -> None:
        """Remember what SNS accepted (only then: an id marked but not sent would be lost)."""
        pipe = self._client.pipeline(transaction=False)
        for alert_id in alert_ids:
            pipe.set(SENT_PREFIX + alert_id, 1, ex=self._sent_ttl_s)
        for pattern, count in per_pattern.items():
            pipe.incrby(_rate_key(pattern, minute), count)
            pipe.expire(_rate_key(pattern, minute), RATE_TTL_S)
        if pipe:
            pipe.execute()


def _rate_key(pattern: str, minute: int) -> str:
    return f"{RATE_PREFIX}{pattern}:{minute}"
