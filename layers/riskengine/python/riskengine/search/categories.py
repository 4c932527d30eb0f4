"""Alert categories: whether an alert comes from the order book or from trades, by its pattern alone.

Compliance officers look at order-book abuse (spoofing, layering, excessive cancelling) apart from
trade patterns: its evidence is order events, not trades, and no analysed trade carries its alert id.
The category depends on ``patternType`` only, so the same alert always gets the same category and
re-indexing it never changes its document.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ORDER_BOOK_PATTERNS", "AlertCategory", "alert_category"]


class AlertCategory(StrEnum):
    TRADES = "trades"  # a pattern over trades alone
    ORDER_BOOK = "order_book"  # a pattern over a user's order events (and their trades in that market)


# The patterns whose rules read order-book windows (Scope.ORDER_BOOK, Scope.USER_ORDERS).
ORDER_BOOK_PATTERNS = frozenset({"SPOOFING", "LAYERING", "EXCESSIVE_CANCELS"})


def alert_category(pattern_type: str) -> AlertCategory:
    """The category of an alert of ``pattern_type``: order_book for the order-book patterns, trades otherwise."""
    return AlertCategory.ORDER_BOOK if pattern_type in ORDER_BOOK_PATTERNS else AlertCategory.TRADES
