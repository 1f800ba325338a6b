"""Labels and the time split of SPEC 14.

Label: a snapshot is positive when `as_of < churned_on <= as_of + horizon`. A snapshot whose
window is not closed by the end date (`as_of + horizon > end`), or that was taken on or after
`churned_on`, is left out.

Split: D = the distinct `as_of` dates of the labelled snapshots, oldest first. The test set is
every labelled snapshot on the last max(1, round_half_up(test_share x |D|)) dates; the first of
them is the test start. Training is every labelled snapshot before the test start whose window
closes before it (`as_of + horizon < test start`), so no training label depends on the test
period."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from tools.numbers import add_days

LeftOut = Literal["open", "after_churn", "after_end"]


def label(
    as_of: date, churned_on: date | None, horizon_days: int, end: date
) -> bool | LeftOut:
    """True (churned within the horizon), False (did not), or why the snapshot is left out."""
    if as_of > end:
        return "after_end"
    if churned_on is not None and as_of >= churned_on:
        return "after_churn"
    closes = add_days(as_of, horizon_days)
    if closes > end:
        return "open"
    return churned_on is not None and churned_on <= closes


def share_of(share: float, count: int) -> int:
    """round_half_up(share x count), computed in decimal (0.3 x 5 = 1.5 -> 2)."""
    exact = Decimal(repr(share)) * count
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def count_test_dates(dates: int, share: float) -> int:
    """max(1, round_half_up(share x dates)), computed in decimal (0.3 x 5 = 1.5 -> 2)."""
    return max(1, share_of(share, dates))


@dataclass(frozen=True)
class Split:
    """Positions of the training and test snapshots (in the order given), the distinct dates,
    the test start and how many labelled snapshots fell in neither set."""

    train: list[int]
    test: list[int]
    dates: list[date]
    test_start: date | None
    dropped: int


def time_split(as_ofs: Sequence[date], horizon_days: int, test_share: float) -> Split:
    """Split labelled snapshots (given by their dates) into training and test by time."""
    dates = sorted(set(as_ofs))
    if not dates:
        return Split([], [], [], None, 0)
    start = dates[-count_test_dates(len(dates), test_share)]
    train, test = [], []
    for i, day in enumerate(as_ofs):
        if day >= start:
            test.append(i)
        elif add_days(day, horizon_days) < start:
            train.append(i)
    return Split(train, test, dates, start, len(as_ofs) - len(train) - len(test))


def churn_dates(rows: Iterable[tuple[str, date, date | None]]) -> tuple[dict[str, date], list[str]]:
    """Each account's churn date from its rows (id, as_of, churned_on): the date its latest row
    that gives one gives (rows written before the churn was known may leave it empty). Also one
    sentence per account whose rows give different dates."""
    latest: dict[str, tuple[date, date]] = {}
    seen: dict[str, set[date]] = {}
    for account_id, as_of, churned_on in rows:
        if churned_on is None:
            continue
        seen.setdefault(account_id, set()).add(churned_on)
        if account_id not in latest or as_of > latest[account_id][0]:
            latest[account_id] = (as_of, churned_on)
    notes = [
        f"account {account_id}: rows give different churned_on dates "
        f"({', '.join(d.isoformat() for d in sorted(days))}); the latest row's "
        f"{latest[account_id][1].isoformat()} is used"
        for account_id, days in seen.items()
        if len(days) > 1
    ]
    return {k: v[1] for k, v in latest.items()}, notes


def account_split(
    ids: Sequence[str], labels: Sequence[int], as_ofs: Sequence[date], test_share: float,
    seed: int,
) -> Split:
    """The cross-sectional split, for a table without a usable time order (one snapshot date):
    the test set is a seeded random round_half_up(test_share x n) of the accounts that churned
    and as many of the others, with every snapshot of a test account, so that no account is in
    both sets. No time order is kept: a training label may come from after a test snapshot."""
    rng = random.Random(seed)
    churned = {i for i, y in zip(ids, labels, strict=True) if y}
    groups = [sorted(churned), sorted(set(ids) - churned)]
    held: set[str] = set()
    for group in groups:
        rng.shuffle(group)
        held.update(group[: share_of(test_share, len(group))])
    train = [k for k, i in enumerate(ids) if i not in held]
    test = [k for k, i in enumerate(ids) if i in held]
    return Split(train, test, sorted(set(as_ofs)), None, 0)
