"""Printed numbers agree: decimal half-up rounding, bands from the printed score, contributions
that add up to the printed score to the cent (docs/result-shape.md, "Rounding")."""

import math
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import AS_OF, make
from tools.numbers import cents_summing_to, half_up, r2
from tools.scoring.churn import score_churn_risk
from tools.scoring.health import score_health

PROPERTY = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (2.675, 2.68),  # binary 2.67499999...; round() gives 2.67
        (1.005, 1.01),
        (0.125, 0.13),  # round() gives 0.12 (ties to even)
        (30.497000000000003, 30.5),
        (69.497, 69.5),
        (30.494999, 30.49),
        (-2.675, -2.68),  # ties away from zero
        (100.0, 100.0),
    ],
)
def test_r2_rounds_half_up_in_decimal(value, printed):
    assert r2(value) == printed


def test_r2_never_prints_minus_zero():
    assert math.copysign(1.0, r2(-0.001)) == 1.0


@pytest.mark.parametrize(
    ("value", "whole"),
    [(30.5, 31), (30.49, 30), (69.5, 70), (0.3 * 5, 2), (80.4999999999, 81), (80.49999, 80)],
)
def test_half_up_whole_numbers(value, whole):
    # 80.4999999999 is within 1e-9 of 80.5: float noise, rounded off first
    assert half_up(value) == whole


@pytest.mark.parametrize(
    ("parts", "total", "printed"),
    [
        ([10.005, 10.005, 10.005], 30.015, [10.01, 10.01, 10.0]),  # total prints 30.02
        ([1 / 3, 1 / 3, 1 / 3], 1.0, [0.34, 0.33, 0.33]),
        ([2 / 3, 2 / 3, 2 / 3], 2.0, [0.67, 0.67, 0.66]),
        ([12.5, 7.25], 19.75, [12.5, 7.25]),  # exact parts stay as they are
        ([0.0, 0.004, 0.004], 0.008, [0.0, 0.01, 0.0]),
    ],
)
def test_cents_summing_to_largest_remainder(parts, total, printed):
    assert cents_summing_to(parts, total) == printed


def test_churn_band_from_printed_score(playbook):
    # risk = (60 - 41.7018) / 60 x 100 = 30.497 -> prints 30.5 -> 31 -> medium (was: low)
    result = score_churn_risk(make(engagement_score=41.7018), playbook, AS_OF)
    assert (result.score, result.tier) == (30.5, "medium")
    assert [f.contribution for f in result.factors] == [30.5]


def test_health_band_from_printed_score(playbook):
    # meeting attendance 69.497 maps to 69.497 -> prints 69.5 -> 70 -> green (was: yellow)
    result = score_health(make(meeting_attendance_pct=69.497), playbook)
    assert (result.score, result.color) == (69.5, "green")
    assert [c.contribution for c in result.components] == [69.5]


def test_contributions_add_up_by_hand(playbook):
    # mrr 346000: risk 30.8 x 25; engagement 31: risk 48.333.. x 20; csat 6.5: risk 7.142857.. x 10
    # score = (770 + 966.666.. + 71.428571..) / 55 = 32.874459..; printed 32.87
    # exact contributions 14.0, 17.575757.., 1.298701..: floors 14.00 + 17.57 + 1.29 = 32.86;
    # the missing cent goes to the largest remainder (0.87 of a cent, csat) -> 1.30.
    # Rounding each alone gave 14.0 + 17.58 + 1.3 = 32.88.
    result = score_churn_risk(make(mrr=346_000, engagement_score=31, csat=6.5), playbook, AS_OF)
    assert result.score == 32.87
    assert [f.contribution for f in result.factors] == [14.0, 17.57, 1.3]


def _cents(value: float) -> int:
    return int(Decimal(repr(value)) * 100)


def _band(bands, score: float) -> str:
    whole = int(Decimal(repr(score)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return next(b.id for b in bands if b.min <= whole <= b.max)


def _decimals(high: int, places: int = 3):
    return st.none() | st.decimals(0, high, places=places).map(float)


def _counts(high: int):
    return st.none() | st.integers(0, high)


CHURN_INPUTS = st.fixed_dictionaries(
    {
        "mrr": st.none() | st.integers(0, 1_000_000).map(float),
        "engagement_score": _decimals(100, 4),
        "payment_delays_last_quarter": _counts(5),
        "tickets_last_month": _counts(15),
        "feature_adoption_pct": _decimals(100),
        "csat": _decimals(10),
        "last_login": st.none() | st.integers(0, 45).map(lambda d: AS_OF - timedelta(days=d)),
    }
)

HEALTH_INPUTS = st.fixed_dictionaries(
    {
        "payment_delays_last_quarter": _counts(4),
        "days_overdue": _counts(60),
        "mrr": st.none() | st.integers(0, 1_500_000).map(float),
        "auto_pay": st.none() | st.booleans(),
        "weekly_logins": st.none() | st.lists(st.integers(0, 9), min_size=1, max_size=6),
        "meeting_attendance_pct": _decimals(100, 4),
        "email_response_hours": _decimals(150),
        "goal_attainment_pct": _decimals(130),
        "csat": _decimals(10),
        "complaints": _counts(5),
        "interactions": _counts(40),
        "stakeholder_support": _decimals(10),
        "roadmap_alignment": _decimals(10),
        "communication_quality": _decimals(10),
        "expansion_interest": _decimals(10),
        "nps": _decimals(10),
        "partnership_depth": _decimals(10),
        "feature_adoption_pct": _decimals(100),
        "change_implementation_days": _decimals(70),
        "team_competence": _decimals(10),
    }
)


def _exact_churn(fields: dict, playbook) -> Fraction | None:
    """The churn score in exact arithmetic over the inputs as written (a reference, SPEC 2)."""
    parts = []
    for factor in playbook.churn_risk.factors.values():
        value = fields.get(factor.input)
        if value is None:
            continue
        x = Fraction((AS_OF - value).days if factor.transform else Decimal(repr(value)))
        ok, bad = Fraction(factor.ok), Fraction(factor.bad)
        risk = min(Fraction(100), max(Fraction(0), (x - ok) / (bad - ok) * 100))
        parts.append((Fraction(factor.weight), risk))
    if not parts:
        return None
    return sum(w * r for w, r in parts) / sum(w for w, _ in parts)


def _half_up_cents(exact: Fraction) -> float:
    noise = Decimal(exact.numerator) / Decimal(exact.denominator)
    snapped = noise.quantize(Decimal("1e-9"), rounding=ROUND_HALF_UP)
    return float(snapped.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@PROPERTY
@given(CHURN_INPUTS)
def test_churn_printed_score_band_and_contributions_agree(playbook, fields):
    result = score_churn_risk(make(**fields), playbook, AS_OF)
    exact = _exact_churn(fields, playbook)
    if exact is None:
        assert (result.score, result.tier, result.factors) == (None, None, [])
        return
    assert result.score == _half_up_cents(exact)
    assert result.tier == _band(playbook.churn_risk.tiers, result.score)
    assert sum(_cents(f.contribution) for f in result.factors) == _cents(result.score)
    known = sum(f.weight for f in result.factors)
    for f in result.factors:  # each printed part within a cent of its exact value
        assert abs(f.contribution - f.weight * f.risk / known) < 0.01 + 0.005 * f.weight / known


@PROPERTY
@given(HEALTH_INPUTS)
def test_health_printed_score_band_and_contributions_agree(playbook, fields):
    result = score_health(make(**fields), playbook)
    if result.score is None:
        assert (result.color, result.components) == (None, [])
        return
    assert result.color == _band(playbook.health.colors, result.score)
    assert sum(_cents(c.contribution) for c in result.components) == _cents(result.score)
    known = sum(c.weight for c in result.components)
    for c in result.components:
        assert abs(c.contribution - c.weight * c.score / known) < 0.01 + 0.005 * c.weight / known


# The float fast paths of r2, half_up and cents_summing_to agree with the decimal rules they
# short-cut, near ties and float noise included (tools/numbers.py).
_NEAR_TIES = st.builds(
    lambda whole, thousandths, noise: whole + thousandths / 1000 + noise,
    st.integers(-10**6, 10**6),
    st.integers(0, 999),
    st.sampled_from([0.0, 1e-12, -1e-12, 4e-10, -4e-10, 5e-10, -5e-10, 6e-10, 1e-9, 2e-5, -2e-5]),
)
_ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e10, 1e10) | _NEAR_TIES


@PROPERTY
@given(_ANY_FLOAT)
def test_fast_rounding_is_the_decimal_rule(value):
    from tools.numbers import _half_up_decimal, _r2_decimal

    fast, exact = r2(value), _r2_decimal(value)
    assert repr(fast) == repr(exact)
    if math.isfinite(value):
        assert half_up(value) == _half_up_decimal(value)


_PARTS = st.lists(
    st.sampled_from([0.0, 12.5, 1 / 3, 2 / 3, 10.005, 0.004, 19.466666666666665, 9.666666666666668])
    | st.floats(0, 100)
    | st.integers(0, 10_000).map(lambda c: c / 100)
    | st.integers(0, 10**12).map(lambda n: n / 10**10)  # half a nano: the noise step's ties
    | _NEAR_TIES.map(abs).filter(lambda v: v < 1e4),
    min_size=1,
    max_size=8,
)


def _cents_decimal(parts: list[float], total: float) -> list[float]:
    """`cents_summing_to` by its definition, in decimal: each part as written, to the nano."""
    from decimal import ROUND_FLOOR, Decimal

    from tools.numbers import _decimal

    cents = [_decimal(p) * 100 for p in parts]
    floors = [int(c.to_integral_value(rounding=ROUND_FLOOR)) for c in cents]
    missing = int(_decimal(r2(total)) * 100) - sum(floors)
    order = sorted(range(len(parts)), key=lambda i: (floors[i] - cents[i], i))
    if missing < 0:
        order.reverse()
    step = 1 if missing > 0 else -1
    for k in range(abs(missing)):
        floors[order[k % len(order)]] += step
    return [float(Decimal(c) / 100) + 0.0 for c in floors]


@PROPERTY
@given(_PARTS | st.lists(st.floats(1e4, 1e12) | st.floats(0, 100), min_size=1, max_size=6))
def test_fast_cents_are_the_decimal_cents(parts):
    """Read in whole nanos, each part fast or in decimal, the cents are the decimal ones."""
    total = math.fsum(parts)
    assert cents_summing_to(parts, total) == _cents_decimal(parts, total)
    assert cents_summing_to(parts, sum(parts)) == _cents_decimal(parts, sum(parts))
