"""The mixed stream: the trade simulator's trades and the order flow's events, merged in event time.

The trade simulator (``riskengine.simulation``) drives the clock: before each of its trades, the
order flow plans what is due and releases its events up to that trade's time. Both share one price
walk (``TradingSimulator.quote``). Its traders are accounts of their own and its venues are not the
ones flash crashes are injected on, so the two flows' injected episodes never touch each other's.
Injected episodes stop being planned shortly before the end, so each one is complete in the file.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from riskengine.simulation import SimulatorConfig, TradingSimulator
from riskengine.simulation.config import DEFAULT_EPISODES_PER_10K, EXCHANGES, SYMBOLS
from riskengine_tools.simulate.context import ORDER_EXCHANGES
from riskengine_tools.simulate.emission import EmissionQueue
from riskengine_tools.simulate.flow import DEFAULT_PER_MINUTE, EPISODES, OrderFlow
from riskengine_tools.simulate.labels import Label, LabelBook, alert_pattern
from riskengine_tools.simulate.orders import PlannedEvent, Session
from riskengine_tools.simulate.records import Record, RecordBuilder, event_time
from riskengine_tools.simulate.traders import Population

DEFAULT_START_MS = 1_763_900_000_000
MAX_RATE_PER_S = 200.0
RATE_PER_USER = 0.4  # as the demo: small populations trade more slowly
ORDER_FLOW_SHARE = 2  # one trader in two places orders
MIN_USERS = 200
# The trade flow's episodes are injected 1.5x as often as its defaults, so a short file holds enough.
SPINE_RATE_FACTOR = 1.5
# The trade flow's longest episode (a VOLUME_SPIKE) spans about 61 s: none is planned in the last 70 s.
SPINE_DRAIN_MS = 70_000
# The order flow's activities all end this long before the end.
FLOW_MARGIN_MS = 10_000
SYMBOL_INDEX = {spec.symbol: index for index, spec in enumerate(SYMBOLS)}
EXCHANGE_INDEX = {name: index for index, (name, _) in enumerate(EXCHANGES)}


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """One labelled stream: ``users`` traders over ``minutes`` of event time from ``start_ms``.

    ``invalid_fraction`` corrupts that share of the trade flow's normal trades as the trade simulator does
    (``SimulatorConfig.invalid_fraction``): ``riskengine demo`` shows dead letters; a file for measuring
    detection (``riskengine simulate``) has none. ``whole_episodes`` stops planning the trade flow's
    episodes ``SPINE_DRAIN_MS`` before the end, so every one is complete and labelled (a back-test needs
    that); without it they are planned to the end and one still in flight there is cut and left unlabelled
    (``riskengine demo``, whose short runs would otherwise lose most of them).
    """

    seed: int
    minutes: float = 8
    users: int = 1_500
    start_ms: int = DEFAULT_START_MS
    invalid_fraction: float = 0.0
    whole_episodes: bool = True

    def __post_init__(self) -> None:
        if not self.minutes > 0:
            raise ValueError(f"minutes must be more than 0, got {self.minutes}")
        if self.users < MIN_USERS:
            raise ValueError(f"users must be at least {MIN_USERS} (half of them place orders), got {self.users}")

    @property
    def end_ms(self) -> int:
        return self.start_ms + round(self.minutes * 60_000)

    @property
    def order_users(self) -> int:
        return self.users // ORDER_FLOW_SHARE

    @property
    def trade_users(self) -> int:
        return self.users - self.order_users

    @property
    def rate_per_s(self) -> float:
        return min(MAX_RATE_PER_S, RATE_PER_USER * self.trade_users)

    def simulator_config(self) -> SimulatorConfig:
        return SimulatorConfig(
            seed=self.seed,
            users=self.trade_users,
            start_ms=self.start_ms,
            rate_per_s=self.rate_per_s,
            episodes_per_10k={p: rate * SPINE_RATE_FACTOR for p, rate in DEFAULT_EPISODES_PER_10K.items()},
            invalid_fraction=self.invalid_fraction,
            crash_exchanges=tuple(name for name, _ in EXCHANGES if name not in ORDER_EXCHANGES),
        )


class MixedStream:
    """Yields the stream's records once (:meth:`records`); then :meth:`labels` and the counters hold."""

    def __init__(self, config: StreamConfig) -> None:
        self.config = config
        self._sim = TradingSimulator(config.simulator_config())
        rng = random.Random(f"riskengine-order-flow-{config.seed}")
        population = Population(
            rng,
            config.order_users,
            first=config.trade_users,
            market_makers=max(2, config.order_users // 60),
            whales=max(2, config.order_users // 25),
        )
        self._records = RecordBuilder(config.seed, population.book)
        self._queue = EmissionQueue()
        self._labels = LabelBook()
        self._flow = OrderFlow(
            rng,
            population,
            self._sim.quote,
            start_ms=config.start_ms,
            cutoff_ms=config.end_ms - FLOW_MARGIN_MS,
            commit=self._commit,
            per_minute=DEFAULT_PER_MINUTE,
        )
        self._orders = 0
        self.lines: Counter[str] = Counter()  # "trade", "fill trade", "order event" (and "invalid trade")

    def records(self) -> Iterator[Record]:
        spine_stop_ms = self.config.end_ms - SPINE_DRAIN_MS if self.config.whole_episodes else sys.maxsize
        stopped = False
        invalid = self._sim.invalid_trades
        for trade, tag in self._sim.tagged_trades(sys.maxsize):
            if self._sim.invalid_trades > invalid:
                # Corrupted (a field may be missing): the engine rejects it, so the order flow never sees it.
                invalid += 1
                if event_time(trade) >= self.config.end_ms:
                    break
                self.lines["invalid trade"] += 1
                yield {"kind": "trade", **trade}
                continue
            now = trade["timestamp"]
            if now >= self.config.end_ms:
                break
            if not stopped and now >= spine_stop_ms:
                self._sim.stop_episodes()
                stopped = True
            self._flow.plan_until(now)
            yield from self._order_records(self._queue.release_until(now))
            self._queue.observe_trade(
                (SYMBOL_INDEX[trade["symbol"]], EXCHANGE_INDEX[trade["exchange"]]), trade["side"], now
            )
            record = {"kind": "trade", **trade}
            if tag is not None:
                pattern, market_scoped = alert_pattern(tag.pattern)
                self._labels.open(("trades", tag.number), pattern, tag.pattern, market_scoped=market_scoped)
                self._labels.record(("trades", tag.number), record, last=tag.last)
            self.lines["trade"] += 1
            yield record
        yield from self._order_records(self._queue.flush())
        if self._labels.unfinished and self.config.whole_episodes:
            raise RuntimeError(
                f"{self._labels.unfinished} injected episodes did not finish before the end of the stream"
            )

    def labels(self) -> list[Label]:
        return self._labels.labels()

    @property
    def episodes(self) -> dict[str, dict[str, int]]:
        """Injected episodes written, by labelled pattern, then by the planner that injected them
        (WASH_TRADING: SELF_TRADE and WASH_TRADING; EXCESSIVE_CANCELS: QUOTE_STUFFING and itself)."""
        return self._labels.finished()

    @property
    def activities(self) -> Counter[str]:
        """The order flow's honest activities, by kind (ordinary orders and look-alikes)."""
        return Counter({kind: n for kind, n in self._flow.sessions.items() if kind not in EPISODES})

    def _commit(self, session: Session) -> None:
        for event in session.ordered():
            if not event.order.order_id:
                self._orders += 1
                event.order.order_id = f"{self._records.order_prefix}{self._orders}"
        if session.pattern is not None:
            fills = sum(event.is_fill for event in session.events)
            self._labels.open(session, session.pattern, session.kind, events=len(session.events) + fills)
        self._queue.add(session)

    def _order_records(self, released: Iterable[tuple[PlannedEvent, Session, float]]) -> Iterator[Record]:
        for event, session, at_ms in released:
            at = int(at_ms)
            records = [self._records.order_event(event, at)]
            if event.is_fill:
                records.append(self._records.fill_trade(event, at))
            for record in records:
                if session.pattern is not None:
                    self._labels.record(session, record)
                self.lines["order event" if record["kind"] == "order" else "fill trade"] += 1
                yield record
