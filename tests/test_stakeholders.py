"""Stakeholder map (step 2): cadence, contact status, reporting tree and gaps at their bounds."""

from datetime import timedelta

import pytest

from tests.conftest import AS_OF, make
from tools.planning.stakeholders import map_stakeholders
from tools.scoring.signals import detect_signals


def ago(days: int):
    return AS_OF - timedelta(days=days)


def smap(playbook, people, **fields):
    return map_stakeholders(make(stakeholders=people, **fields), playbook, AS_OF)


def gap_ids(result, person=None):
    return [g.id for g in result.gaps if person is None or g.person == person]


BOARD = [
    {"name": "Anna Petrova", "title": "CMO", "role": "decision_maker", "satisfaction": 8},
    {
        "name": "Ivan",
        "title": "SEO lead",
        "role": "champion",
        "reports_to": "Anna Petrova",
        "satisfaction": 6,
        "engagement": "high",
    },
    {
        "name": "Olga",
        "title": "Analyst",
        "role": "user",
        "reports_to": " ivan ",
        "engagement": "low",
    },
]


@pytest.mark.parametrize("people", [None, []])
def test_unknown_stakeholders(playbook, people):
    result = smap(playbook, people)
    assert result.known is False
    assert (result.people, result.tree, result.tree_lines, result.decision_makers) == (
        [],
        [],
        [],
        [],
    )
    assert result.mean_satisfaction is None
    [gap] = result.gaps
    assert (gap.id, gap.person) == ("stakeholders_unknown", None)
    assert "unknown" in gap.evidence


def test_tree_groups_and_satisfaction(playbook):
    result = smap(playbook, BOARD)
    assert result.known is True
    assert result.tree_lines == [
        "Anna Petrova (CMO, decision_maker)",
        "  └ Ivan (SEO lead, champion)",
        "    └ Olga (Analyst, user)",
    ]
    [root] = result.tree
    assert root.name == "Anna Petrova"
    assert [c.name for c in root.children] == ["Ivan"]
    assert [c.name for c in root.children[0].children] == ["Olga"]
    assert (result.decision_makers, result.champions, result.users) == (
        ["Anna Petrova"],
        ["Ivan"],
        ["Olga"],
    )
    assert (result.influencers, result.detractors, result.unknown_role) == ([], [], [])
    assert (result.mean_satisfaction, result.satisfaction_known) == (7.0, 2)
    assert result.engagement_counts == {"high": 1, "medium": 0, "low": 1, "unknown": 1}
    assert result.tree_notes == []
    assert "no_champion" not in gap_ids(result)
    assert "no_executive_sponsor" not in gap_ids(result)


def test_unknown_manager_is_a_root_with_a_note(playbook):
    result = smap(playbook, [*BOARD, {"name": "Boris", "role": "user", "reports_to": "Nobody"}])
    assert [r.name for r in result.tree] == ["Anna Petrova", "Boris"]
    assert result.tree_lines[-1] == "Boris (user)"
    assert result.tree_notes == [
        "Boris reports to 'Nobody', who is not on the map; shown at the top"
    ]


def test_cycle_is_broken_at_the_first_listed_member(playbook):
    people = [
        {"name": "C", "role": "user", "reports_to": "A"},
        {"name": "A", "role": "decision_maker", "reports_to": "B"},
        {"name": "B", "role": "champion", "reports_to": "A"},
        {"name": "Self", "reports_to": "self"},
    ]
    result = smap(playbook, people)
    assert result.tree_lines == ["A (decision_maker)", "  └ C (user)", "  └ B (champion)", "Self"]
    assert result.tree_notes == [
        "reporting cycle A -> B -> A; shown with A at the top",
        "reporting cycle Self -> Self; shown with Self at the top",
    ]
    assert result.unknown_role == ["Self"]


@pytest.mark.parametrize(
    ("cadence", "days", "source"),
    [
        ("Weekly", 7, "stakeholders.cadence_days.weekly"),
        (" biweekly ", 14, "stakeholders.cadence_days.biweekly"),
        ("QUARTERLY", 90, "stakeholders.cadence_days.quarterly"),
        (None, 30, "stakeholders.default_cadence_days (meeting_cadence unknown)"),
        (
            "fortnightly",
            30,
            "stakeholders.default_cadence_days (meeting_cadence 'fortnightly' not listed)",
        ),
    ],
)
def test_cadence_days(playbook, cadence, days, source):
    [person] = smap(playbook, [{"name": "X", "meeting_cadence": cadence}]).people
    assert (person.cadence_days, person.cadence_source) == (days, source)


@pytest.mark.parametrize(("since_contact", "overdue"), [(6, False), (7, False), (8, True)])
def test_contact_overdue_at_the_cadence_boundary(playbook, since_contact, overdue):
    people = [{"name": "Ivan", "meeting_cadence": "weekly", "last_contact": ago(since_contact)}]
    result = smap(playbook, people)
    [person] = result.people
    assert person.days_since_contact == since_contact
    assert person.next_contact_due == ago(since_contact) + timedelta(days=7)
    assert person.contact_overdue is overdue
    assert ("contact_overdue" in gap_ids(result, "Ivan")) is overdue


def test_contact_overdue_evidence_and_default_cadence(playbook):
    result = smap(playbook, [{"name": "Ivan", "last_contact": ago(31)}])
    [gap] = [g for g in result.gaps if g.id == "contact_overdue"]
    assert (gap.severity, gap.person) == ("medium", "Ivan")
    assert "31 days ago, over the 30-day cadence" in gap.evidence
    assert ago(1).isoformat() in gap.evidence  # next contact was due 30 days after the last


def test_unknown_last_contact_is_not_a_gap(playbook):
    result = smap(playbook, [{"name": "Ivan", "meeting_cadence": "weekly"}])
    [person] = result.people
    assert (person.days_since_contact, person.next_contact_due, person.contact_overdue) == (
        None,
        None,
        None,
    )
    assert result.contact_unknown == ["Ivan"]
    assert "contact_overdue" not in gap_ids(result)


@pytest.mark.parametrize(
    ("days", "fires"), [(0, True), (89, True), (90, True), (91, False), (400, False), (-1, False)]
)
def test_new_primary_contact_is_the_stakeholder_change_window(playbook, days, fires):
    # SPEC 4: "within the last 90 days", both ends included; the same rule as the signal
    people = [{"name": "Ivan", "primary": True, "since": ago(days)}]
    result = smap(playbook, people)
    assert result.people[0].days_in_role == days
    assert result.primary_contact == "Ivan"
    assert ("new_primary_contact" in gap_ids(result, "Ivan")) is fires
    signals = detect_signals(make(stakeholders=people), playbook, AS_OF)
    assert ("stakeholder_change" in [s.id for s in signals.fired]) is fires
    if fires:
        [gap] = [g for g in result.gaps if g.id == "new_primary_contact"]
        assert gap.evidence == (
            f"primary contact Ivan in role since {ago(days).isoformat()} ({days} days, within "
            "signals.stakeholder_change.within_days 90)"
        )


def test_new_non_primary_is_not_a_gap(playbook):
    result = smap(playbook, [{"name": "Ivan", "primary": False, "since": ago(5)}])
    assert "new_primary_contact" not in gap_ids(result)
    assert result.primary_contact is None


def test_role_gaps(playbook):
    result = smap(playbook, [{"name": "Olga", "role": "user"}])
    gaps = {g.id: g for g in result.gaps}
    assert gaps["no_champion"].severity == "high"
    assert gaps["no_executive_sponsor"].severity == "high"
    assert gaps["no_champion"].person is None
    assert "none of 1 stakeholders" in gaps["no_executive_sponsor"].evidence


@pytest.mark.parametrize(
    ("detractor", "extra", "reason"),
    [
        ({"reports_to": None}, [], "at the top of the reporting tree"),
        ({"reports_to": "Mystery"}, [], "at the top of the reporting tree"),
        ({"reports_to": "Anna Petrova"}, [], "reports directly to Anna Petrova (decision_maker)"),
        (
            {"reports_to": "Olga"},
            [{"name": "Dev", "role": "user", "reports_to": "Denis"}],
            "has direct reports: Dev",
        ),
    ],
)
def test_influential_detractor(playbook, detractor, extra, reason):
    people = [*BOARD, {"name": "Denis", "role": "detractor", **detractor}, *extra]
    [gap] = [g for g in smap(playbook, people).gaps if g.id == "influential_detractor"]
    assert (gap.person, gap.severity) == ("Denis", "high")
    assert reason in gap.evidence


def test_detractor_deep_in_the_tree_is_not_influential(playbook):
    people = [*BOARD, {"name": "Denis", "role": "detractor", "reports_to": "Olga"}]
    result = smap(playbook, people)
    assert result.detractors == ["Denis"]
    assert "influential_detractor" not in gap_ids(result)
