"""Alerts against labelled episodes: the matching rules, the counts and ratios per pattern."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from riskengine_tools.backtest import Alert, Episode, PatternScore, matches, score


def episode(
    pattern: str = "WASH_TRADING",
    *events: str,
    user: str | None = "U1",
    symbol: str | None = "SOL/USDT",
    exchange: str | None = "BINANCE",
) -> Episode:
    return Episode(pattern, user, symbol, exchange, 0, 1_000, frozenset(events or ("t1",)))


def alert(
    pattern: str = "WASH_TRADING",
    *evidence: str,
    user: str = "U1",
    symbol: str = "SOL/USDT",
    exchange: str = "BINANCE",
) -> Alert:
    return Alert(pattern, user, symbol, exchange, evidence or ("t1",))


# --- one alert, one episode -----------------------------------------------------------------------


def test_an_alert_matches_an_episode_of_its_pattern_user_and_evidence() -> None:
    assert matches(alert("WASH_TRADING", "t0", "t1"), episode("WASH_TRADING", "t1", "t2"))


def test_another_pattern_does_not_match_even_on_the_same_events() -> None:
    assert not matches(alert("LARGE_ORDER", "t1"), episode("WASH_TRADING", "t1"))


def test_no_shared_event_does_not_match() -> None:
    assert not matches(alert("WASH_TRADING", "t3"), episode("WASH_TRADING", "t1", "t2"))


def test_a_user_scoped_episode_needs_the_same_user_and_nothing_else() -> None:
    labelled = episode("RAPID_BURST", "t1", user="U1", symbol=None, exchange=None)
    assert not matches(alert("RAPID_BURST", "t1", user="U2"), labelled)
    # Symbol and exchange are not part of a user-scoped subject, even when the label names them.
    assert matches(alert("WASH_TRADING", "t1", symbol="BTC/USDT", exchange="KRAKEN"), episode("WASH_TRADING", "t1"))


def test_a_market_scoped_episode_needs_the_same_symbol_and_exchange_whoever_triggered_it() -> None:
    crash = episode("FLASH_CRASH", "s1", "s2", user=None, symbol="BTC/USDT", exchange="BINANCE")
    assert matches(alert("FLASH_CRASH", "s2", user="anyone", symbol="BTC/USDT", exchange="BINANCE"), crash)
    assert not matches(alert("FLASH_CRASH", "s2", symbol="ETH/USDT", exchange="BINANCE"), crash)
    assert not matches(alert("FLASH_CRASH", "s2", symbol="BTC/USDT", exchange="KRAKEN"), crash)


# --- counts per pattern ---------------------------------------------------------------------------


def test_one_alert_matching_two_episodes_is_one_true_positive_and_recalls_both() -> None:
    scores = score([alert("WASH_TRADING", "a", "b")], [episode("WASH_TRADING", "a"), episode("WASH_TRADING", "b")])
    assert scores == {"WASH_TRADING": PatternScore("WASH_TRADING", 1, 1, 2, 2)}
    assert (scores["WASH_TRADING"].precision, scores["WASH_TRADING"].recall) == (1.0, 1.0)


def test_two_alerts_for_one_episode_are_both_true_positives_and_the_episode_counts_once() -> None:
    result = score([alert("WASH_TRADING", "a"), alert("WASH_TRADING", "b")], [episode("WASH_TRADING", "a", "b")])
    counts = result["WASH_TRADING"]
    assert (counts.alerts, counts.true_positives, counts.false_positives) == (2, 2, 0)
    assert (counts.episodes, counts.matched_episodes, counts.missed_episodes) == (1, 1, 0)
    assert counts.recall == 1.0


def test_alerts_of_a_pattern_without_labels_are_all_false_positives() -> None:
    counts = score([alert("VOLUME_SPIKE", "a"), alert("VOLUME_SPIKE", "b")], [])["VOLUME_SPIKE"]
    assert (counts.true_positives, counts.false_positives, counts.precision) == (0, 2, 0.0)
    assert (counts.episodes, counts.recall, counts.f1) == (0, None, None)


def test_labels_of_a_pattern_without_alerts_have_recall_zero_and_no_precision() -> None:
    counts = score([alert("LARGE_ORDER", "x")], [episode("SPOOFING", "o1")])["SPOOFING"]
    assert (counts.alerts, counts.missed_episodes, counts.recall) == (0, 1, 0.0)
    assert (counts.precision, counts.f1) == (None, None)


def test_every_pattern_with_alerts_or_labels_is_reported_in_name_order() -> None:
    result = score([alert("VOLUME_SPIKE", "a"), alert("LARGE_ORDER", "b")], [episode("FLASH_CRASH", user=None)])
    assert list(result) == ["FLASH_CRASH", "LARGE_ORDER", "VOLUME_SPIKE"]


def test_precision_recall_and_f1() -> None:
    counts = score(
        [alert("WASH_TRADING", "a"), alert("WASH_TRADING", "zz"), alert("WASH_TRADING", "zy")],
        [episode("WASH_TRADING", "a"), episode("WASH_TRADING", "b")],
    )["WASH_TRADING"]
    assert (counts.precision, counts.recall) == (1 / 3, 0.5)
    assert counts.f1 == 2 * (1 / 3) * 0.5 / (1 / 3 + 0.5)


def test_f1_is_zero_when_precision_and_recall_both_are() -> None:
    counts = score([alert("WASH_TRADING", "zz")], [episode("WASH_TRADING", "a")])["WASH_TRADING"]
    assert (counts.precision, counts.recall, counts.f1) == (0.0, 0.0, 0.0)


# --- properties -----------------------------------------------------------------------------------

PATTERNS = ("WASH_TRADING", "FLASH_CRASH")
USERS = ("U1", "U2")
MARKETS = (("BTC/USDT", "BINANCE"), ("BTC/USDT", "KRAKEN"))
EVENTS = tuple(f"e{i}" for i in range(6))

alerts = st.builds(
    lambda pattern, user, market, evidence: Alert(pattern, user, *market, tuple(evidence)),
    st.sampled_from(PATTERNS),
    st.sampled_from(USERS),
    st.sampled_from(MARKETS),
    st.lists(st.sampled_from(EVENTS), min_size=1, max_size=3),
)
episodes = st.builds(
    lambda pattern, user, market, events: Episode(pattern, user, *market, 0, 1, frozenset(events)),
    st.sampled_from(PATTERNS),
    st.sampled_from((*USERS, None)),
    st.sampled_from(MARKETS),
    st.sets(st.sampled_from(EVENTS), min_size=1, max_size=3),
)


@given(st.lists(alerts, max_size=8), st.lists(episodes, max_size=6))
def test_score_counts_what_comparing_every_alert_with_every_episode_counts(
    alert_list: list[Alert], episode_list: list[Episode]
) -> None:
    result = score(alert_list, episode_list)
    for pattern in {a.pattern for a in alert_list} | {e.pattern for e in episode_list}:
        mine = [a for a in alert_list if a.pattern == pattern]
        labelled = [e for e in episode_list if e.pattern == pattern]
        expected = PatternScore(
            pattern,
            alerts=len(mine),
            true_positives=sum(any(matches(a, e) for e in labelled) for a in mine),
            episodes=len(labelled),
            matched_episodes=sum(any(matches(a, e) for a in mine) for e in labelled),
        )
        assert result[pattern] == expected
    assert set(result) == {a.pattern for a in alert_list} | {e.pattern for e in episode_list}


@given(st.lists(alerts, max_size=8), st.lists(episodes, max_size=6), alerts)
def test_adding_an_unmatched_alert_never_raises_precision_nor_changes_recall(
    alert_list: list[Alert], episode_list: list[Episode], extra: Alert
) -> None:
    extra = Alert(extra.pattern, extra.user_id, extra.symbol, extra.exchange, ("never-labelled",))
    before = score(alert_list, episode_list).get(extra.pattern)
    after = score([*alert_list, extra], episode_list)[extra.pattern]
    assert after.false_positives == (before.false_positives if before else 0) + 1
    if before is not None and before.precision is not None:
        assert after.precision is not None and after.precision <= before.precision
    assert after.recall == (before.recall if before else None)


@given(st.lists(alerts, min_size=1, max_size=8), st.lists(episodes, max_size=6), st.data())
def test_recall_is_the_same_with_duplicate_alerts(
    alert_list: list[Alert], episode_list: list[Episode], data: st.DataObject
) -> None:
    duplicates = data.draw(st.lists(st.sampled_from(alert_list), max_size=5))
    before = score(alert_list, episode_list)
    after = score([*alert_list, *duplicates], episode_list)
    assert {p: s.recall for p, s in after.items()} == {p: s.recall for p, s in before.items()}
    assert {p: s.missed_episodes for p, s in after.items()} == {p: s.missed_episodes for p, s in before.items()}


@given(st.lists(alerts, max_size=8), st.lists(episodes, max_size=6))
def test_counts_add_up_and_ratios_stay_between_zero_and_one(
    alert_list: list[Alert], episode_list: list[Episode]
) -> None:
    for counts in score(alert_list, episode_list).values():
        assert counts.true_positives + counts.false_positives == counts.alerts
        assert counts.matched_episodes + counts.missed_episodes == counts.episodes
        for ratio in (counts.precision, counts.recall, counts.f1):
            assert ratio is None or 0.0 <= ratio <= 1.0
