"""Success plan (step 3): KPIs, objectives, QBR, milestones, next actions, onboarding, industry."""

from datetime import date, timedelta

import pytest
import yaml

from tests.conftest import AS_OF, make
from tools.planning.stakeholders import map_stakeholders
from tools.planning.success_plan import build_success_plan, quarter_label
from tools.playbook import default_playbook_path, parse_playbook
from tools.portfolio.readers import read_portfolio
from tools.scoring.score import score_account

HORIZON_END = date(2027, 2, 18)  # AS_OF 2026-11-20 + 90 days
TEAM = [
    {"name": "Anna", "title": "CMO", "role": "decision_maker", "last_contact": AS_OF},
    {"name": "Ivan", "role": "champion", "reports_to": "Anna", "primary": True},
]


def days(n: int) -> date:
    return AS_OF + timedelta(days=n)


def plan(playbook, as_of=AS_OF, **fields):
    account = make(**fields)
    score = score_account(account, playbook, as_of)
    people = map_stakeholders(account, playbook, as_of)
    return build_success_plan(account, score, people, playbook, as_of)


def kpi(result, kpi_id):
    return next(k for k in result.kpis if k.id == kpi_id)


def with_next_action_days(n: int):
    data = yaml.safe_load(default_playbook_path().read_text(encoding="utf-8"))
    data["success_plan"]["next_action_days"] = n
    return parse_playbook(data)


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2026, 1, 1), "Q1 2026"),
        (date(2026, 3, 31), "Q1 2026"),
        (date(2026, 4, 1), "Q2 2026"),
        (AS_OF, "Q4 2026"),
    ],
)
def test_quarter_label(day, label):
    assert quarter_label(day) == label


def test_header(playbook):
    result = plan(playbook, name="Lavka")
    assert (result.client, result.quarter, result.horizon_end) == ("Lavka", "Q4 2026", HORIZON_END)


# --- KPIs ---


@pytest.mark.parametrize(
    ("score", "target", "met"),
    [(55, 75.0, False), (86, 100.0, False), (80, 100.0, False), (100, 100.0, True)],
)
def test_technical_score_gain_is_capped_at_target(playbook, score, target, met):
    k = kpi(plan(playbook, technical_score=score), "technical_score")
    assert (k.baseline, k.target, k.met) == (score, target, met)


def test_organic_traffic_growth_pct(playbook):
    k = kpi(plan(playbook, organic_traffic=120_000), "organic_traffic")
    assert (k.baseline, k.target, k.met) == (120_000, 138_000.0, False)


def test_unknown_baseline(playbook):
    result = plan(playbook)
    traffic, csat = kpi(result, "organic_traffic"), kpi(result, "csat")
    assert (traffic.baseline, traffic.target, traffic.met) == (None, None, None)
    assert (csat.baseline, csat.target) == (None, 8.5)  # a fixed target stays known
    assert any(n.startswith("Organic traffic: organic_traffic unknown") for n in result.notes)
    assert any("Organic traffic" in a.action for a in result.next_actions)


def test_score_kpis(playbook):
    result = plan(playbook, mrr=345_000)  # churn 31.0 (medium); health 34.5 (contract value)
    churn, health = kpi(result, "churn_risk"), kpi(result, "health_score")
    assert (churn.baseline, churn.target, churn.lower_is_better, churn.met) == (
        31.0,
        30,
        True,
        False,
    )
    assert (health.baseline, health.target, health.met) == (34.5, 70, False)
    assert kpi(plan(playbook, mrr=500_000), "churn_risk").met is True  # churn 0 <= 30


# --- objectives ---


def test_high_risk_objectives(playbook):
    # mrr 100,000: churn 80 (high); health 10 (red), its only component financial 10.
    result = plan(playbook, mrr=100_000, renewal_date=days(100), renewal_conversation_started=False)
    assert [(o.rank, o.id) for o in result.objectives] == [
        ("primary", "reduce_churn_risk"),
        ("secondary", "protect_renewal"),
        ("tertiary", "raise_weakest_component"),
    ]
    primary = result.objectives[0]
    assert primary.criterion == "churn risk from 80 (high) to 30 or below by 2027-02-18"
    assert (primary.baseline, primary.target, primary.due) == (80.0, 30.0, HORIZON_END)
    assert result.objectives[1].due == days(100)
    assert "100 days ahead" in result.objectives[1].criterion
    assert result.objectives[2].criterion.startswith("Financial health from 10 to 70 or above")


def test_low_risk_grows_through_the_best_opportunity(playbook):
    # mrr 800,000: churn 0 (low), health 80 (green); technical_score 55 matches technical SEO.
    result = plan(playbook, mrr=800_000, technical_score=55, stakeholders=TEAM)
    assert [o.id for o in result.objectives] == [
        "grow_via_opportunity",
        "grow_organic_traffic",
        "sustain_health",
    ]
    grow = result.objectives[0]
    assert "+500000 RUB/month (expected value 325000 RUB/month at probability 0.65)" in (
        grow.criterion
    )
    assert (grow.baseline, grow.target) == (800_000, 1_300_000)
    [offer] = [i for i in result.initiatives if i.source == "opportunities.technical_seo"]
    assert offer.end == offer.start + timedelta(weeks=12)
    assert "client developer hours for the fixes" in offer.resources


def test_expansion_is_held_for_high_risk(playbook):
    # mrr 100,000: churn (400,000 / 500,000) x 100 = 80 alone, tier high (61-80). Matched:
    # local SEO (8 > 5 locations), 200,000 = 2 x MRR, recommended (max_price_to_mrr 2), and
    # technical SEO, not: with local SEO, +700,000 is 7 x MRR.
    result = plan(playbook, mrr=100_000, technical_score=55, locations=8)
    assert "grow_via_opportunity" not in [o.id for o in result.objectives]
    assert not [i for i in result.initiatives if i.source.startswith("opportunities.")]
    # the tier's four interventions are one initiative, not four with the same description
    [only] = result.initiatives
    assert only.name == "high churn-risk interventions"
    assert only.description == (
        "emergency audit of the whole engagement; director-level involvement; custom "
        "solutions; special pricing or terms (churn risk 80, tier high)"
    )
    assert only.timeline.endswith("immediate, leadership involved: contact every day")
    assert any("expansion on hold" in n and "local_seo" in n for n in result.notes)
    assert not any("technical_seo" in n for n in result.notes)


def test_unknown_account_still_gets_three_objectives(playbook):
    result = plan(playbook)
    assert [o.id for o in result.objectives] == [
        "close_stakeholder_gaps",
        "grow_organic_traffic",
        "sustain_health",
    ]


# --- QBR ---


@pytest.mark.parametrize(
    ("last", "status", "planned", "overdue"),
    [
        (60, "due", days(30), None),
        (90, "due", AS_OF, None),
        (91, "overdue", days(7), 1),
        (200, "overdue", days(7), 110),
    ],
)
def test_qbr_due_and_overdue(playbook, last, status, planned, overdue):
    q = plan(playbook, last_qbr_date=days(-last)).qbr
    assert (q.status, q.date, q.days_overdue) == (status, planned, overdue)
    assert q.due_date == days(-last) + timedelta(days=90)


def test_qbr_unknown_and_first_after_onboarding(playbook):
    unknown = plan(playbook).qbr
    assert (unknown.status, unknown.date, unknown.due_date) == ("unknown", days(7), None)
    new = plan(playbook, contract_start=days(-30)).qbr
    assert (new.status, new.date) == ("due", days(60))
    result = plan(playbook, last_qbr_date=days(-100))
    assert any(a.action == f"schedule the QBR for {days(7)}" for a in result.next_actions)
    [m] = [m for m in result.milestones if m.source == "qbr.cadence_days"]
    assert m.date == days(7) and "overdue since" in m.description


def test_qbr_agenda_carries_the_accounts_figures(playbook):
    result = plan(playbook, mrr=800_000, technical_score=55, content_score=48, organic_traffic=2000)
    sections = result.qbr.sections
    assert [s.id for s in sections] == [
        "executive_summary",
        "performance_deep_dive",
        "strategic_roadmap",
        "open_discussion",
    ]
    assert sum(s.minutes for s in sections) == result.qbr.minutes == 60
    lines = {item.text: item.line for s in sections for item in s.items}
    assert "health score 80 (green)" in lines["progress against strategic goals"]
    assert "churn risk 0 (low)" in lines["risks and mitigation"]
    assert lines["technical health"].startswith(
        "technical health: technical score 55/100; target 75"
    )
    assert "content score 48/100" in lines["content performance"]
    assert (
        "organic traffic 2000 visits/month; target 2300 visits/month"
        in (lines["traffic and organic growth trend"])
    )
    # 2,000 visits x 15% x 30 x 12 = 108,000 against 6,000,000: ROI -98.2%, not recommended
    assert lines["investment recommendations and budget"] == (
        "investment recommendations and budget: not recommended now: technical_seo "
        "(expansion.recommend)"
    )
    assert lines["stakeholder feedback"] == "stakeholder feedback: stakeholders unknown"


# --- milestones ---


@pytest.mark.parametrize(
    ("renewal", "started", "talks"), [(200, False, True), (300, False, False), (200, True, False)]
)
def test_renewal_talks_milestone(playbook, renewal, started, talks):
    result = plan(playbook, renewal_date=days(renewal), renewal_conversation_started=started)
    found = [m.date for m in result.milestones if m.source == "signals.renewal_window.within_days"]
    assert found == ([days(renewal - 180)] if talks else [])


def test_milestones_are_inside_the_horizon_and_sorted(playbook):
    result = plan(playbook, contract_start=days(-20), renewal_date=days(45), stakeholders=TEAM)
    dates = [m.date for m in result.milestones]
    assert dates == sorted(dates)
    assert all(AS_OF <= d <= HORIZON_END for d in dates)
    assert (days(45), "contract renewal date") in [
        (m.date, m.description) for m in result.milestones
    ]
    approved = [m for m in result.milestones if m.source.endswith("strategy_approved")]
    assert [(m.date, m.owner) for m in approved] == [(days(1), "Ivan")]  # primary contact


# --- next actions and industry ---


def test_next_action_due_days(playbook):
    low = plan(playbook, mrr=800_000)
    assert (low.next_action_days, low.next_action_rule) == (7, "success_plan.next_action_days 7")
    assert {a.due for a in low.next_actions} == {days(7)}
    high = plan(playbook, mrr=100_000)
    assert high.next_action_days == 1
    assert high.next_action_rule.startswith("churn_risk.tiers.high.cadence_days 1")
    assert {a.due for a in high.next_actions} == {days(1)}
    owners = {a.owner for a in high.next_actions}
    assert "agency director" in owners


def test_signal_mitigation_due_days_tighten(playbook):
    result = plan(playbook, mrr=800_000, days_overdue=10)
    [action] = [a for a in result.next_actions if a.action == "account review call"]
    assert (action.due, action.owner) == (days(2), "account CSM with finance")
    assert result.next_actions[0] == action  # sorted by due date


@pytest.mark.parametrize(
    ("industry", "due_days", "rule"),
    [
        ("ecommerce", 7, "success_plan.industries.ecommerce.review_cadence_days 7"),
        ("saas", 14, "success_plan.next_action_days 14"),
        ("other", 14, "success_plan.next_action_days 14"),
    ],
)
def test_industry_cadence_tightens_next_actions(industry, due_days, rule):
    playbook = with_next_action_days(14)
    result = plan(playbook, industry=industry)
    assert result.next_action_days == due_days
    assert result.next_action_rule.startswith(rule)
    assert {a.due for a in result.next_actions} == {days(due_days)}
    assert result.qbr.date == days(14)  # unknown QBR: as soon as possible


def test_industry_adaptation(playbook):
    shop = plan(playbook, industry="ecommerce").industry
    assert (shop.id, shop.label, shop.review_cadence_days, shop.peak_quarter) == (
        "ecommerce",
        "E-commerce",
        7,
        4,
    )
    assert shop.in_peak_quarter is True  # November is in Q4
    assert "conversion rate" in shop.kpis
    saas = plan(playbook, industry="saas").industry
    assert (saas.review_cadence_days, saas.in_peak_quarter) == (30, None)
    assert plan(playbook, industry="local").industry is None


# --- onboarding ---


@pytest.mark.parametrize(
    ("day", "phase", "start", "end"),
    [
        (0, "foundation", 0, 30),
        (30, "foundation", 0, 30),
        (31, "implementation", 31, 60),
        (60, "implementation", 31, 60),
        (61, "optimisation", 61, 90),
        (89, "optimisation", 61, 90),
    ],
)
def test_onboarding_phase_by_day(playbook, day, phase, start, end):
    onboarding = plan(playbook, contract_start=days(-day)).onboarding
    assert (onboarding.day, onboarding.phase) == (day, phase)
    assert (onboarding.phase_start, onboarding.phase_end) == (days(start - day), days(end - day))
    assert onboarding.ends == days(90 - day)
    assert len(onboarding.deliverables) == 4


def test_onboarding_ends_after_90_days(playbook):
    assert plan(playbook, contract_start=days(-90)).onboarding is None
    assert plan(playbook).onboarding is None


def test_onboarding_criterion_dates_and_statuses(playbook):
    onboarding = plan(playbook, contract_start=days(-30)).onboarding
    status = {c.id: (c.due_date, c.status) for c in onboarding.criteria}
    assert status["first_report"] == (days(-16), "due_unverified")
    assert status["strategy_approved"] == (days(-9), "due_unverified")
    assert status["implementation_started"] == (AS_OF, "upcoming")  # due today
    assert status["technical_score_gain"] == (days(30), "upcoming")
    assert status["renewal_probability"] == (days(60), "upcoming")
    assert len(status) == 9


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        (
            {"stakeholders": [{"name": "A", "satisfaction": 8}, {"name": "B", "satisfaction": 6}]},
            "met",
        ),  # mean 7 >= 7
        (
            {
                "stakeholders": [
                    {"name": "A", "satisfaction": 6},
                    {"name": "B", "satisfaction": 7},
                ],
                "csat": 9,
            },
            "not_met",
        ),  # mean 6.5 < 7; stakeholders win over csat
        ({"csat": 7.5}, "met"),
        ({"csat": 6.9}, "not_met"),
        ({}, "upcoming"),
    ],
)
def test_stakeholder_satisfaction_criterion(playbook, fields, status):
    onboarding = plan(playbook, contract_start=days(-40), **fields).onboarding
    [criterion] = [c for c in onboarding.criteria if c.id == "stakeholder_satisfaction"]
    assert criterion.status == status


def test_satisfaction_criterion_past_due_without_data(playbook):
    onboarding = plan(playbook, contract_start=days(-61)).onboarding
    [criterion] = [c for c in onboarding.criteria if c.id == "stakeholder_satisfaction"]
    assert (criterion.due_date, criterion.status) == (days(-1), "due_unverified")


@pytest.mark.parametrize(
    ("day", "late", "owner"), [(15, 1, "account CSM"), (30, 2, "CSM team lead")]
)
def test_late_onboarding_criteria_action(playbook, day, late, owner):
    result = plan(playbook, contract_start=days(-day))
    [action] = [a for a in result.next_actions if "late onboarding criteria" in a.action]
    assert action.action.startswith(f"confirm or recover {late} late onboarding criteria")
    assert action.owner == owner


def test_sample_portfolio_plans(playbook):
    for account in read_portfolio().accounts:
        score = score_account(account, playbook, AS_OF)
        people = map_stakeholders(account, playbook, AS_OF)
        result = build_success_plan(account, score, people, playbook, AS_OF)
        assert len(result.objectives) == 3
        assert len({o.id for o in result.objectives}) == 3
        assert all(AS_OF <= m.date <= HORIZON_END for m in result.milestones)
        assert result.next_actions and all(a.due >= AS_OF for a in result.next_actions)


def test_contract_not_started_yet(playbook):
    result = plan(playbook, contract_start=days(10))
    assert (result.onboarding.day, result.onboarding.phase) == (-10, None)
    assert result.onboarding.deliverables == []
    assert (result.qbr.status, result.qbr.date) == ("scheduled", days(100))  # after the horizon
    assert "quarterly business review" not in [m.description[:25] for m in result.milestones]


# --- the QBR's achievements: only what went well --------------------------------------------


def figures(result, item_id):
    return [f for s in result.qbr.sections for i in s.items if i.id == item_id for f in i.parts]


@pytest.mark.parametrize(("before", "achievements"), [
    # mrr 800,000 alone: health 80 (financial 80, the only known component), churn 0; both
    # KPIs met (health 70 or above, churn 30 or below)
    (70, ["health_gain", "kpi_met:churn_risk"]),  # up 10: the gain, not the KPI again
    (79.5, ["health_gain", "kpi_met:churn_risk"]),
    (80, ["kpi_met:health_score", "kpi_met:churn_risk"]),  # unchanged: no gain to show
    (90, ["kpi_met:health_score", "kpi_met:churn_risk"]),  # fell: a trend, not an achievement
])
def test_achievements_never_show_a_falling_score(playbook, before, achievements):
    result = plan(playbook, mrr=800_000, history=[{"date": "2026-10-01", "health_score": before}])
    shown = [f"{f.id}:{f.key}" if f.key else f.id for f in figures(result, "achievements")]
    assert shown == achievements
    trend = next(f for f in figures(result, "strategic_goals") if f.id == "health_trend")
    assert (trend.value, trend.previous, trend.change) == (80, before, round(80 - before, 2))


def test_no_achievement_on_record(playbook):
    # mrr 100,000: health 10, churn 80, no KPI met, no history, no measurable gain known
    result = plan(playbook, mrr=100_000)
    assert [f.id for f in figures(result, "achievements")] == ["no_achievement"]
    # a gain within the quarter (qbr.cadence_days 90) is one; an older one is not
    recent = plan(playbook, mrr=100_000, days_since_improvement=90)
    assert [(f.id, f.value) for f in figures(recent, "achievements")] == [("last_gain_days", 90)]
    old = plan(playbook, mrr=100_000, days_since_improvement=91)
    assert [f.id for f in figures(old, "achievements")] == ["no_achievement"]
