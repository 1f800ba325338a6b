"""Early-warning signals (SPEC 4) and the expansion matrix (SPEC 5) at and around thresholds."""

from datetime import timedelta

import pytest

from tests.conftest import AS_OF, make
from tools.scoring.expansion import match_opportunities
from tools.scoring.signals import detect_signals


def fired(playbook, **fields):
    return [s.id for s in detect_signals(make(**fields), playbook, AS_OF).fired]


def not_evaluated(playbook, **fields):
    return detect_signals(make(**fields), playbook, AS_OF).not_evaluated


@pytest.mark.parametrize(
    ("series", "fires"),
    [([5, 1, 1], True), ([5, 1, 2], False), ([1, 5, 0], False), ([0, 0], True), ([2, 2], False)],
)
def test_engagement_drop(playbook, series, fires):
    assert ("engagement_drop" in fired(playbook, weekly_logins=series)) is fires


def test_engagement_drop_needs_two_weeks(playbook):
    assert "engagement_drop" in not_evaluated(playbook, weekly_logins=[0])
    assert "engagement_drop" in not_evaluated(playbook)


@pytest.mark.parametrize(
    ("series", "fires"), [([0, 6, 6], True), ([6, 5], False), ([9, 6, 5], False), ([6, 7], True)]
)
def test_support_spike(playbook, series, fires):
    assert ("support_spike" in fired(playbook, weekly_tickets=series)) is fires


@pytest.mark.parametrize(("days", "fires"), [(7, False), (8, True), (0, False)])
def test_payment_delay(playbook, days, fires):
    assert ("payment_delay" in fired(playbook, days_overdue=days)) is fires


@pytest.mark.parametrize(("days", "fires"), [(60, False), (61, True)])
def test_performance_plateau(playbook, days, fires):
    assert ("performance_plateau" in fired(playbook, days_since_improvement=days)) is fires


@pytest.mark.parametrize(("age", "fires"), [(90, True), (91, False), (0, True), (-1, False)])
def test_stakeholder_change(playbook, age, fires):
    people = [
        {"name": "New Boss", "primary": True, "since": (AS_OF - timedelta(days=age)).isoformat()},
        {"name": "Old Hand", "primary": False, "since": "2020-01-01"},
    ]
    assert ("stakeholder_change" in fired(playbook, stakeholders=people)) is fires


def test_stakeholder_change_unknown_without_primary_since(playbook):
    assert "stakeholder_change" in not_evaluated(
        playbook, stakeholders=[{"name": "A", "primary": True}]
    )


def _person(name, primary=None, age=None):
    person = {"name": name, "primary": primary}
    if age is not None:
        person["since"] = (AS_OF - timedelta(days=age)).isoformat()
    return person


@pytest.mark.parametrize(
    ("people", "outcome"),
    [
        # SPEC 6 over the people: fires when someone is known to qualify; evaluated (quiet) when
        # everyone is known not to; otherwise not evaluated.
        ([_person("A", False, 5)], "quiet"),  # a non-primary with a date is known not to qualify
        ([_person("A", False)], "quiet"),  # known not primary: since does not matter
        ([_person("A", True, 400), _person("B", True)], "unknown"),  # B primary, since unknown
        ([_person("A", None, 10)], "unknown"),  # new in the role, primary unknown
        ([_person("A", None, 400)], "quiet"),  # whatever primary is, 400 days is not new
        ([_person("A", None, -1)], "quiet"),  # since after as_of: outside the window
        ([_person("A")], "unknown"),
        ([_person("A", True, 90), _person("B")], "fired"),  # one known case is enough
        ([_person("A", True, 91), _person("B", False, 3)], "quiet"),
        ([], "unknown"),  # no stakeholders listed: unknown, as in the stakeholder map
        (None, "unknown"),
    ],
)
def test_stakeholder_change_three_valued(playbook, people, outcome):
    result = detect_signals(make(stakeholders=people), playbook, AS_OF)
    fired_now = "stakeholder_change" in [s.id for s in result.fired]
    unknown = "stakeholder_change" in result.not_evaluated
    assert {"fired": (True, False), "quiet": (False, False), "unknown": (False, True)}[outcome] == (
        fired_now,
        unknown,
    )


@pytest.mark.parametrize(
    ("ahead", "started", "fires"),
    [
        (180, False, True),
        (181, False, False),
        (0, None, True),
        (-1, False, False),
        (100, True, False),
        (100, None, True),
    ],
)
def test_renewal_window(playbook, ahead, started, fires):
    fields = {"renewal_date": AS_OF + timedelta(days=ahead)}
    if started is not None:
        fields["renewal_conversation_started"] = started
    assert ("renewal_window" in fired(playbook, **fields)) is fires


def test_signal_carries_severity_action_evidence(playbook):
    [signal] = detect_signals(make(days_overdue=12), playbook, AS_OF).fired
    assert (signal.severity, signal.action) == ("high", "account review call")
    assert "12" in signal.evidence and "7" in signal.evidence


def opportunities(playbook, **fields):
    return match_opportunities(make(**fields), playbook)


@pytest.mark.parametrize(
    ("fields", "matches"),
    [
        ({"mrr": 999_999, "technical_score": 69}, True),
        ({"mrr": 1_000_000, "technical_score": 69}, False),
        ({"mrr": 999_999, "technical_score": 70}, False),
    ],
)
def test_technical_seo(playbook, fields, matches):
    assert ("technical_seo" in [o.id for o in opportunities(playbook, **fields).matched]) is matches


@pytest.mark.parametrize(
    ("opp", "fields", "matches"),
    [
        ("content_marketing", {"content_score": 59, "organic_traffic": 100_001}, True),
        ("content_marketing", {"content_score": 60, "organic_traffic": 200_000}, False),
        ("content_marketing", {"content_score": 40, "organic_traffic": 100_000}, False),
        ("link_building", {"domain_authority": 49, "budget": 2_000_001}, True),
        ("link_building", {"domain_authority": 50, "budget": 3_000_000}, False),
        ("link_building", {"domain_authority": 20, "budget": 2_000_000}, False),
        ("local_seo", {"locations": 6}, True),
        ("local_seo", {"locations": 5}, False),
    ],
)
def test_other_offers(playbook, opp, fields, matches):
    assert (opp in [o.id for o in opportunities(playbook, **fields).matched]) is matches


def test_offer_values(playbook):
    [opp] = opportunities(playbook, content_score=10, organic_traffic=500_000).matched
    assert (opp.offer, opp.price, opp.probability) == ("premium content strategy", 300_000, 0.55)
    assert (opp.expected_value, opp.annual_value, opp.expected_annual_value) == (
        165_000.0,
        3_600_000.0,
        1_980_000.0,
    )
    assert "content_score 10 < 60" in opp.evidence


def test_unknown_inputs_three_valued(playbook):
    result = opportunities(playbook, mrr=2_000_000)  # technical_score unknown, but mrr settles it
    assert "technical_seo" not in result.not_evaluated
    result = opportunities(playbook, mrr=300_000)  # mrr holds, technical_score unknown
    assert "technical_seo" in result.not_evaluated and result.matched == []
