"""Terminal output: progress bars and the tables people read at the end of a run."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from riskengine_tools.backtest import PatternScore, RuleSetResult
    from riskengine_tools.local.demo import DemoReport
    from riskengine_tools.local.replay import ReplayReport
    from riskengine_tools.redrive import RedriveReport
    from riskengine_tools.simulate import SimulateReport

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
_PROGRESS_COLUMNS = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())


@contextmanager
def progress(console: Console, label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar; yields ``advance(n)``."""
    with Progress(*_PROGRESS_COLUMNS, console=console, transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def progress_of(console: Console, label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar whose total is learnt on the way; yields ``update(done, total)``."""
    with Progress(*_PROGRESS_COLUMNS, console=console, transient=False) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def demo_report(console: Console, report: DemoReport) -> None:
    summary = Table(title="Risk engine demo", show_header=False, title_justify="left")
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    latencies = sorted(report.latencies_ms)
    rows = [
        ("Trades produced (crypto-trades)", f"{report.produced:,}"),
        ("Order events produced (crypto-orders)", f"{report.orders_produced:,}"),
        ("Trades scored (read back from risk-analyzed-trades)", f"{report.scored:,}"),
        ("Order events evaluated (acknowledged by score_orders)", f"{report.orders_evaluated:,}"),
        ("Late trades (older than the allowed lateness)", f"{report.late:,}"),
        ("Dead-lettered (crypto-trades-dlq, both inputs)", _reasons(report.dead_lettered)),
        ("Alerts raised (risk-alerts)", f"{sum(report.alerts.values()):,}"),
        ("Alerts delivered through SNS (SQS subscriber)", f"{report.sns_delivered:,}"),
        ("Digests sent", f"{report.digests_sent:,}"),
        ("Email notifications (HIGH/CRITICAL filter)", f"{report.email_notifications:,}"),
        ("Documents indexed: trades / alerts", f"{report.indexed_trades:,} / {report.indexed_alerts:,}"),
        ("Batches / retries", f"{report.batches:,} / {report.retries:,}"),
        ("Throughput, end to end", f"{report.throughput:,.0f} trades and order events/s"),
        ("Batch latency p50 / p99", f"{_percentile(latencies, 50):,.1f} / {_percentile(latencies, 99):,.1f} ms"),
    ]
    for name, value in rows:
        summary.add_row(name, value)
    console.print(summary)
    console.print(_alerts_table(report))
    console.print(_users_table(report))


def _alerts_table(report: DemoReport) -> Table:
    table = Table(
        title="Alerts by pattern and severity", title_justify="left", caption="Injected: episodes the demo injected"
    )
    table.add_column("Pattern", no_wrap=True, min_width=len("EXCESSIVE_CANCELS"))  # names are never cut
    for severity in SEVERITIES:
        table.add_column(severity, justify="right")
    table.add_column("Total", justify="right", style="bold")
    table.add_column("Injected", justify="right", style="dim")
    patterns = sorted({pattern for pattern, _ in report.alerts} | set(report.injected) | set(report.patterns))
    for pattern in patterns:
        counts = [report.alerts.get((pattern, s), 0) for s in SEVERITIES]
        injected = report.injected.get(pattern)
        table.add_row(pattern, *map(str, counts), str(sum(counts)), "" if injected is None else str(injected))
    return table


def _users_table(report: DemoReport) -> Table:
    table = Table(title="Riskiest users", title_justify="left")
    for name in ("User", "Max risk score", "Alerts", "Trades"):
        table.add_column(name, justify="left" if name == "User" else "right")
    for user in report.riskiest_users:
        table.add_row(user.user_id, f"{user.max_score:.3f}", str(user.alerts), str(user.trades))
    return table


def replay_report(console: Console, report: ReplayReport) -> None:
    if report.empty:
        # Without this, three empty files look like a replay that found nothing wrong with real trades.
        message = f"{report.source} holds no trades: wrote three empty files to {report.out_dir}"
        console.print(escape(message), soft_wrap=True)
    table = Table(title=f"Replay written to {report.out_dir}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("Lines read", f"{report.lines:,}")
    table.add_row("Order events", f"{report.orders:,}")
    table.add_row("analyzed.jsonl", f"{report.analyzed:,}")
    table.add_row("alerts.jsonl", f"{report.alerts:,}")
    table.add_row("rejected.jsonl", f"{report.rejected:,}")
    console.print(table)


BACKTEST_COLUMNS = ("Pattern", "Alerts", "TP", "FP", "Episodes", "Missed", "Precision", "Recall", "F1")


def backtest_report(console: Console, results: list[RuleSetResult], *, episodes: int) -> None:
    """A table per rule set, one row per pattern (TP: alerts matching an episode; FP: alerts matching
    none); then what the replays read."""
    for result in results:
        # The heading is not wrapped (a rules file's path can be long); the table fits 80 columns.
        heading = f"[italic]Back-test of {escape(result.rule_set.name)} against {episodes:,} labelled episodes"
        console.print(heading, soft_wrap=True)
        table = Table(box=box.SIMPLE_HEAVY, pad_edge=False, collapse_padding=True)
        for name in BACKTEST_COLUMNS:
            table.add_column(name, justify="left" if name == "Pattern" else "right", no_wrap=True)
        if not result.patterns:
            table.add_row("(no alerts, no labelled episodes)")
        for counts in result.patterns.values():
            table.add_row(counts.pattern, *_pattern_cells(counts))
        console.print(table)
    console.print("TP: alerts matching a labelled episode; FP: alerts matching none (docs/detection.md)")
    if results:
        replayed = results[0].replay  # the same file for every rule set
        counts = f"Lines read: {replayed.lines:,}; rejected: {replayed.rejected:,}"
        console.print(f"{counts}; order events: {replayed.orders:,}")


def _pattern_cells(counts: PatternScore) -> list[str]:
    counted = (counts.alerts, counts.true_positives, counts.false_positives, counts.episodes, counts.missed_episodes)
    ratios = (counts.precision, counts.recall, counts.f1)
    return [f"{n:,}" for n in counted] + ["n/a" if ratio is None else f"{ratio:.3f}" for ratio in ratios]


# What each honest activity of the order flow resembles (docs/simulation.md, "Honest look-alikes").
LOOKALIKE_RESEMBLES = {
    "market_maker": "SPOOFING, LAYERING and EXCESSIVE_CANCELS: quotes both sides, cancels most quotes",
    "whale": "SPOOFING: orders of bait size, but they fill",
    "retail_replace": "LAYERING: cancels and re-places at a new price, at most three times",
    "fast_market": "quote stuffing, RAPID_BURST, FLASH_CRASH: many traders' fills on one market at once",
    "retail": "(ordinary orders: market, limit, cancelled, amended)",
}


def simulate_report(console: Console, report: SimulateReport) -> None:
    """Lines written, injected episodes per labelled pattern, and the order flow's honest activity."""
    lines = Table(title=f"Simulated stream written to {escape(str(report.out_dir))}", show_header=False,
                  title_justify="left")  # fmt: skip
    lines.add_column(style="bold")
    lines.add_column(justify="right")
    config = report.config
    lines.add_row("Seed / minutes / traders", f"{config.seed} / {config.minutes} / {config.users:,}")
    lines.add_row("stream.jsonl lines", f"{sum(report.lines.values()):,}")
    for kind in ("trade", "fill trade", "order event"):
        lines.add_row(f"  {kind}s", f"{report.lines.get(kind, 0):,}")
    lines.add_row("labels.jsonl episodes", f"{report.labels:,}")
    console.print(lines)
    episodes = Table(title="Injected episodes (labels.jsonl)", title_justify="left")
    for name in ("Pattern", "Episodes", "Injected as"):
        episodes.add_column(name, justify="right" if name == "Episodes" else "left")
    for pattern, planners in sorted(report.episodes.items()):
        injected = ", ".join(f"{planner} {count:,}" for planner, count in planners.items())
        episodes.add_row(pattern, f"{sum(planners.values()):,}", injected)
    console.print(episodes)
    activity = Table(title="Honest order flow", title_justify="left")
    for name in ("Activity", "Count", "Looks like"):
        activity.add_column(name, justify="right" if name == "Count" else "left")
    for kind, count in sorted(report.activities.items()):
        activity.add_row(kind, f"{count:,}", LOOKALIKE_RESEMBLES.get(kind, ""))
    console.print(activity)


def _reasons(reasons: dict[str, int]) -> str:
    total = sum(reasons.values())
    detail = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
    return f"{total:,}" + (f" ({detail})" if detail else "")


def _percentile(values: list[float], pct: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def redrive_report(out: Console, report: RedriveReport) -> None:
    table = Table(title="Redrive (dry run: nothing invoked)" if report.dry_run else "Redrive")
    for column in ("function", "failure messages", "records", "fetched by offset", "redriven", "failed again", "gone"):
        table.add_column(column, justify="left" if column == "function" else "right")
    for r in report.functions.values():
        table.add_row(r.function, str(r.messages), str(r.records), str(r.fetched), str(r.redriven),
                      str(len(r.still_failing)), str(len(r.missing)))  # fmt: skip
    out.print(table)
    for r in report.functions.values():
        for position in r.still_failing:
            out.print(f"[red]failed again[/red] {r.function}: {position}")
        for span in r.missing:
            out.print(f"[yellow]gone from the source topic (retention)[/yellow] {r.function}: {span}")
    for reason in report.unreadable:
        out.print(f"[red]unreadable failure record[/red] {reason}")
    if report.skipped:
        out.print(f"{report.skipped} failure messages of other functions skipped (--function).")
    if report.dry_run:
        out.print("Dry run: nothing was invoked and nothing committed.")
    elif report.committed:
        out.print("Done: the redrive group's offsets are committed.")
    elif not report.ok:
        out.print("Offsets not committed: fix what failed, then run the same command again (redriving is idempotent).")
