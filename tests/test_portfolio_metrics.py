"""SPEC 9 portfolio metrics: retention with unknown MRR, annualising, the four targets, and next
quarter's forecast, each against figures computed by hand in the comments."""

from datetime import date

import pytest

from tools.playbook import load_playbook
from tools.scoring.portfolio_metrics import (
    NO_BASELINE,
    check_targets,
    forecast_quarter,
    period,
    retention,
)

TARGETS = load_playbook().targets  # 0.90, 0.20, 2, 8.5; min_annualise_days 90


def test_the_playbook_periods_are_a_quarter():
    assert (TARGETS.period_days, TARGETS.min_annualise_days) == (90, 90)


def test_period_counts_calendar_days():
    assert period("2026-01-01", "2026-04-01").days == 90  # 31 + 28 + 31
    assert period("2026-11-27", "2026-11-27").days == 0


def test_retention_with_mrr_unknown_at_one_end():
    start = {"A": 100.0, "B": None, "C": 200.0, "D": 300.0, "E": None}
    end = {"A": 120.0, "B": 50.0, "C": None, "F": 10.0}
    r = retention(start, end, "2026-01-01", "2026-04-01", 90)
    # Money only over accounts known at both ends, or known at the start and gone at the end:
    # A 100 -> 120 (expansion 20); D 300 -> absent (churned 300). Start MRR = 100 + 300 = 400.
    # B (unknown at the start), C (unknown at the end), E (unknown, then gone) are left out.
    assert (r.start_mrr, r.expansion, r.contraction, r.churned_mrr) == (400, 20, 0, 300)
    assert r.mrr_unknown_accounts == 3
    # GRR = (400 - 0 - 300) / 400 = 0.25; NRR = (400 + 20 - 0 - 300) / 400 = 0.3
    assert (r.grr, r.nrr) == (0.25, 0.3)
    # Logos: 5 at the start; A, B, C still there (3); D and E gone; F is new.
    assert (r.start_logos, r.retained_logos, r.logo_retention) == (5, 3, 0.6)
    assert r.new_logos_excluded == 1
    assert "3 account(s) with MRR unknown at either end left out" in r.method


def test_retention_with_no_known_mrr_has_no_ratio():
    r = retention({"A": None}, {"A": None}, "2026-01-01", "2026-04-01", 90)
    assert (r.start_mrr, r.grr, r.nrr, r.annual_grr, r.logo_retention) == (0, None, None, None, 1)
    assert r.annualised == "not measurable: no account has a known MRR at both ends"


def test_retention_annualises_by_compounding_from_the_minimum_days():
    start = {"A": 600.0, "B": 400.0}
    end = {"A": 650.0, "B": 350.0}
    r = retention(start, end, "2026-01-01", "2026-04-01", 90)
    # 90 days. GRR = (1000 - 50) / 1000 = 0.95; NRR = (1000 + 50 - 50) / 1000 = 1.0.
    # Annual GRR = 0.95 ** (365 / 90) = exp(4.0556 x ln 0.95 = -0.05129) = exp(-0.20802) = 0.8122
    assert (r.grr, r.nrr, r.annual_grr, r.annual_nrr) == (0.95, 1.0, 0.8122, 1.0)
    assert r.annualised.startswith("annual = period rate ^ (365 / 90)")
    short = retention(start, end, "2026-01-02", "2026-04-01", 90)  # 89 days: one too few
    assert (short.period.days, short.grr, short.annual_grr, short.annual_nrr) == (
        89, 0.95, None, None,
    )
    assert short.annualised.startswith("not measurable yet: the period 2026-01-02 to 2026-04-01 "
                                       "is 89 days, shorter than the 90 days")


def test_targets_met_and_missed():
    start = {"A": 600_000.0, "B": 400_000.0}
    end = {"A": 610_000.0, "B": 380_000.0, "C": 10_000.0}
    r = retention(start, end, "2026-01-01", "2026-04-01", 90)
    # GRR = (1,000,000 - 20,000) / 1,000,000 = 0.98; annual 0.98 ** (365 / 90)
    # = exp(4.0556 x -0.020203) = exp(-0.081933) = 0.9213 >= 0.90: met.
    # Expansion share = (10,000 x 365 / 90) x 12 / (1,000,000 x 12) = 40,555.56 / 1,000,000
    # = 0.0406 < 0.20: missed.
    checks = check_targets(r, 1_000_000.0, [9.0, 8.0], 3, "2026-04-01", TARGETS)
    assert list(checks) == [
        "annual_retention",
        "expansion_share_of_arr",
        "referrals_per_satisfied_client_quarter",
        "average_csat",
    ]
    assert (checks["annual_retention"].value, checks["annual_retention"].status) == (0.9213, "met")
    assert checks["annual_retention"].period == r.period
    assert checks["expansion_share_of_arr"].value == 0.0406
    assert checks["expansion_share_of_arr"].status == "missed"
    # CSAT (9 + 8) / 2 = 8.5: exactly the target is met
    assert (checks["average_csat"].value, checks["average_csat"].status) == (8.5, "met")
    assert checks["average_csat"].period.model_dump() == {
        "start": "2026-04-01", "end": "2026-04-01", "days": 0,
    }
    assert "2 of 3 accounts" in checks["average_csat"].method


def test_expansion_share_met_and_retention_missed():
    start = {"A": 100_000.0, "B": 100_000.0}
    end = {"A": 110_000.0, "B": 90_000.0}
    r = retention(start, end, "2026-01-01", "2026-04-01", 90)
    # GRR = (200,000 - 10,000) / 200,000 = 0.95 -> annual 0.8122 < 0.90: missed.
    # Expansion share = (10,000 x 365 / 90) / 200,000 = 40,555.56 / 200,000 = 0.2028: met.
    checks = check_targets(r, 200_000.0, [8.0, 8.9], 2, "2026-04-01", TARGETS)
    assert (checks["annual_retention"].value, checks["annual_retention"].status) == (
        0.8122, "missed",
    )
    assert (checks["expansion_share_of_arr"].value, checks["expansion_share_of_arr"].status) == (
        0.2028, "met",
    )
    # CSAT (8 + 8.9) / 2 = 8.45 < 8.5
    assert (checks["average_csat"].value, checks["average_csat"].status) == (8.45, "missed")


def test_referrals_are_never_zero_but_not_measurable():
    checks = check_targets(None, 0.0, [], 0, "2026-04-01", TARGETS)
    referrals = checks["referrals_per_satisfied_client_quarter"]
    assert (referrals.value, referrals.status, referrals.target) == (None, "not_measurable", 2)
    assert referrals.reason.startswith("not measurable: no referral data in the inputs")


def test_without_a_baseline_or_data_nothing_is_measurable():
    checks = check_targets(None, 0.0, [], 4, "2026-04-01", TARGETS)
    assert {c.status for c in checks.values()} == {"not_measurable"}
    assert {c.value for c in checks.values()} == {None}
    assert checks["annual_retention"].reason == f"not measurable: {NO_BASELINE}"
    assert checks["expansion_share_of_arr"].reason == f"not measurable: {NO_BASELINE}"
    assert checks["average_csat"].reason == "not measurable: no account has a known CSAT"


def test_a_short_period_is_not_measurable_yet():
    r = retention({"A": 100.0}, {"A": 200.0}, "2026-03-25", "2026-04-01", 90)  # 7 days
    checks = check_targets(r, 200.0, [9.0], 1, "2026-04-01", TARGETS)
    for key in ("annual_retention", "expansion_share_of_arr"):
        assert (checks[key].value, checks[key].status) == (None, "not_measurable")
        assert checks[key].reason.startswith("not measurable yet: the period 2026-03-25 to "
                                             "2026-04-01 is 7 days")
        assert checks[key].period.days == 7


def test_expansion_share_needs_a_current_mrr():
    r = retention({"A": 100.0}, {"A": None}, "2026-01-01", "2026-04-01", 90)
    checks = check_targets(r, 0.0, [], 1, "2026-04-01", TARGETS)
    assert checks["expansion_share_of_arr"].reason == "not measurable: no current MRR is known"


AS_OF = date(2026, 11, 20)  # + 90 days = 2027-02-18 (10 + 31 + 31 + 18)
QUARTER = [
    # renews within the horizon
    {"id": "A", "mrr": 400_000, "renewal_date": "2027-01-15", "expected_churned_mrr": 80_000,
     "expected_expansion": 50_000},
    # no known renewal date: counted as renewing
    {"id": "B", "mrr": 300_000, "renewal_date": None, "expected_churned_mrr": 120_000,
     "expected_expansion": 0},
    # renews exactly on the horizon day: renewing
    {"id": "C", "mrr": 200_000, "renewal_date": "2027-02-18", "expected_churned_mrr": 20_000,
     "expected_expansion": 30_000},
    # renews the day after the horizon: its expansion counts, its churn does not
    {"id": "D", "mrr": 100_000, "renewal_date": "2027-02-19", "expected_churned_mrr": 10_000,
     "expected_expansion": 15_000},
    # MRR unknown: left out of every figure, its expected expansion too
    {"id": "E", "mrr": None, "renewal_date": "2027-01-01", "expected_churned_mrr": None,
     "expected_expansion": 40_000},
    # renewing with an unknown renewal probability: left out, not taken as "no churn"
    {"id": "F", "mrr": 50_000, "renewal_date": "2026-12-01", "expected_churned_mrr": None,
     "expected_expansion": 5_000},
]


def test_forecast_quarter_against_hand_computed_figures():
    f = forecast_quarter(QUARTER, AS_OF, 90)
    # Counted A, B, C, D: MRR 400,000 + 300,000 + 200,000 + 100,000 = 1,000,000.
    # Renewing by 2027-02-18: A, B (no date), C (on the day) = 3.
    # Expected churned MRR = 80,000 + 120,000 + 20,000 = 220,000 (D renews after the horizon).
    # Expected expansion = 50,000 + 0 + 30,000 + 15,000 = 95,000.
    # GRR = (1,000,000 - 220,000) / 1,000,000 = 0.78
    # NRR = (1,000,000 + 95,000 - 220,000) / 1,000,000 = 0.875
    assert (f.accounts, f.left_out_accounts, f.renewing_accounts) == (4, 2, 3)
    assert (f.current_mrr, f.expected_churned_mrr, f.expected_expansion) == (
        1_000_000, 220_000, 95_000,
    )
    assert (f.grr, f.nrr) == (0.78, 0.875)
    assert f.period.model_dump() == {"start": "2026-11-20", "end": "2027-02-18", "days": 90}
    assert "forecast GRR = (MRR 1000000 - 220000) / MRR" in f.method


def test_forecast_horizon_boundary():
    # One day shorter: C (2027-02-18) falls after the horizon 2027-02-17.
    f = forecast_quarter(QUARTER, AS_OF, 89)
    # Renewing: A, B = 2; churn 80,000 + 120,000 = 200,000; GRR = 800,000 / 1,000,000 = 0.8
    assert (f.renewing_accounts, f.expected_churned_mrr, f.grr) == (2, 200_000, 0.8)


def test_forecast_counts_an_account_renewing_later_with_unknown_probability():
    later = {"id": "G", "mrr": 60_000, "renewal_date": "2027-06-01",
             "expected_churned_mrr": None, "expected_expansion": 6_000}
    f = forecast_quarter([later], AS_OF, 90)
    # No renewal in the horizon: nothing to churn. GRR = 60,000 / 60,000 = 1;
    # NRR = (60,000 + 6,000) / 60,000 = 1.1
    assert (f.accounts, f.renewing_accounts, f.grr, f.nrr) == (1, 0, 1.0, 1.1)


@pytest.mark.parametrize("snapshots", [[], [QUARTER[4]]])
def test_forecast_without_known_mrr_has_no_ratio(snapshots):
    f = forecast_quarter(snapshots, AS_OF, 90)
    assert (f.current_mrr, f.grr, f.nrr) == (0, None, None)
