"""``riskengine backtest``: precision and recall per pattern against labelled episodes (docs/detection.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["backtest"]

console = Console(stderr=True)


def backtest(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help='The stream to replay: JSON Lines of CryptoTrades and OrderEvents ("kind": "order"), as replay takes.',
        ),
    ],
    labels: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            readable=True,
            help="labels.jsonl: one injected episode per line (patternType, userId, symbol, exchange, start, end, "
            "eventIds).",
        ),
    ],
    rules: Annotated[
        list[Path] | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            readable=True,
            metavar="RULES.json",
            help="A rule settings file (the JSON object RISK_RULES_FILE takes); repeat to compare rule sets. "
            "Default: the built-in rules, shown as 'defaults'.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout instead of the table.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Records per MSK-shaped batch.")] = 1_000,
) -> None:
    """Back-test: replay FILE once per rule set; precision and recall per pattern against the labelled episodes.

    Each rule set is replayed through the real handler, as `riskengine replay` does, against a fresh
    embedded redis-server. An alert is a true positive when it matches a labelled episode (same
    pattern, same subject: the user, or symbol and exchange for a market-scoped episode, and evidence
    sharing an event id with the episode); an episode no alert matches is missed. Per pattern and rule
    set: alerts, true and false positives, missed episodes, precision, recall and F1 (n/a without a
    denominator).
    """
    from riskengine.errors import ConfigurationError
    from riskengine_tools.backtest import (
        DEFAULT_RULES,
        LabelsError,
        backtest_rule_set,
        load_rule_set,
        read_labels,
        report_document,
    )
    from riskengine_tools.cli import render
    from riskengine_tools.local import ServiceUnavailable
    from riskengine_tools.local.replay import ReplayFailed, UnknownKind, count_lines

    try:
        episodes = read_labels(labels)
        rule_sets = [load_rule_set(path) for path in rules] if rules else [DEFAULT_RULES]
    except LabelsError as exc:
        _fail("bad labels file", str(exc))
    except ConfigurationError as exc:
        _fail("bad rules file", f"{exc}. Fix it (docs/rules.md, 'Configuring rules') and run again")
    total = count_lines(file)
    results = []
    for rule_set in rule_sets:
        try:
            with render.progress(console, f"Replaying {file.name} with {rule_set.name}", total=total) as advance:
                results.append(backtest_rule_set(file, episodes, rule_set, batch_size=batch_size, on_batch=advance))
        except UnknownKind as exc:
            _fail("unknown kind", f"{exc}. A back-test needs every line evaluated: fix or remove the line")
        except ReplayFailed as exc:
            _fail("replay failed", f"{exc}. Run it again")
        except ServiceUnavailable as exc:
            _fail("cannot start redis-server", str(exc))
    if as_json:
        typer.echo(json.dumps(report_document(file, labels, len(episodes), results), indent=2))
    else:
        render.backtest_report(Console(), results, episodes=len(episodes))


def _fail(what: str, detail: str) -> NoReturn:
    console.print(f"[red]{what}:[/red] {escape(detail)}", soft_wrap=True)
    raise typer.Exit(code=1)
