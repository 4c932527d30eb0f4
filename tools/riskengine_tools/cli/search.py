"""``riskengine search``: provision OpenSearch for the engine and hand out the compliance dashboards.

The search package (opensearch-py) is imported inside the commands, so the rest of the CLI starts fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from riskengine.search.provision import ProvisionReport

__all__ = ["search_app"]

search_app = typer.Typer(
    help="Provision OpenSearch (templates, aliases, retention) and the compliance dashboards.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
stderr = Console(stderr=True)

# Outcome values (riskengine.search.provision.Outcome) -> rich styles.
_STYLES = {
    "created": "green",
    "updated": "yellow",
    "imported": "green",
    "not supported": "dim",
    "skipped": "dim",
    "failed": "bold red",
}


@search_app.command()
def init(
    url: Annotated[str, typer.Option(envvar="OPENSEARCH_URL", help="OpenSearch endpoint.")] = "http://127.0.0.1:9200",
    auth: Annotated[
        Literal["none", "basic", "sigv4"],
        typer.Option(
            envvar="OPENSEARCH_AUTH",
            case_sensitive=False,
            help="none; basic (OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD); sigv4 (AWS credentials, AWS_REGION).",
        ),
    ] = "none",
    shards: Annotated[int, typer.Option(min=1, help="Primary shards of each daily index.")] = 1,
    replicas: Annotated[int, typer.Option(min=0, help="Replicas of each daily index.")] = 1,
    retention_days: Annotated[
        int, typer.Option(min=1, help="Delete daily indices this many days after creation (where ISM exists).")
    ] = 365,
    dashboards_url: Annotated[
        str | None,
        typer.Option(
            help="Import the compliance dashboards into this OpenSearch Dashboards (e.g. https://host/_dashboards)."
        ),
    ] = None,
) -> None:
    """Put the index templates, make the aliases resolve, set retention, and optionally import the dashboards.

    Idempotent: run it on every deployment. Prints what each step did.
    """
    from opensearchpy.exceptions import ConnectionError as SearchConnectionError
    from opensearchpy.exceptions import TransportError

    from riskengine.errors import ConfigurationError
    from riskengine.search import SearchConfig, create_client
    from riskengine.search.dashboards import dashboards_auth
    from riskengine.search.provision import ProvisionOptions, provision

    try:
        config = SearchConfig.from_env(os.environ | {"OPENSEARCH_URL": url.rstrip("/"), "OPENSEARCH_AUTH": auth})
        options = ProvisionOptions(
            shards=shards,
            replicas=replicas,
            retention_days=retention_days,
            import_dashboards=bool(dashboards_url),
            dashboards_url=(dashboards_url or "").rstrip("/"),
        )
        auth_for_dashboards = dashboards_auth(config)
    except ConfigurationError as exc:
        stderr.print(f"[red]configuration error:[/red] {exc.detail}")
        raise typer.Exit(code=2) from exc
    try:
        report = provision(
            create_client(config), options, dashboards_auth=auth_for_dashboards, verify_certs=config.verify_certs
        )
    except SearchConnectionError as exc:
        stderr.print(
            f"[red]cannot reach OpenSearch at {config.url}[/red]. "
            "Check --url (or OPENSEARCH_URL) and that the cluster is running and reachable from here."
        )
        raise typer.Exit(code=1) from exc
    except TransportError as exc:
        stderr.print(
            f"[red]OpenSearch at {config.url} refused provisioning (HTTP {exc.status_code}):[/red] {exc.error}. "
            "Check --auth and the user's permissions (index templates, indices, aliases)."
        )
        raise typer.Exit(code=1) from exc
    Console().print(_report_table(report, config.url))
    if not report.ok:
        stderr.print("[red]some steps failed[/red] (see the table); fix them and run `riskengine search init` again.")
        raise typer.Exit(code=1)


@search_app.command("export-dashboards")
def export_dashboards(
    out: Annotated[Path, typer.Option("--out", "-o", dir_okay=False, help="Where to write the ndjson file.")],
) -> None:
    """Write the compliance saved objects (ndjson) for a manual import in OpenSearch Dashboards.

    Import it under Dashboards Management > Saved objects > Import, or with curl (see docs/search.md).
    """
    from riskengine.search.dashboards import load_saved_objects, saved_objects_ndjson

    out.write_bytes(saved_objects_ndjson())
    stderr.print(f"wrote {len(load_saved_objects())} saved objects to {out}")


def _report_table(report: ProvisionReport, url: str) -> Table:
    table = Table(title=f"OpenSearch provisioning: {url}", title_justify="left")
    table.add_column("Step")
    table.add_column("Outcome")
    table.add_column("Detail", overflow="fold")
    for step in report.steps:
        table.add_row(step.name, Text(step.outcome.value, style=_STYLES.get(step.outcome.value, "")), step.detail)
    return table
