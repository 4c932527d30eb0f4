"""Defaults of the three order-book rules of issue 11, which injected episodes and look-alikes are sized against.

Every injected episode clears its rule with a margin and every honest look-alike stays clearly on
the honest side of it, so a miss or a false alarm in a back-test points at the engine, not at the
data. These are the rules' documented defaults (docs/detection.md); the order flow's tests check the
generated data against reference implementations of the same definitions.
"""

from __future__ import annotations

# SPOOFING, per user, symbol and exchange: a NEW order worth at least SPOOF_MIN_RATIO x the median of
# the user's previous SPOOF_HISTORY orders (at least SPOOF_MIN_NOTIONAL_USD with fewer than
# SPOOF_MIN_HISTORY of them), cancelled unfilled within SPOOF_CANCEL_WITHIN_MS of its placement, with
# an opposite-side trade or fill of the user in between.
SPOOF_MIN_RATIO = 5.0
SPOOF_HISTORY = 20
SPOOF_MIN_HISTORY = 5
SPOOF_MIN_NOTIONAL_USD = 100_000.0
SPOOF_CANCEL_WITHIN_MS = 30_000

# LAYERING, per user, symbol and exchange: at least LAYERING_MIN_ORDERS NEW orders on one side at
# LAYERING_MIN_LEVELS distinct prices placed within LAYERING_PLACE_WITHIN_MS, all cancelled unfilled
# within LAYERING_CANCEL_WITHIN_MS of the first placement, an opposite-side trade or fill in between.
LAYERING_MIN_ORDERS = 4
LAYERING_MIN_LEVELS = 4
LAYERING_PLACE_WITHIN_MS = 60_000
LAYERING_CANCEL_WITHIN_MS = 90_000  # traders rest as long between activities (context.IDLE_MS)

# EXCESSIVE_CANCELS, per user: within CANCELS_WINDOW_MS at least CANCELS_MIN_ORDERS orders placed and
# at least CANCELS_PER_FILL cancels per FILL event (at least one FILL); or more than
# STUFFING_MAX_EVENTS order events within STUFFING_WINDOW_MS (quote stuffing).
CANCELS_WINDOW_MS = 30 * 60_000
CANCELS_MIN_ORDERS = 20
CANCELS_PER_FILL = 6.0
STUFFING_WINDOW_MS = 60_000
STUFFING_MAX_EVENTS = 45
