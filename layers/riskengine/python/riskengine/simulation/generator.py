"""Seeded trade stream: skewed normal flow with abuse episodes interleaved in event time.

Everything (users, prices, sizes, episodes, invalid trades) comes from one ``random.Random``
seeded by the config, so a seed names a data set. Normal flow is shaped by small per-user
and per-venue guards so it stays clear of every detection rule: alerts should come from the
injected episodes alone.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from bisect import bisect
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from itertools import accumulate
from types import MappingProxyType
from typing import Any

from riskengine.simulation.config import (
    COUNTRIES,
    DEFAULT_CONFIG,
    EXCHANGES,
    MIN_USER_GAP_MS,
    PATTERNS,
    QUOTE_ASSET,
    SYMBOLS,
    SimulatorConfig,
)
from riskengine.simulation.market import Market
from riskengine.simulation.scenarios import BUY, PLANNERS, SELL, Episode, InjectedTrade

INVALID_KINDS: tuple[str, ...] = (
    "zero_quantity",
    "negative_price",
    "notional_mismatch",
    "unknown_side",
    "missing_field",
)
DROPPABLE_FIELDS = ("symbol", "side", "quantity", "price", "notional", "timestamp", "userId", "exchange")

# Normal sizes: lognormal around a $1,500 median, clipped to half the large-order threshold.
MEDIAN_NOTIONAL_USD = 1_500.0
NOTIONAL_SIGMA = 1.0
SIZE_BITS = 12
MIN_NOTIONAL_USD = 10.0
NORMAL_CAP_SHARE = 0.5
# Activity skew: user k (in random order) trades with weight (k + 1) ** -ACTIVITY_EXPONENT,
# capped so no whale averages more than WHALE_RATE_PER_S trades per second of event time.
ACTIVITY_EXPONENT = 1.0
WHALE_RATE_PER_S = 1.0
# Guards, each with margin over its rule: VOLUME_SPIKE (> 1,000 USD, x1.5), WASH_TRADING
# (quantities within 10%) and FLASH_CRASH (10 sells in a row on a venue).
SPIKE_FLOOR_USD = 900.0
SPIKE_GROWTH = 1.4
WASH_SPREAD = 1.12
WASH_SHRINK = 0.8
MAX_SELL_RUN = 6
USER_PICK_ATTEMPTS = 8

ORDER_TYPE_TABLE = ("LIMIT",) * 96 + ("MARKET",) * 22 + ("STOP_LOSS",) * 5 + ("TAKE_PROFIT",) * 5
# One getrandbits() per normal trade decides symbol (8 bits), side (1), venue (8), order type (7),
# counterparty (3), optional fields (8) and size (SIZE_BITS): C-level draws are what keep the
# generator above 150,000 trades/s.
OPTIONAL_BITS = 8
RANDOM_BITS = 35 + SIZE_BITS


def _lookup_table(weights: list[float], size: int = 256) -> tuple[int, ...]:
    """Index table for picking by weight with a few random bits instead of a bisect."""
    bounds = [bound / sum(weights) for bound in accumulate(weights)]
    return tuple(bisect(bounds, (slot + 0.5) / size) for slot in range(size))


def _size_table() -> tuple[float, ...]:
    """Lognormal notionals at evenly spaced quantiles, so a size costs one index, not a gauss()."""
    slots = 1 << SIZE_BITS
    normal = statistics.NormalDist(math.log(MEDIAN_NOTIONAL_USD), NOTIONAL_SIGMA)
    return tuple(max(MIN_NOTIONAL_USD, math.exp(normal.inv_cdf((i + 0.5) / slots))) for i in range(slots))


SIZE_TABLE = _size_table()
SYMBOL_TABLE = _lookup_table([spec.flow_weight for spec in SYMBOLS])
EXCHANGE_TABLE = _lookup_table([share for _, share in EXCHANGES])
EXCHANGE_NAMES = tuple(name for name, _ in EXCHANGES)


@dataclass(frozen=True)
class SimulatorStats:
    """Ground truth of what a run emitted, for tests and benchmark reports.

    ``episodes`` counts episodes whose every trade has been emitted and ``episodes_open``
    those started but not finished when the snapshot was taken (a stream cut mid-episode
    may or may not show that episode's pattern). ``invalid`` trades are corrupted normal
    trades a validator must reject (kinds in ``invalid_by_kind``).
    """

    generated: int
    injected_trades: int
    episodes: Mapping[str, int]
    episodes_open: Mapping[str, int]
    invalid: int
    invalid_by_kind: Mapping[str, int]


@dataclass(frozen=True)
class UserBook:
    """Stable per-user identity fields, precomputed so emitting a trade only indexes lists.

    Index ``k`` is user ``USER_{first + k}``: a companion flow builds its own book numbered after the
    simulator's users, so the two populations never share an account.
    """

    ids: tuple[str, ...]
    customers: tuple[str, ...]
    wallets: tuple[str, ...]
    sessions: tuple[str, ...]
    ips: tuple[str, ...]
    countries: tuple[str, ...]
    activity: tuple[float, ...]

    @classmethod
    def build(cls, rng: random.Random, count: int, rate_per_s: float, first: int = 0) -> UserBook:
        weights = _capped_shares([(rank + 1) ** -ACTIVITY_EXPONENT for rank in range(count)], rate_per_s)
        rng.shuffle(weights)
        country_names = [name for name, _ in COUNTRIES]
        country_weights = [share for _, share in COUNTRIES]
        numbers = range(first, first + count)
        return cls(
            ids=tuple(f"USER_{user:05d}" for user in numbers),
            customers=tuple(f"CUST_{user:05d}" for user in numbers),
            wallets=tuple(f"0x{rng.getrandbits(160):040x}" for _ in range(count)),
            sessions=tuple(f"sess-{rng.getrandbits(64):016x}" for _ in range(count)),
            ips=tuple(".".join(str(rng.randint(1, 254)) for _ in range(4)) for _ in range(count)),
            countries=tuple(rng.choices(country_names, country_weights, k=count)),
            activity=tuple(accumulate(weights)),
        )


def _capped_shares(weights: list[float], rate_per_s: float) -> list[float]:
    """Shares of the flow by user (weights sorted descending), none above WHALE_RATE_PER_S.

    The biggest users are capped one by one and the rest rescaled, so whales stay whales but
    never need more trades than the per-user minimum gap allows.
    """
    cap = WHALE_RATE_PER_S / rate_per_s
    rest = sum(weights)
    capped = 0
    while capped < len(weights) and weights[capped] / rest * (1 - capped * cap) > cap:
        rest -= weights[capped]
        capped += 1
    scale = (1 - capped * cap) / rest
    return [cap] * capped + [weight * scale for weight in weights[capped:]]


class _Guards:
    """Per-user and per-venue memory that keeps non-episode trades from matching any rule.

    Each check is O(1) list indexing, because it runs on every trade of a million-trade run.
    """

    def __init__(self, rng: random.Random, users: int) -> None:
        venues = len(SYMBOLS) * len(EXCHANGES)
        self._rng = rng
        self.free_at = [0.0] * users
        self.last_notional = [0.0] * users
        self.armed = [False] * users
        self.last_quantity: dict[int, float] = {}
        self.sell_run = [0] * venues
        self.blocked_until = [0.0] * venues

    def route(self, symbol: int, exchange: int, side: str, at_ms: float, forced: bool = False) -> int:
        """The venue to trade on: the wanted one unless a crash owns it or a SELL would stretch a
        sell run towards FLASH_CRASH; then another free venue. Returns -1 when no free venue can
        take an unforced SELL (the caller should buy instead)."""
        venue = symbol * len(EXCHANGES) + exchange
        if self.blocked_until[venue] <= at_ms and (side == BUY or self.sell_run[venue] < MAX_SELL_RUN):
            return exchange
        return self._reroute(symbol, side, at_ms, forced)

    def _reroute(self, symbol: int, side: str, at_ms: float, forced: bool) -> int:
        """A BUY goes where it breaks the longest sell run, a SELL where the run is shortest."""
        first = symbol * len(EXCHANGES)
        runs = {
            exchange: self.sell_run[first + exchange]
            for exchange in range(len(EXCHANGES))
            if self.blocked_until[first + exchange] <= at_ms
        }
        if side == BUY:
            return max(runs, key=runs.__getitem__)
        shortest = min(runs, key=runs.__getitem__)
        return shortest if forced or runs[shortest] < MAX_SELL_RUN else -1

    def tame_notional(self, user: int, symbol: int, notional: float) -> float:
        """Keep a free-sized trade from completing a VOLUME_SPIKE or being a LARGE_ORDER."""
        last = self.last_notional[user]
        if self.armed[user] and notional > SPIKE_GROWTH * last:
            notional = last * self._rng.uniform(0.5, 1.3)
        return min(notional, NORMAL_CAP_SHARE * SYMBOLS[symbol].large_order_usd)

    def tame_quantity(self, user: int, symbol: int, quantity: float) -> float:
        """Keep consecutive free-sized trades of a user and symbol > 10% apart (no WASH_TRADING)."""
        last = self.last_quantity.get(user * len(SYMBOLS) + symbol)
        if last is not None and last / WASH_SPREAD < quantity < last * WASH_SPREAD:
            return round(quantity * WASH_SHRINK, SYMBOLS[symbol].quantity_decimals)
        return quantity

    def record(self, trade: dict[str, Any], user: int, symbol: int, exchange: int, at_ms: float) -> None:
        """Remember a valid trade; invalid ones are never seen by the engine, so not by us."""
        venue = symbol * len(EXCHANGES) + exchange
        self.sell_run[venue] = self.sell_run[venue] + 1 if trade["side"] == SELL else 0
        notional = trade["notional"]
        last = self.last_notional[user]
        self.armed[user] = last > SPIKE_FLOOR_USD and notional > SPIKE_GROWTH * last
        self.last_notional[user] = notional
        self.last_quantity[user * len(SYMBOLS) + symbol] = trade["quantity"]
        self.free_at[user] = max(self.free_at[user], at_ms + MIN_USER_GAP_MS)

    def fits_episode(self, user: int, free_since_ms: float, first_notional: float | None) -> bool:
        """Free since ``free_since_ms``, and a first trade of ``first_notional`` cannot extend the
        user's history into a spike."""
        if self.free_at[user] > free_since_ms:
            return False
        last = self.last_notional[user]
        return first_notional is None or last <= SPIKE_FLOOR_USD or first_notional <= SPIKE_GROWTH * last

    def reserve(self, episode: Episode) -> None:
        """Keep episode users out of normal flow, and its venue too, until the episode ends."""
        for user in episode.users:
            self.free_at[user] = max(self.free_at[user], episode.end_ms)
        if episode.blocks is not None:
            symbol, exchange = episode.blocks
            self.blocked_until[symbol * len(EXCHANGES) + exchange] = episode.end_ms


class _Context:
    """The :class:`EpisodeContext` a planner sees: the live rng, market and guards at ``now_ms``."""

    def __init__(
        self, rng: random.Random, market: Market, guards: _Guards, now_ms: float, crash_exchanges: frozenset[int]
    ) -> None:
        self.rng = rng
        self.now_ms = now_ms
        self._market = market
        self._guards = guards
        self._crash_exchanges = crash_exchanges

    def pick_user(
        self, first_notional: float | None = None, exclude: Collection[int] = (), idle_ms: float = 0.0
    ) -> int | None:
        users = len(self._guards.free_at)
        start = self.rng.randrange(users)
        for offset in range(users):
            user = (start + offset) % users
            if user not in exclude and self._guards.fits_episode(user, self.now_ms - idle_ms, first_notional):
                return user
        return None

    def price(self, symbol: int, exchange: int, at_ms: float) -> float:
        return self._market.price(symbol, exchange, at_ms)

    def venue_busy(self, symbol: int, exchange: int) -> bool:
        return self._guards.blocked_until[symbol * len(EXCHANGES) + exchange] > self.now_ms

    def sell_run(self, symbol: int, exchange: int) -> int:
        return self._guards.sell_run[symbol * len(EXCHANGES) + exchange]

    def crash_allowed(self, symbol: int, exchange: int) -> bool:
        return exchange in self._crash_exchanges


@dataclass(frozen=True, slots=True)
class EpisodeTag:
    """Which injected episode a trade belongs to: the ``number``-th episode scheduled, of ``pattern``
    (the planner's name, e.g. ``SELF_TRADE``); ``last`` on the trade that finishes it."""

    pattern: str
    number: int
    last: bool


class TradingSimulator:
    """Deterministic stream of CryptoTrade dicts (camelCase) for demos, benchmarks and tests.

    Successive :meth:`trades` calls continue one stream, so ``trades(a)`` then ``trades(b)``
    yields the same trades as ``trades(a + b)``.

    A companion flow merged into the stream in event time (``riskengine simulate``'s order flow)
    uses :meth:`tagged_trades` (which episode each trade belongs to), :meth:`quote` (the same price
    walk), :meth:`stop_episodes` (let the episodes in flight finish before the stream is cut) and
    ``SimulatorConfig.crash_exchanges`` (venues it trades on that no flash crash may take over).
    None of them draws from the generator unless asked, so the stream is unchanged without them.
    """

    def __init__(self, config: SimulatorConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._users = UserBook.build(self._rng, config.users, config.rate_per_s)
        self._market = Market(self._rng, config.start_ms)
        self._guards = _Guards(self._rng, config.users)
        self._rate_per_ms = config.rate_per_s / 1000.0
        self._trade_prefix = f"T-{config.seed}-"
        self._order_prefix = f"O-{config.seed}-"
        self._clock_ms = float(config.start_ms)
        self._next_normal_ms = self._clock_ms + self._rng.expovariate(self._rate_per_ms)
        self._crash_exchanges = frozenset(EXCHANGE_NAMES.index(name) for name in config.crash_exchanges)
        self._pending: list[tuple[float, int, InjectedTrade, EpisodeTag]] = []
        self._planned = 0
        self._scheduled_episodes = 0
        self._last_tag: EpisodeTag | None = None
        self._generated = 0
        self._injected = 0
        self._episodes = dict.fromkeys(PATTERNS, 0)
        self._open = dict.fromkeys(PATTERNS, 0)
        self._invalid = dict.fromkeys(INVALID_KINDS, 0)
        self._next_episode = {p: self._episode_gap(p, first=True) for p in PATTERNS}
        self._next_plan = min(self._next_episode.values())
        self._next_invalid = self._invalid_gap()

    @property
    def stats(self) -> SimulatorStats:
        """A snapshot of the counters so far."""
        return SimulatorStats(
            generated=self._generated,
            injected_trades=self._injected,
            episodes=MappingProxyType(dict(self._episodes)),
            episodes_open=MappingProxyType(dict(self._open)),
            invalid=sum(self._invalid.values()),
            invalid_by_kind=MappingProxyType(dict(self._invalid)),
        )

    @property
    def invalid_trades(self) -> int:
        """Invalid trades generated so far (``stats.invalid`` without a snapshot): a companion flow that must
        ignore what the engine rejects sees this grow when the trade just yielded is one."""
        return sum(self._invalid.values())

    def trades(self, count: int) -> Iterator[dict[str, Any]]:
        """Exactly ``count`` trades in nondecreasing event time, generated lazily."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        return (self._next_trade() for _ in range(count))

    def tagged_trades(self, count: int) -> Iterator[tuple[dict[str, Any], EpisodeTag | None]]:
        """Like :meth:`trades`, each trade with the episode it was injected for (None for normal flow)."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        for _ in range(count):
            trade = self._next_trade()
            yield trade, self._last_tag

    def stop_episodes(self) -> None:
        """Plan no episode from now on; those already planned still emit every trade."""
        self._next_episode = dict.fromkeys(PATTERNS, math.inf)
        self._next_plan = math.inf

    def quote(self, symbol: int, exchange: int, at_ms: float) -> float:
        """The price of ``SYMBOLS[symbol]`` on ``EXCHANGES[exchange]`` at ``at_ms`` on the stream's own
        walk (:meth:`Market.price`), for a companion flow that trades on the same market."""
        return self._market.price(symbol, exchange, at_ms)

    def _next_trade(self) -> dict[str, Any]:
        self._last_tag = None
        if self._generated >= self._next_plan:
            self._plan_due_episodes()
        trade = None
        while trade is None:
            if self._pending and self._pending[0][0] <= self._next_normal_ms:
                trade = self._injected_trade()
            else:
                trade = self._normal_trade()
        self._generated += 1
        return trade

    def _episode_gap(self, pattern: str, first: bool = False) -> float:
        """Trade index of the next episode: jittered even spacing, so every run gets close to its share."""
        rate = self.config.episodes_per_10k[pattern]
        if rate == 0:
            return math.inf
        spacing = 10_000.0 / rate
        low = 0.1 if first else 0.5
        return self._generated + spacing * self._rng.uniform(low, 1.5)

    def _invalid_gap(self) -> float:
        """Trade index of the next invalid trade (geometric gaps: invalid trades come at random)."""
        fraction = self.config.invalid_fraction
        if fraction == 0:
            return math.inf
        return self._generated + max(1.0, self._rng.expovariate(fraction))

    def _plan_due_episodes(self) -> None:
        for pattern, due in self._next_episode.items():
            if self._generated >= due:
                self._next_episode[pattern] = self._episode_gap(pattern)
                context = _Context(self._rng, self._market, self._guards, self._clock_ms, self._crash_exchanges)
                episode = PLANNERS[pattern](context)
                if episode is not None:
                    self._schedule(episode)
        self._next_plan = min(self._next_episode.values())

    def _schedule(self, episode: Episode) -> None:
        self._guards.reserve(episode)
        self._open[episode.pattern] += 1
        self._scheduled_episodes += 1
        last = len(episode.trades) - 1
        for index, planned in enumerate(episode.trades):
            self._planned += 1
            tag = EpisodeTag(episode.pattern, self._scheduled_episodes, index == last)
            heapq.heappush(self._pending, (planned.at_ms, self._planned, planned, tag))

    def _normal_trade(self) -> dict[str, Any] | None:
        """The next normal trade, or None (and a later clock) when no user may trade yet."""
        at_ms = self._next_normal_ms
        user = self._active_user(at_ms)
        if user is None:
            self._next_normal_ms = min(self._guards.free_at)
            return None
        self._clock_ms = at_ms
        self._next_normal_ms = at_ms + self._rng.expovariate(self._rate_per_ms)
        bits = self._rng.getrandbits(RANDOM_BITS)
        symbol = SYMBOL_TABLE[bits & 0xFF]
        side = SELL if bits & 0x100 else BUY
        wanted = EXCHANGE_TABLE[(bits >> 9) & 0xFF]
        exchange = self._guards.route(symbol, wanted, side, at_ms)
        if exchange < 0:  # every free venue of the symbol is deep in a sell run: buy instead
            side = BUY
            exchange = self._guards.route(symbol, wanted, side, at_ms)
        order_type = ORDER_TYPE_TABLE[(bits >> 17) & 0x7F]
        price = self._market.price(symbol, exchange, at_ms)
        quantity = self._free_quantity(user, symbol, price, bits >> 35)
        counterparty = self._other_user(user) if (bits >> 24) & 0x7 == 0 else None
        optional_bits = (bits >> 27) & 0xFF
        trade = self._build(
            user, symbol, exchange, side, order_type, quantity, price, at_ms, optional_bits, counterparty
        )
        if self._generated >= self._next_invalid:
            self._next_invalid = self._invalid_gap()
            self._corrupt(trade)
        else:
            self._guards.record(trade, user, symbol, exchange, at_ms)
        return trade

    def _injected_trade(self) -> dict[str, Any]:
        at_ms, _, planned, tag = heapq.heappop(self._pending)
        if tag.last:
            self._episodes[tag.pattern] += 1
            self._open[tag.pattern] -= 1
        self._last_tag = tag
        self._clock_ms = at_ms
        user, symbol, exchange = planned.user, planned.symbol, planned.exchange
        if not planned.pinned:
            exchange = self._guards.route(symbol, exchange, planned.side, at_ms, forced=True)
        price = self._market.price(symbol, exchange, at_ms) if planned.price is None else planned.price
        decimals = SYMBOLS[symbol].quantity_decimals
        if planned.quantity is not None:
            quantity = planned.quantity
        elif planned.notional is not None:
            quantity = round(planned.notional / price, decimals)
        else:
            quantity = self._free_quantity(user, symbol, price, self._rng.getrandbits(SIZE_BITS))
        bits = self._rng.getrandbits(OPTIONAL_BITS)
        trade = self._build(
            user,
            symbol,
            exchange,
            planned.side,
            planned.order_type,
            quantity,
            price,
            at_ms,
            bits,
            planned.counterparty,
        )
        self._guards.record(trade, user, symbol, exchange, at_ms)
        self._injected += 1
        return trade

    def _active_user(self, at_ms: float) -> int | None:
        """A user picked by activity weight among those past their minimum gap and not in an episode.

        After a few misses (only when episodes or rate limits hold most users) it takes the
        user idle longest, or None if nobody may trade at ``at_ms``.
        """
        activity, free_at, rng = self._users.activity, self._guards.free_at, self._rng
        for _ in range(USER_PICK_ATTEMPTS):
            user = bisect(activity, rng.random() * activity[-1], 0, len(activity) - 1)
            if free_at[user] <= at_ms:
                return user
        user = min(range(len(free_at)), key=free_at.__getitem__)
        return user if free_at[user] <= at_ms else None

    def _other_user(self, user: int) -> int:
        return (user + 1 + self._rng.randrange(len(self._guards.free_at) - 1)) % len(self._guards.free_at)

    def _free_quantity(self, user: int, symbol: int, price: float, size_bits: int) -> float:
        """Lognormal size, tamed by the guards, in the symbol's quantity precision."""
        notional = self._guards.tame_notional(user, symbol, SIZE_TABLE[size_bits])
        quantity = round(notional / price, SYMBOLS[symbol].quantity_decimals)
        return self._guards.tame_quantity(user, symbol, quantity)

    def _build(
        self,
        user: int,
        symbol: int,
        exchange: int,
        side: str,
        order_type: str,
        quantity: float,
        price: float,
        at_ms: float,
        bits: int,
        counterparty: int | None,
    ) -> dict[str, Any]:
        """The CryptoTrade dict; ``bits`` (8 random bits) decide which optional fields are known."""
        users = self._users
        number = self._generated
        spec = SYMBOLS[symbol]
        connected = bits & 0x7 != 0
        return {
            "tradeId": f"{self._trade_prefix}{number}",
            "userId": users.ids[user],
            "customerId": users.customers[user],
            "symbol": spec.symbol,
            "baseAsset": spec.base,
            "quoteAsset": QUOTE_ASSET,
            "side": side,
            "orderType": order_type,
            "quantity": quantity,
            "price": price,
            "notional": round(quantity * price, 2),
            "timestamp": int(at_ms),
            "exchange": EXCHANGE_NAMES[exchange],
            "walletAddress": users.wallets[user] if bits & 0x8 else None,
            "sessionId": users.sessions[user] if connected else None,
            "ipAddress": users.ips[user] if connected else None,
            "country": users.countries[user] if bits & 0xF0 else None,
            "orderId": None if order_type == "MARKET" else f"{self._order_prefix}{number}",
            "counterpartyUserId": None if counterparty is None else users.ids[counterparty],
        }

    def _corrupt(self, trade: dict[str, Any]) -> None:
        """Break one thing a validator must catch, and count it by kind."""
        kind = self._rng.choice(INVALID_KINDS)
        self._invalid[kind] += 1
        if kind == "zero_quantity":
            trade["quantity"] = 0.0
        elif kind == "negative_price":
            trade["price"] = -trade["price"]
        elif kind == "notional_mismatch":
            trade["notional"] = round(trade["notional"] * 1.1, 2)
        elif kind == "unknown_side":
            trade["side"] = "HOLD"
        else:
            del trade[self._rng.choice(DROPPABLE_FIELDS)]
