"""Where OpenSearch is and how to authenticate, read once per container from environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from riskengine.errors import ConfigurationError


class SearchAuth(StrEnum):
    NONE = "none"  # local servers
    BASIC = "basic"  # internal users of fine-grained access control
    SIGV4 = "sigv4"  # Amazon OpenSearch Service / Serverless, signed with the function's role


@dataclass(frozen=True, slots=True)
class SearchConfig:
    url: str = "http://127.0.0.1:9200"
    auth: SearchAuth = SearchAuth.NONE
    username: str = ""
    password: str = ""
    region: str = ""
    service: str = "es"  # "aoss" for OpenSearch Serverless
    verify_certs: bool = True
    timeout_s: float = 10.0
    dead_letter_topic: str = "risk-search-dlq"
    dashboards_url: str = ""

    def __post_init__(self) -> None:
        if urlsplit(self.url).scheme not in {"http", "https"} or not urlsplit(self.url).hostname:
            raise ConfigurationError(f"OPENSEARCH_URL must be an http(s) URL, got {self.url!r}")
        if self.auth is SearchAuth.BASIC and not (self.username and self.password):
            raise ConfigurationError("OPENSEARCH_AUTH=basic needs OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD")
        if self.auth is SearchAuth.SIGV4 and not self.region:
            raise ConfigurationError("OPENSEARCH_AUTH=sigv4 needs AWS_REGION")
        if self.service not in {"es", "aoss"}:
            raise ConfigurationError(f"OPENSEARCH_SERVICE must be es or aoss, got {self.service!r}")
        if self.timeout_s <= 0:
            raise ConfigurationError("OPENSEARCH_TIMEOUT_S must be > 0")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SearchConfig:
        env = os.environ if env is None else env
        defaults = cls()
        auth = env.get("OPENSEARCH_AUTH", defaults.auth.value).strip().lower()
        if auth not in {mode.value for mode in SearchAuth}:
            raise ConfigurationError(f"OPENSEARCH_AUTH must be none, basic or sigv4, got {auth!r}")
        try:
            timeout_s = float(env.get("OPENSEARCH_TIMEOUT_S", defaults.timeout_s))
        except ValueError as exc:
            raw = env["OPENSEARCH_TIMEOUT_S"]
            raise ConfigurationError(f"OPENSEARCH_TIMEOUT_S must be a number, got {raw!r}") from exc
        return cls(
            url=env.get("OPENSEARCH_URL", defaults.url).rstrip("/"),
            auth=SearchAuth(auth),
            username=env.get("OPENSEARCH_USERNAME", ""),
            password=env.get("OPENSEARCH_PASSWORD", ""),
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "")),
            service=env.get("OPENSEARCH_SERVICE", defaults.service),
            verify_certs=env.get("OPENSEARCH_VERIFY_CERTS", "true").strip().lower() not in {"false", "0", "no"},
            timeout_s=timeout_s,
            dead_letter_topic=env.get("SEARCH_DEAD_LETTER_TOPIC", defaults.dead_letter_topic),
            dashboards_url=env.get("DASHBOARDS_URL", "").rstrip("/"),
        )
