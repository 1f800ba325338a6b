"""A seeded synthetic history with a known churn model, for tests, demos and benchmarks.

A book of accounts is observed on the 1st of every month (after two unrecorded years in which it
settles into its steady mix). Each account has a latent health
that drifts from month to month; its fields (SPEC 1) are drawn around that health with noise.
In the month after each snapshot the account leaves with probability

    q = sigmoid(TRUE_MODEL . fields of the snapshot)

(on a uniform day of that month); a new account replaces each one that leaves, and a few
more join every month. The generator's own
probability that a snapshot is positive (churn within `horizon_days`) is
1 - (1 - q)^(horizon_days / 30.4375): exact if the fields held still over the horizon, and the
best a model of the snapshot can do up to the months' drift. About 5% of fields are left out
(unknown) at random. The same arguments always give the same history."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

MONTH_DAYS = 30.4375
BURN_IN_MONTHS = 24  # simulated before the first snapshot, so the book is in its steady state
MISSING_SHARE = 0.05
WEEKS = 8

# monthly churn log-odds: intercept + sum of weight x term (each term a function of fields)
TRUE_INTERCEPT = -3.2
TRUE_MODEL = {
    "engagement": -0.03,  # x (engagement_score - 50)
    "payment_delays": 0.45,  # x payment_delays_last_quarter
    "csat": -0.3,  # x (csat - 7)
    "log_mrr": -0.5,  # x ln(mrr / 500,000)
    "login_months": 0.5,  # x days since last_login / 30
    "tickets": 0.05,  # x tickets_last_month
}
_ALWAYS = ("id", "name")  # every other field is left out (unknown) at random
_INDUSTRIES = ("ecommerce", "saas", "local", "enterprise", "other")


@dataclass
class SyntheticHistory:
    """History rows (SPEC 14 format) and the generator's probability of each row's label,
    keyed by (id, as_of)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    true_probability: dict[tuple[str, str], float] = field(default_factory=dict)


@dataclass
class _Account:
    id: str
    industry: str
    mrr: float
    start: date
    seats: int
    health: float
    anchor: float


def _clip(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def true_log_odds(fields: dict[str, Any], as_of: date) -> float:
    """The generator's monthly churn log-odds from a snapshot's full fields."""
    login_days = (as_of - date.fromisoformat(fields["last_login"])).days
    terms = {
        "engagement": fields["engagement_score"] - 50,
        "payment_delays": fields["payment_delays_last_quarter"],
        "csat": fields["csat"] - 7,
        "log_mrr": math.log(fields["mrr"] / 500_000),
        "login_months": login_days / 30,
        "tickets": fields["tickets_last_month"],
    }
    return TRUE_INTERCEPT + sum(TRUE_MODEL[k] * v for k, v in terms.items())


def _month_starts(start: date, months: int) -> list[date]:
    days = []
    year, month = start.year, start.month
    for _ in range(months):
        days.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return days


def _new_account(rng: random.Random, number: int, joined: date) -> _Account:
    health = 1.0 - rng.random() ** 2.0 * 0.9
    industry = _INDUSTRIES[int(rng.random() * len(_INDUSTRIES))]
    mrr = float(round(80_000 * math.exp(rng.random() * math.log(3_000_000 / 80_000)), -4))
    return _Account(
        id=f"hist-{number:05d}",
        industry=industry,
        mrr=mrr,
        start=joined - timedelta(days=int(rng.random() * 25)),
        seats=2 + int(mrr / 100_000 * (0.5 + rng.random())),
        health=health,
        anchor=health,
    )


def _fields(rng: random.Random, a: _Account, as_of: date) -> dict[str, Any]:
    """The account's fields on a snapshot date, drawn around its current health."""
    h = a.health
    bad = 1 - h
    r = rng.random
    logins = [
        int(_clip((0.3 + 9 * h) * (1 + (h - 0.55) * 0.1 * (w - WEEKS + 1)) + (r() - 0.5) * 2.5,
                  0, 80) + 0.5)
        for w in range(WEEKS)
    ]
    tickets = [
        int(_clip(0.4 + 6 * bad**1.5 + (r() - 0.5) * 2.5, 0, 60) + 0.5) for _ in range(WEEKS)
    ]
    age = (as_of - a.start).days
    renewal = a.start + timedelta(days=365 * (age // 365 + 1))
    csat = round(_clip(0.8 + 9 * h + (r() - 0.5) * 2.0, 0, 10), 1)
    interactions = int(12 + 45 * h + r() * 10)
    return {
        "id": a.id,
        "name": f"Synthetic {a.id}",
        "industry": a.industry,
        "mrr": a.mrr,
        "contract_start": a.start.isoformat(),
        "renewal_date": renewal.isoformat(),
        "auto_pay": r() < 0.2 + 0.7 * h,
        "payment_delays_last_quarter": int(bad * bad * 4.5 * r() + bad * 0.9),
        "days_overdue": int(bad * 70 * r()) if r() < bad * bad * 0.7 else 0,
        "licensed_seats": a.seats,
        "active_seats": int(_clip(round(a.seats * (0.15 + 0.8 * h + (r() - 0.5) * 0.2)), 0,
                                  a.seats)),
        "engagement_score": round(_clip(4 + 92 * h + (r() - 0.5) * 24, 0, 100)),
        "weekly_logins": logins,
        "last_login": (as_of - timedelta(days=int(bad * bad * 60 * (0.3 + r())))).isoformat(),
        "meeting_attendance_pct": round(_clip(22 + 76 * h + (r() - 0.5) * 16, 0, 100)),
        "email_response_hours": round(_clip(155 - 145 * h + (r() - 0.5) * 20, 1, 400), 1),
        "tickets_last_month": sum(tickets[-4:]),
        "weekly_tickets": tickets,
        "open_tickets": int(sum(tickets[-4:]) * (0.1 + 0.5 * bad) * r() + 0.5),
        "feature_adoption_pct": round(_clip(4 + 90 * h + (r() - 0.5) * 20, 0, 100)),
        "csat": csat,
        "nps": int(_clip(csat + (r() - 0.6) * 2, 0, 10) + 0.5),
        "complaints": min(interactions, int(bad**1.5 * 12 * r() + 0.3)),
        "interactions": interactions,
        "goal_attainment_pct": round(_clip(18 + 97 * h + (r() - 0.5) * 20, 0, 130)),
        "renewal_conversation_started": r() < 0.3 + 0.5 * h,
    }


def _drop_some(rng: random.Random, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in fields.items() if k in _ALWAYS or rng.random() >= MISSING_SHARE
    }


def synthetic_history(
    accounts: int = 300,
    months: int = 24,
    seed: int = 0,
    start: date = date(2024, 1, 1),
    horizon_days: int = 90,
    join_share: float = 0.005,
) -> SyntheticHistory:
    """Monthly snapshots of a book that starts with `accounts` accounts: every account that
    leaves is replaced by a new one, and about `join_share` of the book joins on top each
    month. Rows carry `as_of` and `churned_on` (empty when the account had
    not left by the last snapshot date)."""
    if accounts < 1 or months < 1:
        raise ValueError("accounts and months must be at least 1")
    rng = random.Random(seed)
    first = date(start.year - BURN_IN_MONTHS // 12, start.month, 1)
    dates = _month_starts(first, months + BURN_IN_MONTHS)
    end = dates[-1]
    book = [_new_account(rng, i + 1, first - timedelta(days=int(rng.random() * 1000)))
            for i in range(accounts)]
    number = accounts
    history = SyntheticHistory()
    churned_on: dict[str, date] = {}
    power = horizon_days / MONTH_DAYS
    for k, day in enumerate(dates):
        following = dates[k + 1] if k + 1 < len(dates) else day + timedelta(days=31)
        staying = []
        for a in book:
            fields = _fields(rng, a, day)
            q = 1 / (1 + math.exp(-true_log_odds(fields, day)))
            if k >= BURN_IN_MONTHS:  # the book settles first: weak accounts leave early
                history.rows.append({**_drop_some(rng, fields), "as_of": day.isoformat()})
                history.true_probability[(a.id, day.isoformat())] = 1 - (1 - q) ** power
            if rng.random() < q:
                days = (following - day).days
                churned_on[a.id] = day + timedelta(days=1 + int(rng.random() * days))
            else:
                step = (rng.random() - 0.5) * 0.16 + 0.1 * (a.anchor - a.health)
                a.health = _clip(a.health + step, 0.02, 0.99)
                staying.append(a)
        left = len(book) - len(staying)
        joining = left + sum(1 for _ in range(len(staying)) if rng.random() < join_share)
        for _ in range(joining):
            number += 1
            staying.append(_new_account(rng, number, following))
        book = staying
    for row in history.rows:
        left = churned_on.get(row["id"])
        row["churned_on"] = left.isoformat() if left is not None and left <= end else ""
    return history


def history_records(history: SyntheticHistory) -> Iterator[dict[str, Any]]:
    """The rows, for a writer."""
    yield from history.rows
