"""Expansion proposal (step 4): ROI by the traffic-value method, hold tiers, phases, timing."""

import json
from datetime import date, timedelta

import pytest

from tests.conftest import AS_OF, make
from tools.planning.forecast import forecast_account
from tools.planning.proposal import build_expansion_proposal, proposal_timing
from tools.portfolio.account import Account
from tools.portfolio.readers import read_portfolio
from tools.scoring.score import score_account


def propose(playbook, as_of=AS_OF, **fields):
    account = make(**fields)
    return build_expansion_proposal(
        account, score_account(account, playbook, as_of), playbook, as_of
    )


# mrr alone decides the churn score: risk = (500000 - mrr) / 500000 x 100.
LOW, MEDIUM, HIGH, CRITICAL = 400_000, 300_000, 150_000, 50_000  # 20, 40, 70, 90


def test_roi_traffic_value_method(playbook):
    proposal = propose(playbook, mrr=MEDIUM, technical_score=50, organic_traffic=200_000)
    (offer,) = proposal.offers
    assert offer.id == "technical_seo"
    assert offer.investment_monthly == 500_000
    assert offer.investment_total == 6_000_000  # 500,000 x 12
    roi = offer.roi
    assert roi.added_visits_monthly == 30_000  # 200,000 x 15 / 100
    assert roi.benefit == 10_800_000  # 30,000 x 30 x 12
    assert roi.investment == 6_000_000
    assert roi.roi_pct == 80.0  # (10.8M - 6M) / 6M x 100
    assert roi.horizon_months == 12
    assert "200000 x 15 / 100 = 30000" in roi.method
    assert "(10800000 - 6000000) / 6000000 x 100 = 80%" in roi.method
    assert offer.benefits[0] == "+30000 organic visits a month (15% of 200000)"
    assert any("10800000 RUB over 12 months" in line for line in offer.benefits)
    assert offer.problem == "technical issues hold back crawling, indexing and rankings"
    assert offer.evidence == "mrr 300000 < 1000000; technical_score 50 < 70"
    assert (offer.probability, offer.expected_value) == (0.65, 325_000)


def test_roi_content_marketing_and_negative_roi(playbook):
    # 150,000 x 20% = 30,000 visits x 30 x 12 = 10.8M vs 300,000 x 12 = 3.6M -> 200%
    (content,) = propose(playbook, content_score=50, organic_traffic=150_000).offers
    assert content.roi.roi_pct == 200.0
    # 96,000 x 15% = 14,400 x 30 x 12 = 5,184,000 vs 6M -> -13.6%: matched, priced, and not
    # recommended (expansion.recommend.min_roi_pct 0), so not proposed
    proposal = propose(playbook, mrr=MEDIUM, technical_score=50, organic_traffic=96_000)
    assert proposal.offers == [] and proposal.expected_expansion_monthly == 0
    (tech,) = proposal.not_recommended
    assert tech.roi.roi_pct == -13.6
    assert (tech.recommended, tech.fit.failed) == (False, ["roi"])
    assert tech.start_date is None  # not proposed, so not dated
    assert tech.fit.reason.startswith("not recommended now: expected ROI -13.6%")


def test_roi_unknown_without_organic_traffic(playbook):
    (offer,) = propose(playbook, mrr=MEDIUM, technical_score=50).offers
    assert offer.roi.roi_pct is None
    assert offer.roi.benefit is None and offer.roi.added_visits_monthly is None
    assert offer.roi.investment == 6_000_000
    assert "organic_traffic is unknown" in offer.roi.method
    assert "organic_traffic is unknown" in offer.benefits[0]


@pytest.mark.parametrize(
    ("mrr", "tier", "hold"),
    [
        (LOW, "low", False),
        (MEDIUM, "medium", False),
        (HIGH, "high", True),
        (CRITICAL, "critical", True),
    ],
)
def test_hold_tiers(playbook, mrr, tier, hold):
    # local SEO (8 > 5 locations), 200,000 a month: recommended up to 2 x MRR, so at every
    # tier here but critical (50,000: 4 x MRR), where it is matched and not recommended
    proposal = propose(playbook, mrr=mrr, locations=8)
    assert proposal.tier == tier
    assert proposal.hold is hold
    ranked = proposal.offers + proposal.not_recommended
    assert len(ranked) == 1  # offers are still priced while held
    assert ranked[0].recommended is (mrr != CRITICAL)
    if hold:
        assert "expansion.hold_tiers" in proposal.hold_reason
        assert proposal.timing.basis == "hold"
        assert proposal.timing.proposal_date is None
        assert "after the account returns to medium or low risk" in proposal.timing.rationale
        phases = ranked[0].phases
        assert all(p.start is None and p.end is None for p in phases)
        assert [(p.start_week, p.end_week) for p in phases] == [(1, 2), (3, 8), (9, 12)]
    else:
        assert proposal.hold_reason is None
        assert proposal.timing.proposal_date is not None


def test_unknown_tier_is_not_held(playbook):
    proposal = propose(playbook, locations=8)
    assert proposal.tier is None and proposal.hold is False
    assert [o.id for o in proposal.offers] == ["local_seo"]


def test_phase_dates_are_consecutive_from_the_proposal_date(playbook):
    # no renewal date: propose on the 1st of the next budget month, 2027-10-01
    (offer,) = propose(playbook, mrr=MEDIUM, technical_score=50).offers
    assert [(p.start, p.end, p.weeks) for p in offer.phases] == [
        (date(2027, 10, 1), date(2027, 10, 14), 2),
        (date(2027, 10, 15), date(2027, 11, 25), 6),
        (date(2027, 11, 26), date(2027, 12, 23), 4),
    ]
    assert (offer.start_date, offer.end_date) == (date(2027, 10, 1), date(2027, 12, 23))
    assert offer.timeline_weeks == 12


@pytest.mark.parametrize(
    ("renewal_in", "basis", "proposal_date"),
    [
        (100, "renewal", AS_OF),  # talks opened 80 days ago: bundle now
        (180, "renewal", AS_OF),  # talks open today
        (0, "renewal", AS_OF),  # renewal today, window still open
        (270, "renewal", AS_OF + timedelta(days=90)),  # talks open in exactly 90 days
        (271, "budget_planning", date(2027, 10, 1)),  # talks open in 91 days
        (-1, "budget_planning", date(2027, 10, 1)),  # renewal passed
        (None, "budget_planning", date(2027, 10, 1)),  # renewal unknown
    ],
)
def test_timing_renewal_window_or_budget_month(playbook, renewal_in, basis, proposal_date):
    fields = {"mrr": MEDIUM, "technical_score": 50}
    if renewal_in is not None:
        fields["renewal_date"] = AS_OF + timedelta(days=renewal_in)
    timing = propose(playbook, **fields).timing
    assert (timing.basis, timing.proposal_date) == (basis, proposal_date)
    assert timing.proposal_date >= AS_OF
    if basis == "renewal":
        assert "renewal conversation" in timing.rationale
    else:
        assert "expansion.budget_planning_month 10" in timing.rationale


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2026, 3, 15), date(2026, 10, 1)),  # this year
        (date(2026, 10, 1), date(2026, 10, 1)),  # the day itself
        (date(2026, 10, 2), date(2027, 10, 1)),  # passed: next year
        (date(2026, 12, 31), date(2027, 10, 1)),  # year rollover
    ],
)
def test_budget_month_this_year_or_next(playbook, as_of, expected):
    timing = propose(playbook, as_of=as_of, mrr=MEDIUM, technical_score=50).timing
    assert (timing.basis, timing.proposal_date) == ("budget_planning", expected)


def test_current_state(playbook):
    people = [
        {"name": "Ivan", "title": "Analyst", "role": "user"},
        {"name": "Olga", "title": "Head of Marketing", "role": "champion"},
        {"name": "Petr", "title": "Marketing Manager", "role": "influencer", "primary": True},
        {"name": "Anna", "title": "CEO", "role": "decision_maker"},
    ]
    state = propose(
        playbook,
        mrr=345_000,
        active_seats=8,
        licensed_seats=10,
        feature_adoption_pct=55,
        weekly_logins=[9, 1, 2, 3, 6],
        stakeholders=people,
    ).current_state
    assert state.arr == 4_140_000  # 345,000 x 12
    assert state.usage.seat_usage_pct == 80.0
    assert state.usage.feature_adoption_pct == 55
    assert state.usage.weekly_logins_mean == 3.0  # mean of 1, 2, 3, 6
    assert state.usage.weekly_logins_weeks == 4
    assert [(c.name, c.title, c.role, c.primary) for c in state.key_contacts] == [
        ("Anna", "CEO", "decision_maker", False),
        ("Olga", "Head of Marketing", "champion", False),
        ("Petr", "Marketing Manager", "influencer", True),
    ]


def test_current_state_unknowns(playbook):
    state = propose(playbook, licensed_seats=10).current_state
    assert state.mrr is None and state.arr is None
    assert state.usage.seat_usage_pct is None
    assert state.usage.weekly_logins_mean is None and state.usage.weekly_logins_weeks == 0
    assert state.key_contacts == []


def test_totals_and_not_evaluated(playbook):
    # mrr 600,000 (churn 0): local SEO (200,000, 0.33 x MRR) and technical SEO (with it
    # +700,000, 1.17 x MRR) both fit; ROI and budget unknown, so not checked
    proposal = propose(playbook, mrr=600_000, technical_score=50, locations=8, content_score=40)
    assert [o.id for o in proposal.offers] == ["local_seo", "technical_seo"]  # cheaper first
    assert proposal.not_recommended == []
    assert proposal.expected_expansion_monthly == 465_000  # 500,000 x 0.65 + 200,000 x 0.70
    assert proposal.expected_expansion_annual == 5_580_000
    assert proposal.not_evaluated == ["content_marketing", "link_building"]
    assert proposal.currency == "RUB"
    fit = proposal.offers[1].fit
    assert (fit.rank, fit.added_monthly, fit.price_to_mrr) == (2, 700_000, 1.17)
    assert fit.not_checked == ["roi", "budget_share"]
    assert "not checked, unknown: budget, organic_traffic" in fit.reason


def test_offers_that_fit_alone_but_not_together(playbook):
    # mrr 300,000: local SEO first (200,000 = 0.67 x MRR); technical SEO would bring the
    # increase to 700,000 = 2.33 x MRR, above expansion.recommend.max_price_to_mrr 2
    proposal = propose(playbook, mrr=MEDIUM, technical_score=50, locations=8)
    assert [o.id for o in proposal.offers] == ["local_seo"]
    (tech,) = proposal.not_recommended
    assert (tech.fit.failed, tech.fit.price_to_mrr) == (["price_to_mrr"], 2.33)
    assert "+700000 RUB a month with the offers ranked above it is 2.33 times" in tech.fit.reason
    assert proposal.expected_expansion_monthly == 140_000


def test_no_offers(playbook):
    proposal = propose(playbook, mrr=2_000_000, technical_score=50)
    assert proposal.offers == []
    assert proposal.expected_expansion_monthly == 0


def test_timing_takes_the_earliest_of_qbr_renewal_and_budget(playbook):
    account = Account(id="q", name="Q", renewal_date=AS_OF + timedelta(days=400))
    qbr = AS_OF + timedelta(days=20)
    timing = proposal_timing(account, playbook, AS_OF, hold=False, next_qbr=qbr)
    assert (timing.basis, timing.proposal_date) == ("qbr", qbr)
    late_qbr = date(2027, 12, 1)  # after the budget planning month: budget wins
    timing = proposal_timing(account, playbook, AS_OF, hold=False, next_qbr=late_qbr)
    assert (timing.basis, timing.proposal_date) == ("budget_planning", date(2027, 10, 1))


# --- the sample's upsells, judged (expansion.recommend) ---------------------------------------

SAMPLE = {a.id: a for a in read_portfolio().accounts}
SAMPLE_AS_OF = date(2026, 11, 20)


def sample_proposal(playbook, account_id):
    account = SAMPLE[account_id]
    score = score_account(account, playbook, SAMPLE_AS_OF)
    return build_expansion_proposal(account, score, playbook, SAMPLE_AS_OF)


def test_acc_004_is_not_told_to_buy_at_a_loss(playbook):
    # Velomir Shop, low tier, pays 190,000 a month out of a 650,000 marketing budget; technical
    # SEO matches (mrr < 1,000,000, technical_score 58 < 70) at 500,000 a month.
    # ROI: 64,000 visits x 15% = 9,600 x 30 x 12 = 3,456,000 against 6,000,000: -42.4%.
    # 500,000 / 190,000 = 2.63 x MRR (limit 2); (190,000 + 500,000) / 650,000 = 1.06 (limit 0.6).
    proposal = sample_proposal(playbook, "acc-004")
    assert proposal.offers == [] and proposal.expected_expansion_monthly == 0
    (tech,) = proposal.not_recommended
    fit = tech.fit
    assert (tech.id, fit.recommended, fit.rank) == ("technical_seo", False, 1)
    assert (fit.roi_pct, fit.price_to_mrr, fit.budget_share) == (-42.4, 2.63, 1.06)
    assert fit.failed == ["roi", "price_to_mrr", "budget_share"] and fit.not_checked == []
    assert fit.reason.startswith("not recommended now: expected ROI -42.4% (expansion."
                                 "recommend.min_roi_pct 0); +500000 RUB a month is 2.63 times "
                                 "the current MRR 190000")
    account = SAMPLE["acc-004"]
    forecast = forecast_account(account, score_account(account, playbook, SAMPLE_AS_OF), playbook)
    assert forecast.expected_expansion_monthly == 0


def test_acc_037_is_not_offered_six_times_its_spend(playbook):
    # Dobrye Ruki Foundation pays 80,000 a month out of a 160,000 budget: technical SEO at
    # 500,000 is 6.25 x MRR; (80,000 + 500,000) / 160,000 = 3.625 -> 3.63 of the budget;
    # ROI 23,000 x 15% x 30 x 12 = 1,242,000 against 6,000,000: -79.3%. (Critical tier: held
    # anyway, and not recommended even once the tier falls.)
    proposal = sample_proposal(playbook, "acc-037")
    assert proposal.hold and proposal.offers == []
    (tech,) = proposal.not_recommended
    assert (tech.fit.roi_pct, tech.fit.price_to_mrr, tech.fit.budget_share) == (-79.3, 6.25, 3.63)
    assert tech.fit.failed == ["roi", "price_to_mrr", "budget_share"]


def test_no_sample_proposal_loses_money(playbook):
    # 29 matched offers in the sample, 20 of them at a negative ROI; 8 are recommended, each
    # with a positive ROI and within the client's spend and budget
    matched = recommended = 0
    for account_id in SAMPLE:
        proposal = sample_proposal(playbook, account_id)
        matched += len(proposal.offers) + len(proposal.not_recommended)
        recommended += len(proposal.offers)
        for offer in proposal.offers:
            assert offer.roi.roi_pct is not None and offer.roi.roi_pct >= 0, account_id
            assert offer.fit.price_to_mrr <= 2 and offer.fit.budget_share <= 0.6, account_id
        negative = [o for o in proposal.not_recommended if (o.roi.roi_pct or 0) < 0]
        assert all("roi" in o.fit.failed for o in negative)
    assert (matched, recommended) == (29, 8)
    best = sample_proposal(playbook, "acc-002").offers[0]
    assert (best.id, best.fit.roi_pct, best.fit.price_to_mrr) == ("content_marketing", 720, 0.48)


def test_the_verdict_and_its_reason_are_in_the_json(capsys):
    from agent.interfaces.cli import main

    assert main(["assess", "--account", "acc-004", "--format", "json"]) == 0
    state = json.loads(capsys.readouterr().out)
    expansion = state["expansion"]
    assert expansion["offers"] == []
    (tech,) = expansion["not_recommended"]
    assert tech["recommended"] is False and tech["fit"]["recommended"] is False
    assert tech["fit"]["reason"].startswith("not recommended now: expected ROI -42.4%")
    assert [c["id"] for c in tech["fit"]["checks"]] == ["roi", "price_to_mrr", "budget_share"]
    assert state["forecast"]["expected_expansion_monthly"] == 0
