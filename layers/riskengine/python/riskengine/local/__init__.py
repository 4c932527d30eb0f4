"""Embedded loopback services (Redis, a Kafka-protocol broker, moto's AWS APIs) for local runs and integration tests.

Production code never imports this package; it only needs a Redis URL and Kafka bootstrap servers,
which these services provide on 127.0.0.1.
"""

from riskengine.local.aws import EmbeddedAws
from riskengine.local.broker import EmbeddedBroker
from riskengine.local.errors import ServiceUnavailable
from riskengine.local.ports import free_port
from riskengine.local.redis_server import EmbeddedRedis, EmbeddedRedisCluster

__all__ = ["EmbeddedAws", "EmbeddedBroker", "EmbeddedRedis", "EmbeddedRedisCluster", "ServiceUnavailable", "free_port"]
