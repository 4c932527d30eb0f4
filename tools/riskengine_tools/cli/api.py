"""``riskengine api``: the HTTP APIs (trade intake, simulation, reports) locally, and their OpenAPI documents."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from riskengine_tools.cli.options import BootstrapServers, OpenSearchUrl, RedisUrl

if TYPE_CHECKING:
    from riskengine_tools.local.api_server import RunningApi

app = typer.Typer(
    help="The trade intake, simulation and report APIs on a local HTTP server, and their OpenAPI documents.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console(stderr=True)

TRADE_EXAMPLE = (
    '{"userId":"USER_00042","customerId":"CUST_00042","symbol":"BTC/USDT","side":"BUY",'
    '"orderType":"LIMIT","quantity":0.25,"price":90000,"exchange":"BINANCE"}'
)
JSON_HEADER = "-H 'Content-Type: application/json'"


@app.command()
def serve(
    port: Annotated[int, typer.Option(min=1, max=65_535, help="Port on 127.0.0.1.")] = 8080,
    redis_url: RedisUrl = None,
    bootstrap_servers: BootstrapServers = None,
    opensearch_url: OpenSearchUrl = None,
    pipeline: Annotated[
        bool,
        typer.Option(
            help="Also run the triggers: score_trades on the trades topic, score_orders on the orders topic, "
            "index_search on their outputs."
        ),
    ] = True,
    verbose: Annotated[bool, typer.Option(help="Show the functions' JSON logs and every request.")] = False,
) -> None:
    """Serve the APIs on http://127.0.0.1:PORT until Ctrl-C.

    Each request is turned into an API Gateway proxy event for functions/ingest_trade (/trades,
    /simulation, /docs/ingest) or functions/report_api (/alerts, /users, /reports, /docs/reports).
    functions/simulate_trades runs about once a second, as its schedule does in AWS, and (unless
    --no-pipeline) the MSK triggers of score_trades, score_orders and index_search run in the
    background, so a posted trade can be found through /alerts and /users a moment later. Redis, a Kafka-protocol
    broker and an OpenSearch-compatible server (provisioned with the index templates) are started on
    free loopback ports unless their addresses are given.
    """
    import logging
    from contextlib import ExitStack

    from kafka.errors import KafkaError

    from riskengine_tools.local import ServiceUnavailable
    from riskengine_tools.local.api_server import ApiOptions, serve_local_api

    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    options = ApiOptions(
        port=port,
        redis_url=redis_url,
        bootstrap_servers=bootstrap_servers,
        opensearch_url=opensearch_url,
        pipeline=pipeline,
        verbose=verbose,
    )
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops as cleanly as Ctrl-C
    try:
        with ExitStack() as stack:
            with console.status("Starting the services and the API…"):
                api = stack.enter_context(serve_local_api(options))
            out = Console()
            out.print(_services(api))
            out.print(_endpoints(api))
            out.print("Try:", style="bold")
            for command in _examples(api):
                out.print(command, soft_wrap=True, markup=False, highlight=False)
            threading.Event().wait()  # until Ctrl-C; leaving the stack stops everything
    except KeyboardInterrupt:
        console.print("Stopped.")
    except (ServiceUnavailable, KafkaError) as exc:
        console.print(f"[red]could not start:[/red] {exc}")
        raise typer.Exit(code=1) from exc


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command()
def openapi(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", file_okay=False, help="Directory for ingest.openapi.json, reports.openapi.json."),
    ],
) -> None:
    """Write the OpenAPI document of each API function, generated from its code.

    OUT/ingest.openapi.json (functions/ingest_trade) and OUT/reports.openapi.json
    (functions/report_api, when it is in this checkout). docs/api/ holds the committed copies.
    """
    from riskengine_tools.local.api_server import write_openapi_documents

    written, missing = write_openapi_documents(out)
    for path in written:
        console.print(f"wrote {path}")
    for name in missing:
        console.print(f"[yellow]skipped functions/{name}[/yellow]: it is not in this checkout")


SIMULATION_EXAMPLE = '{"ratePerSecond":20,"durationSeconds":300}'
# (method, path, function, what it does, example command or None); URL stands for the server's address.
ENDPOINTS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("POST", "/trades", "ingest_trade", "one trade or an array (at most 500)",
     f"curl -s -X POST URL/trades {JSON_HEADER} -d '{TRADE_EXAMPLE}'"),
    ("POST", "/simulation/start", "ingest_trade", "start a simulation run",
     f"curl -s -X POST URL/simulation/start {JSON_HEADER} -d '{SIMULATION_EXAMPLE}'"),
    ("GET", "/simulation/stats", "ingest_trade", "state and counters of the run", "curl -s URL/simulation/stats"),
    ("POST", "/simulation/stop", "ingest_trade", "stop the run", "curl -s -X POST URL/simulation/stop"),
    ("GET", "/docs/ingest", "ingest_trade", "Swagger UI (?format=json: the OpenAPI document)", None),
    ("GET, POST", "/alerts, /users, /reports", "report_api", "alerts, user risk, compliance reports", None),
    ("GET", "/docs/reports", "report_api", "Swagger UI of the report API", None),
)  # fmt: skip


def _endpoints(api: RunningApi) -> Table:
    table = Table(title=f"riskengine API on {api.url}  (Ctrl-C to stop)", title_justify="left")
    for column in ("Method", "Path", "Function", "What"):
        table.add_column(column)
    for method, path, function, what, _ in ENDPOINTS:
        served = function in api.functions
        table.add_row(method, path, function, what if served else "[dim]not in this checkout: 404[/dim]")
    return table


def _examples(api: RunningApi) -> list[str]:
    """Whole commands, printed outside the table so they can be copied as they are."""
    return [example.replace("URL", api.url) for _, _, function, _, example in ENDPOINTS
            if example and function in api.functions]  # fmt: skip


def _services(api: RunningApi) -> Table:
    table = Table(show_header=False, title="Services", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Redis", api.redis_url)
    table.add_row("Kafka", api.bootstrap_servers)
    table.add_row("OpenSearch", api.opensearch_url)
    ticking = "simulate_trades" in api.functions
    table.add_row("Simulation ticks", "functions/simulate_trades, every second" if ticking else "not in this checkout")
    table.add_row("Triggers", ", ".join(api.triggers) or "off (--no-pipeline)")
    return table
