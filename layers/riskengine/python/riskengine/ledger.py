"""The ledger: what the engine decided for each trade and order event, remembered by its id.

Every accepted trade gets one entry, written before its results are published. The entry holds
the first copy's arrival and content fingerprint and everything its score and alerts were made
of, so another copy of the trade within ``DUPLICATE_HORIZON_MS`` is answered from the entry
instead of being evaluated again:

- a redelivery (the trigger retrying a batch, or a producer sending the trade again) with the
  same content gets exactly the first copy's analysed trade and alerts, whatever the windows
  have become since (other partitions moved on, events evicted);
- a copy with different content is a conflicting duplicate: dead-lettered, the first copy's
  result stands.

An entry is one string, fields joined by ``\\x1f``: arrival, fingerprint, late flag, volume
baseline (``trades,mean,std`` of log notionals), market volume in cents, only when the trade
carried a pattern a JSON object with its pattern strengths, alert ids and the alerts it raised,
and the trade's order-book signal (empty when 0). An order event's entry has the same fields (no
baseline, no volume, no signal).
Floats are written with ``repr``, so they read back bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from riskengine.scoring.risk import Baseline
from riskengine.windows.spec import KEY_PREFIX

SEPARATOR = "\x1f"
# Ledger keys are spread over this many hash tags: on Redis Cluster a batch's entries are written
# with one script call per tag (at most this many), not one per trade.
LEDGER_SLOTS = 64


class LedgerFormatError(ValueError):
    """An entry this version cannot read (written by another version, or damaged)."""


def ledger_key(event_id: str, *, order_event: bool = False) -> str:
    """The key of a trade's or an order event's entry. Keyed by id alone (a trade id, or an order
    event's eventId, is unique across users); order events have a key space of their own, so a
    trade and an order event that share an id never answer for each other."""
    tag = zlib.crc32(event_id.encode()) % LEDGER_SLOTS
    space = "o:" if order_event else ""
    return f"{KEY_PREFIX}:{{t:{tag}}}:{space}{event_id}"


def fingerprint(content: bytes) -> str:
    """A short digest of a trade's content (its canonical Avro body, ``AvroCodec.canonical_body``):
    two copies of one trade have equal fingerprints, however they were encoded."""
    return hashlib.blake2b(content, digest_size=8).hexdigest()


class LedgerEntry(NamedTuple):
    arrival: str
    fingerprint: str
    late: bool
    baseline: Baseline
    market_volume_cents: int
    strengths: Mapping[str, float] = MappingProxyType({})
    alert_ids: Sequence[str] = ()
    alerts: Sequence[Mapping[str, Any]] = ()
    order_book: float = 0.0  # the trade's order-book signal (scoring's orderBook component)

    def encode(self) -> str:
        baseline = self.baseline
        patterns = ""
        if self.strengths or self.alert_ids or self.alerts:
            patterns = json.dumps(
                {"strengths": self.strengths, "alertIds": list(self.alert_ids), "alerts": list(self.alerts)},
                separators=(",", ":"),
            )
        return SEPARATOR.join(
            (
                self.arrival,
                self.fingerprint,
                "L" if self.late else "",
                f"{baseline.trades},{baseline.mean!r},{baseline.std!r}",
                str(self.market_volume_cents),
                patterns,
                repr(self.order_book) if self.order_book else "",
            )
        )

    @classmethod
    def decode(cls, text: str | bytes) -> LedgerEntry:
        if isinstance(text, bytes):
            text = text.decode()
        try:
            # Entries written before order-book signals existed have six fields.
            arrival, digest, late, baseline, cents, patterns, *signal = text.split(SEPARATOR)
            if len(signal) > 1:
                raise ValueError(f"{len(signal) + 6} fields, expected 6 or 7")
            trades, mean, std = baseline.split(",")
            found = json.loads(patterns) if patterns else {}
            return cls(
                arrival=arrival,
                fingerprint=digest,
                late=late == "L",
                baseline=Baseline(int(trades), float(mean), float(std)),
                market_volume_cents=int(cents),
                strengths=found.get("strengths", MappingProxyType({})),
                alert_ids=found.get("alertIds", []),
                alerts=found.get("alerts", []),
                order_book=float(signal[0]) if signal and signal[0] else 0.0,
            )
        except (ValueError, AttributeError) as exc:
            raise LedgerFormatError(f"unreadable ledger entry: {exc}") from exc
