"""``riskengine``: run the engine locally, replay trade files, and operate it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from riskengine import __version__
from riskengine_tools.cli import render
from riskengine_tools.cli.api import app as api_app
from riskengine_tools.cli.backtest import backtest
from riskengine_tools.cli.bridge import bridge
from riskengine_tools.cli.gates import open_gates
from riskengine_tools.cli.options import BootstrapServers, OpenSearchUrl, RedisUrl
from riskengine_tools.cli.redrive import redrive
from riskengine_tools.cli.search import search_app
from riskengine_tools.cli.simulate import simulate

app = typer.Typer(
    help="Real-time risk and market-abuse engine for crypto trading: local demo, replay and tools.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console(stderr=True)
app.add_typer(search_app, name="search")
app.add_typer(api_app, name="api")
app.command()(bridge)
app.command()(redrive)
app.command()(backtest)
app.command()(simulate)
app.command()(open_gates)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"riskengine {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Real-time risk and market-abuse engine for crypto trading."""


@app.command()
def demo(
    trades: Annotated[
        int,
        typer.Option(
            min=1,
            help="About this many trades of the trade flow (it sets the event time simulated); the order flow "
            "adds order events and the trades of their fills.",
        ),
    ] = 20_000,
    users: Annotated[
        int, typer.Option(min=200, help="Simulated traders (at least 200): half only trade, half place orders.")
    ] = 500,
    seed: Annotated[int, typer.Option(help="Simulator seed: the same seed gives the same stream.")] = 7,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Trigger batch size (records).")] = 500,
    batching_window_ms: Annotated[int, typer.Option(min=0, max=300_000, help="Trigger batching window (ms).")] = 200,
    partitions: Annotated[
        int, typer.Option(min=1, help="Partitions of crypto-trades and crypto-orders (embedded broker).")
    ] = 3,
    redis_url: RedisUrl = None,
    bootstrap_servers: BootstrapServers = None,
    opensearch_url: OpenSearchUrl = None,
    verbose: Annotated[bool, typer.Option(help="Show the handler's JSON logs.")] = False,
) -> None:
    """Simulate trading and order flow, run both through the real handlers, and summarise the results.

    Starts a redis-server, a Kafka-protocol broker, an OpenSearch-compatible server and moto's
    SNS/SQS on free loopback ports (unless given), produces riskengine simulate's labelled stream
    (trades with injected market abuse to crypto-trades, order events with spoofing, layering and
    excessive-cancel episodes to crypto-orders), runs the trigger bridges that invoke
    functions/score_trades and functions/score_orders, then dispatch_alerts and index_search, and
    reads topics, queues and indices back.
    """
    from riskengine_tools.local.demo import DemoOptions, run_demo

    options = DemoOptions(
        trades=trades,
        users=users,
        seed=seed,
        partitions=partitions,
        batch_size=batch_size,
        batching_window_ms=batching_window_ms,
        redis_url=redis_url,
        bootstrap_servers=bootstrap_servers,
        opensearch_url=opensearch_url,
        verbose=verbose,
    )
    with render.progress_of(console, "Scoring trades and order events") as update:
        report = run_demo(options, progress=update)
    render.demo_report(Console(), report)


@app.command()
def replay(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help='JSON Lines: one CryptoTrade (camelCase) per line, or an OrderEvent with "kind": "order".',
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", file_okay=False, help="Directory for alerts.jsonl, analyzed.jsonl, rejected.jsonl."
        ),
    ],
    redis_url: Annotated[
        str | None,
        typer.Option(help="Use this Redis (its windows are used and updated) instead of a fresh embedded one."),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Records per MSK-shaped batch.")] = 1_000,
) -> None:
    """Feed a JSON Lines file of trades and order events through the real handlers, in file order.

    Windows use the events' own timestamps, so a replay gives the same alerts however fast it
    runs. Writes OUT/alerts.jsonl, OUT/analyzed.jsonl and OUT/rejected.jsonl (line + reason).
    A line with "kind": "order" is an order event, fed to functions/score_orders (its alerts join
    alerts.jsonl); other lines are trades, fed to functions/score_trades; any other kind is rejected.
    """
    from riskengine_tools.local.replay import ReplayFailed, count_lines
    from riskengine_tools.local.replay import replay as run_replay

    total = count_lines(file)
    try:
        with render.progress(console, f"Replaying {file.name}", total=total) as advance:
            report = run_replay(file, out, redis_url=redis_url, batch_size=batch_size, on_batch=advance)
    except ReplayFailed as exc:
        console.print(f"[red]replay failed:[/red] {exc}. Check that Redis is reachable and run it again.")
        raise typer.Exit(code=1) from exc
    render.replay_report(Console(), report)


def main() -> None:
    app()
