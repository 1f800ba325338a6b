"""Forecast (tools/planning/forecast.py) at its edges: a raw probability exactly at the floor
and at the ceiling in the code's own float arithmetic, the full method text a user reads,
calibration at the as-of day, and playbook variants; every expectation worked out by hand in
the comments."""

from datetime import timedelta

import yaml

from tests.conftest import AS_OF, make
from tools.planning.forecast import calibrate, forecast_account
from tools.playbook import default_playbook_path, parse_playbook
from tools.scoring.score import score_account

TAIL = " (forecast.signal_penalty, forecast.floor, forecast.ceiling)"


def forecast(playbook, calibration=None, **fields):
    account = make(**fields)
    return forecast_account(account, score_account(account, playbook, AS_OF), playbook, calibration)


def variant(**forecast_keys) -> object:
    """The bundled playbook with some forecast keys changed."""
    data = yaml.safe_load(default_playbook_path().read_text(encoding="utf-8"))
    data["forecast"].update(forecast_keys)
    return parse_playbook(data)


def points(n, churned=0, risk=45.0, last=AS_OF):
    """n history points 30 days apart ending on `last`, the first `churned` of them churned."""
    return [
        {
            "date": (last - timedelta(days=30 * (n - 1 - i))).isoformat(),
            "churn_risk": risk,
            "churned": i < churned,
        }
        for i in range(n)
    ]


# mrr alone decides the churn score: risk = (500,000 - mrr) / 500,000 x 100.
THREE_SIGNALS = {
    "weekly_logins": [1, 1],  # engagement_drop (medium, 0.02): the last 2 weeks all < 2
    "days_overdue": 10,  # payment_delay (high, 0.05): 10 > 7
    "renewal_date": AS_OF + timedelta(days=30),  # renewal_window (medium, 0.02): 30 <= 180
    "renewal_conversation_started": False,
}


def test_raw_exactly_at_the_floor_is_not_raised(playbook):
    # mrr 70,000 -> churn (430,000 / 500,000) x 100 = 86. In floats: base = 1 - 86 / 100 = 0.14,
    # penalties 0.02 + 0.05 + 0.02 = 0.09000000000000001, raw = 0.14 - that = 0.05 exactly,
    # the floor itself: kept, not "raised to the floor".
    result = forecast(playbook, mrr=70_000, **THREE_SIGNALS)
    assert [p.signal for p in result.penalties] == [
        "engagement_drop", "payment_delay", "renewal_window",
    ]
    assert result.renewal_probability == 0.05
    assert result.method == (
        "1 - churn risk 86 / 100 = 0.14; signal penalties: 0.14 - 0.02 (engagement_drop, medium)"
        " - 0.05 (payment_delay, high) - 0.02 (renewal_window, medium) = 0.05;"
        " kept within [0.05, 0.98] -> 0.05" + TAIL
    )
    assert result.expected_churned_mrr == 66_500  # 70,000 x (1 - 0.05)


def test_raw_just_below_the_floor_is_raised(playbook):
    # mrr 65,000 -> churn 435,000 / 500,000 x 100 = 87; 0.13 - 0.09 = 0.04 < 0.05: raised.
    result = forecast(playbook, mrr=65_000, **THREE_SIGNALS)
    assert result.renewal_probability == 0.05
    assert result.method == (
        "1 - churn risk 87 / 100 = 0.13; signal penalties: 0.13 - 0.02 (engagement_drop, medium)"
        " - 0.05 (payment_delay, high) - 0.02 (renewal_window, medium) = 0.04;"
        " kept within [0.05, 0.98]: raised to the floor 0.05 -> 0.05" + TAIL
    )


def test_raw_exactly_at_the_ceiling_is_not_capped(playbook):
    # mrr 490,000 -> churn 10,000 / 500,000 x 100 = 2; raw = 1 - 2 / 100 = 0.98 exactly in
    # floats, the ceiling itself: kept, not "capped".
    result = forecast(playbook, mrr=490_000)
    assert result.renewal_probability == 0.98
    assert result.method == "1 - churn risk 2 / 100 = 0.98; kept within [0.05, 0.98] -> 0.98" + TAIL
    assert result.expected_churned_mrr == 9_800  # 490,000 x 0.02


def test_raw_just_above_the_ceiling_is_capped(playbook):
    # mrr 495,000 -> churn 5,000 / 500,000 x 100 = 1; raw 0.99 > 0.98: capped.
    result = forecast(playbook, mrr=495_000)
    assert result.renewal_probability == 0.98
    assert result.method == (
        "1 - churn risk 1 / 100 = 0.99; kept within [0.05, 0.98]: capped at the ceiling 0.98"
        " -> 0.98" + TAIL
    )


def test_the_floor_message_follows_the_penalties(playbook):
    # mrr 0 -> churn 100; base 0; payment_delay 0.05: raw -0.05 < 0.05: raised.
    result = forecast(playbook, mrr=0, days_overdue=30)
    assert result.method == (
        "1 - churn risk 100 / 100 = 0; signal penalties: 0 - 0.05 (payment_delay, high) = -0.05;"
        " kept within [0.05, 0.98]: raised to the floor 0.05 -> 0.05" + TAIL
    )


def test_the_result_carries_the_score_tier_and_mrr(playbook):
    result = forecast(playbook, mrr=300_000)  # churn 200,000 / 500,000 x 100 = 40: medium
    assert (result.churn_score, result.tier, result.mrr, result.coverage) == (
        40, "medium", 300_000, 0.25,  # coverage: contract_value's weight 25 of 100
    )
    assert result.expansion_method == "no expansion offer matched: 0"
    assert (result.expected_expansion_monthly, result.expected_expansion_annual) == (0, 0)


def test_unknown_score_with_a_known_mrr(playbook):
    result = forecast(playbook, locations=8)  # no churn input known; mrr unknown
    assert result.method == "renewal probability unknown: the churn-risk score has no known input"
    assert result.expected_churned_mrr_method == "expected churned MRR unknown: mrr is unknown"
    # mrr is a churn input, so a known mrr makes the score known; unknown probability with a
    # known mrr comes from a playbook whose contract-value factor reads another input (budget,
    # unknown here).
    data = yaml.safe_load(default_playbook_path().read_text(encoding="utf-8"))
    data["churn_risk"]["factors"]["contract_value"]["input"] = "budget"
    custom = parse_playbook(data)
    result = forecast(custom, mrr=300_000)
    assert result.renewal_probability is None
    assert result.expected_churned_mrr_method == (
        "expected churned MRR unknown: the renewal probability is unknown"
    )


# --- calibration --------------------------------------------------------------------------


CLOSED = AS_OF - timedelta(days=90)  # a point's window (forecast.horizon_days 90) closes on as-of


def test_a_point_counts_once_its_window_has_closed(playbook):
    # 20 points 30 days apart, the last 90 days before as-of: its window closes on the as-of day
    # itself (date + 90 = as-of, not after it), so every point counts; one churned:
    # 1 - 1 / 20 = 0.95, usable (20 >= 20).
    calibration = calibrate([make(history=points(20, churned=1, last=CLOSED))], playbook, AS_OF)
    medium = next(t for t in calibration.tiers if t.tier == "medium")
    assert (medium.points, medium.churned, medium.renewal_rate, medium.usable) == (
        20, 1, 0.95, True,
    )


def test_a_point_whose_window_is_still_open_is_left_out(playbook):
    # The same 20 points ending on as-of: the last three (as-of, -30, -60 days) have windows
    # that close after as-of (date + 90 > as-of), so whether those clients renew is not known
    # yet; 17 points count, still 1 churned: 1 - 1 / 17 = 0.94117... -> 0.9412, not usable
    # (17 < 20). The old code counted all 20 (0.95, usable).
    calibration = calibrate([make(history=points(20, churned=1))], playbook, AS_OF)
    medium = next(t for t in calibration.tiers if t.tier == "medium")
    assert (medium.points, medium.churned, medium.renewal_rate, medium.usable) == (
        17, 1, 0.9412, False,
    )
    # one day short of closing: a point dated as-of - 89 is left out too
    late = [{"date": (AS_OF - timedelta(days=89)).isoformat(), "churn_risk": 45, "churned": True}]
    assert calibrate([make(history=late)], playbook, AS_OF).points == 0


def test_a_skipped_point_does_not_end_the_account_history(playbook):
    history = [{"date": "2024-01-01", "churn_risk": 45.0}] + points(3, churned=1, last=CLOSED)
    calibration = calibrate([make(history=history)], playbook, AS_OF)
    medium = next(t for t in calibration.tiers if t.tier == "medium")
    # the first point (churned unknown) is skipped, the three after it count:
    # 1 - 1 / 3 = 0.66666... -> 0.6667 (four decimals)
    assert (medium.points, medium.churned, medium.renewal_rate) == (3, 1, 0.6667)
    assert calibration.method == (
        "history points dated at least 90 days (forecast.horizon_days) before as-of, so that "
        "their outcome is known, with churn_risk and churned known, grouped by the tier of "
        "churn_risk rounded half up; renewal rate = 1 - churned / points; usable with at "
        "least 20 points (forecast.min_history_points)"
    )


def test_a_tier_where_every_point_churned_is_raised_to_the_floor(playbook):
    # 20 points, all churned: renewal rate 1 - 20 / 20 = 0, raised to the floor 0.05 (never
    # the ceiling 0.98: a rate of 0 is a known rate, not a missing one).
    history = points(20, churned=20, last=CLOSED)
    calibration = calibrate([make(history=history)], playbook, AS_OF)
    result = forecast(playbook, calibration, mrr=300_000)  # churn 40: medium
    assert result.basis == "calibration"
    assert result.renewal_probability == 0.05
    assert result.expected_churned_mrr == 285_000  # 300,000 x 0.95
    assert result.method == (
        "observed renewal rate of tier medium over 20 history points: 1 - 20 churned / 20 = 0 "
        "(at least 20 points, forecast.min_history_points); kept within [0.05, 0.98]: raised "
        "to the floor 0.05"
    )


# --- playbook variants --------------------------------------------------------------------


def test_a_severity_without_a_penalty_takes_nothing_off():
    custom = variant(signal_penalty={"high": 0.05})
    result = forecast(custom, mrr=300_000, weekly_logins=[1, 1])  # engagement_drop (medium)
    assert [(p.signal, p.penalty) for p in result.penalties] == [("engagement_drop", 0.0)]
    assert result.renewal_probability == 0.6  # 1 - 40 / 100 - 0


def test_the_probability_is_rounded_to_four_decimals():
    custom = variant(signal_penalty={"medium": 0.02, "high": 0.00001})
    # churn 40: 0.6 - 0.00001 = 0.59999 -> 0.6 at four decimals
    assert forecast(custom, mrr=300_000, days_overdue=10).renewal_probability == 0.6


def test_the_calibrated_probability_is_rounded_to_four_decimals():
    custom = variant(floor=0.12346)
    calibration = calibrate([make(history=points(20, churned=20, last=CLOSED))], custom, AS_OF)
    # observed rate 0, raised to the floor 0.12346 -> 0.1235 at four decimals
    assert forecast(custom, calibration, mrr=300_000).renewal_probability == 0.1235
