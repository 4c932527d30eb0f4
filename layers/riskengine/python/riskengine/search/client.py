"""One OpenSearch client per container, authenticated as the configuration says."""

from __future__ import annotations

import functools
from typing import Any

from opensearchpy import OpenSearch, RequestsHttpConnection

from riskengine.search.config import SearchAuth, SearchConfig


def create_client(config: SearchConfig, **overrides: Any) -> OpenSearch:
    """A client for ``config``; ``overrides`` go to :class:`OpenSearch` (e.g. ``max_retries``)."""
    options: dict[str, Any] = {
        "hosts": [config.url],
        "verify_certs": config.verify_certs,
        "timeout": config.timeout_s,
        "connection_class": RequestsHttpConnection,
        "http_compress": True,
        "max_retries": 2,
        "retry_on_timeout": True,
    }
    if config.auth is SearchAuth.BASIC:
        options["http_auth"] = (config.username, config.password)
    elif config.auth is SearchAuth.SIGV4:
        options["http_auth"] = sigv4_auth(config)
    return OpenSearch(**(options | overrides))


def sigv4_auth(config: SearchConfig) -> Any:
    """Requests signed with the function role's (refreshing) credentials; boto3 comes with the Lambda runtime."""
    import boto3
    from opensearchpy import AWSV4SignerAuth

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        from riskengine.errors import ConfigurationError

        raise ConfigurationError("OPENSEARCH_AUTH=sigv4 but no AWS credentials were found")
    return AWSV4SignerAuth(credentials, config.region, config.service)


@functools.cache
def default_client() -> OpenSearch:
    """The container-wide client configured from the environment, reused by warm invocations."""
    return create_client(SearchConfig.from_env())
