"""Scale-out: the score_trades handler in several processes sharing a Redis Cluster of several masters.

The parent generates the seeded stream (as benchmarks/throughput.py does), splits it by user key the
way ``crypto-trades`` is partitioned, starts a Redis Cluster on loopback (slots split evenly over
the masters), runs one handler process per part at the same time, and reads each master's CPU from
its process. Figures, not a test; docs/scaling.md builds its model on them.

    .venv/bin/python benchmarks/cluster.py --trades 200000 --users 2000 --shards 3 --processes 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from riskengine.msk import build_event
from riskengine.runtime import default_processor
from riskengine_tools.local import EmbeddedShardedCluster
from riskengine_tools.local.bridge import LOCAL_CLUSTER_ARN, load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.paths import function_handler
from throughput import (
    PROGRESS_PREFIX,
    CountingSink,
    _percentile,
    _positive_int,
    _progress,
    generate_stream,
    machine,
    print_stream,
    read_batches,
    read_records,
    write_record,
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The handler in several processes on a Redis Cluster (figures).")
    add = parser.add_argument
    add("--trades", type=_positive_int, default=200_000, metavar="N", help="trades in the stream (200,000)")
    add("--users", type=_positive_int, default=2_000, metavar="N", help="simulated users (2,000)")
    add("--shards", type=_positive_int, default=3, metavar="N", help="Redis Cluster masters (3)")
    add("--processes", type=_positive_int, default=2, metavar="N", help="handler processes, one per part (2)")
    add("--batch-size", type=_positive_int, default=1_000, metavar="N", help="records per invocation (1,000)")
    add("--seed", type=int, default=7, help="simulator seed (7)")
    add("--rate", type=float, metavar="TRADES_PER_S", help="event-time rate (as benchmarks/throughput.py)")
    add("--out", type=Path, metavar="FILE.json", help="also save the figures as JSON")
    add("--worker", action="store_true", help=argparse.SUPPRESS)
    add("--stream", type=Path, help=argparse.SUPPRESS)
    add("--part", type=int, default=0, help=argparse.SUPPRESS)
    add("--redis-url", help=argparse.SUPPRESS)
    add("--result", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def split_stream(stream: Path, parts: int) -> list[Path]:
    """One file per part; a user's trades all go to one part, in order (crypto-trades is keyed by user)."""
    paths = [stream.with_name(f"part-{n}.bin") for n in range(parts)]
    with ExitStack() as stack:
        outs = [stack.enter_context(path.open("wb")) for path in paths]
        for record in read_records(stream):
            write_record(
                outs[zlib.crc32(record.key or b"") % parts], record.timestamp, record.key or b"", record.value or b""
            )
    return paths


def run_worker(args: argparse.Namespace) -> dict[str, Any]:
    """One handler process on its part: warm-up batch untimed, then every batch timed."""
    env = {"REDIS_URL": args.redis_url, "REDIS_CLUSTER": "1", "RISKENGINE_SINK": "discard"}
    with handler_environment(env):
        invoke = load_handler(function_handler("score_trades"))
        processor = default_processor()
        sink = CountingSink(processor.sink)
        processor.sink = sink
        walls: list[float] = []
        cpu = 0.0
        timed = done = 0
        for index, batch in enumerate(read_batches(args.stream, args.batch_size, args.part)):
            event = build_event(batch, cluster_arn=LOCAL_CLUSTER_ARN)
            started, started_cpu = time.perf_counter(), time.process_time()
            if (invoke(event) or {}).get("batchItemFailures"):
                raise RuntimeError("the handler failed a batch")
            if index:
                walls.append(time.perf_counter() - started)
                cpu += time.process_time() - started_cpu
                timed += len(batch)
            done += len(batch)
            print(f"{PROGRESS_PREFIX}{done}", file=sys.stderr, flush=True)
    latencies = sorted(w * 1000 for w in walls)
    return {
        "records": done,
        "timed_trades": timed,
        "handler_wall_s": sum(walls),
        "trades_per_s": timed / sum(walls) if walls else None,
        "handler_cpu_us_per_trade": cpu * 1e6 / timed if timed else None,
        "p99_ms": _percentile(latencies, 99),
        "alerts": dict(sink.alerts),
    }


def run_parent(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="riskengine-cluster-bench-") as tmp:
        stream = Path(tmp) / "trades.bin"
        info = generate_stream(stream, args)
        print_stream(info)
        parts = split_stream(stream, args.processes)
        with EmbeddedShardedCluster(args.shards) as cluster:
            nodes = [psutil.Process(pid) for pid in cluster.pids]
            before = [sum(node.cpu_times()[:2]) for node in nodes]
            started = time.perf_counter()
            workers = _run_workers(args, parts, cluster.url)
            elapsed = time.perf_counter() - started
            shard_cpu = [sum(node.cpu_times()[:2]) - b for node, b in zip(nodes, before, strict=True)]
            ports = [node.port for node in cluster.nodes]
    records = sum(w["records"] for w in workers)
    alerts = sum((Counter(w["alerts"]) for w in workers), Counter())
    return {
        "shards": args.shards,
        "processes": args.processes,
        "batch_size": args.batch_size,
        "records": records,
        "elapsed_s": elapsed,
        "aggregate_trades_per_s": sum(w["trades_per_s"] or 0 for w in workers),
        "shard_ports": ports,
        "shard_cpu_us_per_trade": [cpu * 1e6 / records for cpu in shard_cpu],
        "hottest_shard_share": max(shard_cpu) / sum(shard_cpu) if sum(shard_cpu) else None,
        "redis_cpu_us_per_trade": sum(shard_cpu) * 1e6 / records,
        "workers": workers,
        "alerts": dict(alerts),
    }


def _run_workers(args: argparse.Namespace, parts: list[Path], url: str) -> list[dict[str, Any]]:
    """All parts at once, one process each, with a progress bar per process."""
    procs: list[tuple[subprocess.Popen[str], Path]] = []
    with _progress() as progress:
        for n, part in enumerate(parts):
            result = part.with_suffix(".json")
            argv = [sys.executable, __file__, "--worker", "--stream", str(part), "--part", str(n), "--redis-url", url,
                    "--batch-size", str(args.batch_size), "--result", str(result)]  # fmt: skip
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            task = progress.add_task(f"process {n}", total=sum(1 for _ in read_records(part)))
            threading.Thread(target=_follow, args=(proc, progress, task), daemon=True).start()
            procs.append((proc, result))
        for proc, _ in procs:
            proc.wait()
    if any(proc.returncode for proc, _ in procs):
        raise SystemExit("a handler process failed: run it alone with --worker to see why")
    return [json.loads(result.read_text()) for _, result in procs]


def _follow(proc: subprocess.Popen[str], progress: Any, task: Any) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith(PROGRESS_PREFIX):
            progress.update(task, completed=int(line.removeprefix(PROGRESS_PREFIX)))


def print_figures(figures: dict[str, Any], host: dict[str, Any]) -> None:
    out = Console()
    table = Table(title=f"{figures['processes']} handler processes, Redis Cluster of {figures['shards']} masters")
    table.add_column("shard (port)")
    table.add_column("redis-server CPU µs/trade", justify="right")
    table.add_column("share", justify="right")
    total = sum(figures["shard_cpu_us_per_trade"])
    for port, cpu in zip(figures["shard_ports"], figures["shard_cpu_us_per_trade"], strict=True):
        table.add_row(str(port), f"{cpu:,.1f}", f"{cpu / total:.0%}" if total else "n/a")
    table.add_row("all shards", f"{total:,.1f}", "100%")
    out.print(table)
    for n, worker in enumerate(figures["workers"]):
        out.print(
            f"process {n}: {worker['records']:,} trades, {worker['trades_per_s'] or 0:,.0f} trades/s, "
            f"handler CPU {worker['handler_cpu_us_per_trade'] or 0:,.1f} µs/trade, p99 {worker['p99_ms'] or 0:,.0f} ms"
        )
    out.print(
        f"[bold]Aggregate[/]: {figures['aggregate_trades_per_s']:,.0f} trades/s (sum of the processes' rates), "
        f"hottest shard {figures['hottest_shard_share']:.0%} of Redis CPU; alerts "
        + ", ".join(f"{p} {n}" for p, n in sorted(figures["alerts"].items()))
    )
    out.print(f"[bold]Machine[/]: {host['nproc']} CPUs ({host['cpu_model']}); code {host['code']}")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        args.result.write_text(json.dumps(run_worker(args)))
        return
    host = machine()
    figures = run_parent(args)
    print_figures(figures, host)
    if args.out:
        args.out.write_text(json.dumps({"machine": host, **figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
