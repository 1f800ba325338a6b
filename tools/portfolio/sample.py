"""Seeded synthetic portfolios for demos, load tests and benchmarks.

Each account draws one latent health value `h` (0 = failing, 1 = thriving) and derives its
inputs from it with noise, so churn risk, health colour, signals and opportunities spread the
way a real book of business does: most accounts low risk and green, some medium and yellow,
a few high or critical and red. About 5% of optional inputs are left out (unknown).
The same `seed` and `as_of` always give the same accounts; only `random.Random(seed)` is used.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

MISSING_SHARE = 0.05
WEEKS = 8
MIN_MRR, MAX_MRR = 80_000, 3_000_000

Random01 = Callable[[], float]
DayOf = Callable[[float], str]

# industry, cumulative share, mrr multiplier, organic traffic range (visits/month)
_INDUSTRIES = (
    ("ecommerce", 0.30, 1.0, (20_000, 3_000_000)),
    ("saas", 0.50, 1.0, (5_000, 400_000)),
    ("local", 0.70, 0.6, (2_000, 80_000)),
    ("enterprise", 0.85, 2.5, (20_000, 600_000)),
    ("other", 1.00, 0.8, (1_000, 60_000)),
)
_PREFIXES = (
    "Nord",
    "Volga",
    "Altai",
    "Baltic",
    "Sever",
    "Ural",
    "Polar",
    "Kedr",
    "Zarya",
    "Luch",
    "Granit",
    "Berezka",
    "Sokol",
    "Meridian",
    "Vector",
    "Cobalt",
    "Amber",
    "Silver",
    "Blue",
    "Bright",
    "Evergreen",
    "Harbor",
    "Summit",
    "Pioneer",
    "Atlas",
    "Nova",
    "Orion",
    "Tundra",
    "Kaskad",
    "Rubin",
    "Vostok",
    "Zenit",
)
_CORES = (
    "Market",
    "Logistics",
    "Soft",
    "Clinic",
    "Stroy",
    "Trade",
    "Labs",
    "Foods",
    "Motors",
    "Textiles",
    "Pharma",
    "Energy",
    "Finance",
    "Media",
    "Travel",
    "Dental",
    "Fitness",
    "Tech",
    "Home",
    "Agro",
    "Print",
    "Security",
    "Analytics",
    "Outdoor",
    "Optics",
    "Hotels",
)
_SUFFIXES = ("", "", "", " Group", " LLC", " Holding", " Partners", " Online", " Pro", " Plus")
_FIRST = (
    "Aleksei",
    "Dmitry",
    "Sergei",
    "Ivan",
    "Mikhail",
    "Andrei",
    "Pavel",
    "Roman",
    "Elena",
    "Olga",
    "Anna",
    "Maria",
    "Natalia",
    "Irina",
    "Ekaterina",
    "Yulia",
    "James",
    "Laura",
    "Henrik",
    "Sofia",
    "Daniel",
    "Maja",
    "Lucas",
    "Emma",
)
_LAST = (
    "Smirnov",
    "Kuznetsov",
    "Volkov",
    "Sokolov",
    "Lebedev",
    "Morozov",
    "Orlov",
    "Zaitsev",
    "Gromov",
    "Fedorov",
    "Makarov",
    "Karpov",
    "Whitfield",
    "Lindqvist",
    "Berger",
    "Novak",
    "Jensen",
    "Keller",
    "Dahl",
    "Brandt",
)
_TOP_TITLES = ("CEO", "Owner", "Managing Director", "Chief Commercial Officer")
_PRIMARY_TITLES = ("Marketing Director", "Head of E-commerce", "VP Marketing", "Marketing Manager")
_OTHER_TITLES = ("CTO", "SEO Specialist", "Content Manager", "CFO", "Web Analyst", "Head of Sales")
_OTHER_ROLES = ("influencer", "user", "user", "champion", "influencer")
_CHANNELS = ("email", "phone", "telegram", "slack", "in-person", "email")
_CADENCES = ("weekly", "biweekly", "monthly", "quarterly")
_RATINGS = (
    "stakeholder_support",
    "roadmap_alignment",
    "communication_quality",
    "expansion_interest",
    "partnership_depth",
    "team_competence",
)
# Fields that may be dropped at random; id and name are always present.
_OPTIONAL = (
    "industry",
    "mrr",
    "contract_start",
    "renewal_date",
    "auto_pay",
    "payment_delays_last_quarter",
    "days_overdue",
    "licensed_seats",
    "active_seats",
    "engagement_score",
    "weekly_logins",
    "last_login",
    "meeting_attendance_pct",
    "email_response_hours",
    "tickets_last_month",
    "weekly_tickets",
    "open_tickets",
    "avg_ticket_response_hours",
    "feature_adoption_pct",
    "csat",
    "nps",
    "complaints",
    "interactions",
    "goal_attainment_pct",
    *_RATINGS,
    "change_implementation_days",
    "technical_score",
    "content_score",
    "domain_authority",
    "organic_traffic",
    "days_since_improvement",
    "budget",
    "locations",
    "renewal_conversation_started",
    "last_qbr_date",
    "stakeholders",
    "history",
)


def _clip(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def _iso_days_ago(as_of: date, earliest: int, latest: int) -> list[str]:
    """ISO dates for as_of minus k days, k from `earliest` (negative = future) to `latest`."""
    return [(as_of - timedelta(days=k)).isoformat() for k in range(earliest, latest + 1)]


def generate_accounts(count: int, seed: int = 0, as_of: date | None = None) -> Iterator[dict]:
    """Yield `count` JSON-ready account dicts (ids `gen-000001`...) valid for `Account`.

    Dates are ISO strings relative to `as_of` (default: today). Deterministic per
    (`count`, `seed`, `as_of`); the first n accounts do not depend on `count`.
    """
    if count < 0:
        raise ValueError("count must be zero or more")
    as_of = as_of or date.today()
    rng = random.Random(seed)
    r = rng.random
    future = 400
    dates = _iso_days_ago(as_of, -future, 4000)

    def day(days_ago: float) -> str:
        return dates[int(days_ago) + future]

    log = math.log
    exp = math.exp
    log_mrr_span = log(MAX_MRR / MIN_MRR)
    keep_log = log(1 - MISSING_SHARE)
    n_optional = len(_OPTIONAL)

    for number in range(1, count + 1):
        h = 1.0 - r() ** 2.2 * 0.97  # latent health, skewed towards healthy
        bad = 1.0 - h

        pick = r()
        industry, _, mrr_factor, (t_low, t_high) = next(row for row in _INDUSTRIES if pick < row[1])
        mrr = MIN_MRR * exp(r() * log_mrr_span) * mrr_factor
        mrr = float(round(_clip(mrr, MIN_MRR, MAX_MRR), -4))

        age = int(20 + r() ** 1.5 * 1800)
        renewal_in = 365 - age % 365
        young = age < 90
        delays = int(bad * bad * 4.5 * r() + bad * 0.9)
        overdue = int(bad * 70 * r()) if r() < bad * bad * 0.7 else 0
        seats = 2 + int(mrr / 100_000 * (0.5 + r()))
        active = int(_clip(round(seats * (0.15 + 0.8 * h + (r() - 0.5) * 0.2)), 0, seats))

        base = 0.3 + 9.0 * h
        slope = (h - 0.55) * 0.12 + (r() - 0.5) * 0.06
        logins = [
            int(_clip(base * (1 + slope * (w - WEEKS + 1)) + (r() - 0.5) * 2.5, 0, 80) + 0.5)
            for w in range(WEEKS)
        ]
        t_base = 0.4 + 6.5 * bad**1.5
        t_slope = (0.5 - h) * 0.15
        tickets = [
            int(_clip(t_base * (1 + t_slope * (w - WEEKS + 1)) + (r() - 0.5) * 2.5, 0, 60) + 0.5)
            for w in range(WEEKS)
        ]
        month_tickets = sum(tickets[-4:])
        csat = round(_clip(0.8 + 9.0 * h + (r() - 0.5) * 1.8, 0, 10), 1)
        interactions = int(12 + 45 * h + r() * 10)

        pick = r()
        traffic = int(t_low * exp(pick * log(t_high / t_low)))
        if industry == "local":
            locations = 1 + int(r() ** 2 * 40)
        elif industry == "enterprise":
            locations = 1 + int(r() * 10)
        else:
            locations = 1 + int(r() ** 3 * 4)
        budget_factor = 2.0 if industry == "enterprise" else 1.0
        budget = float(round(mrr * (1.5 + 5.0 * r()) * budget_factor, -4))

        account: dict[str, Any] = {
            "id": f"gen-{number:06d}",
            "name": (
                f"{_PREFIXES[int(r() * len(_PREFIXES))]} {_CORES[int(r() * len(_CORES))]}"
                f"{_SUFFIXES[int(r() * len(_SUFFIXES))]}"
            ),
            "industry": industry,
            "mrr": mrr,
            "contract_start": day(age),
            "renewal_date": day(-renewal_in),
            "auto_pay": r() < 0.2 + 0.7 * h,
            "payment_delays_last_quarter": delays,
            "days_overdue": overdue,
            "licensed_seats": seats,
            "active_seats": active,
            "engagement_score": round(_clip(4 + 92 * h + (r() - 0.5) * 20, 0, 100)),
            "weekly_logins": logins,
            "last_login": day(bad * bad * 50 * (0.4 + r())),
            "meeting_attendance_pct": round(_clip(22 + 76 * h + (r() - 0.5) * 16, 0, 100)),
            "email_response_hours": round(_clip(155 - 145 * h + (r() - 0.5) * 20, 1, 400), 1),
            "tickets_last_month": month_tickets,
            "weekly_tickets": tickets,
            "open_tickets": int(month_tickets * (0.1 + 0.5 * bad) * r() + 0.5),
            "avg_ticket_response_hours": round(2 + 10 * bad + r() * 3, 1),
            "feature_adoption_pct": round(_clip(4 + 90 * h + (r() - 0.5) * 16, 0, 100)),
            "csat": csat,
            "nps": int(_clip(csat + (r() - 0.6) * 2, 0, 10) + 0.5),
            "complaints": int(bad**1.5 * 12 * r() + 0.3),
            "interactions": interactions,
            "goal_attainment_pct": round(_clip(18 + 97 * h + (r() - 0.5) * 20, 0, 130)),
        }
        for key in _RATINGS:
            account[key] = int(_clip(0.8 + 9.0 * h + (r() - 0.5) * 2.4, 0, 10) + 0.5)
        account.update(
            change_implementation_days=int(_clip(78 - 72 * h + (r() - 0.5) * 16, 1, 150)),
            technical_score=int(28 + 60 * r() + 10 * h),
            content_score=int(25 + 62 * r() + 10 * h),
            domain_authority=int(_clip(8 + 55 * r() + mrr / 100_000, 0, 100)),
            organic_traffic=traffic,
            days_since_improvement=int(3 + 110 * bad * r() + 15 * r()),
            budget=budget,
            locations=locations,
            renewal_conversation_started=(r() < 0.3 + 0.5 * h if renewal_in <= 180 else r() < 0.05),
        )
        if not young:
            account["last_qbr_date"] = day(10 + 170 * bad * r() + 60 * r())
        account["stakeholders"] = _stakeholders(r, day, h, age)
        account["history"] = _history(r, day, h, age, mrr)

        gap = int(log(1.0 - r()) / keep_log)  # skip-ahead sampling of independent 5% drops
        while gap < n_optional:
            account.pop(_OPTIONAL[gap], None)
            gap += 1 + int(log(1.0 - r()) / keep_log)
        yield account


def _stakeholders(r: Random01, day: DayOf, h: float, age: int) -> list[dict]:
    """1-5 people: a top decision maker, one primary contact, others reporting to them."""
    size = 1 + int(r() * 5)
    people: list[dict] = []
    top = ""
    primary_at = 0 if size == 1 else 1
    for i in range(size):
        name = f"{_FIRST[int(r() * len(_FIRST))]} {_LAST[int(r() * len(_LAST))]}"
        while any(p["name"] == name for p in people):
            name = f"{name} Jr"
        primary = i == primary_at
        if i == 0:
            role, title, boss = "decision_maker", _TOP_TITLES[int(r() * 4)], None
            top = name
        elif primary:
            role = "champion" if r() < 0.2 + h else "detractor"
            title, boss = _PRIMARY_TITLES[int(r() * 4)], top
        else:
            role = "detractor" if r() < 0.35 * (1 - h) else _OTHER_ROLES[int(r() * 5)]
            title, boss = _OTHER_TITLES[int(r() * 6)], people[primary_at]["name"]
        # Mostly in role since before the contract; 6% of primaries are new (< 90 days).
        since = r() * 60 if primary and r() < 0.06 else age + r() * 1500
        people.append(
            {
                "name": name,
                "title": title,
                "role": role,
                "reports_to": boss,
                "primary": primary,
                "since": day(since),
                "satisfaction": int(_clip(1 + 8.5 * h + (r() - 0.5) * 3, 0, 10) + 0.5),
                "engagement": ("low", "medium", "high")[int(_clip(h * 3 + (r() - 0.5), 0, 2.99))],
                "preferred_channel": _CHANNELS[int(r() * 6)],
                "meeting_cadence": _CADENCES[int(r() * 4)],
                "last_contact": day(min(age, 2 + (1 - h) * 60 * r() + 5 * r())),
            }
        )
    return people


def _history(r: Random01, day: DayOf, h: float, age: int, mrr: float) -> list[dict]:
    """Up to two past quarterly snapshots, as many as the contract's age allows."""
    points = []
    drift = (r() - 0.5) * 0.3
    for quarter in (2, 1):
        if age < 91 * quarter:
            continue
        past = _clip(h - drift * quarter, 0, 1)
        points.append(
            {
                "date": day(91 * quarter),
                "health_score": round(_clip(12 + 82 * past + (r() - 0.5) * 10, 0, 100), 1),
                "churn_risk": round(_clip(88 - 86 * past + (r() - 0.5) * 10, 0, 100), 1),
                "mrr": float(round(mrr * (1 - drift * quarter * 0.5), -4)),
                "churned": False,
            }
        )
    return points
