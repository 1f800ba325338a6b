"""The success plan of one account: its parts put together (rules: the package docstring)."""

from __future__ import annotations

from datetime import date

from tools.numbers import add_days
from tools.planning.stakeholders import StakeholderMap
from tools.planning.success_plan.actions import build_next_actions
from tools.planning.success_plan.context import (
    PlanContext,
    PlanParts,
    action_due_days,
    find_industry,
    find_tier,
    quarter_label,
)
from tools.planning.success_plan.initiatives import build_initiatives
from tools.planning.success_plan.kpis import plan_kpi
from tools.planning.success_plan.milestones import build_milestones
from tools.planning.success_plan.models import SuccessPlan
from tools.planning.success_plan.objectives import build_objectives
from tools.planning.success_plan.onboarding import onboarding_status
from tools.planning.success_plan.qbr import plan_qbr, qbr_date
from tools.playbook import Playbook
from tools.portfolio.account import Account
from tools.scoring.score import AccountScore


def build_success_plan(
    account: Account,
    score: AccountScore,
    stakeholders: StakeholderMap,
    playbook: Playbook,
    as_of: date,
) -> SuccessPlan:
    """Build the account's success plan for the quarter of `as_of`."""
    tier = find_tier(score, playbook)
    industry = find_industry(account, playbook, as_of)
    due_days, due_rule = action_due_days(playbook, tier, industry)
    ctx = PlanContext(
        account=account,
        score=score,
        people=stakeholders,
        playbook=playbook,
        as_of=as_of,
        horizon_end=add_days(as_of, playbook.success_plan.horizon_days),
        due_days=due_days,
        tier=tier,
        industry=industry,
    )
    kpis = [plan_kpi(k, account, score) for k in playbook.success_plan.kpis]
    planned = qbr_date(ctx)[0]
    objectives = build_objectives(ctx, kpis, planned)
    qbr = plan_qbr(ctx, PlanParts(kpis=kpis, qbr_date=planned, objectives=objectives))
    onboarding = onboarding_status(ctx)
    notes = [f"{k.label}: {k.method}" for k in kpis if k.baseline is None]
    if ctx.held and ctx.offers:
        ids = ", ".join(o.id for o in ctx.offers)
        notes.append(f"expansion on hold while the tier is {tier.id} (expansion.hold_tiers): {ids}")
    return SuccessPlan(
        id=account.id,
        client=account.name,
        as_of=as_of,
        quarter=quarter_label(as_of),
        horizon_end=ctx.horizon_end,
        objectives=objectives,
        milestones=build_milestones(ctx, qbr, onboarding),
        initiatives=build_initiatives(ctx, qbr.date),
        kpis=kpis,
        qbr=qbr,
        next_actions=build_next_actions(ctx, kpis, qbr, onboarding, objectives),
        next_action_days=due_days,
        next_action_rule=due_rule,
        onboarding=onboarding,
        industry=industry,
        notes=notes,
    )
