"""One account's complete deterministic score: health, churn risk, signals, opportunities."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from tools.playbook import Playbook
from tools.portfolio.account import Account
from tools.portfolio.plausibility import FieldWarning, Reviewed, review
from tools.scoring.churn import ChurnRisk, score_churn_risk
from tools.scoring.expansion import OpportunityResult, match_opportunities
from tools.scoring.health import Health, score_health
from tools.scoring.signals import SignalResult, detect_signals


class NotEvaluated(BaseModel):
    """Rules that could not be evaluated because their inputs are unknown."""

    signals: list[str]
    opportunities: list[str]


class AccountScore(BaseModel):
    """Everything `csm score` reports for one account (shape: docs/result-shape.md)."""

    id: str
    name: str
    health: Health
    churn_risk: ChurnRisk
    signals: list[SignalResult]
    opportunities: list[OpportunityResult]
    not_evaluated: NotEvaluated
    warnings: list[FieldWarning] = []


def score_account(account: Account, playbook: Playbook, as_of: date) -> AccountScore:
    """Review the account's plausibility as of a date, then run the four scoring tools on it."""
    return score_reviewed(review(account, as_of), playbook, as_of)


def score_reviewed(reviewed: Reviewed, playbook: Playbook, as_of: date) -> AccountScore:
    """Score an already reviewed account; its warnings go into the result."""
    account = reviewed.account
    signals = detect_signals(account, playbook, as_of)
    opportunities = match_opportunities(account, playbook)
    return AccountScore(
        id=account.id,
        name=account.name,
        health=score_health(account, playbook),
        churn_risk=score_churn_risk(account, playbook, as_of),
        signals=signals.fired,
        opportunities=opportunities.matched,
        not_evaluated=NotEvaluated(
            signals=signals.not_evaluated, opportunities=opportunities.not_evaluated
        ),
        warnings=reviewed.warnings,
    )
