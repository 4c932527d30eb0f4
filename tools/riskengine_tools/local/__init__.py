"""Embedded loopback services for local runs and integration tests.

Redis, a Kafka-protocol broker, moto's AWS APIs and an OpenSearch-compatible server. Production
code never imports this package; it only needs addresses, which these services provide on 127.0.0.1.
"""

from riskengine_tools.local.aws import EmbeddedAws
from riskengine_tools.local.broker import EmbeddedBroker
from riskengine_tools.local.errors import ServiceUnavailable
from riskengine_tools.local.ports import free_port
from riskengine_tools.local.redis_server import EmbeddedRedis, EmbeddedRedisCluster, EmbeddedShardedCluster
from riskengine_tools.local.search_server import EmbeddedSearch

__all__ = [
    "EmbeddedAws",
    "EmbeddedBroker",
    "EmbeddedRedis",
    "EmbeddedRedisCluster",
    "EmbeddedSearch",
    "EmbeddedShardedCluster",
    "ServiceUnavailable",
    "free_port",
]
