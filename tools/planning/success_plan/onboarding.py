"""Onboarding status (SPEC 7): the phase of today and each success criterion's status."""

from __future__ import annotations

from datetime import date

from tools.numbers import add_days, days_between, plain
from tools.planning.success_plan.context import PlanContext
from tools.planning.success_plan.models import CriterionStatus, OnboardingStatus
from tools.playbook import Criterion

MEASURES = {"mean_satisfaction": "mean stakeholder satisfaction", "csat": "csat"}


def _criterion_data(c: Criterion, ctx: PlanContext) -> tuple[str, float] | None:
    """What the data measured for a criterion and its value, when the data holds one."""
    if c.id == "stakeholder_satisfaction":
        if ctx.people.mean_satisfaction is not None:
            return "mean_satisfaction", ctx.people.mean_satisfaction
        if ctx.account.csat is not None:
            return "csat", ctx.account.csat
    return None


def _criterion(c: Criterion, phase: str, start: date, ctx: PlanContext) -> CriterionStatus:
    due = add_days(start, c.due_day)
    data = _criterion_data(c, ctx) if c.target is not None else None
    measured, value = data or (None, None)
    if data is not None:
        met = value >= c.target
        status = "met" if met else "not_met"
        evidence = f"{MEASURES[measured]} {plain(value)} {'>=' if met else '<'} target "
        evidence += plain(c.target)
    elif due >= ctx.as_of:
        status, evidence = "upcoming", f"due in {days_between(ctx.as_of, due)} days"
    else:
        status = "due_unverified"
        evidence = f"due {days_between(due, ctx.as_of)} days ago; no data confirms it"
    return CriterionStatus(
        id=c.id,
        text=c.text,
        phase=phase,
        due_day=c.due_day,
        due_date=due,
        target=c.target,
        status=status,
        evidence=f"{evidence} (contract_start {start} + day {c.due_day} = {due})",
        measured=measured,
        value=value,
        days_until=days_between(ctx.as_of, due),
    )


def onboarding_status(ctx: PlanContext) -> OnboardingStatus | None:
    """The onboarding position of an account whose contract started < onboarding.days ago."""
    start, rules = ctx.account.contract_start, ctx.playbook.onboarding
    if start is None or days_between(start, ctx.as_of) >= rules.days:
        return None
    day = days_between(start, ctx.as_of)
    phase = next((p for p in rules.phases if p.start_day <= day <= p.end_day), None)
    return OnboardingStatus(
        contract_start=start,
        day=day,
        ends=add_days(start, rules.days),
        phase=phase.id if phase else None,
        phase_start=add_days(start, phase.start_day) if phase else None,
        phase_end=add_days(start, phase.end_day) if phase else None,
        deliverables=list(phase.deliverables) if phase else [],
        criteria=[
            _criterion(c, p.id, start, ctx) for p in rules.phases for c in p.success_criteria
        ],
    )


def criterion_owner(ctx: PlanContext, criterion_id: str) -> str:
    """Who delivers an onboarding criterion (`success_plan.criterion_owners`, else the csm)."""
    return ctx.owner(ctx.playbook.success_plan.criterion_owners.get(criterion_id, "csm"))
