"""Expansion matrix (SPEC 5): offers whose strict conditions all hold, with their value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from tools.numbers import plain, r2
from tools.playbook import Clause, Opportunity, Playbook
from tools.portfolio.account import Account
from tools.scoring.rules import per_playbook

MONTHS_PER_YEAR = 12
_SYMBOLS = {"lt": "<", "gt": ">"}


class Priced(Protocol):
    """An offer with its monthly price and probability."""

    @property
    def price(self) -> float: ...

    @property
    def probability(self) -> float: ...


class OpportunityResult(BaseModel):
    """A matched upsell: the offer, its price and value, and the inputs that matched."""

    model_config = ConfigDict(defer_build=True)

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

    model_config = ConfigDict(defer_build=True)

    matched: list[OpportunityResult]
    not_evaluated: list[str]


ClauseRule = tuple[str, bool, float]


@per_playbook
def offer_rules(playbook: Playbook) -> list[tuple[str, Opportunity, list[ClauseRule]]]:
    """Every offer with its clauses as (input, whether the input must be less, bound)."""
    return [
        (opp_id, rule, [(c.input, c.op == "lt", c.value) for c in rule.when])
        for opp_id, rule in playbook.opportunities.items()
    ]


def outcome(values: Sequence[Any], clauses: list[ClauseRule]) -> bool | None:
    """Three-valued, on the values of the clauses' inputs: False when a known input fails its
    clause, else None when an input is unknown, else True."""
    result: bool | None = True
    for value, (_, less, bound) in zip(values, clauses, strict=True):
        if value is None:
            result = None
        elif not (value < bound if less else value > bound):
            return False
    return result


def _evidence(value: Any, clause: Clause) -> str:
    if value is None:
        return f"{clause.input} unknown"
    return f"{clause.input} {plain(value)} {_SYMBOLS[clause.op]} {plain(clause.value)}"


def offer_dict(offer_id: str, rule: Opportunity, values: Sequence[Any]) -> dict[str, Any]:
    """A matched offer as plain data (the fields of `OpportunityResult`), with the values of
    its clauses' inputs as evidence."""
    expected = rule.price * rule.probability
    return {
        "id": offer_id,
        "label": rule.label,
        "offer": rule.offer,
        "price": rule.price,
        "probability": rule.probability,
        "expected_value": r2(expected),
        "annual_value": r2(rule.price * MONTHS_PER_YEAR),
        "expected_annual_value": r2(expected * MONTHS_PER_YEAR),
        "evidence": "; ".join(_evidence(v, c) for v, c in zip(values, rule.when, strict=True)),
    }


def matched_offers(
    account: Account, playbook: Playbook, explain: bool = True
) -> tuple[list[dict[str, Any]], list[str]]:
    """The matched offers as plain data (the fields of `OpportunityResult`; without `explain`
    only id, price and probability) and the ids of the rules whose inputs are unknown.
    Three-valued: one known-false condition settles a rule."""
    matched: list[dict[str, Any]] = []
    unknown: list[str] = []
    for opp_id, rule, clauses in offer_rules(playbook):
        values = [getattr(account, name, None) for name, _, _ in clauses]
        held = outcome(values, clauses)
        if held is False:
            continue
        if held is None:
            unknown.append(opp_id)
        elif explain:
            matched.append(offer_dict(opp_id, rule, values))
        else:
            matched.append({"id": opp_id, "price": rule.price, "probability": rule.probability})
    return matched, unknown


def match_opportunities(account: Account, playbook: Playbook) -> Opportunities:
    """Match every offer (three-valued: one known-false condition settles a rule)."""
    matched, unknown = matched_offers(account, playbook)
    return Opportunities.model_validate({"matched": matched, "not_evaluated": unknown})


def expansion_held(tier: str | None, playbook: Playbook) -> bool:
    """True when the churn tier is one whose offers wait (`expansion.hold_tiers`): retention
    first, so the proposal holds them back and no forecast counts them."""
    return tier is not None and tier in playbook.expansion.hold_tiers


def expected_expansion(opportunities: Sequence[Priced]) -> float:
    """Expected expansion per month: the sum of price x probability over matched offers."""
    return r2(sum(o.price * o.probability for o in opportunities))
