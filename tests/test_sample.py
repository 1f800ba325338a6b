"""The bundled sample portfolio and the seeded synthetic-portfolio generator."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date
from importlib import resources

import pytest

from tools.portfolio.account import Account
from tools.portfolio.sample import generate_accounts
from tools.scoring.score import score_account

AS_OF = date(2026, 11, 20)
INDUSTRIES = {"ecommerce", "saas", "local", "enterprise", "other"}


def _sample() -> dict:
    text = resources.files("knowledge").joinpath("sample_portfolio.json").read_text("utf-8")
    return json.loads(text)


SAMPLE = _sample()
ROWS = SAMPLE["accounts"]


def _days(a: str, b: date = AS_OF) -> int:
    """Days from ISO date `a` to `b`."""
    return (b - date.fromisoformat(a)).days


# Signal and opportunity conditions written out from SPEC sections 4-5, independent of the
# scoring code. Each returns True only when its inputs are known and the rule holds.
SIGNAL_RULES = {
    "engagement_drop": lambda a: (
        len(a.get("weekly_logins") or []) >= 2 and all(x < 2 for x in a["weekly_logins"][-2:])
    ),
    "payment_delay": lambda a: (a.get("days_overdue") or 0) > 7,
    "support_spike": lambda a: (
        len(a.get("weekly_tickets") or []) >= 2 and all(x > 5 for x in a["weekly_tickets"][-2:])
    ),
    "stakeholder_change": lambda a: any(
        s.get("primary") and s.get("since") and 0 <= _days(s["since"]) <= 90
        for s in a.get("stakeholders") or []
    ),
    "performance_plateau": lambda a: (a.get("days_since_improvement") or 0) > 60,
    "renewal_window": lambda a: (
        a.get("renewal_date") is not None
        and 0 <= -_days(a["renewal_date"]) <= 180
        and a.get("renewal_conversation_started") is not True
    ),
}


def _known(a: dict, *keys: str) -> bool:
    return all(a.get(k) is not None for k in keys)


OPPORTUNITY_RULES = {
    "technical_seo": lambda a: (
        _known(a, "mrr", "technical_score") and a["mrr"] < 1_000_000 and a["technical_score"] < 70
    ),
    "content_marketing": lambda a: (
        _known(a, "content_score", "organic_traffic")
        and a["content_score"] < 60
        and a["organic_traffic"] > 100_000
    ),
    "link_building": lambda a: (
        _known(a, "domain_authority", "budget")
        and a["domain_authority"] < 50
        and a["budget"] > 2_000_000
    ),
    "local_seo": lambda a: _known(a, "locations") and a["locations"] > 5,
}


# --- the bundled sample -------------------------------------------------------------------


def test_sample_header_and_size():
    assert SAMPLE["as_of"] == AS_OF.isoformat()
    assert SAMPLE["currency"] == "RUB"
    assert 35 <= len(ROWS) <= 45


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_sample_row_validates(row):
    account = Account.model_validate(row)
    assert account.id == row["id"]
    stakeholders = account.stakeholders or []
    assert 2 <= len(stakeholders) <= 6
    names = {s.name for s in stakeholders}
    assert len(names) == len(stakeholders)
    assert sum(1 for s in stakeholders if s.primary) == 1
    assert sum(1 for s in stakeholders if s.reports_to is None) == 1
    assert all(s.reports_to in names for s in stakeholders if s.reports_to is not None)
    assert all(s.since <= AS_OF and s.last_contact <= AS_OF for s in stakeholders)
    assert 8 <= len(account.weekly_logins or []) <= 12
    if account.weekly_tickets is not None:
        assert 8 <= len(account.weekly_tickets) <= 12
    assert 2 <= len(account.history or []) <= 4
    assert all(p.date < AS_OF and p.churned is False for p in account.history)
    assert account.contract_start < AS_OF < account.renewal_date
    assert account.last_login <= AS_OF
    assert account.active_seats <= account.licensed_seats


def test_sample_ids_and_names_unique():
    assert len({r["id"] for r in ROWS}) == len(ROWS)
    assert len({r["name"] for r in ROWS}) == len(ROWS)


def test_sample_spread():
    assert {r["industry"] for r in ROWS} == INDUSTRIES
    mrr = [r["mrr"] for r in ROWS]
    assert min(mrr) <= 100_000 and max(mrr) >= 2_500_000
    young = [r for r in ROWS if _days(r["contract_start"]) <= 90]
    assert len(young) >= 2


def test_sample_has_unknown_inputs():
    lacking = [
        r["id"]
        for r in ROWS
        if any(k not in r for k in ("csat", "engagement_score", "weekly_tickets"))
    ]
    assert 3 <= len(lacking) <= 8


@pytest.mark.parametrize("rule", sorted(SIGNAL_RULES))
def test_sample_fires_every_signal_twice(rule):
    assert sum(1 for r in ROWS if SIGNAL_RULES[rule](r)) >= 2


@pytest.mark.parametrize("rule", sorted(OPPORTUNITY_RULES))
def test_sample_matches_every_opportunity_twice(rule):
    assert sum(1 for r in ROWS if OPPORTUNITY_RULES[rule](r)) >= 2


def test_sample_shows_every_tier_and_colour(playbook):
    scores = [score_account(Account.model_validate(r), playbook, AS_OF) for r in ROWS]
    tiers = Counter(s.churn_risk.tier for s in scores)
    colours = Counter(s.health.color for s in scores)
    assert set(tiers) == {"low", "medium", "high", "critical"}
    assert set(colours) == {"green", "yellow", "red"}
    assert tiers["low"] > tiers["medium"] and colours["green"] > colours["yellow"]


# --- the generator -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def thousand() -> list[dict]:
    return list(generate_accounts(1000, seed=11, as_of=AS_OF))


def test_generator_is_deterministic_per_seed():
    first = list(generate_accounts(200, seed=5, as_of=AS_OF))
    random.seed(1)  # the global generator must not matter
    second = list(generate_accounts(200, seed=5, as_of=AS_OF))
    assert first == second
    assert list(generate_accounts(20, seed=5, as_of=AS_OF)) == first[:20]


def test_generator_differs_across_seeds():
    a = list(generate_accounts(50, seed=1, as_of=AS_OF))
    b = list(generate_accounts(50, seed=2, as_of=AS_OF))
    assert [x["id"] for x in a] == [x["id"] for x in b]
    assert a != b
    assert sum(x != y for x, y in zip(a, b, strict=True)) > 45


def test_generator_leaves_global_random_alone():
    state = random.getstate()
    list(generate_accounts(30, seed=3, as_of=AS_OF))
    assert random.getstate() == state


@pytest.mark.parametrize("count", [0, 1, 37])
def test_generator_honours_count(count):
    rows = list(generate_accounts(count, seed=0, as_of=AS_OF))
    assert len(rows) == count
    assert [r["id"] for r in rows] == [f"gen-{i:06d}" for i in range(1, count + 1)]


def test_generator_rejects_negative_count():
    with pytest.raises(ValueError):
        list(generate_accounts(-1))


def test_generator_rows_are_valid_json_ready_accounts(thousand):
    json.loads(json.dumps(thousand))  # JSON-ready: no date objects
    for row in thousand:
        account = Account.model_validate(row)
        if account.stakeholders is not None:
            assert 1 <= len(account.stakeholders) <= 5
            assert sum(1 for s in account.stakeholders if s.primary) == 1
        for series in (account.weekly_logins, account.weekly_tickets):
            assert series is None or len(series) == 8
        if account.contract_start is not None:
            assert account.contract_start <= AS_OF
        if account.last_login is not None:
            assert account.last_login <= AS_OF


def test_generator_spreads_values(thousand):
    csat = [r["csat"] for r in thousand if "csat" in r]
    assert any(c < 5 for c in csat) and any(c > 8 for c in csat)
    engagement = [r["engagement_score"] for r in thousand if "engagement_score" in r]
    assert min(engagement) < 30 and max(engagement) > 85
    assert {r["industry"] for r in thousand if "industry" in r} == INDUSTRIES
    mrr = [r["mrr"] for r in thousand if "mrr" in r]
    assert min(mrr) < 150_000 and max(mrr) > 2_000_000
    assert any(SIGNAL_RULES["payment_delay"](r) for r in thousand)
    assert any(not SIGNAL_RULES["payment_delay"](r) for r in thousand)


def test_generator_correlates_values(thousand):
    """Unhappy clients log in less and file more tickets than happy ones."""
    rows = [r for r in thousand if _known(r, "csat", "weekly_logins", "tickets_last_month")]
    low = [r for r in rows if r["csat"] < 5]
    high = [r for r in rows if r["csat"] > 8]

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    assert mean([sum(r["weekly_logins"]) for r in low]) < mean(
        [sum(r["weekly_logins"]) for r in high]
    )
    assert mean([r["tickets_last_month"] for r in low]) > mean(
        [r["tickets_last_month"] for r in high]
    )


def test_generator_leaves_about_five_percent_unknown(thousand):
    optional = 42  # every SPEC field but id, name
    present = sum(len(r) - 2 for r in thousand)
    missing_share = 1 - present / (optional * len(thousand))
    # young accounts (< 90 days) also have no QBR yet, so allow a little above 5%
    assert 0.03 <= missing_share <= 0.09


def test_generator_tiers_and_colours_spread(thousand, playbook):
    scores = [score_account(Account.model_validate(r), playbook, AS_OF) for r in thousand]
    tiers = Counter(s.churn_risk.tier for s in scores)
    colours = Counter(s.health.color for s in scores)
    assert tiers["low"] > tiers["medium"] > tiers["high"] > 0 and tiers["critical"] > 0
    assert colours["green"] > colours["yellow"] > 0 and colours["red"] > 0
    assert tiers["low"] > len(scores) / 2
