"""REDIS_AUTH=iam on a real redis-server: every connection the engine's client opens (standalone and cluster)
authenticates as the ElastiCache user with the token the provider signs at that moment.

redis-server cannot check a SigV4 token, so the signing is replaced by a fixed token set as the ACL user's
password (tests/unit/test_redis_iam.py checks the signing itself).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from riskengine import runtime
from riskengine.settings import Settings
from riskengine_tools.local import EmbeddedRedis, EmbeddedRedisCluster

pytestmark = pytest.mark.integration

USER, TOKEN = "riskengine-engine", "signed-token-of-this-moment"
ENV = {"REDIS_AUTH": "iam", "REDIS_USER": USER, "REDIS_CACHE_NAME": "riskengine-cache", "AWS_REGION": "eu-west-1"}


@pytest.fixture
def signed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the signing with TOKEN; the list records the user of every token asked for."""
    asked: list[str] = []

    def sign(auth: runtime.RedisIamAuth, credentials: object) -> str:
        asked.append(auth.user)
        return TOKEN

    monkeypatch.setattr(runtime, "iam_auth_token", sign)
    monkeypatch.setattr(runtime.ElastiCacheIamCredentials, "_aws_credentials", lambda self: _Frozen())
    return asked


class _Frozen:
    def get_frozen_credentials(self) -> object:
        return object()


def _add_user(url: str) -> None:
    admin = redis.Redis.from_url(url)
    admin.acl_setuser(USER, enabled=True, passwords=[f"+{TOKEN}"], keys=["*"], commands=["+@all"])
    admin.close()


@pytest.fixture(scope="module")
def standalone() -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis() as server:
        _add_user(server.url)
        yield server


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedRedisCluster]:
    with EmbeddedRedisCluster() as server:
        _add_user(server.url)
        yield server


def test_a_standalone_client_authenticates_as_the_iam_user(standalone: EmbeddedRedis, signed: list[str]) -> None:
    client = runtime.redis_client(Settings.from_env(ENV | {"REDIS_URL": standalone.url}))
    assert client.acl_whoami() == USER
    client.close()
    assert signed and set(signed) == {USER}


def test_a_cluster_client_authenticates_every_node_connection(cluster: EmbeddedRedisCluster, signed: list[str]) -> None:
    client = runtime.redis_client(Settings.from_env(ENV | {"REDIS_URL": cluster.url, "REDIS_CLUSTER": "true"}))
    client.set("{user-1}:probe", "1")
    assert client.get("{user-1}:probe") == b"1"
    assert client.execute_command("ACL WHOAMI", target_nodes=client.get_primaries()) == USER
    client.close()
    assert signed


def test_a_token_redis_does_not_accept_fails_the_connection(
    standalone: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "iam_auth_token", lambda auth, credentials: "expired-token")
    monkeypatch.setattr(runtime.ElastiCacheIamCredentials, "_aws_credentials", lambda self: _Frozen())
    client = runtime.redis_client(Settings.from_env(ENV | {"REDIS_URL": standalone.url}))
    with pytest.raises(redis.AuthenticationError):
        client.ping()
    client.close()
