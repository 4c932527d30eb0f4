"""``riskengine bridge``: one Kafka trigger run locally, invoking a deployed function through Lambda's Invoke API.

It stands in for an event source mapping where the emulator has none (LocalStack's Community
image has no MSK and no Kafka triggers): see docs/localstack.md.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:  # imported inside the command, so the rest of the CLI starts fast
    from riskengine_tools.local.bridge import BridgeConfig, EventSourceMappingBridge
    from riskengine_tools.local.lambda_invoke import LambdaInvoker

__all__ = ["bridge"]

console = Console(stderr=True)


def bridge(
    topic: Annotated[str, typer.Option(help="Topic the trigger consumes.")],
    function: Annotated[str, typer.Option(help="Name or ARN of the function to invoke.")],
    endpoint_url: Annotated[
        str, typer.Option(help="Lambda API endpoint, e.g. LocalStack's http://127.0.0.1:4566 (any credentials).")
    ],
    bootstrap_servers: Annotated[str, typer.Option(help="Kafka to consume from (host:port,...).")],
    group_id: Annotated[
        str | None, typer.Option(help="Consumer group; one per mapping.", show_default="FUNCTION-TOPIC")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Most records per invocation.")] = 100,
    batching_window_ms: Annotated[
        int, typer.Option(min=0, max=300_000, help="How long a batch waits to fill (ms).")
    ] = 500,
    max_retries: Annotated[int, typer.Option(min=0, help="Retries of a failing batch before the bridge stops.")] = 5,
    region: Annotated[str, typer.Option(help="Region of the Lambda API.")] = "us-east-1",
) -> None:
    """Consume TOPIC like the function's Kafka trigger and invoke FUNCTION with each batch, until Ctrl-C.

    Batches are MSK trigger events, sent with Invoke (RequestResponse). Offsets are committed once
    the function returned without failures; a partial-batch response rewinds the failed partitions,
    and a function error retries the whole batch with back-off. The bridge stops when a batch still
    fails after --max-retries retries, rather than skip it.
    """
    from riskengine_tools.local.bridge import BridgeConfig
    from riskengine_tools.local.lambda_invoke import LambdaInvoker, lambda_client

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = BridgeConfig(
        bootstrap_servers=bootstrap_servers,
        topic=topic,
        group_id=group_id or f"{function}-{topic}",
        batch_size=batch_size,
        batching_window_ms=batching_window_ms,
        max_retry_attempts=max_retries,
    )
    running = _connect(config, LambdaInvoker(lambda_client(endpoint_url, region), function))
    console.print(f"{topic} → {function} at {endpoint_url}, group {config.group_id}  (Ctrl-C to stop)")
    _run_until_stopped(running)


def _connect(config: BridgeConfig, invoker: LambdaInvoker) -> EventSourceMappingBridge:
    from kafka.errors import KafkaError

    from riskengine_tools.local.bridge import EventSourceMappingBridge

    try:
        return EventSourceMappingBridge(config, invoker)
    except KafkaError as exc:
        console.print(f"[red]cannot consume {config.topic} from {config.bootstrap_servers}:[/red] {exc!r}")
        raise typer.Exit(code=1) from exc


def _run_until_stopped(running: EventSourceMappingBridge) -> None:
    from riskengine.errors import RiskEngineError

    try:
        with _stop_on_signals() as stop:
            running.run(until=lambda _stats: stop.is_set(), on_batch=_print_batch)
    except KeyboardInterrupt:
        console.print("Interrupted: the batch in flight was not committed; it is delivered again next time.")
    except RiskEngineError as exc:  # retries exhausted: the bridge stops, as a disabled mapping would
        console.print(f"[red]stopped:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    finally:
        running.close()
    stats = running.stats
    console.print(f"Stopped: {stats.batches} batches, {stats.records} records, {stats.retries} retries.")


def _print_batch(records: int, latency_ms: float) -> None:
    console.print(f"batch of {records} records invoked in {latency_ms:.0f} ms")


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C or ``kill`` ends the bridge once the batch in flight is committed; a second one ends it at once."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        console.print("Stopping after the current batch (Ctrl-C again to stop at once)…")

    previous = {number: signal.signal(number, request_stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
