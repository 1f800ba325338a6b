"""Small numeric rules shared by every score: linear mapping, clamping, rounding, weighting."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date

_FIRST, _LAST = date.min.toordinal(), date.max.toordinal()


def clamp(value: float, low: float = 0.0, high: float = 100.0) -> float:
    """Keep a value inside [low, high]."""
    return max(low, min(high, value))


def linear(value: float, zero: float, full: float) -> float:
    """Map `zero` to 0 and `full` to 100, linear in between, clamped (works in both directions)."""
    return clamp((value - zero) / (full - zero) * 100.0)


def half_up(value: float) -> int:
    """Round half up to a whole number, ignoring float noise below 1e-9."""
    return math.floor(round(value, 9) + 0.5)


def r2(value: float) -> float:
    """Round to 2 decimals for output (0.0 instead of -0.0)."""
    return round(value, 2) + 0.0


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
    known_weight = sum(w for w, _ in known)
    coverage = round(known_weight / total_weight, 4) if total_weight else 0.0
    if not known or known_weight == 0:
        return None, known_weight, coverage
    return sum(w * v for w, v in known) / known_weight, known_weight, coverage


def plain(value: float | int) -> str:
    """A number as people write it in evidence: 345000, 2.5 (no exponent, no trailing zeros)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")
