"""The window script's cost in instructions per trade, counted by valgrind: repeatable on a noisy machine.

The handler runs over a seeded stream (a fresh redis-server) while its window-script calls are
recorded; the calls are then replayed on a redis-server running under ``valgrind --tool=callgrind``,
which counts the instructions executed inside EVALSHA (the script, the commands it calls and the
conversion of its arguments and reply) and the parsing of the calls. Instruction counts do not
vary with the machine's load the way CPU time does, so two versions of ``apply_batch.lua`` can be
compared on the same recorded calls (``--lua``) and a difference of 2% is real. Figures only.

    .venv/bin/python benchmarks/script_cost.py --trades 20000
    .venv/bin/python benchmarks/script_cost.py --lua candidate.lua --by-scope
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import redis
from rich.console import Console
from rich.table import Table

import throughput
from riskengine.msk import build_event
from riskengine.runtime import default_processor
from riskengine.windows.spec import Scope
from riskengine.windows.store import APPLY_SCRIPT
from riskengine_tools.local.bridge import LOCAL_CLUSTER_ARN, load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.paths import function_handler
from scopes import Call, ScriptRecorder, only_scope

# Counted: the script calls and the parsing of the requests that carry them.
COUNTED_FUNCTIONS = ("evalShaCommand", "processMultibulkBuffer")
console = Console(stderr=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--trades", type=int, default=20_000, metavar="N", help="trades in the stream (20,000)")
    add("--users", type=int, default=2_000, metavar="N", help="simulated users (2,000)")
    add("--seed", type=int, default=7, help="simulator seed (7)")
    add("--rate", type=float, default=None, metavar="TRADES_PER_S", help="event-time rate (as throughput.py)")
    add("--batch-size", type=int, default=1_000, metavar="N", help="handler batch size (1,000)")
    add("--lua", type=Path, metavar="FILE", help="replay with this script instead of windows/apply_batch.lua")
    add("--by-scope", action="store_true", help="also replay each scope's windows alone (one valgrind run each)")
    return parser.parse_args(argv)


def record_calls(stream: Path, args: argparse.Namespace) -> tuple[list[Call], int]:
    """The handler over the whole stream on a fresh redis-server; its window-script calls."""
    with ExitStack() as stack:
        redis_url, _ = throughput.start_redis(stack, argparse.Namespace(redis_url=None))
        stack.enter_context(handler_environment({"REDIS_URL": redis_url, "RISKENGINE_SINK": "discard"}))
        invoke = load_handler(function_handler("score_trades"))
        recorder = ScriptRecorder(default_processor().engine.store, args.trades)
        for batch in throughput.read_batches(stream, args.batch_size):
            invoke(build_event(batch, cluster_arn=LOCAL_CLUSTER_ARN, bootstrap_servers=""))
    return recorder.calls, recorder.trades


def instructions(calls: list[Call], script: str, workdir: Path) -> tuple[int, dict[str, int]]:
    """Instructions counted while redis-server under callgrind runs ``calls``, and its commands by name."""
    port = _free_port()
    out = workdir / f"callgrind.{port}.out"
    toggles = [f"--toggle-collect={name}" for name in COUNTED_FUNCTIONS]
    server = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            "--collect-atstart=no",
            *toggles,
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = _connect(port)
        sha = client.script_load(script)
        for keys, argv in calls:
            client.evalsha(sha, len(keys), *keys, *argv)
        stats = client.info("commandstats")
        commands = {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}
        with contextlib.suppress(redis.ConnectionError):  # SHUTDOWN closes the connection
            client.shutdown(nosave=True)
    finally:
        if server.poll() is None:
            server.terminate()  # callgrind writes its counts on SIGTERM too
        server.wait(timeout=120)
    totals = re.findall(r"^(?:summary|totals):\s+(\d+)", out.read_text(errors="replace"), re.MULTILINE)
    return int(totals[0]), commands


def _connect(port: int) -> redis.Redis:
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 60  # valgrind starts redis-server slowly
    while True:
        try:
            client.ping()
            return client
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install -y valgrind")
    script = args.lua.read_text() if args.lua else APPLY_SCRIPT
    with tempfile.TemporaryDirectory(prefix="script-cost-") as tmp:
        workdir = Path(tmp)
        stream_args = throughput.parse_args(
            ["--trades", str(args.trades), "--users", str(args.users), "--seed", str(args.seed)]
        )
        stream_args.rate = args.rate
        throughput.generate_stream(workdir / "stream.bin", stream_args)
        with console.status("running the handler, recording its window-script calls"):
            calls, trades = record_calls(workdir / "stream.bin", args)
        rows: list[tuple[str, int, dict[str, int]]] = []
        with console.status(f"replaying {len(calls)} script calls under callgrind"):
            rows.append(("all windows", *instructions(calls, script, workdir)))
        for scope in Scope if args.by_scope else ():
            only = [call for call in (only_scope(call, scope) for call in calls) if call[0]]
            if only:
                with console.status(f"replaying the {scope.value} windows alone"):
                    rows.append((f"{scope.value} windows", *instructions(only, script, workdir)))
    print_table(rows, trades, args)


def print_table(rows: list[tuple[str, int, dict[str, Any]]], trades: int, args: argparse.Namespace) -> None:
    table = Table(
        title=f"window script, {trades:,} trades, batch {args.batch_size:,}, "
        f"{'--lua ' + str(args.lua) if args.lua else 'apply_batch.lua'}"
    )
    table.add_column("windows")
    table.add_column("instructions / trade", justify="right")
    table.add_column("commands in the script / trade", justify="right")
    for name, counted, commands in rows:
        inside = sum(count for command, count in commands.items() if command not in ("evalsha", "script|load"))
        table.add_row(name, f"{counted / trades:,.0f}", f"{inside / trades:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
