"""Labels and the time split of SPEC 14, and that no training label depends on the test
period."""

from datetime import date, timedelta

import pytest

from tools.learning.backtest import Observation, label_all
from tools.learning.split import churn_dates, count_test_dates, label, time_split

D = date.fromisoformat
AS_OF = D("2025-01-01")  # + 90 days = 2025-04-01


@pytest.mark.parametrize(
    ("churned_on", "end", "expected"),
    [
        (None, D("2025-06-30"), False),
        ("2025-01-02", D("2025-06-30"), True),  # the day after the snapshot
        ("2025-04-01", D("2025-06-30"), True),  # the last day of the window
        ("2025-04-02", D("2025-06-30"), False),  # one day too late
        ("2025-01-01", D("2025-06-30"), "after_churn"),  # taken on the churn day
        ("2024-12-31", D("2025-06-30"), "after_churn"),
        (None, D("2025-03-31"), "open"),  # the window closes after the end
        ("2025-02-01", D("2025-03-31"), "open"),  # even when the churn is already known
        (None, D("2025-04-01"), False),  # closes exactly on the end date
        (None, D("2024-12-31"), "after_end"),
    ],
)
def test_label(churned_on, end, expected):
    churn = D(churned_on) if churned_on else None
    assert label(AS_OF, churn, 90, end) == expected


@pytest.mark.parametrize(
    ("dates", "tested"),
    [(1, 1), (2, 1), (3, 1), (4, 1), (5, 2), (10, 3), (15, 5), (25, 8), (35, 11), (21, 6)],
)
def test_test_dates_round_half_up(dates, tested):
    # 0.3 x 5 = 1.5 -> 2, 0.3 x 15 = 4.5 -> 5, 0.3 x 25 = 7.5 -> 8, 0.3 x 35 = 10.5 -> 11
    # (half up, in decimal: 0.3 x 15 is 4.499999999999999 in binary floating point)
    assert count_test_dates(dates, 0.3) == tested


START = D("2024-01-01")


def months(n, start=START):
    days, year, month = [], start.year, start.month
    for _ in range(n):
        days.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return days


def test_split_exactly_as_spec():
    # 10 monthly dates: the last round(3.0) = 3 are the test set (2024-08-01 on); training is
    # every snapshot whose window (90 days) closes before 2024-08-01: as_of + 90 < 2024-08-01,
    # so up to 2024-05-01 (+90 = 2024-07-30); 2024-06-01 and 2024-07-01 fall between the sets.
    dates = months(10)
    as_ofs = [d for d in dates for _ in range(2)]  # two snapshots a date
    split = time_split(as_ofs, 90, 0.3)
    assert split.test_start == D("2024-08-01")
    assert {as_ofs[i] for i in split.test} == set(dates[7:])
    assert {as_ofs[i] for i in split.train} == set(dates[:5])
    assert split.dropped == 4
    assert all(as_ofs[i] + timedelta(days=90) < split.test_start for i in split.train)


def test_window_closing_on_test_start_is_dropped():
    # as_of + horizon == test start: not strictly before it, so not training
    as_ofs = [D("2024-01-01"), D("2024-03-31")]
    split = time_split(as_ofs, 90, 0.3)
    assert split.test_start == D("2024-03-31") and split.train == [] and split.dropped == 1
    split = time_split(as_ofs, 89, 0.3)
    assert split.train == [0]


def test_single_date_is_all_test():
    split = time_split([D("2024-01-01")] * 3, 90, 0.3)
    assert split.train == [] and split.test == [0, 1, 2]


def test_churn_dates_take_the_latest_row_and_name_conflicts():
    rows = [
        ("a", D("2024-01-01"), None),  # written before the churn was known
        ("a", D("2024-02-01"), D("2024-03-10")),
        ("b", D("2024-01-01"), D("2024-05-01")),
        ("b", D("2024-02-01"), D("2024-04-01")),
        ("c", D("2024-01-01"), None),
    ]
    found, notes = churn_dates(rows)
    assert found == {"a": D("2024-03-10"), "b": D("2024-04-01")}
    assert notes == [
        "account b: rows give different churned_on dates (2024-04-01, 2024-05-01); the "
        "latest row's 2024-04-01 is used"
    ]


def observation(account_id, as_of, churned_on=None):
    return Observation(account_id, as_of, churned_on, [], None, None)


def test_label_all_uses_the_account_churn_date_and_leaves_out():
    obs = [
        observation("a", D("2024-01-01")),  # empty here; a later row knows the churn
        observation("a", D("2024-02-01"), D("2024-03-15")),
        observation("a", D("2024-04-01"), D("2024-03-15")),  # after the churn
        observation("b", D("2024-06-01")),  # window open at the end
    ]
    labelled = label_all(obs, 90, D("2024-07-01"))
    assert [(o.as_of, y) for o, y in labelled.rows] == [(D("2024-01-01"), 1), (D("2024-02-01"), 1)]
    assert labelled.left_out == {"open": 1, "after_churn": 1, "after_end": 0}


def training(observations, end):
    labelled = label_all(observations, 90, end)
    split = time_split([o.as_of for o, _ in labelled.rows], 90, 0.3)
    rows = [labelled.rows[i] for i in split.train]
    return split.test_start, [(o.id, o.as_of, y) for o, y in rows]


def test_no_training_label_depends_on_the_test_period():
    # 30 accounts over 20 months; some churn before, some during the test period
    dates = months(20)
    observations = []
    for k in range(30):
        churn = dates[3 + (k * 7) % 17] + timedelta(days=k % 20) if k % 3 else None
        for day in dates:
            if churn is None or day < churn:
                observations.append(observation(f"a{k}", day, churn))
    end = dates[-1]
    start, before = training(observations, end)
    assert before and any(y for _, _, y in before)
    # Rewrite history from the test start on: every churn there moves or disappears.
    for shift in (None, 45):
        changed = [
            observation(o.id, o.as_of, o.churned_on)
            if o.churned_on is None or o.churned_on < start
            else observation(o.id, o.as_of, None if shift is None
                             else o.churned_on + timedelta(days=shift))
            for o in observations
        ]
        assert training(changed, end) == (start, before)


def test_account_split_keeps_each_account_whole_and_stratifies():
    from tools.learning.split import account_split

    ids = [f"a{i}" for i in range(20) for _ in range(2)]  # two snapshots per account
    labels = [1 if i < 5 and k == 1 else 0 for i in range(20) for k in range(2)]
    days = [date(2025, 1, 1), date(2025, 2, 1)] * 20
    split = account_split(ids, labels, days, 0.3, seed=4)
    test_ids = {ids[k] for k in split.test}
    assert test_ids.isdisjoint(ids[k] for k in split.train)
    assert sorted(split.train + split.test) == list(range(40))
    # round_half_up(0.3 x 5) = 2 churned accounts, round_half_up(0.3 x 15) = 5 others
    assert len(test_ids & {f"a{i}" for i in range(5)}) == 2
    assert len(test_ids) == 7
    assert split.dropped == 0 and split.dates == [date(2025, 1, 1), date(2025, 2, 1)]
    assert account_split(ids, labels, days, 0.3, seed=4) == split
    assert account_split(ids, labels, days, 0.3, seed=5) != split
