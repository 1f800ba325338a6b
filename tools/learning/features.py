"""The account features a learned churn model reads: one number per feature, or None when the
account does not say (unknown stays unknown; the model file says how each unknown is handled).

The same function computes them for training and for scoring, from the account as the
plausibility review leaves it (implausible values unknown)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date

from tools.numbers import days_between
from tools.portfolio.account import Account
from tools.portfolio.plausibility import review

FEATURES_VERSION = 1
Value = float | None
Extract = Callable[[Account, date], Value]

_LOG1P = ("mrr", "budget", "organic_traffic", "licensed_seats")
_PLAIN = (
    "payment_delays_last_quarter",
    "days_overdue",
    "engagement_score",
    "meeting_attendance_pct",
    "email_response_hours",
    "tickets_last_month",
    "open_tickets",
    "avg_ticket_response_hours",
    "feature_adoption_pct",
    "csat",
    "nps",
    "interactions",
    "goal_attainment_pct",
    "stakeholder_support",
    "roadmap_alignment",
    "communication_quality",
    "expansion_interest",
    "partnership_depth",
    "team_competence",
    "change_implementation_days",
    "technical_score",
    "content_score",
    "domain_authority",
    "days_since_improvement",
    "locations",
)
_INDUSTRIES = ("ecommerce", "saas", "local", "enterprise", "other")


def _number(name: str) -> Extract:
    def get(account: Account, _: date) -> Value:
        value = getattr(account, name)
        return None if value is None else float(value)

    return get


def _log1p(name: str) -> Extract:
    def get(account: Account, _: date) -> Value:
        value = getattr(account, name)
        return None if value is None else math.log1p(float(value))

    return get


def _flag(name: str) -> Extract:
    def get(account: Account, _: date) -> Value:
        value = getattr(account, name)
        return None if value is None else float(bool(value))

    return get


def _days_since(name: str) -> Extract:
    def get(account: Account, as_of: date) -> Value:
        value = getattr(account, name)
        return None if value is None else float(days_between(value, as_of))

    return get


def _days_until(name: str) -> Extract:
    def get(account: Account, as_of: date) -> Value:
        value = getattr(account, name)
        return None if value is None else float(days_between(as_of, value))

    return get


def _industry(kind: str) -> Extract:
    def get(account: Account, _: date) -> Value:
        return None if account.industry is None else float(account.industry == kind)

    return get


def _ratio(part: str, whole: str) -> Extract:
    def get(account: Account, _: date) -> Value:
        top, bottom = getattr(account, part), getattr(account, whole)
        if top is None or bottom is None or bottom <= 0:
            return None
        return float(top) / float(bottom)

    return get


def _mean_last(name: str, weeks: int) -> Extract:
    def get(account: Account, _: date) -> Value:
        series = getattr(account, name)
        if not series:
            return None
        last = series[-weeks:]
        return sum(last) / len(last)

    return get


def _change(name: str, weeks: int) -> Extract:
    """Mean of the last `weeks` values minus the mean of the `weeks` before them."""

    def get(account: Account, _: date) -> Value:
        series = getattr(account, name)
        if not series or len(series) < 2 * weeks:
            return None
        recent, before = series[-weeks:], series[-2 * weeks : -weeks]
        return (sum(recent) - sum(before)) / weeks

    return get


def _stakeholders(role: str | None) -> Extract:
    def get(account: Account, _: date) -> Value:
        people = account.stakeholders
        if people is None:
            return None
        return float(sum(1 for p in people if role is None or p.role == role))

    return get


# name -> (what it is, how it is read); the order is the model's column order
FEATURES: dict[str, tuple[str, Extract]] = {
    **{f"log_{n}": (f"ln(1 + {n})", _log1p(n)) for n in _LOG1P},
    **{n: (n, _number(n)) for n in _PLAIN},
    "seat_usage": ("active_seats / licensed_seats", _ratio("active_seats", "licensed_seats")),
    "complaint_share": ("complaints / interactions", _ratio("complaints", "interactions")),
    "tenure_days": ("days from contract_start to the snapshot", _days_since("contract_start")),
    "days_to_renewal": ("days from the snapshot to renewal_date", _days_until("renewal_date")),
    "days_since_login": ("days from last_login to the snapshot", _days_since("last_login")),
    "days_since_qbr": ("days from last_qbr_date to the snapshot", _days_since("last_qbr_date")),
    "auto_pay": ("auto_pay (1 yes, 0 no)", _flag("auto_pay")),
    "renewal_conversation_started": (
        "renewal_conversation_started (1 yes, 0 no)",
        _flag("renewal_conversation_started"),
    ),
    "logins_4w": ("mean weekly_logins over the last 4 weeks", _mean_last("weekly_logins", 4)),
    "logins_change": (
        "mean weekly_logins of the last 4 weeks minus the 4 before",
        _change("weekly_logins", 4),
    ),
    "tickets_4w": ("mean weekly_tickets over the last 4 weeks", _mean_last("weekly_tickets", 4)),
    "stakeholders": ("number of stakeholders", _stakeholders(None)),
    "detractors": ("number of stakeholders with the role detractor", _stakeholders("detractor")),
    **{
        f"industry_{k}": (f"industry is {k} (1 yes, 0 no)", _industry(k))
        for k in _INDUSTRIES
    },
}
FEATURE_NAMES = tuple(FEATURES)


def account_features(account: Account, as_of: date) -> list[Value]:
    """Every feature of the account as of a date, in FEATURE_NAMES order; None = unknown."""
    reviewed = review(account, as_of).account
    return [extract(reviewed, as_of) for _, extract in FEATURES.values()]
