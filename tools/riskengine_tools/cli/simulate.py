"""``riskengine simulate``: a labelled stream of trades and order events (docs/simulation.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from riskengine_tools.cli import render

__all__ = ["simulate"]

console = Console(stderr=True)
MAX_MINUTES = 240
MAX_USERS = 100_000


def simulate(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            file_okay=False,
            help="Directory for stream.jsonl and labels.jsonl (created if missing; both files are replaced).",
        ),
    ],
    seed: Annotated[int, typer.Option(min=0, help="Seed: the same seed and options give byte-identical files.")],
    minutes: Annotated[int, typer.Option(min=1, max=MAX_MINUTES, help="Minutes of event time to simulate.")] = 8,
    users: Annotated[
        int, typer.Option(min=200, max=MAX_USERS, help="Traders: half place orders, the others only trade.")
    ] = 1_500,
) -> None:
    """Write a labelled stream: trades and order events with injected abuse and honest look-alikes.

    OUT/stream.jsonl holds trades ("kind": "trade") and order events ("kind": "order") in event-time
    order, ready for `riskengine replay` and `riskengine backtest`; OUT/labels.jsonl one line per
    injected episode (every spine pattern, SPOOFING, LAYERING and EXCESSIVE_CANCELS). The defaults
    write about 110,000 lines with 30 to 75 episodes of each pattern (docs/simulation.md).
    """
    from riskengine_tools.simulate import StreamConfig
    from riskengine_tools.simulate import simulate as write_simulation

    try:
        config = StreamConfig(seed=seed, minutes=minutes, users=users)
    except ValueError as exc:
        console.print(f"[red]cannot simulate:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    try:
        with render.progress(console, "Simulating (seconds of event time)", total=minutes * 60) as advance:
            report = write_simulation(out, config, progress=advance)
    except OSError as exc:
        console.print(f"[red]cannot write to {out}:[/red] {exc.strerror or exc}. Choose a writable directory.")
        raise typer.Exit(code=1) from exc
    render.simulate_report(Console(), report)
