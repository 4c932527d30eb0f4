"""functions/report_api end to end: the real handler, invoked with API Gateway REST proxy events, answering
from a real OpenSearch-compatible server (noida-db) that holds alerts and analysed trades in daily indices."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alert_builders import index_alerts, raised_alert
from builders import BASE_TS, trade
from opensearchpy import OpenSearch, helpers

from riskengine.search import (
    ACKNOWLEDGEMENTS,
    ALERTS,
    ANALYZED_TRADES,
    FAMILIES,
    alert_document,
    analyzed_trade_document,
)
from riskengine_tools.local import EmbeddedSearch, free_port
from riskengine_tools.local.bridge import load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.paths import function_handler

pytestmark = pytest.mark.integration

HOUR = 3_600_000
# (alertId, user, pattern, severity, exchange, symbol, hours after BASE_TS = 2025-11-23T12:13:20Z)
ALERT_ROWS = (
    ("al-01", "U1", "WASH_TRADING", "CRITICAL", "BINANCE", "BTC/USDT", 0),
    ("al-02", "U1", "LARGE_ORDER", "HIGH", "BINANCE", "BTC/USDT", 1),
    ("al-03", "U1", "VOLUME_SPIKE", "MEDIUM", "KRAKEN", "ETH/USDT", 25),
    ("al-04", "U1", "WASH_TRADING", "HIGH", "BINANCE", "BTC/USDT", 26),
    ("al-05", "U2", "WASH_TRADING", "HIGH", "KRAKEN", "ETH/USDT", 2),
    ("al-06", "U2", "RAPID_BURST", "LOW", "BINANCE", "SOL/USDT", -24),
    ("al-07", "U2", "LARGE_ORDER", "CRITICAL", "KRAKEN", "BTC/USDT", 2),
    ("al-08", "U3", "LARGE_ORDER", "HIGH", "BINANCE", "BTC/USDT", 3),
    ("al-09", "U3", "FLASH_CRASH", "MEDIUM", "COINBASE", "BTC/USDT", 27),
    ("al-10", "U5", "VOLUME_SPIKE", "LOW", "COINBASE", "ETH/USDT", 4),
    ("al-11", "U5", "RAPID_BURST", "LOW", "COINBASE", "ETH/USDT", 4),
    ("al-12", "U6", "SELF_TRADE", "HIGH", "BINANCE", "BTC/USDT", 28),
)
# (tradeId, user, hours after BASE_TS, riskScore, riskLevel)
TRADE_ROWS = (
    ("t-U1-1", "U1", 0, 0.9, "CRITICAL"),
    ("t-U1-2", "U1", 1, 0.5, "MEDIUM"),
    ("t-U1-3", "U1", 25, 0.7, "HIGH"),
    ("t-U2-1", "U2", 2, 0.6, "HIGH"),
    ("t-U3-1", "U3", 3, 0.3, "LOW"),
    ("t-U5-1", "U5", 4, 0.8, "HIGH"),
    ("t-U4-1", "U4", 5, 0.99, "CRITICAL"),  # the highest score, but no alert
    ("t-U6-1", "U6", 28, 0.2, "LOW"),
)
NEWEST_FIRST = [row[0] for row in sorted(ALERT_ROWS, key=lambda r: (-r[6], r[0]))]
WHOLE_PERIOD = {"from": "2025-11-21", "to": "2025-11-26"}

Api = Callable[..., tuple[int, dict[str, str], Any]]


def alert(alert_id: str, user: str, pattern: str, severity: str, exchange: str, symbol: str, hours: int) -> dict:
    return {
        "alertId": alert_id,
        "patternType": pattern,
        "rule": f"{pattern}@1",
        "timestamp": BASE_TS + hours * HOUR,
        "detectedAt": BASE_TS + hours * HOUR + 50,
        "severity": severity,
        "userId": user,
        "customerId": f"C-{user}",
        "symbol": symbol,
        "exchange": exchange,
        "description": f"{pattern} by {user}",
        "recommendedAction": "Review the account.",
        "triggeredEvents": [f"{alert_id}-evidence"],
        "metrics": {"strength": 0.9},
        "acknowledged": False,
    }


def analysed(trade_id: str, user: str, hours: int, score: float, level: str) -> dict:
    original = trade(trade_id, user=user, at=hours * HOUR)
    return {
        "originalTrade": original,
        "riskScore": score,
        "finalRiskLevel": level,
        "triggeredPatterns": [],
        "alertIds": [],
        "volumeAnalysis": {"notional": original["notional"], "baselineTrades": 0, "zScore": 0.0},
        "behavioralAnalysis": {"patternCount": 0, "maxPatternStrength": 0.0, "patternStrengths": {}},
        "marketImpactAnalysis": {"symbolVolume5m": 0.0, "impactRatio": None},
        "complianceFlags": [],
        "riskMitigationActions": [],
        "scoreContributions": {"behaviour": score, "volume": 0.0, "compliance": 0.0, "marketImpact": 0.0},
        "lateEvent": False,
        "processedAt": original["timestamp"] + 10,
        "engineVersion": "riskengine-test",
    }


@pytest.fixture
def indexed(search_client: OpenSearch) -> OpenSearch:
    """Templates in place, then the alerts and analysed trades above in their daily indices."""
    for family in FAMILIES:
        search_client.indices.put_index_template(name=family.alias, body=family.template(replicas=0))
    alerts = [alert_document(alert(*row)) for row in ALERT_ROWS]
    trades = [analyzed_trade_document(analysed(*row)) for row in TRADE_ROWS]
    actions = [
        {"_index": family.index_for(doc["timestamp"]), "_id": doc[family.id_field], "_source": doc}
        for family, docs in ((ALERTS, alerts), (ANALYZED_TRADES, trades))
        for doc in docs
    ]
    assert helpers.bulk(search_client, actions, refresh=True) == (len(actions), [])
    return search_client


@pytest.fixture
def order_book_alerts(indexed: OpenSearch) -> list[dict[str, Any]]:
    """Two order-book alerts of U7, who has no analysed trade, indexed next to the alerts above."""
    alerts = [
        raised_alert("ob-spoof", "SPOOFING", "U7", at=HOUR // 2),
        raised_alert("ob-layer", "LAYERING", "U7", at=HOUR + HOUR // 12, symbol="ETH/USDT", exchange="KRAKEN"),
    ]
    index_alerts(indexed, alerts)
    return alerts


@pytest.fixture(scope="module")
def handler() -> Callable[[dict[str, Any]], dict[str, Any]]:
    return load_handler(function_handler("report_api"))


def rest_event(method: str, path: str, query: dict[str, str] | None, body: Any) -> dict[str, Any]:
    """An API Gateway REST API proxy event, as the Lambda proxy integration sends it."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Accept": "*/*", "Content-Type": "application/json"},
        "multiValueHeaders": {"Accept": ["*/*"], "Content-Type": ["application/json"]},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"requestId": "test-request", "stage": "prod", "httpMethod": method, "path": path},
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


@contextmanager
def api_on(handler: Callable[[dict[str, Any]], dict[str, Any]], url: str) -> Iterator[Api]:
    """Call the handler as API Gateway would, with OPENSEARCH_URL = ``url`` and a fresh container-wide client."""

    def call(method: str, path: str, query: dict[str, str] | None = None, body: Any = None) -> tuple:
        response = handler(rest_event(method, path, query, body))
        # Powertools answers multiValueHeaders when the event had them, as API Gateway expects
        headers = {name: ", ".join(values) for name, values in (response.get("multiValueHeaders") or {}).items()}
        content = response["body"]
        return response["statusCode"], headers, json.loads(content) if "json" in headers["Content-Type"] else content

    with handler_environment({"OPENSEARCH_URL": url}):
        yield call


@pytest.fixture
def api(handler: Callable[[dict[str, Any]], dict[str, Any]], search_server: EmbeddedSearch) -> Iterator[Api]:
    with api_on(handler, search_server.url) as call:
        yield call


def ids(page: dict[str, Any]) -> list[str]:
    return [a["alertId"] for a in page["alerts"]]


def test_alerts_filters_combine_and_sort_newest_first(indexed: OpenSearch, api: Api) -> None:
    status, _, everything = api("GET", "/alerts", {"size": "500"})
    assert status == 200
    assert ids(everything) == NEWEST_FIRST and everything["total"] == 12 and everything["nextCursor"] is None

    assert ids(api("GET", "/alerts", {"userId": "U1"})[2]) == ["al-04", "al-03", "al-02", "al-01"]
    high_binance = api("GET", "/alerts", {"severity": "HIGH", "exchange": "BINANCE"})[2]
    assert ids(high_binance) == ["al-12", "al-04", "al-08", "al-02"]
    wash_btc = api("GET", "/alerts", {"patternType": "WASH_TRADING", "symbol": "BTC/USDT"})[2]
    assert ids(wash_btc) == ["al-04", "al-01"]
    # ISO-8601 with an offset for from, epoch millis for to; equal timestamps are ordered by alertId
    window = {"from": "2025-11-23T15:13:20+01:00", "to": str(BASE_TS + 4 * HOUR)}
    assert ids(api("GET", "/alerts", window)[2]) == ["al-10", "al-11", "al-08", "al-05", "al-07"]


def test_alerts_show_the_stored_alert_fields(indexed: OpenSearch, api: Api) -> None:
    first = api("GET", "/alerts", {"userId": "U6"})[2]["alerts"][0]
    assert first == {
        "alertId": "al-12",
        "patternType": "SELF_TRADE",
        "category": "trades",
        "rule": "SELF_TRADE@1",
        "severity": "HIGH",
        "userId": "U6",
        "customerId": "C-U6",
        "symbol": "BTC/USDT",
        "exchange": "BINANCE",
        "timestamp": "2025-11-24T16:13:20.000Z",
        "detectedAt": "2025-11-24T16:13:20.050Z",
        "description": "SELF_TRADE by U6",
        "recommendedAction": "Review the account.",
        "triggeredEvents": ["al-12-evidence"],
        "metrics": {"strength": 0.9},
        "acknowledged": False,
        "acknowledgement": None,
        "acknowledgements": 0,
    }


def test_pages_follow_the_cursor_without_overlap_until_every_alert_is_found(indexed: OpenSearch, api: Api) -> None:
    seen: list[list[str]] = []
    query = {"size": "5"}
    while True:
        status, _, page = api("GET", "/alerts", query)
        assert status == 200 and page["total"] == 12
        seen.append(ids(page))
        if page["nextCursor"] is None:
            break
        query = {"size": "5", "search_after": page["nextCursor"]}
    assert [len(p) for p in seen] == [5, 5, 2]
    assert [alert_id for p in seen for alert_id in p] == NEWEST_FIRST


def test_user_risk_has_alert_breakdowns_a_daily_trend_and_the_latest_trades(indexed: OpenSearch, api: Api) -> None:
    status, _, risk = api("GET", "/users/U1/risk", {"from": "2025-11-22", "to": "2025-11-24", "trades": "2"})
    assert status == 200
    assert risk["period"] == {"from": "2025-11-22T00:00:00.000Z", "to": "2025-11-24T23:59:59.999Z"}
    assert risk["summary"] == {"trades": 3, "alerts": 4, "avgRiskScore": pytest.approx(0.7), "maxRiskScore": 0.9}
    assert risk["alertsByPattern"] == {"WASH_TRADING": 2, "LARGE_ORDER": 1, "VOLUME_SPIKE": 1}
    assert risk["alertsBySeverity"] == {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 1, "LOW": 0}
    assert risk["daily"] == [
        {"day": "2025-11-22", "trades": 0, "avgRiskScore": None, "maxRiskScore": None},
        {"day": "2025-11-23", "trades": 2, "avgRiskScore": pytest.approx(0.7), "maxRiskScore": 0.9},
        {"day": "2025-11-24", "trades": 1, "avgRiskScore": pytest.approx(0.7), "maxRiskScore": 0.7},
    ]
    latest = risk["latestTrades"]
    assert [t["tradeId"] for t in latest] == ["t-U1-3", "t-U1-2"]
    assert latest[0] | {"timestamp": None} == {
        "tradeId": "t-U1-3",
        "timestamp": None,
        "symbol": "BTC/USDT",
        "exchange": "BINANCE",
        "side": "BUY",
        "orderType": "LIMIT",
        "quantity": 1.0,
        "price": 100.0,
        "notional": 100.0,
        "riskScore": 0.7,
        "riskLevel": "HIGH",
        "triggeredPatterns": [],
        "alertIds": [],
        "lateEvent": False,
    }


def test_user_risk_period_excludes_what_lies_outside_it(indexed: OpenSearch, api: Api) -> None:
    risk = api("GET", "/users/U1/risk", {"from": "2025-11-24", "to": "2025-11-24"})[2]
    assert risk["summary"]["trades"] == 1 and risk["summary"]["alerts"] == 2
    assert [d["day"] for d in risk["daily"]] == ["2025-11-24"]


def test_compliance_report_counts_and_ranks_the_riskiest_users(indexed: OpenSearch, api: Api) -> None:
    status, _, report = api("GET", "/reports/compliance", WHOLE_PERIOD)
    assert status == 200
    assert report["totals"] == {
        "alerts": 12,
        "usersWithAlerts": 5,
        "trades": 8,
        "usersTraded": 6,
        "highRiskTrades": 5,
        "avgRiskScore": pytest.approx(sum(r[3] for r in TRADE_ROWS) / len(TRADE_ROWS)),
        "maxRiskScore": 0.99,
    }
    assert report["alertsByPattern"] == {
        "LARGE_ORDER": 3, "WASH_TRADING": 3, "RAPID_BURST": 2, "VOLUME_SPIKE": 2, "FLASH_CRASH": 1, "SELF_TRADE": 1,
    }  # fmt: skip
    assert report["alertsBySeverity"] == {"CRITICAL": 2, "HIGH": 5, "MEDIUM": 2, "LOW": 3}
    assert report["alertsByExchange"] == {"BINANCE": 6, "COINBASE": 3, "KRAKEN": 3}
    assert report["tradesByRiskLevel"] == {"CRITICAL": 2, "HIGH": 3, "MEDIUM": 1, "LOW": 2}
    # most alerts first; U3 and U5 tie on alerts, so the higher max risk score wins; U4 has none, so it is last
    assert report["riskiestUsers"] == [
        {"userId": "U1", "alerts": 4, "maxRiskScore": 0.9, "trades": 3},
        {"userId": "U2", "alerts": 3, "maxRiskScore": 0.6, "trades": 1},
        {"userId": "U5", "alerts": 2, "maxRiskScore": 0.8, "trades": 1},
        {"userId": "U3", "alerts": 2, "maxRiskScore": 0.3, "trades": 1},
        {"userId": "U6", "alerts": 1, "maxRiskScore": 0.2, "trades": 1},
        {"userId": "U4", "alerts": 0, "maxRiskScore": 0.99, "trades": 1},
    ]
    top_two = api("GET", "/reports/compliance", WHOLE_PERIOD | {"top": "2"})[2]["riskiestUsers"]
    assert [u["userId"] for u in top_two] == ["U1", "U2"]


def test_compliance_report_covers_only_its_period(indexed: OpenSearch, api: Api) -> None:
    report = api("GET", "/reports/compliance", {"from": "2025-11-23", "to": "2025-11-23"})[2]
    assert report["period"] == {"from": "2025-11-23T00:00:00.000Z", "to": "2025-11-23T23:59:59.999Z"}
    assert report["totals"]["alerts"] == 7 and report["totals"]["trades"] == 6
    assert report["alertsByExchange"] == {"BINANCE": 3, "COINBASE": 2, "KRAKEN": 2}


def test_compliance_report_as_csv(indexed: OpenSearch, api: Api) -> None:
    status, headers, text = api("GET", "/reports/compliance", WHOLE_PERIOD | {"format": "csv", "top": "3"})
    assert status == 200
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Content-Disposition"] == (
        'attachment; filename="compliance-report_20251121T000000Z_20251126T235959Z.csv"'
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "key", "metric", "value"]
    assert all(len(row) == 4 for row in rows)
    assert ["totals", "", "alerts", "12"] in rows
    assert ["alertsByPattern", "WASH_TRADING", "alerts", "3"] in rows
    assert ["alertsBySeverity", "LOW", "alerts", "3"] in rows
    ranked = [(row[1], row[3]) for row in rows if row[0] == "riskiestUsers" and row[2] == "rank"]
    assert ranked == [("U1", "1"), ("U2", "2"), ("U5", "3")]


def test_order_book_alerts_are_found_by_pattern_and_by_category(
    order_book_alerts: list[dict[str, Any]], api: Api
) -> None:
    spoof = order_book_alerts[0]
    (shown,) = api("GET", "/alerts", {"patternType": "SPOOFING"})[2]["alerts"]
    assert shown["alertId"] == "ob-spoof" and shown["category"] == "order_book" and shown["rule"] == "SPOOFING@1"
    assert shown["triggeredEvents"] == spoof["triggeredEvents"] == ["ob-spoof-OE-NEW", "T-OPP-1", "ob-spoof-OE-CXL"]
    assert shown["metrics"] == spoof["metrics"] and shown["metrics"]["notionalRatio"] == 12.5

    order_book = api("GET", "/alerts", {"category": "order_book"})[2]
    assert ids(order_book) == ["ob-layer", "ob-spoof"] and order_book["total"] == 2
    trades = api("GET", "/alerts", {"category": "trades", "size": "500"})[2]
    assert ids(trades) == NEWEST_FIRST and {a["category"] for a in trades["alerts"]} == {"trades"}
    assert ids(api("GET", "/alerts", {"category": "order_book", "exchange": "KRAKEN"})[2]) == ["ob-layer"]
    assert api("GET", "/alerts", {"category": "trades", "patternType": "SPOOFING"})[2]["total"] == 0

    report = api("GET", "/reports/compliance", WHOLE_PERIOD)[2]
    assert report["totals"]["alerts"] == 14
    assert (report["alertsByPattern"]["SPOOFING"], report["alertsByPattern"]["LAYERING"]) == (1, 1)
    assert report["alertsByCategory"] == {"trades": 12, "order_book": 2}
    # no analysed trade carries an order-book alert: U7 ranks by alerts alone, with no risk score
    assert {"userId": "U7", "alerts": 2, "maxRiskScore": None, "trades": 0} in report["riskiestUsers"]
    risk = api("GET", "/users/U7/risk", {"from": "2025-11-23", "to": "2025-11-23"})[2]
    assert risk["alertsByCategory"] == {"trades": 0, "order_book": 2} and risk["summary"]["trades"] == 0
    table = list(csv.reader(io.StringIO(api("GET", "/reports/compliance", WHOLE_PERIOD | {"format": "csv"})[2])))
    assert ["alertsByCategory", "order_book", "alerts", "2"] in table

    status, _, ack = api("POST", "/alerts/ob-spoof/acknowledge", body={"acknowledgedBy": "jane.doe"})
    assert status == 201 and (ack["userId"], ack["patternType"]) == ("U7", "SPOOFING")


def test_acknowledging_adds_to_the_audit_trail_and_shows_on_the_alert(indexed: OpenSearch, api: Api) -> None:
    status, _, ack = api("POST", "/alerts/al-05/acknowledge", body={"acknowledgedBy": "jane.doe", "note": "reviewed"})
    assert status == 201
    assert ack["alertId"] == "al-05" and ack["acknowledgedBy"] == "jane.doe" and ack["note"] == "reviewed"
    assert (ack["userId"], ack["patternType"], ack["severity"]) == ("U2", "WASH_TRADING", "HIGH")

    # visible at once, without waiting for a refresh interval
    shown = {a["alertId"]: a for a in api("GET", "/alerts", {"userId": "U2"})[2]["alerts"]}
    assert shown["al-05"]["acknowledged"] is True and shown["al-05"]["acknowledgements"] == 1
    assert shown["al-05"]["acknowledgement"] == ack
    assert shown["al-07"]["acknowledged"] is False and shown["al-07"]["acknowledgement"] is None

    second = api("POST", "/alerts/al-05/acknowledge", body={"acknowledgedBy": "john.roe"})[2]
    assert second["ackId"] != ack["ackId"] and second["note"] is None
    again = api("GET", "/alerts", {"userId": "U2", "patternType": "WASH_TRADING"})[2]["alerts"][0]
    assert again["acknowledgements"] == 2 and again["acknowledgement"]["acknowledgedBy"] == "jane.doe"

    # the audit trail holds both; the alert document itself is untouched
    trail = indexed.search(index=ACKNOWLEDGEMENTS.alias, body={"query": {"term": {"alertId": "al-05"}}})
    assert sorted(h["_source"]["acknowledgedBy"] for h in trail["hits"]["hits"]) == ["jane.doe", "john.roe"]
    stored = indexed.search(index=ALERTS.alias, body={"query": {"ids": {"values": ["al-05"]}}})["hits"]["hits"]
    assert stored[0]["_source"] == alert_document(alert(*ALERT_ROWS[4]))


def test_acknowledging_an_unknown_alert_is_404_and_a_missing_author_is_400(indexed: OpenSearch, api: Api) -> None:
    status, _, body = api("POST", "/alerts/no-such-alert/acknowledge", body={"acknowledgedBy": "jane.doe"})
    assert status == 404 and "no-such-alert" in body["message"]
    status, _, body = api("POST", "/alerts/al-01/acknowledge", body={"note": "who am I?"})
    assert status == 400 and body == {"message": "body field acknowledgedBy: Field required"}
    assert indexed.count(index=ACKNOWLEDGEMENTS.pattern, ignore_unavailable=True)["count"] == 0


@pytest.mark.parametrize(
    ("path", "query", "mentions"),
    [
        ("/alerts", {"size": "0"}, "size"),
        ("/alerts", {"from": "2025-11-24", "to": "2025-11-23"}, "swap"),
        ("/alerts", {"search_after": "not-a-cursor"}, "search_after"),
        ("/users/U1/risk", {"from": "last week"}, "from"),
        ("/reports/compliance", {"from": "2025-11-23"}, "to"),
    ],
)
def test_bad_input_is_400_saying_what_to_fix(
    indexed: OpenSearch, api: Api, path: str, query: dict[str, str], mentions: str
) -> None:
    status, _, body = api("GET", path, query)
    assert status == 400 and mentions in body["message"]


def test_nothing_indexed_yet_gives_empty_answers(search_client: OpenSearch, api: Api) -> None:
    status, _, page = api("GET", "/alerts")
    assert status == 200 and page == {"alerts": [], "total": 0, "nextCursor": None}
    risk = api("GET", "/users/U1/risk", {"from": "2025-11-23", "to": "2025-11-23"})[2]
    assert risk["summary"] == {"trades": 0, "alerts": 0, "avgRiskScore": None, "maxRiskScore": None}
    assert risk["daily"] == [{"day": "2025-11-23", "trades": 0, "avgRiskScore": None, "maxRiskScore": None}]
    report = api("GET", "/reports/compliance", WHOLE_PERIOD)[2]
    assert report["totals"]["alerts"] == 0 and report["riskiestUsers"] == []
    assert api("POST", "/alerts/al-01/acknowledge", body={"acknowledgedBy": "jane.doe"})[0] == 404


def test_search_unreachable_is_503(handler: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    with api_on(handler, f"http://127.0.0.1:{free_port()}") as call:
        status, headers, body = call("GET", "/alerts")
        assert status == 503 and headers["Retry-After"] == "5"
        assert "cannot be reached" in body["message"]
