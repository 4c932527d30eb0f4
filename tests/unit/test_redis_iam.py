"""ElastiCache IAM authentication: REDIS_AUTH=iam settings and the SigV4 token the engine signs for each connection.

The token is checked against an independent implementation of AWS Signature Version 4 query signing (the
documented canonical request, string to sign and key derivation), not against botocore's own output.
"""

from __future__ import annotations

import hashlib
import hmac
from types import SimpleNamespace
from urllib.parse import parse_qsl, quote

import pytest

from riskengine.errors import ConfigurationError
from riskengine.runtime import ElastiCacheIamCredentials, iam_auth_token
from riskengine.settings import RedisIamAuth, Settings

KEYS = SimpleNamespace(access_key="AKIDEXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token=None)
SESSION = SimpleNamespace(access_key="ASIAEXAMPLE", secret_key="c2VjcmV0", token="FwoGZXIvYXdzE+session/token==")
SERVERLESS = RedisIamAuth(user="riskengine-engine", cache_name="riskengine-cache", region="eu-west-1", serverless=True)
IAM_ENV = {
    "REDIS_AUTH": "iam",
    "REDIS_USER": "riskengine-engine",
    "REDIS_CACHE_NAME": "riskengine-cache",
    "REDIS_CACHE_SERVERLESS": "true",
    "AWS_REGION": "eu-west-1",
}


# --- settings ----------------------------------------------------------------------------------------------


def test_without_redis_auth_the_url_says_everything() -> None:
    assert Settings.from_env({}).redis_iam is None
    assert Settings.from_env({"REDIS_AUTH": "none"}).redis_iam is None


def test_redis_auth_iam_reads_the_user_the_cache_and_the_region() -> None:
    assert Settings.from_env(IAM_ENV).redis_iam == SERVERLESS
    group = Settings.from_env(IAM_ENV | {"REDIS_CACHE_SERVERLESS": "false"}).redis_iam
    assert group is not None and group.serverless is False


@pytest.mark.parametrize("missing", ["REDIS_USER", "REDIS_CACHE_NAME", "AWS_REGION"])
def test_redis_auth_iam_without_what_it_needs_is_refused_naming_it(missing: str) -> None:
    env = {k: v for k, v in IAM_ENV.items() if k != missing}
    with pytest.raises(ConfigurationError, match=f"REDIS_AUTH=iam needs {missing} set"):
        Settings.from_env(env)


def test_an_unknown_redis_auth_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="REDIS_AUTH must be none or iam, got 'password'"):
        Settings.from_env({"REDIS_AUTH": "password"})


# --- the token ---------------------------------------------------------------------------------------------


def _sigv4_signature(host: str, params: list[tuple[str, str]], secret: str) -> str:
    """AWS SigV4 for a presigned GET of ``host`` path ``/`` (query auth, only ``host`` signed, empty payload)."""
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in params if k != "X-Amz-Signature")
    canonical_query = "&".join(f"{k}={v}" for k, v in encoded)
    empty_payload = hashlib.sha256(b"").hexdigest()
    canonical_request = "\n".join(["GET", "/", canonical_query, f"host:{host}", "", "host", empty_payload])
    values = dict(params)
    timestamp = values["X-Amz-Date"]
    _, date, region, service, terminator = values["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/{terminator}"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", timestamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, terminator):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _parts(token: str) -> tuple[str, list[tuple[str, str]]]:
    host_and_path, _, query = token.partition("?")
    return host_and_path, parse_qsl(query, keep_blank_values=True)


def test_the_serverless_token_is_a_presigned_connect_request_to_the_cache_without_scheme() -> None:
    token = iam_auth_token(SERVERLESS, KEYS)
    host_and_path, params = _parts(token)
    values = dict(params)
    assert host_and_path == "riskengine-cache/"
    assert not token.startswith("http")
    assert [k for k, _ in params][:3] == ["Action", "User", "ResourceType"]  # the operation's, then SigV4's
    assert (values["Action"], values["User"], values["ResourceType"]) == (
        "connect",
        "riskengine-engine",
        "ServerlessCache",
    )
    assert values["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert values["X-Amz-Expires"] == "900"  # ElastiCache honours a token for 15 minutes
    assert values["X-Amz-SignedHeaders"] == "host"
    access_key, _, region, service, terminator = values["X-Amz-Credential"].split("/")
    assert (access_key, region, service, terminator) == ("AKIDEXAMPLE", "eu-west-1", "elasticache", "aws4_request")
    assert "X-Amz-Security-Token" not in values
    assert values["X-Amz-Signature"] == _sigv4_signature("riskengine-cache", params, KEYS.secret_key)


def test_a_replication_group_token_has_no_resource_type_and_session_credentials_carry_their_token() -> None:
    group = RedisIamAuth(user="riskengine-engine", cache_name="riskengine-cache", region="us-east-1", serverless=False)
    _, params = _parts(iam_auth_token(group, SESSION))
    values = dict(params)
    assert "ResourceType" not in values
    assert values["X-Amz-Security-Token"] == SESSION.token
    assert values["X-Amz-Signature"] == _sigv4_signature("riskengine-cache", params, SESSION.secret_key)


def test_a_wrong_secret_does_not_verify() -> None:
    """The verifier itself can fail: a token signed with another key does not match."""
    _, params = _parts(iam_auth_token(SERVERLESS, KEYS))
    assert dict(params)["X-Amz-Signature"] != _sigv4_signature("riskengine-cache", params, "another-secret")


class _RefreshingCredentials:
    """Stands in for botocore's refreshable credentials: each freeze may return newer keys."""

    def __init__(self) -> None:
        self.frozen = 0

    def get_frozen_credentials(self) -> SimpleNamespace:
        self.frozen += 1
        return KEYS


def test_the_provider_answers_the_user_and_a_token_signed_with_the_current_credentials() -> None:
    credentials = _RefreshingCredentials()
    provider = ElastiCacheIamCredentials(SERVERLESS, credentials)
    user, token = provider.get_credentials()
    assert user == "riskengine-engine"
    assert token.startswith("riskengine-cache/?Action=connect&User=riskengine-engine&ResourceType=ServerlessCache&")
    provider.get_credentials()
    assert credentials.frozen == 2  # every connection signs with the credentials of that moment
