"""Request and response bodies of the trade intake API (pydantic: they are its OpenAPI document).

Field names are snake_case in Python and camelCase on the wire, like the CryptoTrade schema.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, RootModel, TypeAdapter, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from riskengine.model import OrderType, Side
from riskengine.simulation.config import MIN_USERS

# Submodules, not the package: the simulation's package imports the intake's producer.
from riskengine.simulation.control import SimulationRun
from riskengine.simulation.plan import MAX_DURATION_S, MAX_RATE_PER_S, MAX_SEED, MAX_USERS, SimulationPlan

__all__ = [
    "MAX_TRADES_PER_REQUEST",
    "AcceptedTrades",
    "CryptoTradeIn",
    "ErrorMessage",
    "RejectedTrades",
    "SimulationStartIn",
    "SimulationStats",
    "TradeProblem",
    "TradesBody",
]

MAX_TRADES_PER_REQUEST = 500


class _Wire(BaseModel):
    """snake_case in Python, camelCase on the wire, like the CryptoTrade schema."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True)


class CryptoTradeIn(_Wire):
    """A CryptoTrade as the API takes it. Documentation only: the scorer's validator decides (docs/api.md)."""

    model_config = ConfigDict(extra="forbid", title="CryptoTradeIn")

    trade_id: str | None = Field(None, description="Unique trade id. Generated (`api-<uuid4>`) when absent or null.")
    user_id: str = Field(description="Account that placed the order; the Kafka key.")
    customer_id: str = Field(description="Legal customer owning the account.")
    symbol: str = Field(pattern=r"^[A-Z0-9]{2,12}/[A-Z0-9]{2,12}$", description="BASE/QUOTE, e.g. BTC/USDT.")
    base_asset: str | None = Field(None, description="Must match the symbol; taken from it when absent.")
    quote_asset: str | None = Field(None, description="Must match the symbol; taken from it when absent.")
    side: Side
    order_type: OrderType
    quantity: float = Field(gt=0, description="Filled quantity in baseAsset units.")
    price: float = Field(gt=0, description="Fill price in quoteAsset per baseAsset unit.")
    notional: float | None = Field(
        None,
        gt=0,
        description=(
            "Value in USD; within 1 % of quantity x price when the quote asset is USD or a USD stable coin "
            "(USDT, USDC, ...), and quantity x price when absent there. Required for other quote assets "
            "(e.g. ETH/BTC), whose price is not in USD."
        ),
    )
    timestamp: int | None = Field(
        None,
        gt=0,
        description="Event time, epoch ms; at most MAX_FUTURE_SKEW_MS (5 s) ahead. The server's clock when absent.",
    )
    exchange: str = Field(description="Venue that executed the trade, e.g. BINANCE.")
    wallet_address: str | None = None
    session_id: str | None = None
    ip_address: str | None = None
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code.")
    order_id: str | None = None
    counterparty_user_id: str | None = None


_DOCUMENTED_BODY = TypeAdapter(
    CryptoTradeIn | Annotated[list[CryptoTradeIn], Field(min_length=1, max_length=MAX_TRADES_PER_REQUEST)]
)


class TradesBody(RootModel):
    """Any JSON value reaches the handler, so every trade is judged by ``validate_trade`` and reported
    by index (a scalar is trade 0, not an object); the OpenAPI document still shows CryptoTradeIn."""

    # The list member tells Powertools that an array body is one value (it would otherwise keep only
    # its first element).
    root: list[Any] | Any

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(_DOCUMENTED_BODY.core_schema)

    def trades(self) -> list[Any]:
        """The items to check: a single value is a one-trade request."""
        return self.root if isinstance(self.root, list) else [self.root]


class AcceptedTrades(_Wire):
    accepted: int = Field(description="Trades written to the topic.")
    topic: str
    trade_ids: list[str] = Field(description="Ids of the trades in request order, generated ones included.")


class TradeProblem(_Wire):
    index: int | None = Field(description="Position in the request (0 for a single object); null for the request.")
    trade_id: str | None = Field(description="The trade's tradeId as sent, when it had one.")
    reason: str = Field(description="Stable machine reason, the scorer's dead-letter reason where one applies.")
    detail: str = Field(description="What to fix.")


class RejectedTrades(_Wire):
    message: str
    errors: list[TradeProblem]


class ErrorMessage(_Wire):
    message: str


class SimulationStartIn(_Wire):
    model_config = ConfigDict(extra="forbid", strict=True)

    rate_per_second: float = Field(20.0, gt=0, le=MAX_RATE_PER_S, description="Trades per second of event time.")
    duration_seconds: int = Field(300, ge=1, le=MAX_DURATION_S, description="Length of the run.")
    users: int = Field(500, ge=MIN_USERS, le=MAX_USERS, description="Simulated traders; at least 2 x ratePerSecond.")
    seed: int = Field(7, ge=0, le=MAX_SEED, description="The same seed gives the same trades.")

    @model_validator(mode="after")
    def _is_a_valid_plan(self) -> Self:
        self.plan()  # cross-field limits (users per rate, trades per run) with the engine's messages
        return self

    def plan(self) -> SimulationPlan:
        return SimulationPlan(self.rate_per_second, self.duration_seconds, self.users, self.seed)


class SimulationStats(_Wire):
    state: Literal["idle", "running", "stopped", "finished"] = Field(
        description="idle: no run yet (or it expired a day after its end)."
    )
    run_id: str | None = None
    rate_per_second: float | None = None
    duration_seconds: int | None = None
    users: int | None = None
    seed: int | None = None
    started_at_ms: int | None = None
    stops_at_ms: int | None = Field(None, description="Planned end: trades are stamped before it.")
    ended_at_ms: int | None = Field(None, description="When the run was stopped or its last trade claimed.")
    last_tick_at_ms: int | None = None
    claimed: int = Field(0, description="Trades handed to ticks so far (sequence numbers 0..claimed-1).")
    produced: int = Field(0, description="Trades written to the topic.")
    failed: int = Field(0, description="Claimed trades whose write failed; they are not retried.")

    @classmethod
    def of(cls, run: SimulationRun | None) -> Self:
        if run is None:
            return cls(state="idle")
        return cls(
            state=run.status.value,
            run_id=run.run_id,
            rate_per_second=run.plan.rate_per_s,
            duration_seconds=run.plan.duration_s,
            users=run.plan.users,
            seed=run.plan.seed,
            started_at_ms=run.started_at_ms,
            stops_at_ms=run.stops_at_ms,
            ended_at_ms=run.ended_at_ms,
            last_tick_at_ms=run.last_tick_at_ms,
            claimed=run.claimed,
            produced=run.produced,
            failed=run.failed,
        )
