"""The score_trades handler's structured logs and metrics, on a real redis-server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest

from riskengine.codec import TRADES_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine_tools.local import EmbeddedRedis

pytestmark = pytest.mark.integration

CODEC = AvroCodec(FixedIdRegistry())


def large_order() -> dict[str, Any]:
    return {
        "tradeId": "T-LARGE-1", "userId": "U-OBS", "customerId": "C-OBS", "symbol": "BTC/USDT",
        "baseAsset": "BTC", "quoteAsset": "USDT", "side": "BUY", "orderType": "LIMIT", "quantity": 10.0,
        "price": 90_000.0, "notional": 900_000.0, "timestamp": int(time.time() * 1000), "exchange": "BINANCE",
    }  # fmt: skip


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# Run in a fresh interpreter: Powertools loggers and metrics are process-wide singletons whose
# streams were bound by whichever test created them first.
INVOKE = """
import sys
from riskengine_tools.local.bridge import LOCAL_CLUSTER_ARN, load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.paths import function_handler
from riskengine.msk import build_event
from riskengine.model import SourceRecord
records = [SourceRecord("crypto-trades", 0, 7, 0, b"U-OBS", bytes.fromhex(sys.argv[2])),
           SourceRecord("crypto-trades", 0, 8, 0, None, b"not a trade")]
env = {"REDIS_URL": sys.argv[1], "RISKENGINE_SINK": "discard", "POWERTOOLS_LOG_LEVEL": "INFO",
       "POWERTOOLS_METRICS_DISABLED": "false", "POWERTOOLS_TRACE_DISABLED": "true"}
event = build_event(records, cluster_arn=LOCAL_CLUSTER_ARN)
with handler_environment(env, verbose=True):
    print("RESPONSE", load_handler(function_handler("score_trades"))(event))
"""


def test_flagged_trades_are_logged_with_the_trade_id_as_correlation_id_and_metrics_are_emf(
    redis_server: EmbeddedRedis,
) -> None:
    value = CODEC.encode(TRADES_SUBJECT, large_order()).hex()
    run = subprocess.run(
        [sys.executable, "-c", INVOKE, redis_server.url, value], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert "RESPONSE {'batchItemFailures': []}" in run.stdout
    lines = json_lines(run.stdout)
    (flagged,) = [line for line in lines if line.get("message") == "trade flagged"]
    assert flagged["correlation_id"] == "T-LARGE-1"
    assert flagged["patterns"] == ["LARGE_ORDER"]
    assert flagged["service"] == "score-trades"
    (rejected,) = [line for line in lines if "dead-lettering" in str(line.get("message"))]
    assert rejected["level"] == "WARNING" and "bad_magic_byte" in rejected["message"]
    (emf,) = [line for line in lines if "_aws" in line]
    names = {metric["Name"] for metric in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"TradesScored", "DeadLettered", "BatchSize", "BatchLatencyMs", "AlertsRaised_LARGE_ORDER"} <= names
    assert emf["TradesScored"] == [1.0] and emf["DeadLettered"] == [1.0]
