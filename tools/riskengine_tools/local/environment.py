"""Environment for running the real handlers in-process against local services."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from riskengine import runtime, simulation
from riskengine.alerting import dispatcher
from riskengine.search import client as search_client
from riskengine.search import indexing

QUIET_POWERTOOLS = {
    "POWERTOOLS_METRICS_DISABLED": "true",  # EMF blobs belong in CloudWatch, not a terminal
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}


@contextmanager
def handler_environment(values: Mapping[str, str], *, verbose: bool = False) -> Iterator[None]:
    """Set the handler's env vars for the duration, with a fresh container-wide processor and dispatcher.

    The handler builds its clients once per container from the environment, exactly as in
    Lambda; clearing that cache on entry and exit makes each local run a cold start.
    """
    wanted = dict(values) | ({} if verbose else QUIET_POWERTOOLS)
    previous = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    runtime.default_processor.cache_clear()
    runtime.default_order_processor.cache_clear()
    dispatcher.default_dispatcher.cache_clear()
    indexing.default_search_indexer.cache_clear()
    search_client.default_client.cache_clear()
    simulation.close_default_clients()
    try:
        yield
    finally:
        runtime.close_default_processor()
        dispatcher.default_dispatcher.cache_clear()
        indexing.close_default_search_indexer()
        search_client.default_client.cache_clear()
        simulation.close_default_clients()
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
