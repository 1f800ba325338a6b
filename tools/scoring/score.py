"""One account's complete deterministic score: health, churn risk, signals, opportunities.

`score_account` gives the typed result with every explanation. Scoring a whole portfolio for a
table, CSV or JSON takes the same numbers in lighter shapes (issue 15): `score_summary` skips
the explanations no table or CSV shows, and `score_dict` is the result as plain data, ready to
be written as JSON without building the models; `score_summaries` and `score_dicts` take them
for a batch of accounts at once, column by column (bulk.py, bulk_dicts.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from tools.playbook import Playbook
from tools.portfolio.account import Account
from tools.portfolio.plausibility import FieldWarning, Reviewed, review
from tools.scoring.churn import ChurnRisk, ChurnSummary, churn_dict, churn_summary
from tools.scoring.expansion import OpportunityResult, matched_offers
from tools.scoring.health import Health, HealthSummary, health_dict, health_summary
from tools.scoring.inputs import input_names, inputs_getter, stand_in
from tools.scoring.signals import SignalResult, fired_signals


class NotEvaluated(BaseModel):
    """Rules that could not be evaluated because their inputs are unknown."""

    model_config = ConfigDict(defer_build=True)

    signals: list[str]
    opportunities: list[str]


class AccountScore(BaseModel):
    """Everything `csm score` reports for one account (shape: docs/result-shape.md)."""

    model_config = ConfigDict(defer_build=True)

    id: str
    name: str
    health: Health
    churn_risk: ChurnRisk
    signals: list[SignalResult]
    opportunities: list[OpportunityResult]
    not_evaluated: NotEvaluated
    warnings: list[FieldWarning] = []


class Brief(NamedTuple):
    """A fired signal or a matched offer in a summary: its id, and an offer's price and
    probability (for the expected expansion)."""

    id: str
    price: float = 0.0
    probability: float = 0.0


class ScoreSummary(NamedTuple):
    """What a table or CSV row shows of an `AccountScore`, under the same attribute names."""

    id: str
    name: str
    health: HealthSummary
    churn_risk: ChurnSummary
    signals: list[Brief]
    opportunities: list[Brief]
    warnings: list[FieldWarning]


def score_account(account: Account, playbook: Playbook, as_of: date) -> AccountScore:
    """Review the account's plausibility as of a date, then run the four scoring tools on it."""
    return score_reviewed(review(account, as_of), playbook, as_of)


def score_reviewed(reviewed: Reviewed, playbook: Playbook, as_of: date) -> AccountScore:
    """Score an already reviewed account; its warnings go into the result."""
    return AccountScore.model_validate(score_dict(reviewed, playbook, as_of))


def score_dict(reviewed: Reviewed, playbook: Playbook, as_of: date) -> dict[str, Any]:
    """`score_reviewed` as plain data: the same fields, values and types as its `model_dump()`."""
    account = reviewed.account
    return _result(
        account.id, account.name, health_dict(account, playbook),
        churn_dict(account, playbook, as_of), fired_signals(account, playbook, as_of),
        matched_offers(account, playbook), reviewed.warnings,
    )


def _result(
    account_id: str,
    name: str,
    health: dict[str, Any],
    churn: dict[str, Any],
    signals: tuple[list[dict[str, str]], list[str]],
    offers: tuple[list[dict[str, Any]], list[str]],
    warnings: list[FieldWarning],
) -> dict[str, Any]:
    """The fields of `AccountScore` as plain data, in its order."""
    return {
        "id": account_id,
        "name": name,
        "health": health,
        "churn_risk": churn,
        "signals": signals[0],
        "opportunities": offers[0],
        "not_evaluated": {"signals": signals[1], "opportunities": offers[1]},
        "warnings": [w.model_dump() for w in warnings],
    }


def score_summary(
    reviewed: Reviewed,
    playbook: Playbook,
    as_of: date,
    health: HealthSummary | None = None,
    churn: ChurnSummary | None = None,
) -> ScoreSummary:
    """The figures of `score_reviewed` that a table or CSV row shows, without the explanations
    (with `health` or `churn`: those, already computed for this account)."""
    account = reviewed.account
    signals, _ = fired_signals(account, playbook, as_of)
    opportunities, _ = matched_offers(account, playbook, explain=False)
    return ScoreSummary(
        id=account.id,
        name=account.name,
        health=health or health_summary(account, playbook),
        churn_risk=churn or churn_summary(account, playbook, as_of),
        signals=[Brief(s["id"]) for s in signals],
        opportunities=[Brief(o["id"], o["price"], o["probability"]) for o in opportunities],
        warnings=reviewed.warnings,
    )


SMALL_BATCH = 64  # fewer accounts are scored one by one: numpy is not worth importing for them


class Waiting(NamedTuple):
    """An account waiting for `score_summaries` or `score_dicts`: its id, name and warnings and
    the values its rules read (tools/scoring/inputs.py); the account itself is let go."""

    id: str
    name: str
    warnings: list[FieldWarning]
    inputs: tuple[Any, ...]

    def reviewed(self, names: Sequence[str]) -> Reviewed:
        """The reviewed account rebuilt from these values (`stand_in`), to be scored alone."""
        return Reviewed(stand_in(self.id, self.name, names, self.inputs), self.warnings)


def waiting(reviewed: Reviewed, playbook: Playbook) -> Waiting:
    """The reviewed account as it waits for its batch."""
    account = reviewed.account
    return Waiting(account.id, account.name, reviewed.warnings,
                   inputs_getter(playbook)(account))


def score_summaries(
    batch: Sequence[Waiting], playbook: Playbook, as_of: date
) -> list[ScoreSummary]:
    """`score_summary` of every account of a batch; from SMALL_BATCH accounts on, health and
    churn risk are taken column by column (tools/scoring/bulk.py, which imports numpy)."""
    names = input_names(playbook)

    def one(item: Waiting, h: HealthSummary | None = None,
            c: ChurnSummary | None = None) -> ScoreSummary:
        return score_summary(item.reviewed(names), playbook, as_of, h, c)

    if len(batch) < SMALL_BATCH:
        return [one(item) for item in batch]
    from tools.scoring import bulk

    columns = bulk.Columns([item.inputs for item in batch], names)
    none: list[None] = [None] * len(batch)
    healths = bulk.health_summaries(columns, playbook) or none
    churns = bulk.churn_summaries(columns, playbook, as_of) or none
    signals = bulk.fired_signal_ids(columns, playbook, as_of)
    offers = bulk.matched_offer_rows(columns, playbook)
    if signals is None or offers is None:
        return [one(item, h, c) for item, h, c in zip(batch, healths, churns, strict=True)]
    briefs: dict[Any, Brief] = {}  # one (immutable) Brief per signal or offer

    def brief(key: str | tuple[str, float, float]) -> Brief:
        found = briefs.get(key)
        if found is None:
            found = briefs[key] = Brief(key) if isinstance(key, str) else Brief(*key)
        return found

    return [
        ScoreSummary(item.id, item.name, h, c, [brief(s) for s in fired],
                     [brief(o) for o in matched], item.warnings)
        if h is not None and c is not None
        else one(item, h, c)
        for item, h, c, fired, matched in zip(batch, healths, churns, signals, offers, strict=True)
    ]


def score_dicts(batch: Sequence[Waiting], playbook: Playbook, as_of: date) -> list[dict[str, Any]]:
    """`score_dict` of every account of a batch; from SMALL_BATCH accounts on, the numbers are
    taken column by column (tools/scoring/bulk_dicts.py, which imports numpy)."""
    names = input_names(playbook)

    def one(item: Waiting) -> dict[str, Any]:
        return score_dict(item.reviewed(names), playbook, as_of)

    if len(batch) < SMALL_BATCH:
        return [one(item) for item in batch]
    from tools.scoring import bulk, bulk_dicts

    columns = bulk.Columns([item.inputs for item in batch], names)
    healths = bulk_dicts.health_dicts(columns, playbook)
    churns = bulk_dicts.churn_dicts(columns, playbook, as_of)
    if healths is None or churns is None:
        return [one(item) for item in batch]
    signals = bulk_dicts.signal_dicts(columns, playbook, as_of)
    offers = bulk_dicts.offer_dicts(columns, playbook)
    return [
        _result(item.id, item.name, h, c, fired, matched, item.warnings)
        if h is not None and c is not None
        else one(item)
        for item, h, c, fired, matched in zip(batch, healths, churns, signals, offers, strict=True)
    ]
