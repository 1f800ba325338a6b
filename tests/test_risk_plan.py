"""Risk mitigation plan (step 5): escalation, mitigations, retention offers, renewal status."""

from datetime import date, timedelta

import pytest

from tests.conftest import AS_OF, make
from tools.planning.risk_plan import build_risk_plan
from tools.scoring.score import score_account


def plan(playbook, **fields):
    account = make(**fields)
    return build_risk_plan(account, score_account(account, playbook, AS_OF), playbook, AS_OF)


# mrr alone decides the churn score: risk = (500000 - mrr) / 500000 x 100.
TIER_MRR = {"low": 400_000, "medium": 300_000, "high": 150_000, "critical": 50_000}
PATHS = {
    "low": ["account CSM"],
    "medium": ["account CSM", "CSM team lead"],
    "high": ["account CSM", "CSM team lead", "agency director"],
    "critical": ["account CSM", "CSM team lead", "agency director", "agency C-level"],
}
CADENCE = {  # churn_risk.tiers in knowledge/playbook.yaml, written out
    "low": ("monthly proactive check-in", 30),
    "medium": ("weekly", 7),
    "high": ("immediate, leadership involved", 1),
    "critical": ("emergency, C-level", 1),
}
INTERVENTIONS = {
    "low": [
        "share success stories and case studies",
        "education sessions on product features",
        "satisfaction surveys",
    ],
    "medium": [
        "executive meeting to realign goals",
        "strategy and performance review",
        "team optimisation and resource reallocation",
        "quick wins",
    ],
    "high": [
        "emergency audit of the whole engagement",
        "director-level involvement",
        "custom solutions",
        "special pricing or terms",
    ],
    "critical": [
        "C-level escalation",
        "full strategy rework",
        "dedicated white-glove resources",
        "aggressive retention campaign",
    ],
}
RETENTION_OFFERS = {  # risk.retention_offers, written out
    "high": [
        "special pricing or terms for the next contract period",
        "a free emergency audit of the whole engagement",
    ],
    "critical": [
        "a dedicated white-glove team for the next quarter",
        "a performance guarantee with a credit if agreed targets are missed",
        "special pricing or terms for the next contract period",
    ],
}
NEXT_CONTACT = {
    "low": date(2026, 12, 20),
    "medium": date(2026, 11, 27),
    "high": date(2026, 11, 21),
    "critical": date(2026, 11, 21),
}


@pytest.mark.parametrize("tier", ["low", "medium", "high", "critical"])
def test_tier_cadence_and_escalation_path(playbook, tier):
    result = plan(playbook, mrr=TIER_MRR[tier])
    assert result.tier == tier
    assert result.escalation_path == PATHS[tier]
    assert (result.cadence, result.cadence_days) == CADENCE[tier]
    assert result.next_contact_due == NEXT_CONTACT[tier]
    assert result.interventions == INTERVENTIONS[tier]
    assert f"tier {tier}" in result.tier_evidence


@pytest.mark.parametrize(
    ("tier", "offers"),
    [("low", 0), ("medium", 0), ("high", 2), ("critical", 3)],
)
def test_retention_offers_only_for_high_and_critical(playbook, tier, offers):
    result = plan(playbook, mrr=TIER_MRR[tier])
    assert len(result.retention_offers) == offers
    assert result.retention_offers == RETENTION_OFFERS.get(tier, [])


def test_unknown_tier(playbook):
    result = plan(playbook)
    assert result.tier is None and result.churn_score is None
    assert result.cadence is None and result.cadence_days is None
    assert result.next_contact_due is None
    assert result.interventions == [] and result.escalation_path == []
    assert result.retention_offers == []
    assert "churn risk unknown" in result.tier_evidence


def test_one_mitigation_per_fired_signal(playbook):
    result = plan(playbook, days_overdue=12, weekly_tickets=[6, 7], days_since_improvement=61)
    assert [(m.signal, m.severity, m.owner, m.due_date) for m in result.mitigations] == [
        ("payment_delay", "high", "account CSM with finance", date(2026, 11, 22)),
        ("support_spike", "high", "CSM team lead", date(2026, 11, 21)),
        ("performance_plateau", "high", "SEO lead", date(2026, 12, 4)),
    ]
    payment = result.mitigations[0]
    assert payment.action == "account review call"
    assert payment.due_days == 2
    assert payment.evidence == "days_overdue is 12 (> 7)"
    assert payment.steps == [
        "confirm the invoice status with finance",
        "hold an account review call",
        "agree a payment date in writing",
    ]


def test_no_signals_no_mitigations(playbook):
    assert plan(playbook, days_overdue=0).mitigations == []


@pytest.mark.parametrize(
    ("renewal_in", "started", "status", "talks_in"),
    [
        (180, None, "open_now", 0),  # exactly 180 days before: talks open today
        (100, False, "open_now", -80),
        (0, None, "open_now", -180),  # renewal today
        (181, False, "upcoming", 1),
        (300, None, "upcoming", 120),
        (100, True, "started", -80),
        (300, True, "started", 120),
        (-1, None, "overdue", -181),
        (-1, True, "overdue", -181),
    ],
)
def test_renewal_status(playbook, renewal_in, started, status, talks_in):
    fields = {"renewal_date": AS_OF + timedelta(days=renewal_in)}
    if started is not None:
        fields["renewal_conversation_started"] = started
    renewal = plan(playbook, **fields).renewal
    assert renewal.status == status
    assert renewal.days_to_renewal == renewal_in
    assert renewal.talks_start == AS_OF + timedelta(days=talks_in)
    if status == "upcoming":
        assert renewal.talks_start.isoformat() in renewal.note


def test_renewal_unknown(playbook):
    renewal = plan(playbook).renewal
    assert renewal.status == "unknown"
    assert renewal.renewal_date is None and renewal.days_to_renewal is None
    assert renewal.talks_start is None


def test_data_gaps(playbook):
    result = plan(playbook, weekly_logins=[3], stakeholders=[{"name": "A", "primary": True}])
    notes = {g.signal: g.note for g in result.data_gaps}
    assert list(notes) == [
        "engagement_drop",
        "payment_delay",
        "support_spike",
        "stakeholder_change",
        "performance_plateau",
        "renewal_window",
    ]
    assert notes["payment_delay"] == "payment_delay could not be checked: days_overdue is unknown"
    assert notes["engagement_drop"] == (
        "engagement_drop could not be checked: weekly_logins has 1 weekly value, 2 needed"
    )
    assert notes["support_spike"] == (
        "support_spike could not be checked: weekly_tickets is unknown"
    )
    assert notes["stakeholder_change"] == (
        "stakeholder_change could not be checked: no stakeholder is known to be a primary "
        "contact in the role for 90 days or less, and it is unknown for A (since unknown)"
    )
    [gap] = [g for g in result.data_gaps if g.signal == "stakeholder_change"]
    assert [(p.name, p.unknown) for p in gap.people] == [("A", ["since"])]
    assert notes["renewal_window"] == (
        "renewal_window could not be checked: renewal_date is unknown"
    )
    assert plan(playbook, stakeholders=None).data_gaps[3].note == (
        "stakeholder_change could not be checked: stakeholders is unknown"
    )


def test_stakeholder_data_gap_names_each_undecided_person(playbook):
    # Old Hand: known not primary; Past: primary, 400 days in the role; both decided (no).
    # Vera: primary unknown, 10 days in the role; Gleb: primary, since unknown;
    # Nika: both unknown. Nobody qualifies for certain, so the rule is not evaluated.
    people = [
        {"name": "Old Hand", "primary": False, "since": "2026-11-01"},
        {"name": "Past", "primary": True, "since": (AS_OF - timedelta(days=400)).isoformat()},
        {"name": "Vera", "since": (AS_OF - timedelta(days=10)).isoformat()},
        {"name": "Gleb", "primary": True},
        {"name": "Nika"},
    ]
    [gap] = [
        g for g in plan(playbook, stakeholders=people).data_gaps if g.signal == "stakeholder_change"
    ]
    assert gap.note == (
        "stakeholder_change could not be checked: no stakeholder is known to be a primary "
        "contact in the role for 90 days or less, and it is unknown for Vera (primary unknown), "
        "Gleb (since unknown), Nika (primary and since unknown)"
    )
    assert [(p.name, p.unknown) for p in gap.people] == [
        ("Vera", ["primary"]),
        ("Gleb", ["since"]),
        ("Nika", ["primary", "since"]),
    ]
