"""Churn-risk score (SPEC 2): seven weighted factors, each linear between its ok and bad bounds."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from tools.numbers import cents_summing_to, days_between, half_up, r2, weighted
from tools.playbook import ChurnFactor, Playbook
from tools.portfolio.account import Account
from tools.scoring.rules import per_playbook, tier_ids


class FactorResult(BaseModel):
    """One factor's explanation: its input, the risk it maps to, and what it adds to the score."""

    model_config = ConfigDict(defer_build=True)

    id: str
    label: str
    input: str
    value: float | int
    risk: float
    weight: float
    contribution: float


class ChurnRisk(BaseModel):
    """The churn-risk score with its tier, coverage and per-factor breakdown."""

    model_config = ConfigDict(defer_build=True)

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


class ChurnSummary(NamedTuple):
    """The churn figures a table or CSV row shows, without the explanation."""

    score: float | None
    tier: str | None
    coverage: float


# A factor's rule as plain values: id, input, whether it counts days since a date, ok, bad,
# weight; with the total weight, read once per playbook.
FactorRule = tuple[str, str, bool, float, float, float]


@per_playbook
def factor_rules(playbook: Playbook) -> tuple[float, list[FactorRule]]:
    factors = playbook.churn_risk.factors
    rules = [
        (factor_id, f.input, f.transform == "days_since", f.ok, f.bad, f.weight)
        for factor_id, f in factors.items()
    ]
    return sum(f.weight for f in factors.values()), rules


def _risks(
    account: Account, playbook: Playbook, as_of: date
) -> tuple[dict[str, tuple[float | int, float]], list[str], float | None, float, float]:
    """Each known factor's (input, risk), the unknown factors, and the weighted score, known
    weight and coverage. `factor_input` and `linear` (tools/numbers.py) are written out here,
    for speed."""
    total, rules = factor_rules(playbook)
    risks: dict[str, tuple[float | int, float]] = {}
    missing: list[str] = []
    parts: list[tuple[float, float]] = []
    for factor_id, name, days_since, ok, bad, weight in rules:
        value = getattr(account, name, None)
        if value is None:
            missing.append(factor_id)
            continue
        if days_since:
            value = days_between(value, as_of)
        risk = (value - ok) / (bad - ok) * 100.0
        risk = risk if risk < 100.0 else 100.0  # clamp: max(0.0, min(100.0, risk))
        risk = risk if risk > 0.0 else 0.0
        risks[factor_id] = (value, risk)
        parts.append((weight, risk))
    score, known_weight, coverage = weighted(parts, total)
    return risks, missing, score, known_weight, coverage


def tier_of(playbook: Playbook, printed: float | None) -> str | None:
    if printed is None:
        return None
    whole = half_up(printed)
    return tier_ids(playbook).get(whole) or playbook.tier(whole).id


def churn_summary(account: Account, playbook: Playbook, as_of: date) -> ChurnSummary:
    """The churn-risk score, tier and coverage of `score_churn_risk`, without building the
    explanation (for tables and CSV)."""
    _, _, score, _, coverage = _risks(account, playbook, as_of)
    printed = r2(score) if score is not None else None
    return ChurnSummary(printed, tier_of(playbook, printed), coverage)


def churn_dict(account: Account, playbook: Playbook, as_of: date) -> dict[str, Any]:
    """`score_churn_risk` as plain data: the same fields, values and types as its
    `model_dump()`."""
    rules = playbook.churn_risk.factors
    risks, missing, score, known_weight, coverage = _risks(account, playbook, as_of)
    printed = r2(score) if score is not None else None
    contributions = cents_summing_to(
        [
            rules[f].weight * risk / known_weight if known_weight else 0.0
            for f, (_, risk) in risks.items()
        ],
        score or 0.0,
    )
    factors = [
        {
            "id": factor_id,
            "label": rules[factor_id].label,
            "input": rules[factor_id].input,
            "value": value,
            "risk": r2(risk),
            "weight": rules[factor_id].weight,
            "contribution": contribution,
        }
        for (factor_id, (value, risk)), contribution in zip(
            risks.items(), contributions, strict=True
        )
    ]
    return {
        "score": printed,
        "tier": tier_of(playbook, printed),
        "coverage": coverage,
        "factors": factors,
        "missing": missing,
    }


def score_churn_risk(account: Account, playbook: Playbook, as_of: date) -> ChurnRisk:
    """Score churn risk from the known factors; unknown factors drop out and weights rescale."""
    return ChurnRisk.model_validate(churn_dict(account, playbook, as_of))
