"""exceeds_multiple: ``value > factor * base`` decided on the decimal numbers the floats print as,
whether the cheap float comparison or the exact Decimal one decides; reaches_multiple(_of_mean), its
inclusive counterparts (``>=``, on a mean of one or two values: a median)."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from riskengine.detectors.base import exceeds_multiple, reaches_multiple, reaches_multiple_of_mean

FINITE = st.floats(allow_nan=False, allow_infinity=False)
POSITIVE = st.floats(min_value=0.0, exclude_min=True, allow_infinity=False)
THRESHOLDS = st.sampled_from([1.1, 1.5, 1.05, 1.2, 2.0, 1.0001, 3.3])


def exact(value: float, factor: float, base: float) -> bool:
    """The reference decision, with more digits than any product of two reprs needs."""
    with localcontext() as context:
        context.prec = 100
        return Decimal(repr(value)) > Decimal(repr(factor)) * Decimal(repr(base))


def nudged(number: float, steps: int) -> float:
    """``number`` moved ``steps`` doubles up (or down)."""
    direction = math.inf if steps > 0 else -math.inf
    for _ in range(abs(steps)):
        number = math.nextafter(number, direction)
    return number


@pytest.mark.parametrize(
    ("value", "factor", "base", "expected"),
    [
        (0.77, 1.1, 0.7, False),
        (18.513, 1.1, 16.83, False),  # exactly 1.1x, though 18.513 / 16.83 == 1.1000000000000003
        (1.1099, 1.1, 1.009, False),
        (0.7700001, 1.1, 0.7, True),
        (1500.015, 1.5, 1000.01, False),  # exactly 1.5x, though 1.5 * 1000.01 == 1500.0149999999999
        (math.nextafter(1500.015, math.inf), 1.5, 1000.01, True),
        (3.0, 1.5, 2.0, False),
        (3.1, 1.5, 2.0, True),
        (2.9, 1.5, 2.0, False),
        (0.0, 1.5, 0.0, False),
        (5e-324, 1.5, 0.0, True),
        (1e308, 1e300, 1e300, False),  # the float product overflows; the exact one does not
        (math.inf, 1.5, 1e308, True),
        (math.inf, 1.1, 1.7e308, True),  # the float product is inf too, but inf > any finite product
        (1e308, math.inf, 1.0, False),
    ],
)
def test_known_cases(value: float, factor: float, base: float, expected: bool) -> None:
    assert exceeds_multiple(value, factor, base) is expected


def test_the_float_comparison_alone_gets_the_threshold_cases_wrong() -> None:
    # The cases above are not vacuous: plain floats decide them the other way.
    assert 18.513 / 16.83 > 1.1
    assert 1.1099 / 1.009 > 1.1
    assert not 1500.015 <= 1.5 * 1000.01


def test_nan_never_exceeds() -> None:
    assert not exceeds_multiple(math.nan, 1.5, 1.0)
    assert not exceeds_multiple(1.0, 1.5, math.nan)


@given(FINITE, FINITE, FINITE)
# Subnormal base or factor: repr(5e-324) is 1 % above the double, so the float product is 1 % low.
@example(4.97e-24, 1e300, 5e-324)
@example(4.97e-24, 5e-324, 1e300)
@example(4e-320, 1.5, 2.5e-320)  # subnormal values and product
def test_any_finite_decision_is_the_exact_decision(value: float, factor: float, base: float) -> None:
    assert exceeds_multiple(value, factor, base) is exact(value, factor, base)


@given(THRESHOLDS, POSITIVE, st.integers(min_value=-3, max_value=3))
def test_decisions_next_to_the_threshold_are_exact(factor: float, base: float, steps: int) -> None:
    # value lands on (or a few doubles beside) the exact product, where floats cannot be trusted.
    with localcontext() as context:
        context.prec = 100
        at_threshold = float(Decimal(repr(factor)) * Decimal(repr(base)))
    value = nudged(at_threshold, steps)
    assert exceeds_multiple(value, factor, base) is exact(value, factor, base)


# --- reaches_multiple / reaches_multiple_of_mean: the inclusive "at least factor x" ---------------


# Positive values whose threshold (a few times their mean) is a float again.
REPRESENTABLE = st.floats(min_value=0.0, exclude_min=True, max_value=1e300)


def exact_of_mean(value: float, factor: float, terms: tuple[float, ...]) -> bool:
    """The reference decision on fractions of the reprs (exact at any magnitude)."""
    mean = sum(Fraction(repr(term)) for term in terms) / len(terms)
    return Fraction(repr(value)) >= Fraction(repr(factor)) * mean


@pytest.mark.parametrize(
    ("value", "factor", "base", "expected"),
    [
        (5_000.05, 5.0, 1_000.01, True),  # exactly 5x: at least 5x
        (math.nextafter(5_000.05, 0.0), 5.0, 1_000.01, False),
        (1500.015, 1.5, 1000.01, True),  # exactly 1.5x, though 1.5 * 1000.01 == 1500.0149999999999
        (3.3, 1.1, 3.0, True),  # exactly 1.1x, though 1.1 * 3 == 3.3000000000000003
        (55.0, 2.2, 25.0, True),  # 55 cancels for 25 fills is exactly 2.2 each, though 2.2 * 25 == 55.00000000000001
        (54.0, 2.2, 25.0, False),
        (0.0, 6.0, 0.0, True),  # 0 >= 6 x 0
        (1e308, 1e300, 1e300, False),  # the float product overflows; the exact one does not
        (math.inf, 1.5, 1e308, True),
        (math.nan, 1.5, 1.0, False),
        (1.0, 1.5, math.nan, False),
    ],
)
def test_reaches_multiple_known_cases(value: float, factor: float, base: float, expected: bool) -> None:
    assert reaches_multiple(value, factor, base) is expected


def test_the_float_comparison_alone_gets_the_inclusive_cases_wrong() -> None:
    assert not 3.3 >= 1.1 * 3.0
    assert not 55.0 >= 2.2 * 25.0
    assert not 0.75 >= 5.0 * ((0.1 + 0.2) / 2)  # the median of 0.1 and 0.2, times 5, is exactly 0.75


def test_the_mean_of_two_middle_values_is_exact() -> None:
    assert reaches_multiple_of_mean(0.75, 5.0, (0.1, 0.2))
    assert not reaches_multiple_of_mean(math.nextafter(0.75, 0.0), 5.0, (0.1, 0.2))


@given(FINITE, FINITE, FINITE)
@example(4.97e-24, 1e300, 5e-324)  # a subnormal base: its repr is 1 % off the double
@example(0.0, 1.5, 0.0)
def test_any_finite_inclusive_decision_is_the_exact_decision(value: float, factor: float, base: float) -> None:
    assert reaches_multiple(value, factor, base) is exact_of_mean(value, factor, (base,))


@given(FINITE, FINITE, st.lists(FINITE, min_size=1, max_size=2).map(tuple))
def test_any_finite_decision_on_a_mean_is_the_exact_decision(
    value: float, factor: float, terms: tuple[float, ...]
) -> None:
    assert reaches_multiple_of_mean(value, factor, terms) is exact_of_mean(value, factor, terms)


@given(THRESHOLDS, REPRESENTABLE, REPRESENTABLE, st.integers(min_value=-3, max_value=3))
def test_inclusive_decisions_next_to_the_threshold_are_exact(
    factor: float, low: float, high: float, steps: int
) -> None:
    at_threshold = float(Fraction(repr(factor)) * (Fraction(repr(low)) + Fraction(repr(high))) / 2)
    value = nudged(at_threshold, steps)
    assert reaches_multiple_of_mean(value, factor, (low, high)) is exact_of_mean(value, factor, (low, high))


@given(POSITIVE, POSITIVE)
def test_reaching_is_exceeding_or_being_equal(value: float, base: float) -> None:
    # The inclusive and strict comparisons agree everywhere but exactly at the threshold.
    reaches, exceeds = reaches_multiple(value, 1.1, base), exceeds_multiple(value, 1.1, base)
    assert reaches >= exceeds
    assert reaches == exceeds or Fraction(repr(value)) == Fraction(repr(1.1)) * Fraction(repr(base))
