"""Churn-risk score (SPEC 2): seven weighted factors, each linear between its ok and bad bounds."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from tools.numbers import cents_summing_to, days_between, half_up, linear, r2, weighted
from tools.playbook import ChurnFactor, Playbook
from tools.portfolio.account import Account


class FactorResult(BaseModel):
    """One factor's explanation: its input, the risk it maps to, and what it adds to the score."""

    id: str
    label: str
    input: str
    value: float | int
    risk: float
    weight: float
    contribution: float


class ChurnRisk(BaseModel):
    """The churn-risk score with its tier, coverage and per-factor breakdown."""

    score: float | None
    tier: str | None
    coverage: float
    factors: list[FactorResult]
    missing: list[str]


def factor_input(account: Account, factor: ChurnFactor, as_of: date) -> float | int | None:
    """The factor's raw input, or None when unknown (days_since turns a date into days)."""
    value = getattr(account, factor.input, None)
    if value is None:
        return None
    if factor.transform == "days_since":
        return days_between(value, as_of)
    return value


def score_churn_risk(account: Account, playbook: Playbook, as_of: date) -> ChurnRisk:
    """Score churn risk from the known factors; unknown factors drop out and weights rescale."""
    rules = playbook.churn_risk.factors
    total = sum(f.weight for f in rules.values())
    risks: dict[str, tuple[float | int, float]] = {}
    missing: list[str] = []
    for factor_id, factor in rules.items():
        value = factor_input(account, factor, as_of)
        if value is None:
            missing.append(factor_id)
        else:
            risks[factor_id] = (value, linear(value, zero=factor.ok, full=factor.bad))
    score, known_weight, coverage = weighted(
        ((rules[f].weight, risk) for f, (_, risk) in risks.items()), total
    )
    printed = r2(score) if score is not None else None
    contributions = cents_summing_to(
        [
            rules[f].weight * risk / known_weight if known_weight else 0.0
            for f, (_, risk) in risks.items()
        ],
        score or 0.0,
    )
    factors = [
        FactorResult(
            id=factor_id,
            label=rules[factor_id].label,
            input=rules[factor_id].input,
            value=value,
            risk=r2(risk),
            weight=rules[factor_id].weight,
            contribution=contribution,
        )
        for (factor_id, (value, risk)), contribution in zip(
            risks.items(), contributions, strict=True
        )
    ]
    tier = playbook.tier(half_up(printed)).id if printed is not None else None
    return ChurnRisk(
        score=printed,
        tier=tier,
        coverage=coverage,
        factors=factors,
        missing=missing,
    )
