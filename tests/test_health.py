"""Health score (SPEC 3), checked by hand per sub-metric, component and colour boundary."""

import pytest

from tests.conftest import make
from tools.scoring.health import score_health


def health(playbook, **fields):
    return score_health(make(**fields), playbook)


def component(result, component_id):
    return next(c for c in result.components if c.id == component_id)


@pytest.mark.parametrize(
    ("fields", "mapped"),
    [
        ({"payment_delays_last_quarter": 0}, 100.0),
        ({"payment_delays_last_quarter": 1}, 66.67),
        ({"payment_delays_last_quarter": 2}, 33.34),
        ({"payment_delays_last_quarter": 3}, 0.01),
        ({"payment_delays_last_quarter": 4}, 0.0),
        ({"payment_delays_last_quarter": 0, "days_overdue": 30}, 100.0),
        ({"payment_delays_last_quarter": 0, "days_overdue": 31}, 0.0),
        ({"days_overdue": 45}, 0.0),  # the override is known even without the delay count
    ],
)
def test_payment_timeliness(playbook, fields, mapped):
    metric = component(health(playbook, **fields), "financial").metrics[0]
    assert (metric.id, metric.mapped) == ("payment_timeliness", mapped)


@pytest.mark.parametrize(
    ("fields", "value", "note"),
    [
        (
            {"payment_delays_last_quarter": 0, "days_overdue": 31},
            0,
            "0 because days_overdue is 31 (> 30), whatever payment_delays_last_quarter is",
        ),
        (
            {"days_overdue": 45},
            None,
            "0 because days_overdue is 45 (> 30), whatever payment_delays_last_quarter is",
        ),
        ({"payment_delays_last_quarter": 1, "days_overdue": 30}, 1, None),  # the delays decide
        ({"payment_delays_last_quarter": 1}, 1, None),
    ],
)
def test_payment_timeliness_names_the_input_that_decided_it(playbook, fields, value, note):
    metric = component(health(playbook, **fields), "financial").metrics[0]
    assert (metric.input, metric.value, metric.note) == ("payment_delays_last_quarter", value, note)
    others = [
        m.note for c in health(playbook, mrr=1, csat=5, **fields).components for m in c.metrics
    ]
    assert others.count(None) == len(others) - (note is not None)


def test_days_overdue_alone_at_30_is_unknown(playbook):
    assert health(playbook, days_overdue=30).score is None


def test_financial_component_is_mean_of_three(playbook):
    result = health(playbook, payment_delays_last_quarter=1, mrr=400_000, auto_pay=False)
    fin = component(result, "financial")
    assert fin.score == round((100 - 33.33 + 40 + 0) / 3, 2) == 35.56
    assert result.score == 35.56 and result.coverage == 0.25 and result.color == "red"


@pytest.mark.parametrize(
    ("fields", "metric_id", "mapped"),
    [
        ({"weekly_logins": [9, 9, 1, 2, 3, 4]}, "logins", 50.0),  # last 4: mean 2.5
        ({"weekly_logins": [8, 7]}, "logins", 100.0),  # fewer than 4 weeks: their mean, clamped
        ({"email_response_hours": 24}, "email_response", 100.0),
        ({"email_response_hours": 72}, "email_response", 50.0),
        ({"email_response_hours": 120}, "email_response", 0.0),
        ({"email_response_hours": 2}, "email_response", 100.0),
        ({"meeting_attendance_pct": 85}, "meeting_attendance", 85.0),
    ],
)
def test_engagement_metrics(playbook, fields, metric_id, mapped):
    metric = component(health(playbook, **fields), "engagement").metrics[0]
    assert (metric.id, metric.mapped) == (metric_id, mapped)


def test_performance_metrics(playbook):
    result = health(playbook, goal_attainment_pct=130, csat=7.5, complaints=3, interactions=12)
    perf = component(result, "performance")
    assert [m.mapped for m in perf.metrics] == [100.0, 75.0, 75.0]
    assert perf.score == round(250 / 3, 2)


def test_complaints_need_interactions(playbook):
    assert health(playbook, complaints=3, interactions=0).score is None
    assert health(playbook, complaints=3).score is None


def test_technical_metrics(playbook):
    result = health(
        playbook, feature_adoption_pct=50, change_implementation_days=33.5, team_competence=6
    )
    tech = component(result, "technical")
    assert [m.mapped for m in tech.metrics] == [50.0, 50.0, 60.0]


def test_all_components_weighted(playbook):
    result = health(
        playbook,
        payment_delays_last_quarter=0,
        mrr=1_000_000,
        auto_pay=True,  # financial 100
        weekly_logins=[5, 5, 5, 5],
        meeting_attendance_pct=50,
        email_response_hours=120,  # 50
        goal_attainment_pct=80,
        csat=8,
        complaints=2,
        interactions=10,  # 80
        stakeholder_support=6,
        roadmap_alignment=6,
        communication_quality=6,  # 60
        expansion_interest=3,
        nps=3,
        partnership_depth=3,  # 30
        feature_adoption_pct=70,
        change_implementation_days=7,
        team_competence=4,  # 70
    )
    assert result.score == (25 * 100 + 20 * 50 + 20 * 80 + 15 * 60 + 10 * 30 + 10 * 70) / 100
    assert result.score == 70.0 and result.color == "green" and result.coverage == 1.0
    assert sum(c.contribution for c in result.components) == pytest.approx(70.0, abs=0.05)


@pytest.mark.parametrize(
    ("csat", "score", "color"),
    [
        (6.95, 69.5, "green"),
        (6.94, 69.4, "yellow"),
        (7.0, 70.0, "green"),
        (4.0, 40.0, "yellow"),
        (3.95, 39.5, "yellow"),
        (3.94, 39.4, "red"),
        (0, 0.0, "red"),
        (10, 100.0, "green"),
    ],
)
def test_colour_boundaries(playbook, csat, score, color):
    result = health(playbook, csat=csat)
    assert (result.score, result.color, result.coverage) == (score, color, 0.2)


def test_nothing_known(playbook):
    result = health(playbook)
    assert (result.score, result.color, result.coverage, result.components) == (None, None, 0.0, [])
    assert len(result.missing) == 6
