"""Risk mitigation plan (step 5): tier cadence and interventions, escalation path, one mitigation
per fired signal, retention offers, the renewal plan and the rules that could not be checked."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel

from tools.numbers import add_days, days_between, half_up, plain
from tools.playbook import Playbook
from tools.portfolio.account import Account
from tools.scoring.score import AccountScore
from tools.scoring.signals import (
    in_renewal_window,
    renewal_talks_days,
    renewal_talks_start,
    undetermined_primaries,
)
from tools.texts import ShownText

RenewalStatus = Literal["started", "open_now", "overdue", "upcoming", "unknown"]


class Mitigation(BaseModel):
    """What to do about one fired signal, who does it and by when."""

    signal: str
    label: str
    severity: str
    action: str
    owner: ShownText
    due_days: int
    due_date: date
    steps: list[ShownText]
    evidence: str


class RenewalPlan(BaseModel):
    """Where the renewal stands: talks open `signals.renewal_window.within_days` before expiry."""

    renewal_date: date | None
    days_to_renewal: int | None
    talks_start: date | None
    status: RenewalStatus
    note: str


class UnknownPerson(BaseModel):
    """A stakeholder for whom a rule is undecided, and which of their inputs are unknown."""

    name: str
    unknown: list[str]


class DataGap(BaseModel):
    """An early-warning rule that could not be checked, and why (`people`: the stakeholders
    whose unknown inputs left `stakeholder_change` undecided; empty for the other rules)."""

    signal: str
    input: str
    note: str
    people: list[UnknownPerson] = []


class RiskPlan(BaseModel):
    """The Risk Mitigation Plan for one account."""

    id: str
    name: str
    as_of: date
    churn_score: float | None
    tier: str | None
    tier_evidence: str
    cadence: ShownText | None
    cadence_days: int | None
    next_contact_due: date | None
    interventions: list[ShownText]
    escalation_path: list[ShownText]
    mitigations: list[Mitigation]
    retention_offers: list[ShownText]
    renewal: RenewalPlan
    data_gaps: list[DataGap]


def escalation_path(playbook: Playbook, tier: str | None) -> list[str]:
    """The escalation of every tier from the lowest up to `tier`, in order (empty if unknown)."""
    if tier is None:
        return []
    path: list[str] = []
    for band in sorted(playbook.churn_risk.tiers, key=lambda t: t.min):
        path.append(band.escalation)
        if band.id == tier:
            return path
    return []


def renewal_plan(account: Account, playbook: Playbook, as_of: date) -> RenewalPlan:
    """Status: unknown (no date), overdue (date passed), started, open_now, or upcoming."""
    renewal = account.renewal_date
    if renewal is None:
        return RenewalPlan(
            renewal_date=None,
            days_to_renewal=None,
            talks_start=None,
            status="unknown",
            note="renewal_date is unknown: record the contract end date to plan the renewal",
        )
    days = days_between(as_of, renewal)
    talks = renewal_talks_start(renewal, playbook)
    window = (
        f"talks open {talks.isoformat()} ({renewal_talks_days(playbook)} days before "
        f"{renewal.isoformat()})"
    )
    status: RenewalStatus
    if days < 0:
        status = "overdue"
        started = " although talks started" if account.renewal_conversation_started else ""
        note = f"renewal date {renewal.isoformat()} passed {-days} days ago{started}: "
        note += "confirm whether the contract was renewed"
    elif account.renewal_conversation_started is True:
        status, note = "started", f"renewal conversation started; {days} days to renewal"
    elif in_renewal_window(renewal, as_of, playbook):
        status = "open_now"
        note = f"{window}: the window is open and talks have not started; open them now"
    else:
        status = "upcoming"
        note = f"{window}: open the renewal conversation on {talks.isoformat()}"
    return RenewalPlan(
        renewal_date=renewal,
        days_to_renewal=days,
        talks_start=talks,
        status=status,
        note=note,
    )


def _gap(signal_id: str, account: Account, playbook: Playbook, as_of: date) -> DataGap:
    rule = playbook.signals[signal_id]
    field = rule.input
    reason = f"{field} is unknown"
    people: list[UnknownPerson] = []
    if signal_id == "stakeholder_change" and account.stakeholders:
        people = [
            UnknownPerson(name=name, unknown=unknown)
            for name, unknown in undetermined_primaries(account, playbook, as_of)
        ]
        listed = ", ".join(f"{p.name} ({' and '.join(p.unknown)} unknown)" for p in people)
        reason = (
            "no stakeholder is known to be a primary contact in the role for "
            f"{rule.within_days} days or less, and it is unknown for {listed}"
        )
    elif rule.weeks and account.known(field):
        count = len(getattr(account, field))
        reason = f"{field} has {count} weekly value{'s' if count != 1 else ''}, {rule.weeks} needed"
    note = f"{signal_id} could not be checked: {reason}"
    return DataGap(signal=signal_id, input=field, note=note, people=people)


def _tier_evidence(score: AccountScore, playbook: Playbook) -> str:
    churn = score.churn_risk
    if churn.score is None or churn.tier is None:
        return "churn risk unknown: none of its inputs is known, so no tier, cadence or escalation"
    band = next(t for t in playbook.churn_risk.tiers if t.id == churn.tier)
    return (
        f"churn risk {plain(churn.score)} rounds to {half_up(churn.score)}: tier {band.id} "
        f"({band.min}-{band.max}), coverage {plain(churn.coverage)}"
    )


def build_risk_plan(
    account: Account, score: AccountScore, playbook: Playbook, as_of: date
) -> RiskPlan:
    """One account's risk mitigation plan from its scores and the playbook's `risk` section."""
    tier_id = score.churn_risk.tier
    tier = next((t for t in playbook.churn_risk.tiers if t.id == tier_id), None)
    mitigations = []
    for signal in score.signals:
        rule = playbook.risk.mitigations[signal.id]
        mitigations.append(
            Mitigation(
                signal=signal.id,
                label=signal.label,
                severity=signal.severity,
                action=signal.action,
                owner=rule.owner,
                due_days=rule.due_days,
                due_date=add_days(as_of, rule.due_days),
                steps=list(rule.steps),
                evidence=signal.evidence,
            )
        )
    return RiskPlan(
        id=account.id,
        name=account.name,
        as_of=as_of,
        churn_score=score.churn_risk.score,
        tier=tier_id,
        tier_evidence=_tier_evidence(score, playbook),
        cadence=tier.cadence if tier else None,
        cadence_days=tier.cadence_days if tier else None,
        next_contact_due=add_days(as_of, tier.cadence_days) if tier else None,
        interventions=list(tier.interventions) if tier else [],
        escalation_path=escalation_path(playbook, tier_id),
        mitigations=mitigations,
        retention_offers=list(playbook.risk.retention_offers.get(tier_id or "", [])),
        renewal=renewal_plan(account, playbook, as_of),
        data_gaps=[_gap(s, account, playbook, as_of) for s in score.not_evaluated.signals],
    )
