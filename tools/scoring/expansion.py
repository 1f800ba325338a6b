"""Expansion matrix (SPEC 5): offers whose strict conditions all hold, with their value."""

from __future__ import annotations

from pydantic import BaseModel

from tools.numbers import plain, r2
from tools.playbook import Clause, Playbook
from tools.portfolio.account import Account

MONTHS_PER_YEAR = 12
_OPS = {"lt": ("<", lambda a, b: a < b), "gt": (">", lambda a, b: a > b)}


class OpportunityResult(BaseModel):
    """A matched upsell: the offer, its price and value, and the inputs that matched."""

    id: str
    label: str
    offer: str
    price: float
    probability: float
    expected_value: float
    annual_value: float
    expected_annual_value: float
    evidence: str


class Opportunities(BaseModel):
    """Matched opportunities and the rules whose inputs were unknown."""

    matched: list[OpportunityResult]
    not_evaluated: list[str]


def _clause(account: Account, clause: Clause) -> tuple[bool | None, str]:
    value = getattr(account, clause.input, None)
    symbol, test = _OPS[clause.op]
    if value is None:
        return None, f"{clause.input} unknown"
    return test(
        value, clause.value
    ), f"{clause.input} {plain(value)} {symbol} {plain(clause.value)}"


def match_opportunities(account: Account, playbook: Playbook) -> Opportunities:
    """Match every offer (three-valued: one known-false condition settles a rule)."""
    matched: list[OpportunityResult] = []
    unknown: list[str] = []
    for opp_id, rule in playbook.opportunities.items():
        results = [_clause(account, c) for c in rule.when]
        outcomes = [ok for ok, _ in results]
        if False in outcomes:
            continue
        if None in outcomes:
            unknown.append(opp_id)
            continue
        expected = rule.price * rule.probability
        matched.append(
            OpportunityResult(
                id=opp_id,
                label=rule.label,
                offer=rule.offer,
                price=rule.price,
                probability=rule.probability,
                expected_value=r2(expected),
                annual_value=r2(rule.price * MONTHS_PER_YEAR),
                expected_annual_value=r2(expected * MONTHS_PER_YEAR),
                evidence="; ".join(text for _, text in results),
            )
        )
    return Opportunities(matched=matched, not_evaluated=unknown)


def expansion_held(tier: str | None, playbook: Playbook) -> bool:
    """True when the churn tier is one whose offers wait (`expansion.hold_tiers`): retention
    first, so the proposal holds them back and no forecast counts them."""
    return tier is not None and tier in playbook.expansion.hold_tiers


def expected_expansion(opportunities: list[OpportunityResult]) -> float:
    """Expected expansion per month: the sum of price x probability over matched offers."""
    return r2(sum(o.price * o.probability for o in opportunities))
