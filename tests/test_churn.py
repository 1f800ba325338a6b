"""Churn risk (SPEC 2), checked by hand at every bound and tier boundary."""

from datetime import timedelta

import pytest

from tests.conftest import AS_OF, make
from tools.scoring.churn import score_churn_risk


def churn(playbook, **fields):
    return score_churn_risk(make(**fields), playbook, AS_OF)


def test_contract_value_alone_gives_31_medium_quarter_coverage(playbook):
    result = churn(playbook, mrr=345_000)
    assert (result.score, result.tier, result.coverage) == (31.0, "medium", 0.25)
    [factor] = result.factors
    assert (factor.id, factor.value, factor.risk, factor.weight, factor.contribution) == (
        "contract_value",
        345_000,
        31.0,
        25,
        31.0,
    )
    assert "engagement" in result.missing and len(result.missing) == 6


@pytest.mark.parametrize(
    ("mrr", "score", "tier"),
    [
        (350_000, 30.0, "low"),
        (347_550, 30.49, "low"),
        (347_500, 30.5, "medium"),  # rounds half up to 31
        (200_000, 60.0, "medium"),
        (197_500, 60.5, "high"),
        (195_000, 61.0, "high"),
        (100_000, 80.0, "high"),
        (97_500, 80.5, "critical"),
        (0, 100.0, "critical"),
        (500_000, 0.0, "low"),
        (2_000_000, 0.0, "low"),  # clamped on the healthy side
    ],
)
def test_tier_boundaries(playbook, mrr, score, tier):
    result = churn(playbook, mrr=mrr)
    assert (result.score, result.tier) == (score, tier)


@pytest.mark.parametrize(
    ("field", "value", "risk"),
    [
        ("engagement_score", 60, 0.0),
        ("engagement_score", 30, 50.0),
        ("engagement_score", 0, 100.0),
        ("payment_delays_last_quarter", 0, 0.0),
        ("payment_delays_last_quarter", 1, 33.33),
        ("payment_delays_last_quarter", 3, 100.0),
        ("payment_delays_last_quarter", 5, 100.0),
        ("tickets_last_month", 5, 0.0),
        ("tickets_last_month", 7, 40.0),
        ("tickets_last_month", 10, 100.0),
        ("tickets_last_month", 14, 100.0),
        ("feature_adoption_pct", 40, 0.0),
        ("feature_adoption_pct", 10, 75.0),
        ("feature_adoption_pct", 90, 0.0),
        ("csat", 7, 0.0),
        ("csat", 3.5, 50.0),
        ("csat", 0, 100.0),
    ],
)
def test_each_factor_maps_linearly_and_clamps(playbook, field, value, risk):
    result = churn(playbook, **{field: value})
    assert result.factors[0].risk == risk
    assert result.score == risk  # alone, a factor's risk is the score


@pytest.mark.parametrize(
    ("days", "risk"), [(14, 0.0), (22, 50.0), (30, 100.0), (45, 100.0), (-3, 0.0)]
)
def test_login_recency_counts_days_to_as_of(playbook, days, risk):
    result = churn(playbook, last_login=AS_OF - timedelta(days=days))
    assert result.factors[0].value == days
    assert result.factors[0].risk == risk
    assert result.coverage == 0.05


def test_all_factors_weighted_sum(playbook):
    # risks: contract 50 (250k), engagement 50 (30), delays 66.67 (2), support 40 (7),
    # adoption 50 (20), csat 0 (8), login 100 (40 days)
    result = churn(
        playbook,
        mrr=250_000,
        engagement_score=30,
        payment_delays_last_quarter=2,
        tickets_last_month=7,
        feature_adoption_pct=20,
        csat=8,
        last_login=AS_OF - timedelta(days=40),
    )
    expected = (25 * 50 + 20 * 50 + 15 * 200 / 3 + 15 * 40 + 10 * 50 + 10 * 0 + 5 * 100) / 100
    assert result.score == round(expected, 2) == 48.5
    assert result.tier == "medium" and result.coverage == 1.0
    assert round(sum(f.contribution for f in result.factors), 1) == 48.5


def test_unknown_factors_rescale_weights(playbook):
    # contract 31 (w 25) and csat 0 (w 10): 25*31/35
    result = churn(playbook, mrr=345_000, csat=9)
    assert result.score == 22.14 and result.coverage == 0.35 and result.tier == "low"


def test_nothing_known_is_null_not_zero(playbook):
    result = churn(playbook)
    assert result.score is None and result.tier is None and result.coverage == 0.0
