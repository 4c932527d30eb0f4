"""One exception class per failure mode of the engine (codec errors live in riskengine.codec)."""

from __future__ import annotations


class RiskEngineError(Exception):
    """Base class: every engine failure carries a short machine ``reason`` and a human ``detail``."""

    reason = "engine_error"

    def __init__(self, detail: str, *, reason: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if reason is not None:
            self.reason = reason


class InvalidRecord(RiskEngineError):
    """A decoded input record that is not acceptable; it goes to the dead-letter topic.

    Catch this to handle trades and order events alike: the subclass says which contract was broken.
    """

    reason = "invalid_record"


class InvalidTrade(InvalidRecord):
    """A decoded record that is not an acceptable trade (CryptoTrade)."""

    reason = "invalid_trade"


class InvalidOrder(InvalidRecord):
    """A decoded record that is not an acceptable order event (OrderEvent)."""

    reason = "invalid_order"


class ConfigurationError(RiskEngineError):
    """Settings or rule configuration that cannot be used; raised at start-up, never per trade."""

    reason = "bad_configuration"


class StateStoreError(RiskEngineError):
    """The window store (Redis) failed; the batch is reported as failed so the trigger retries it."""

    reason = "state_store_unavailable"


class SinkError(RiskEngineError):
    """Results could not be written; the batch is reported as failed so the trigger retries it."""

    reason = "sink_unavailable"
