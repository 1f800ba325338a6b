"""The next QBR: its date and status, and the agenda with the account's figures (SPEC 8)."""

from __future__ import annotations

from datetime import date

from tools.numbers import add_days, days_between
from tools.planning.success_plan.context import PlanContext, PlanParts
from tools.planning.success_plan.models import QbrAgendaSection, QbrItem, QbrPlan
from tools.planning.success_plan.qbr_figures import FIGURES, english
from tools.playbook import QbrItem as AgendaItem


def qbr_date(ctx: PlanContext) -> tuple[date, date | None, str, int | None, str]:
    """(planned date, due date, status, days overdue, method)."""
    pb, account = ctx.playbook, ctx.account
    cadence = pb.qbr.cadence_days
    asap = pb.success_plan.next_action_days
    due, method = None, "no last_qbr_date on record"
    if account.last_qbr_date is not None:
        due = add_days(account.last_qbr_date, cadence)
        method = f"last_qbr_date {account.last_qbr_date} + qbr.cadence_days {cadence}"
    elif account.contract_start is not None:
        first = add_days(account.contract_start, pb.onboarding.days)
        if first >= ctx.as_of:
            due = first
            method = (
                f"first QBR at the end of onboarding: contract_start {account.contract_start} "
                f"+ onboarding.days {pb.onboarding.days}"
            )
    soon = f"; held as soon as possible: as_of + success_plan.next_action_days {asap}"
    if due is None:
        return ctx.days(asap), None, "unknown", None, method + soon
    if due < ctx.as_of:
        late = days_between(due, ctx.as_of)
        return ctx.days(asap), due, "overdue", late, f"{method} = {due}, {late} days ago{soon}"
    status = "due" if due <= ctx.horizon_end else "scheduled"
    return due, due, status, None, f"{method} = {due}"


def _item(item: AgendaItem, ctx: PlanContext, plan: PlanParts) -> QbrItem:
    parts = FIGURES[item.figures](ctx, plan) if item.figures else []
    figures = "; ".join(english(f, ctx, plan) for f in parts) or None
    return QbrItem(
        text=item.text,
        figures=figures,
        line=f"{item.text}: {figures}" if figures else item.text,
        id=item.id,
        shows=item.figures,
        parts=parts,
    )


def plan_qbr(ctx: PlanContext, plan: PlanParts) -> QbrPlan:
    """The next QBR and its agenda (`qbr.sections`)."""
    planned, due, status, late, method = qbr_date(ctx)
    q = ctx.playbook.qbr
    return QbrPlan(
        date=planned,
        due_date=due,
        status=status,
        days_overdue=late,
        last_qbr_date=ctx.account.last_qbr_date,
        minutes=q.minutes,
        method=method,
        sections=[
            QbrAgendaSection(
                id=s.id,
                title=s.title,
                minutes=s.minutes,
                items=[_item(item, ctx, plan) for item in s.items],
            )
            for s in q.sections
        ],
    )
