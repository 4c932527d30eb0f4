"""Session-wide embedded services for integration tests.

The tests start the real processes themselves on free loopback ports, so nothing has to be
running beforehand and parallel runs never collide. A service that cannot start fails the
fixture with ServiceUnavailable (install hint plus log tail) rather than skipping silently.
"""

from collections.abc import Iterator

import pytest
import redis
from opensearchpy import OpenSearch

from riskengine.search import SearchConfig, create_client
from riskengine_tools.local import EmbeddedBroker, EmbeddedRedis, EmbeddedSearch


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    """One redis-server for the whole session; per-test isolation comes from ``redis_client``."""
    with EmbeddedRedis() as server:
        yield server


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[EmbeddedBroker]:
    """One Kafka-protocol broker for the whole session; tests isolate themselves with unique topic names."""
    with EmbeddedBroker() as broker:
        yield broker


@pytest.fixture
def redis_client(redis_server: EmbeddedRedis) -> Iterator[redis.Redis]:
    """A client on an empty database, so no test sees keys left by another."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture(scope="session")
def search_server() -> Iterator[EmbeddedSearch]:
    """One OpenSearch-compatible server (noida-db) for the whole session."""
    with EmbeddedSearch() as server:
        yield server


@pytest.fixture
def search_client(search_server: EmbeddedSearch) -> Iterator[OpenSearch]:
    """A client on an empty server: every index and index template is deleted first."""
    client = create_client(SearchConfig(url=search_server.url))
    for name in client.indices.get(index="*", expand_wildcards="all"):
        client.indices.delete(index=name)
    for template in client.indices.get_index_template().get("index_templates", []):
        client.indices.delete_index_template(name=template["name"])
    yield client
    client.close()
