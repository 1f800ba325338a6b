"""Small numeric rules shared by every score: linear mapping, clamping, rounding, weighting.

Rounding (docs/result-shape.md): a float is read as its shortest decimal repr, float noise below
1e-9 is rounded off, and the result is rounded half up (ties away from zero) in decimal, never
in binary: `r2(2.675) == 2.68`, `half_up(30.5) == 31`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal
from math import floor

_WIDE = Context(prec=400, rounding=ROUND_HALF_UP)  # exact for any finite float at 1e-9
_NOISE, _CENT, _ONE = Decimal("1e-9"), Decimal("0.01"), Decimal(1)

_FIRST, _LAST = date.min.toordinal(), date.max.toordinal()


def clamp(value: float, low: float = 0.0, high: float = 100.0) -> float:
    """Keep a value inside [low, high]."""
    return max(low, min(high, value))


def linear(value: float, zero: float, full: float) -> float:
    """Map `zero` to 0 and `full` to 100, linear in between, clamped (works in both directions)."""
    return clamp((value - zero) / (full - zero) * 100.0)


def _decimal(value: float) -> Decimal:
    """The float as written (shortest repr), with noise below 1e-9 rounded off half up."""
    return Decimal(repr(float(value))).quantize(_NOISE, context=_WIDE)


# The fast paths below give the decimal result without building a Decimal when the value is not
# near a tie. A float x with |x| < FAST_LIMIT is within 1.2e-7 (half an ulp) of its shortest
# repr, the noise step moves it by at most 5e-10 and x * 100 is computed within 7.6e-6, so when
# that product is more than MARGIN from a half, binary and decimal rounding pick the same whole
# number (and n / 100 is the float nearest to n hundredths, as is float(Decimal(n) / 100)).
FAST_LIMIT = 1e9
MARGIN = 1e-4
NANOS_PER_CENT = 10**7
# below NANO_LIMIT a float is within 1e-12 of its shortest repr, and value * 1e9 is computed
# within 1e-3: the nearest whole number of nanos is the decimal one unless the product lies
# within 0.01 of a half (`nanos`)
NANO_LIMIT, NANO_MARGIN = 1e4, 0.49


def _nearest(scaled: float) -> int | None:
    """The whole number nearest to `scaled`, or None when it is within MARGIN of a tie."""
    whole = floor(scaled + 0.5)
    if abs(scaled - whole) < 0.5 - MARGIN:
        return whole
    return None


def half_up(value: float) -> int:
    """Round half up to a whole number (the band rule of SPEC 2/3)."""
    if -FAST_LIMIT < value < FAST_LIMIT:
        whole = _nearest(value)
        if whole is not None:
            return whole
    return _half_up_decimal(value)


def _half_up_decimal(value: float) -> int:
    return int(_decimal(value).quantize(_ONE, context=_WIDE))


def r2(value: float) -> float:
    """Round half up to 2 decimals for output (0.0 instead of -0.0)."""
    if -FAST_LIMIT < value < FAST_LIMIT:
        scaled = value * 100.0
        cents = floor(scaled + 0.5)  # _nearest, written out: r2 runs dozens of times an account
        if abs(scaled - cents) < 0.5 - MARGIN:
            return cents / 100 + 0.0
    return _r2_decimal(value)


def _r2_decimal(value: float) -> float:
    if not math.isfinite(value):
        return value
    return float(_decimal(value).quantize(_CENT, context=_WIDE)) + 0.0


def cents_summing_to(parts: Sequence[float], total: float) -> list[float]:
    """Round parts to 2 decimals so that they add up to `r2(total)` to the cent.

    Largest remainder: each part is floored to whole cents, and the cents still missing go one
    each to the parts with the largest remainders (the earlier part first on a tie); so every
    printed part is within 0.01 of its exact value. `parts` should add up to `total`. The parts
    are read in whole nanos (`nanos`), so the floors, remainders and ties are exact."""
    if not parts:
        return []
    return cents_from_nanos([nanos(p) for p in parts], cents(total))


def cents(value: float) -> int:
    """`r2(value)` in whole cents."""
    if -FAST_LIMIT < value < FAST_LIMIT:
        whole = _nearest(value * 100.0)
        if whole is not None:
            return whole
    return int(_decimal(r2(value)) * 100)


def nanos(value: float) -> int:
    """The value in whole nanos (1e-9), as `_decimal` reads it: its shortest repr, with the
    noise below a nano rounded off half up."""
    if -NANO_LIMIT < value < NANO_LIMIT:
        scaled = value * 1e9
        whole = floor(scaled + 0.5)
        if abs(scaled - whole) < NANO_MARGIN:
            return whole
    return int(_decimal(value).scaleb(9, context=_WIDE))


def cents_from_nanos(parts: Sequence[int], target: int) -> list[float]:
    """`cents_summing_to` on parts in whole nanos and a total in whole cents."""
    floors = [n // NANOS_PER_CENT for n in parts]
    remainders = [n % NANOS_PER_CENT for n in parts]
    missing = target - sum(floors)
    order = sorted(range(len(parts)), key=lambda i: (-remainders[i], i))
    if missing < 0:
        order.reverse()
    step = 1 if missing > 0 else -1
    for k in range(abs(missing)):
        floors[order[k % len(order)]] += step
    return [c / 100 + 0.0 for c in floors]


def days_between(start: date, end: date) -> int:
    """Whole days from start to end (negative when end is earlier)."""
    return end.toordinal() - start.toordinal()


def add_days(day: date, days: int) -> date:
    """`day` + `days`, held at the ends of the calendar (0001-01-01, 9999-12-31), never raising."""
    return date.fromordinal(min(max(day.toordinal() + days, _FIRST), _LAST))


def month_start(year: int, month: int) -> date | None:
    """The 1st of a month, or None when the year is outside the calendar (1..9999)."""
    if not 1 <= year <= date.max.year:
        return None
    return date(year, month, 1)


def weighted(
    parts: Iterable[tuple[float, float | None]], total_weight: float
) -> tuple[float | None, float, float]:
    """Weighted mean of the known (weight, value) pairs, rescaled to the known weight.

    Returns (score or None, known weight, coverage)."""
    known = [(w, v) for w, v in parts if v is not None]
    known_weight = sum([w for w, _ in known])
    coverage = round(known_weight / total_weight, 4) if total_weight else 0.0
    if not known or known_weight == 0:
        return None, known_weight, coverage
    return sum([w * v for w, v in known]) / known_weight, known_weight, coverage


def plain(value: float | int) -> str:
    """A number as people write it in evidence: 345000, 2.5 (no exponent, no trailing zeros)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")
