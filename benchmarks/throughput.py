"""Throughput benchmark of the real score_trades handler against a real redis-server.

The parent generates a seeded trade stream into a temporary file, then runs one worker
subprocess per batch size (this script with the hidden ``--worker`` flag), so every worker
starts cold, owns a fresh redis-server and reports its own peak RSS. Figures only: this is
not a test and asserts nothing about speed. See benchmarks/README.md for what each figure
means and its caveats.

    .venv/bin/python benchmarks/throughput.py --trades 20000 --batch-sizes 100,1000
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse

import psutil
import redis
from redis import connection as redis_connection
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from end_to_end import measure_end_to_end
from floor import FloorRun, time_floor
from riskengine.codec import TRADES_SUBJECT, AvroCodec, CodecError, FixedIdRegistry
from riskengine.model import SourceRecord
from riskengine.msk import build_event
from riskengine.runtime import default_processor
from riskengine.simulation import PATTERNS, SimulatorConfig, TradingSimulator
from riskengine.sinks import DeadLetter, Sink, Topics
from riskengine_tools.local import EmbeddedBroker, EmbeddedRedis
from riskengine_tools.local.bridge import LOCAL_CLUSTER_ARN, load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.paths import function_handler
from scopes import ScriptRecorder, memory_by_owner, redis_cpu_by_scope

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "infra"))  # the CDK app's settings
from riskengine_infra.config import DeploymentConfig

TOPIC = "crypto-trades"
DEPLOYED = DeploymentConfig()  # the function memory and trigger batch size the CDK app deploys by default
# AWS Lambda list prices, us-east-1, arm64, first tier (aws.amazon.com/lambda/pricing).
LAMBDA_ARM64_PRICE_DATE = "2026-12-04"
LAMBDA_ARM64_GB_S_USD = 0.0000133334
LAMBDA_REQUEST_USD = 0.20 / 1e6
# One stream record: event time (ms), key length, value length; then the key and value bytes.
RECORD_HEADER = struct.Struct(">qHI")
PROGRESS_PREFIX = "@@progress "
PROGRESS_EVERY_S = 0.25
DEFAULT_RATE_PER_S = 1_000.0
RATE_PER_USER = 0.2  # default event-time rate for small --users: well under the simulator's 0.5 cap
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
console = Console(stderr=True)


# --------------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Throughput of the real score_trades handler on a seeded stream (figures, not a test).",
    )
    add = parser.add_argument
    add("--trades", type=_positive_int, default=1_000_000, metavar="N", help="trades in the stream (1,000,000)")
    add("--users", type=_positive_int, default=5_000, metavar="N", help="simulated users (5,000)")
    add(
        "--batch-sizes",
        type=_batch_sizes,
        default="100,1000,10000",
        metavar="N,N,...",
        help="handler batch sizes, 1..10000 (100,1000,10000)",
    )
    add("--seed", type=int, default=7, help="simulator seed; a seed names a data set (7)")
    add(
        "--rate",
        type=float,
        metavar="TRADES_PER_S",
        help=f"event-time rate ({DEFAULT_RATE_PER_S:.0f}, or {RATE_PER_USER}/s per user if that is lower)",
    )
    add("--sink", choices=("discard", "kafka"), default="discard", help="where results go (discard)")
    add("--redis-url", metavar="URL", help="use this empty Redis instead of starting a fresh redis-server")
    add("--flush-redis", action="store_true", help="FLUSHDB the --redis-url database first if it is not empty")
    add(
        "--e2e-trades",
        type=int,
        default=20_000,
        metavar="N",
        help="trades for the end-to-end latency run through the broker and the trigger bridge; 0 skips it (20,000)",
    )
    add(
        "--scope-trades",
        type=int,
        default=100_000,
        metavar="N",
        help="trades whose window scripts are replayed per scope for Redis CPU by scope; 0 skips it (100,000)",
    )
    add("--e2e-rate", type=float, default=2_000.0, metavar="TRADES_PER_S", help="its production rate (2,000)")
    add("--out", type=Path, metavar="FILE.json", help="also save the figures (and per-command counts) as JSON")
    add("--worker", action="store_true", help=argparse.SUPPRESS)
    add("--floor", action="store_true", help=argparse.SUPPRESS)
    add("--e2e", action="store_true", help=argparse.SUPPRESS)
    add("--scopes", action="store_true", help=argparse.SUPPRESS)
    add("--stream", type=Path, help=argparse.SUPPRESS)
    add("--batch-size", type=_positive_int, help=argparse.SUPPRESS)
    add("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker and None in (args.stream, args.batch_size, args.result):
        parser.error("--worker needs --stream, --batch-size and --result")
    return args


def _positive_int(text: str) -> int:
    value = int(text.replace(",", "").replace("_", ""))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _batch_sizes(text: str) -> tuple[int, ...]:
    sizes = tuple(_positive_int(part) for part in text.split(",") if part.strip())
    if not sizes or any(size > 10_000 for size in sizes):
        raise argparse.ArgumentTypeError("batch sizes must be within 1..10000 (the MSK trigger's limit)")
    return sizes


# --------------------------------------------------------------------------- the stream file


@dataclass(slots=True)
class StreamInfo:
    trades: int
    users: int
    rate_per_s: float
    seed: int
    avro: int = 0
    json_fallback: int = 0
    invalid: int = 0
    episodes: dict[str, int] = field(default_factory=dict)
    episodes_open: dict[str, int] = field(default_factory=dict)
    generate_s: float = 0.0


def write_record(out: BinaryIO, timestamp: int, key: bytes, value: bytes) -> None:
    out.write(RECORD_HEADER.pack(timestamp, len(key), len(value)))
    out.write(key)
    out.write(value)


def read_records(path: Path, partition: int = 0) -> Iterator[SourceRecord]:
    """The stream file as records of one partition with consecutive offsets."""
    with path.open("rb") as handle:
        offset = 0
        while header := handle.read(RECORD_HEADER.size):
            timestamp, key_len, value_len = RECORD_HEADER.unpack(header)
            key, value = handle.read(key_len), handle.read(value_len)
            yield SourceRecord(TOPIC, partition, offset, timestamp, key, value)
            offset += 1


def read_batches(path: Path, size: int, partition: int = 0) -> Iterator[list[SourceRecord]]:
    batch: list[SourceRecord] = []
    for record in read_records(path, partition):
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def encode_trade(codec: AvroCodec, trade: dict[str, Any]) -> tuple[bytes, bool]:
    """Confluent Avro when the trade fits the schema, else JSON (as a hand-fed record); True if Avro."""
    try:
        return codec.encode(TRADES_SUBJECT, trade), True
    except CodecError:
        return json.dumps(trade).encode(), False


def event_rate(args: argparse.Namespace) -> float:
    return args.rate if args.rate is not None else min(DEFAULT_RATE_PER_S, args.users * RATE_PER_USER)


def generate_stream(path: Path, args: argparse.Namespace) -> StreamInfo:
    """Write the seeded stream to ``path``; event time ends about now, like live traffic."""
    rate = event_rate(args)
    start_ms = int(time.time() * 1000) - int(args.trades / rate * 1000)
    simulator = TradingSimulator(SimulatorConfig(seed=args.seed, users=args.users, rate_per_s=rate, start_ms=start_ms))
    info = StreamInfo(trades=args.trades, users=args.users, rate_per_s=rate, seed=args.seed)
    codec = AvroCodec(FixedIdRegistry())
    started = time.perf_counter()
    with path.open("wb") as out, _progress() as progress:
        task = progress.add_task("generating trades", total=args.trades)
        _write_trades(out, simulator.trades(args.trades), codec, info, lambda n: progress.advance(task, n))
    stats = simulator.stats
    info.generate_s = time.perf_counter() - started
    info.invalid = stats.invalid
    info.episodes, info.episodes_open = dict(stats.episodes), dict(stats.episodes_open)
    return info


def _write_trades(
    out: BinaryIO, trades: Iterator[dict[str, Any]], codec: AvroCodec, info: StreamInfo, advance: Callable[[int], None]
) -> None:
    event_time = 0
    for count, trade in enumerate(trades, start=1):
        # A malformed trade without a usable timestamp keeps the previous record timestamp.
        if isinstance(trade.get("timestamp"), int) and trade["timestamp"] > 0:
            event_time = trade["timestamp"]
        value, is_avro = encode_trade(codec, trade)
        info.avro += is_avro
        info.json_fallback += not is_avro
        write_record(out, event_time, str(trade.get("userId")).encode(), value)
        if count % 10_000 == 0:
            advance(10_000)
    advance(info.trades % 10_000)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


# --------------------------------------------------------------------------- worker side


class CountingSink:
    """Delegates to the handler's configured sink and counts what the engine handed it.

    One extra Python call per batch (plus one per alert); the wrapped sink still does all its work.
    The benchmark never retries a batch, so nothing is republished and counts are exact.
    """

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.scored = 0
        self.alerts: Counter[str] = Counter()
        self.dead_letters = 0

    def prepare(
        self, analyzed: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]
    ) -> Any:
        self.scored += len(analyzed)
        self.alerts.update(str(alert.get("patternType")) for alert in alerts)
        self.dead_letters += len(dead_letters)
        return self.inner.prepare(analyzed, alerts, dead_letters)

    def send(self, prepared: Any) -> None:
        self.inner.send(prepared)

    def close(self) -> None:
        self.inner.close()


class ClientCommandCounter:
    """Counts Redis commands this process packs for sending (each pipeline entry is one command).

    Redis 7's INFO total_commands_processed also counts commands run inside Lua scripts, so the
    commands clients send are counted here instead, by wrapping redis-py's RESP serializers.
    """

    def __init__(self) -> None:
        self.count = 0
        self._paused = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Do not count the benchmark's own monitoring commands."""
        self._paused = True
        try:
            yield
        finally:
            self._paused = False

    def install(self) -> None:
        for cls in (redis_connection.PythonRespSerializer, redis_connection.HiredisRespSerializer):
            cls.pack = self._counting(cls.pack)  # type: ignore[method-assign]

    def _counting(self, pack: Callable[..., list[bytes]]) -> Callable[..., list[bytes]]:
        def counted(serializer: object, *args: Any) -> list[bytes]:
            if not self._paused:
                self.count += 1
            return pack(serializer, *args)

        return counted


@dataclass(slots=True)
class ServerSnapshot:
    """What the Redis server and the handler's counters say at one instant."""

    redis_cpu_s: float | None
    processed: int
    calls: Counter[str]
    round_trips: int | None
    script_calls: int | None
    client_commands: int


@dataclass(slots=True)
class Timings:
    wall_s: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    trades: int = 0


def run_worker(args: argparse.Namespace) -> dict[str, Any]:
    counter = ClientCommandCounter()
    counter.install()
    with ExitStack() as stack:
        redis_url, redis_pid = start_redis(stack, args)
        env = {"REDIS_URL": redis_url, "RISKENGINE_SINK": args.sink}
        if args.sink == "kafka":
            env["KAFKA_BOOTSTRAP_SERVERS"] = start_broker(stack)
        stack.enter_context(handler_environment(env))
        invoke = load_handler(function_handler("score_trades"))
        processor = default_processor()
        sink = CountingSink(processor.sink)
        processor.sink = sink
        monitor = stack.enter_context(redis.Redis.from_url(redis_url))
        result = measure(args, invoke, monitor, redis_pid, counter, env.get("KAFKA_BOOTSTRAP_SERVERS", ""))
        # The handler's high-water mark, before the benchmark's own bookkeeping below adds to it.
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with counter.paused():
            result |= memory_by_owner(monitor)
        result |= {"scored": sink.scored, "alerts": dict(sink.alerts), "dead_lettered": sink.dead_letters}
        result["redis_version"] = monitor.info("server")["redis_version"]
    return result


def run_scopes_worker(args: argparse.Namespace) -> dict[str, Any]:
    """Redis CPU by window scope: the handler over the first --scope-trades trades (fresh redis-server),
    its window-script calls recorded, then replayed one scope at a time (benchmarks/scopes.py).

    A pass of its own, so that keeping the calls neither slows the timed run nor counts in its peak RSS.
    """
    with ExitStack() as stack:
        redis_url, _ = start_redis(stack, args)
        stack.enter_context(handler_environment({"REDIS_URL": redis_url, "RISKENGINE_SINK": "discard"}))
        invoke = load_handler(function_handler("score_trades"))
        recorder = ScriptRecorder(default_processor().engine.store, args.scope_trades)
        report = _Reporter(0)
        for batch in read_batches(args.stream, args.batch_size):
            if report.done >= args.scope_trades:
                break
            invoke(build_event(batch, cluster_arn=LOCAL_CLUSTER_ARN, bootstrap_servers=""))
            report(len(batch))
        report.finish()
    return redis_cpu_by_scope(recorder.calls, recorder.trades) | {"scope_trades": recorder.trades}


def run_floor_worker(args: argparse.Namespace) -> dict[str, Any]:
    """The floor (benchmarks/floor.py) on the same stream and batch size, with a fresh redis-server of its own."""
    with ExitStack() as stack:
        redis_url, redis_pid = start_redis(stack, args)
        client = stack.enter_context(redis.Redis.from_url(redis_url))
        batches = read_batches(args.stream, args.batch_size)
        warmup = next(batches)
        FloorRun(client).process(build_event(warmup))  # warm-up batch, untimed as the handler's
        report = _Reporter(len(warmup))
        redis_before = _process_cpu_s(redis_pid)
        wall, cpu, trades = time_floor(client, batches, report)
        redis_cpu = _delta(redis_before, _process_cpu_s(redis_pid))
        report.finish()
    return {
        "batch_size": args.batch_size,
        "floor_trades_per_s": trades / wall if wall else None,
        "floor_cpu_us_per_trade": _per(cpu * 1e6, trades),
        "floor_redis_cpu_us_per_trade": None if redis_cpu is None else _per(redis_cpu * 1e6, trades),
    }


def run_e2e_worker(args: argparse.Namespace) -> dict[str, Any]:
    """benchmarks/end_to_end.py on the first --e2e-trades trades of the stream."""
    records = list(itertools.islice(read_records(args.stream), args.e2e_trades))
    result = measure_end_to_end(
        records,
        args.e2e_rate,
        args.batch_size,
        lambda done: print(f"{PROGRESS_PREFIX}{done}", file=sys.stderr, flush=True),
    )
    latencies = list(result.latencies_ms)
    return {
        "batch_size": result.batch_size,
        "e2e_trades": result.trades,
        "e2e_rate_per_s": result.rate_per_s,
        "e2e_alerts": result.alerts,
        "e2e_alerts_timed": len(latencies),
        "e2e_p50_ms": _percentile(latencies, 50),
        "e2e_p99_ms": _percentile(latencies, 99),
        "e2e_max_ms": latencies[-1] if latencies else None,
    }


def _process_cpu_s(pid: int | None) -> float | None:
    if pid is None:
        return None
    cpu = psutil.Process(pid).cpu_times()
    return cpu.user + cpu.system


def start_redis(stack: ExitStack, args: argparse.Namespace) -> tuple[str, int | None]:
    """A fresh redis-server (or the given, empty, --redis-url) and its pid when it runs on this machine."""
    if args.redis_url is None:
        server = stack.enter_context(EmbeddedRedis())
        return server.url, server.pid
    with redis.Redis.from_url(args.redis_url) as client:
        if client.dbsize():
            if not args.flush_redis:
                raise SystemExit(f"{args.redis_url} is not empty: use an empty database or pass --flush-redis")
            client.flushdb()
        return args.redis_url, _local_pid(args.redis_url, int(client.info("server")["process_id"]))


def _local_pid(url: str, pid: int) -> int | None:
    """The server's pid if it is a redis process on this machine, else None (its CPU is not measured)."""
    if urlparse(url).hostname not in LOOPBACK_HOSTS or not psutil.pid_exists(pid):
        return None
    return pid if "redis" in psutil.Process(pid).name() else None


def start_broker(stack: ExitStack) -> str:
    broker = stack.enter_context(EmbeddedBroker())
    topics = Topics()
    broker.create_topics([topics.analyzed, topics.alerts, topics.dead_letter], partitions=1)
    return broker.bootstrap_servers


def measure(
    args: argparse.Namespace,
    invoke: Callable[[dict[str, Any]], dict[str, Any] | None],
    monitor: redis.Redis,
    redis_pid: int | None,
    counter: ClientCommandCounter,
    bootstrap: str,
) -> dict[str, Any]:
    """Warm up on the first batch, then time every other invocation and diff the server counters."""

    def call(batch: list[SourceRecord]) -> tuple[float, float]:
        event = build_event(batch, cluster_arn=LOCAL_CLUSTER_ARN, bootstrap_servers=bootstrap)
        cpu, wall = time.process_time(), time.perf_counter()
        response = invoke(event) or {}
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if response.get("batchItemFailures"):
            raise RuntimeError(f"the handler failed a batch: {response['batchItemFailures']}")
        return wall, cpu

    batches = read_batches(args.stream, args.batch_size)
    warmup = next(batches)
    call(warmup)
    report = _Reporter(len(warmup))
    timings = Timings()
    before = snapshot(monitor, redis_pid, counter)
    for batch in batches:
        wall, cpu = call(batch)
        timings.wall_s.append(wall)
        timings.cpu_s += cpu
        timings.trades += len(batch)
        report(len(batch))
    after = snapshot(monitor, redis_pid, counter)
    report.finish()
    return summarise(args.batch_size, len(warmup), timings, before, after)


class _Reporter:
    """Tells the parent how far the worker is, on stderr, at most every PROGRESS_EVERY_S."""

    def __init__(self, done: int) -> None:
        self.done = done
        self._last = 0.0
        self._emit()

    def __call__(self, records: int) -> None:
        self.done += records
        if time.monotonic() - self._last >= PROGRESS_EVERY_S:
            self._emit()

    def finish(self) -> None:
        self._emit()

    def _emit(self) -> None:
        self._last = time.monotonic()
        print(f"{PROGRESS_PREFIX}{self.done}", file=sys.stderr, flush=True)


def snapshot(monitor: redis.Redis, redis_pid: int | None, counter: ClientCommandCounter) -> ServerSnapshot:
    with counter.paused():
        info = monitor.execute_command("INFO", "stats", "commandstats")
    store = _store_counter()
    return ServerSnapshot(
        redis_cpu_s=_process_cpu_s(redis_pid),
        processed=int(info["total_commands_processed"]),
        calls=Counter(
            {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items() if k.startswith("cmdstat_")}
        ),
        round_trips=getattr(store, "round_trips", None),
        script_calls=getattr(store, "script_calls", None),
        client_commands=counter.count,
    )


def _store_counter() -> object | None:
    """The handler's RoundTripCounter (riskengine/windows/store.py), if the store still has one."""
    store = getattr(default_processor().engine, "store", None)
    return getattr(store, "counter", None)


def summarise(
    batch_size: int, warmup: int, timings: Timings, before: ServerSnapshot, after: ServerSnapshot
) -> dict[str, Any]:
    batches = len(timings.wall_s)
    wall = sum(timings.wall_s)
    calls = after.calls - before.calls
    monitor_calls = calls.pop("info", 0)  # the snapshot's own INFO; the handler never sends one
    redis_cpu = _delta(before.redis_cpu_s, after.redis_cpu_s)
    latencies = sorted(seconds * 1000 for seconds in timings.wall_s)
    return {
        "batch_size": batch_size,
        "warmup_trades": warmup,
        "timed_trades": timings.trades,
        "timed_batches": batches,
        "handler_wall_s": wall,
        "trades_per_s": timings.trades / wall if wall else None,
        "handler_cpu_us_per_trade": _per(timings.cpu_s * 1e6, timings.trades),
        "redis_cpu_us_per_trade": None if redis_cpu is None else _per(redis_cpu * 1e6, timings.trades),
        "p50_ms": _percentile(latencies, 50),
        "p99_ms": _percentile(latencies, 99),
        "max_ms": latencies[-1] if latencies else None,
        "round_trips_per_batch": _per(_delta(before.round_trips, after.round_trips), batches),
        "script_calls_per_batch": _per(_delta(before.script_calls, after.script_calls), batches),
        "client_commands_per_batch": _per(after.client_commands - before.client_commands, batches),
        "commands_executed_per_batch": _per(sum(calls.values()), batches),
        "total_commands_processed_per_batch": _per(after.processed - before.processed - monitor_calls, batches),
        "commands_by_name": dict(calls.most_common()),
    }


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def _per(total: float | None, count: int) -> float | None:
    return None if total is None or not count else total / count


def _percentile(ordered: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


# --------------------------------------------------------------------------- parent side


def spawn_worker(args: argparse.Namespace, stream: Path, batch_size: int, kind: str = "handler") -> dict[str, Any]:
    """Run one worker subprocess with a progress bar; return the JSON object it wrote.

    The handler prints to stdout (Powertools EMF blobs), so the worker's stdout goes to a file
    and its figures to another; its stderr carries progress lines.
    """
    result_path = stream.with_name(f"{kind}-result-{batch_size}.json")
    stdout_path = stream.with_name(f"{kind}-stdout-{batch_size}.txt")
    argv = [sys.executable, __file__, "--worker", "--stream", str(stream), "--batch-size", str(batch_size)]
    argv += ["--result", str(result_path)]
    argv += ["--sink", args.sink] + (["--redis-url", args.redis_url] if args.redis_url else [])
    argv += ["--flush-redis"] if args.flush_redis else []
    argv += ["--scope-trades", str(args.scope_trades)]
    argv += {
        "floor": ["--floor"],
        "e2e": ["--e2e", "--e2e-trades", str(args.e2e_trades), "--e2e-rate", str(args.e2e_rate)],
        "scopes": ["--scopes"],
    }.get(kind, [])
    other: deque[str] = deque(maxlen=40)
    with (
        stdout_path.open("w") as stdout,
        _progress() as progress,
        subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, text=True) as proc,
    ):
        total = {"e2e": min(args.trades, args.e2e_trades), "scopes": min(args.trades, args.scope_trades)}.get(
            kind, args.trades
        )
        task = progress.add_task(f"{kind}, batch size {batch_size:,}", total=total)
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith(PROGRESS_PREFIX):
                progress.update(task, completed=int(line.removeprefix(PROGRESS_PREFIX)))
            else:
                other.append(line.rstrip())
    if proc.returncode != 0:
        raise SystemExit(f"worker for batch size {batch_size} failed ({proc.returncode}):\n" + "\n".join(other))
    result: dict[str, Any] = json.loads(result_path.read_text())
    with stdout_path.open("rb") as lines:
        result["handler_stdout_lines"] = sum(1 for _ in lines)
    return result


# What the scopes pass adds to a batch size's figures.
SCOPE_FIGURES = (
    "redis_cpu_us_per_trade_",
    "script_sent_bytes_per_trade",
    "script_reply_bytes_per_trade",
    "scope_trades",
)


def with_floor(args: argparse.Namespace, stream: Path, batch_size: int) -> dict[str, Any]:
    """The floor, then the handler, back to back on the same stream: the handler's speed as a fraction of it."""
    floor = spawn_worker(args, stream, batch_size, "floor")
    result = spawn_worker(args, stream, batch_size)
    result |= {key: value for key, value in floor.items() if key.startswith("floor_")}
    if args.scope_trades > 0:
        scopes = spawn_worker(args, stream, batch_size, "scopes")
        result |= {key: value for key, value in scopes.items() if key.startswith(SCOPE_FIGURES)}
    speed, ceiling = result.get("trades_per_s"), floor.get("floor_trades_per_s")
    result["fraction_of_floor"] = speed / ceiling if speed and ceiling else None
    return result


def lambda_cost(result: dict[str, Any]) -> dict[str, Any]:
    """Lambda compute cost per million trades at this speed, on arm64 at the memory the CDK app gives score_trades.

    Assumes the function runs as fast as this machine's process did (at 1,769 MB a function has one
    vCPU); prices are us-east-1 list prices (LAMBDA_ARM64_PRICE_DATE), first tier.
    """
    speed = result.get("trades_per_s")
    if not speed:
        return {}
    gb = DEPLOYED.score_trades.memory_mb / 1024
    compute = 1e6 / speed * gb * LAMBDA_ARM64_GB_S_USD
    requests = 1e6 / result["batch_size"] * LAMBDA_REQUEST_USD
    return {"lambda_usd_per_million_trades": compute + requests, "lambda_memory_mb": DEPLOYED.score_trades.memory_mb}


def print_end_to_end(e2e: dict[str, Any]) -> None:
    Console().print(
        f"[bold]End to end[/] (produce -> alert readable on risk-alerts; embedded broker, trigger bridge with "
        f"batching window 0, batch size {e2e['batch_size']:,}): {e2e['e2e_trades']:,} trades at "
        f"{e2e['e2e_rate_per_s']:,.0f}/s, {e2e['e2e_alerts_timed']} of {e2e['e2e_alerts']} alerts timed; "
        f"p50 {_cell(e2e['e2e_p50_ms'], '{:,.0f}')} ms, p99 {_cell(e2e['e2e_p99_ms'], '{:,.0f}')} ms, "
        f"max {_cell(e2e['e2e_max_ms'], '{:,.0f}')} ms"
    )


def machine() -> dict[str, Any]:
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "redis_server": _redis_server_version(),
        "code": _checkout(),
    }


def _checkout() -> str:
    """The commit the figures belong to, with "+dirty" when tracked files have uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    git = shutil.which("git")
    if git is None:
        return "unknown"
    head = subprocess.run([git, "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=False)
    dirty = subprocess.run(
        [git, "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, check=False
    )
    return (head.stdout.strip() or "unknown") + ("+dirty" if dirty.stdout.strip() else "")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _redis_server_version() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        return "not installed"
    text = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
    return next((part[2:] for part in text.split() if part.startswith("v=")), text.strip())


def print_stream(info: StreamInfo) -> None:
    out = Console()
    out.print(
        f"[bold]Stream[/]: {info.trades:,} trades, {info.users:,} users, seed {info.seed}, "
        f"{info.rate_per_s:,.0f} trades/s of event time ({info.trades / info.rate_per_s / 60:,.1f} min); "
        f"{info.avro:,} Avro + {info.json_fallback:,} JSON (malformed), {info.invalid:,} invalid; "
        f"generated in {info.generate_s:,.1f} s"
    )
    injected = ", ".join(f"{p} {info.episodes.get(p, 0)}" for p in PATTERNS)
    out.print(f"[bold]Injected episodes[/] (finished): {injected}; {sum(info.episodes_open.values())} still open")
    missing = [p for p in PATTERNS if not info.episodes.get(p)]
    if missing:
        out.print(f"[yellow]No finished episode of {', '.join(missing)}: use more --trades to cover every pattern")


ROWS: tuple[tuple[str, str, str], ...] = (
    ("trades/s (trades / handler wall time)", "trades_per_s", "{:,.0f}"),
    ("floor trades/s (decode + one Lua call)", "floor_trades_per_s", "{:,.0f}"),
    ("handler speed / floor", "fraction_of_floor", "{:.2f}"),
    ("handler CPU µs/trade", "handler_cpu_us_per_trade", "{:,.1f}"),
    ("redis-server CPU µs/trade", "redis_cpu_us_per_trade", "{:,.1f}"),
    ("redis-server CPU µs/trade, floor", "floor_redis_cpu_us_per_trade", "{:,.1f}"),
    ("  window script, user windows", "redis_cpu_us_per_trade_user", "{:,.1f}"),
    ("  window script, user+symbol windows", "redis_cpu_us_per_trade_user_symbol", "{:,.1f}"),
    ("  window script, market windows", "redis_cpu_us_per_trade_symbol_exchange", "{:,.1f}"),
    ("  window script, order-book windows", "redis_cpu_us_per_trade_order_book", "{:,.1f}"),
    ("window script bytes sent / trade", "script_sent_bytes_per_trade", "{:,.0f}"),
    ("window script reply bytes / trade", "script_reply_bytes_per_trade", "{:,.0f}"),
    ("Redis memory per active user (bytes)", "redis_bytes_per_user", "{:,.0f}"),
    ("Redis memory per market (bytes)", "redis_bytes_per_market", "{:,.0f}"),
    ("Redis memory per ledger entry (bytes)", "redis_bytes_per_ledger_entry", "{:,.0f}"),
    ("batch latency p50 (ms)", "p50_ms", "{:,.2f}"),
    ("batch latency p99 (ms)", "p99_ms", "{:,.2f}"),
    ("Redis round trips / batch", "round_trips_per_batch", "{:,.2f}"),
    ("client commands / batch", "client_commands_per_batch", "{:,.2f}"),
    ("commands executed / batch (incl. Lua)", "commands_executed_per_batch", "{:,.1f}"),
    ("peak RSS of the worker (MB)", "peak_rss_mb", "{:,.0f}"),
    ("Lambda USD / million trades (arm64)", "lambda_usd_per_million_trades", "{:,.4f}"),
    ("timed trades (batches)", "timed", "{}"),
    ("trades scored (whole run)", "scored", "{:,}"),
    ("dead-lettered (whole run)", "dead_lettered", "{:,}"),
    ("alerts raised (whole run)", "alerts_total", "{:,}"),
)


def print_results(results: list[dict[str, Any]], host: dict[str, Any], sink: str) -> None:
    table = Table(title=f"score_trades handler, {sink} sink, one worker process per batch size")
    table.add_column("batch size", justify="left")
    for result in results:
        table.add_column(f"{result['batch_size']:,}", justify="right")
    for label, key, fmt in ROWS:
        table.add_row(label, *(_cell(_value(result, key), fmt) for result in results))
    out = Console()
    out.print(table)
    for result in results:
        alerts = ", ".join(f"{p} {n}" for p, n in sorted(result["alerts"].items())) or "none"
        out.print(f"alerts by pattern, batch size {result['batch_size']:,}: {alerts}")
    out.print(
        f"[bold]Machine[/]: {host['nproc']} CPUs ({host['cpu_model']}), Python {host['python']}, "
        f"redis-server {host['redis_server']}, {host['platform']}; code {host['code']}"
    )


def _value(result: dict[str, Any], key: str) -> Any:
    if key == "timed":
        return f"{result['timed_trades']:,} ({result['timed_batches']:,})"
    if key == "alerts_total":
        return sum(result["alerts"].values())
    return result.get(key)


def _cell(value: Any, fmt: str) -> str:
    return "n/a" if value is None else fmt.format(value)


def run_parent(args: argparse.Namespace) -> None:
    host = machine()
    with tempfile.TemporaryDirectory(prefix="riskengine-bench-") as tmp:
        stream = Path(tmp) / "trades.bin"
        info = generate_stream(stream, args)
        print_stream(info)
        results = [with_floor(args, stream, size) for size in args.batch_sizes]
        e2e = spawn_worker(args, stream, DEPLOYED.trigger.batch_size, "e2e") if args.e2e_trades > 0 else None
    host["redis_server"] = results[0].get("redis_version", host["redis_server"])
    for result in results:
        result |= lambda_cost(result)
    print_results(results, host, args.sink)
    if e2e is not None:
        print_end_to_end(e2e)
    if args.out:
        figures = {"machine": host, "sink": args.sink, "stream": asdict(info), "results": results, "end_to_end": e2e}
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
        Console().print(f"figures saved to {args.out}")


def _worker_of(args: argparse.Namespace) -> Callable[[argparse.Namespace], dict[str, Any]]:
    """The worker a hidden flag asks for: the floor, the end-to-end run, the scopes pass, else the handler."""
    if args.floor:
        return run_floor_worker
    if args.e2e:
        return run_e2e_worker
    if args.scopes:
        return run_scopes_worker
    return run_worker


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        args.result.write_text(json.dumps(_worker_of(args)(args)))
    else:
        run_parent(args)


if __name__ == "__main__":
    main()
