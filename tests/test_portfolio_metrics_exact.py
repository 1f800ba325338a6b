"""Portfolio metrics (tools/scoring/portfolio_metrics.py) where the hand-computed tests of
test_portfolio_metrics.py leave room: several accounts churning or shrinking, ratios that need
their four decimals, an empty first snapshot, and the exact text of each target. Figures are
worked out by hand in the comments."""

from datetime import date

from tools.playbook import load_playbook
from tools.scoring.portfolio_metrics import check_targets, forecast_quarter, retention

TARGETS = load_playbook().targets  # 0.90, 0.20, 2, 8.5; min_annualise_days 90
Q1 = ("2026-01-01", "2026-04-01")  # 90 days


def test_several_accounts_churn_and_shrink():
    start = {"A": 100.0, "B": 200.0, "C": 300.0, "D": 400.0, "E": 500.0, "F": None}
    end = {"C": 290.0, "D": 370.0, "E": 530.0, "F": 50.0}
    r = retention(start, end, *Q1, 90)
    # A and B gone: churned 100 + 200 = 300. C -10 and D -30: contraction 40. E +30.
    # F unknown at the start: a retained logo, out of the money. Start MRR 100+...+500 = 1500.
    assert (r.start_mrr, r.churned_mrr, r.contraction, r.expansion) == (1500, 300, 40, 30)
    # GRR = (1500 - 40 - 300) / 1500 = 1160 / 1500 = 0.77333 -> 0.7733
    # NRR = (1500 + 30 - 40 - 300) / 1500 = 1190 / 1500 = 0.79333 -> 0.7933
    # Logos: C, D, E, F of 6 retained: 4 / 6 = 0.66667 -> 0.6667
    assert (r.grr, r.nrr, r.logo_retention) == (0.7733, 0.7933, 0.6667)
    assert r.mrr_unknown_accounts == 1


def test_an_empty_first_snapshot_has_no_ratios():
    r = retention({}, {"A": 10.0}, *Q1, 90)
    assert (r.start_logos, r.logo_retention, r.grr, r.nrr) == (0, None, None, None)
    assert r.new_logos_excluded == 1


def test_retention_target_method_shows_the_period_grr():
    r = retention({"A": 600.0, "B": 400.0}, {"A": 650.0, "B": 350.0}, *Q1, 90)  # GRR 0.95
    check = check_targets(r, 1000.0, [], 2, Q1[1], TARGETS)["annual_retention"]
    assert check.method == (
        "annualised GRR = period GRR ^ (365 / period days) = 0.95 ^ (365 / 90)"
    )


def test_every_account_churning_is_a_retention_of_zero():
    r = retention({"A": 100.0}, {}, *Q1, 90)
    # GRR = (100 - 0 - 100) / 100 = 0; 0 ** (365 / 90) = 0: missed, and said as 0
    check = check_targets(r, 0.0, [], 1, Q1[1], TARGETS)["annual_retention"]
    assert (r.grr, check.value, check.status) == (0, 0, "missed")
    assert check.method.endswith("= 0 ^ (365 / 90)")


def test_expansion_share_states_its_period():
    r = retention({"A": 100.0}, {"A": 110.0}, *Q1, 90)
    measured = check_targets(r, 110.0, [], 1, Q1[1], TARGETS)["expansion_share_of_arr"]
    # (10 x 365 / 90) / 110 = 40.556 / 110 = 0.36869 -> 0.3687: met (>= 0.20)
    assert (measured.value, measured.status, measured.period) == (0.3687, "met", r.period)
    unmeasured = check_targets(r, 0.0, [], 1, Q1[1], TARGETS)["expansion_share_of_arr"]
    assert (unmeasured.status, unmeasured.period) == ("not_measurable", r.period)


def test_referrals_and_csat_texts():
    checks = check_targets(None, 0.0, [], 3, "2026-04-01", TARGETS)
    referrals = checks["referrals_per_satisfied_client_quarter"]
    assert referrals.reason == (
        "not measurable: no referral data in the inputs (the account model has no referral "
        "field), so the count is unknown, not zero"
    )
    assert referrals.method == "referrals received in a quarter / clients satisfied in that quarter"
    csat = checks["average_csat"]
    assert csat.period.model_dump() == {"start": "2026-04-01", "end": "2026-04-01", "days": 0}


def test_average_csat_keeps_two_decimals():
    checks = check_targets(None, 0.0, [7.0, 8.0, 8.0], 3, "2026-04-01", TARGETS)
    # (7 + 8 + 8) / 3 = 7.6667 -> 7.67: missed (< 8.5)
    assert (checks["average_csat"].value, checks["average_csat"].status) == (7.67, "missed")


def test_forecast_ratios_keep_four_decimals():
    snapshots = [
        {"id": "A", "mrr": 300_000, "renewal_date": "2026-12-01",
         "expected_churned_mrr": 100_000, "expected_expansion": 50_000},
    ]
    f = forecast_quarter(snapshots, date(2026, 11, 20), 90)
    # GRR = (300,000 - 100,000) / 300,000 = 0.66667 -> 0.6667
    # NRR = (300,000 + 50,000 - 100,000) / 300,000 = 0.83333 -> 0.8333
    assert (f.grr, f.nrr) == (0.6667, 0.8333)
