"""One account's complete deterministic score: health, churn risk, signals, opportunities."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from tools.account import Account
from tools.churn import ChurnRisk, score_churn_risk
from tools.expansion import OpportunityResult, match_opportunities
from tools.health import Health, score_health
from tools.playbook import Playbook
from tools.signals import SignalResult, detect_signals


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


def score_account(account: Account, playbook: Playbook, as_of: date) -> AccountScore:
    """Run the four scoring tools on one account as of a given date."""
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
    )
