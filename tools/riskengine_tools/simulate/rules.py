"""Defaults of the three order-book rules of issue 11, which injected episodes and look-alikes are sized against.

Every injected episode clears its rule with a margin and every honest look-alike stays clearly on
the honest side of it, so a miss or a false alarm in a back-test points at the engine, not at the
data. These are the rules' documented defaults (docs/detection.md), read from the rules' own
``Config`` classes so the data always follows the engine's defaults; the order flow's tests check
the generated data against reference implementations of the same definitions.
"""

from __future__ import annotations

from riskengine.detectors.excessive_cancels import ExcessiveCancelsConfig
from riskengine.detectors.layering import LayeringConfig
from riskengine.detectors.spoofing import SpoofingConfig

_SPOOFING = SpoofingConfig()
_LAYERING = LayeringConfig()
_CANCELS = ExcessiveCancelsConfig()

# SPOOFING, per user, symbol and exchange: a NEW order worth at least SPOOF_MIN_RATIO x the median of
# the user's previous SPOOF_HISTORY orders (at least SPOOF_MIN_NOTIONAL_USD with fewer than
# SPOOF_MIN_HISTORY of them), cancelled unfilled within SPOOF_CANCEL_WITHIN_MS of its placement, with
# an opposite-side trade or fill of the user in between.
SPOOF_MIN_RATIO = _SPOOFING.min_ratio
SPOOF_HISTORY = _SPOOFING.previous_orders
SPOOF_MIN_HISTORY = _SPOOFING.min_previous_orders
SPOOF_MIN_NOTIONAL_USD = _SPOOFING.min_notional_usd
SPOOF_CANCEL_WITHIN_MS = _SPOOFING.cancel_within_ms

# LAYERING, per user, symbol and exchange: at least LAYERING_MIN_ORDERS NEW orders on one side at
# LAYERING_MIN_LEVELS distinct prices placed within LAYERING_PLACE_WITHIN_MS, all cancelled unfilled
# within LAYERING_CANCEL_WITHIN_MS of the first placement, an opposite-side trade or fill in between.
LAYERING_MIN_ORDERS = _LAYERING.min_orders
LAYERING_MIN_LEVELS = _LAYERING.min_levels
LAYERING_PLACE_WITHIN_MS = _LAYERING.place_within_ms
LAYERING_CANCEL_WITHIN_MS = _LAYERING.cancel_within_ms  # traders rest as long between activities (context.IDLE_MS)

# EXCESSIVE_CANCELS, per user: within CANCELS_WINDOW_MS at least CANCELS_MIN_ORDERS orders placed and
# at least CANCELS_PER_FILL cancels per FILL event (at least one FILL); or more than
# STUFFING_MAX_EVENTS order events within STUFFING_WINDOW_MS (quote stuffing).
CANCELS_WINDOW_MS = _CANCELS.window_ms
CANCELS_MIN_ORDERS = _CANCELS.min_orders
CANCELS_PER_FILL = _CANCELS.cancels_per_fill
STUFFING_WINDOW_MS = _CANCELS.stuffing_window_ms
STUFFING_MAX_EVENTS = _CANCELS.stuffing_max_events
