"""``riskengine redrive``: the records a Kafka trigger gave up on, through their function again (docs/runbook.md)."""

from __future__ import annotations

from typing import Annotated, Literal

import typer
from rich.console import Console

__all__ = ["redrive"]

console = Console(stderr=True)


def redrive(
    bootstrap_servers: Annotated[
        str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="The cluster of the failure topic (host:port,...).")
    ],
    failure_topic: Annotated[
        str, typer.Option(help="The triggers' on-failure topic (the CDK app's Topics.trigger_failures).")
    ] = "riskengine-trigger-failures",
    target: Annotated[
        Literal["lambda", "local"],
        typer.Option(
            help="lambda: invoke the deployed function named in each failure record; "
            "local: run functions/<name>/handler.py here, configured by this environment (REDIS_URL, KAFKA_*...)."
        ),
    ] = "lambda",
    function: Annotated[
        list[str] | None, typer.Option(help="Only failures of this function (repeatable); default: all.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Read and recover the failed records, report them, invoke nothing.")
    ] = False,
    from_beginning: Annotated[
        bool, typer.Option(help="Read the whole failure topic, not just what the redrive group has not yet redriven.")
    ] = False,
    group_id: Annotated[str, typer.Option(help="Consumer group remembering what was redriven.")] = "riskengine-redrive",
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Most records per invocation.")] = 100,
    idle_ms: Annotated[
        int, typer.Option(min=100, help="Stop reading a topic once it has been quiet this long (ms).")
    ] = 3_000,
    security_protocol: Annotated[
        str, typer.Option(envvar="KAFKA_SECURITY_PROTOCOL", help="PLAINTEXT or SASL_SSL (MSK IAM).")
    ] = "PLAINTEXT",
    sasl_mechanism: Annotated[
        str | None, typer.Option(envvar="KAFKA_SASL_MECHANISM", help="e.g. AWS_MSK_IAM for MSK with IAM auth.")
    ] = None,
    prefix: Annotated[
        str, typer.Option(help="--target local: the deployment prefix of the function names.")
    ] = "riskengine",
    endpoint_url: Annotated[
        str | None, typer.Option(help="--target lambda: a Lambda API endpoint (emulators).")
    ] = None,
    region: Annotated[
        str, typer.Option(envvar="AWS_REGION", help="--target lambda: the functions' region.")
    ] = "us-east-1",
) -> None:
    """Redrive what the MSK triggers gave up on: read the failure topic, recover each failed record (carried in the
    message, or fetched from its source partition by its coordinates) and feed it through the function that failed
    it, in trigger-shaped batches.

    The functions are idempotent, so a record redriven twice changes nothing. The redrive group's offsets are
    committed only when every record went through: run it again after fixing what failed. Exit code 1 when a
    record could not be recovered or failed again.
    """
    from riskengine.errors import RiskEngineError
    from riskengine_tools.cli import render
    from riskengine_tools.redrive import RedriveOptions, deployed_functions, local_handlers
    from riskengine_tools.redrive import redrive as run_redrive

    options = RedriveOptions(
        bootstrap_servers=bootstrap_servers,
        failure_topic=failure_topic,
        security_protocol=security_protocol,
        sasl_mechanism=sasl_mechanism,
        group_id=group_id,
        from_beginning=from_beginning,
        functions=frozenset(function or ()),
        batch_size=batch_size,
        idle_ms=idle_ms,
        dry_run=dry_run,
    )
    deliver = local_handlers(prefix) if target == "local" else deployed_functions(endpoint_url, region)
    try:
        with render.progress_of(console, f"Redriving {failure_topic}") as update:
            report = run_redrive(options, deliver, progress=update)
    except RiskEngineError as exc:
        console.print(f"[red]redrive failed:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    except Exception as exc:  # the broker: unreachable, unauthorised
        console.print(f"[red]cannot read {failure_topic} from {bootstrap_servers}:[/red] {exc!r}")
        raise typer.Exit(code=1) from exc
    render.redrive_report(Console(), report)
    if not report.ok:
        raise typer.Exit(code=1)
