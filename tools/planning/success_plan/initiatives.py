"""The plan's key initiatives: one per intervention of the churn tier, one per matched
expansion offer unless retention comes first (`expansion.hold_tiers`)."""

from __future__ import annotations

from datetime import date

from tools.numbers import add_days, plain
from tools.planning.success_plan.context import PlanContext, offer_text
from tools.planning.success_plan.models import Initiative
from tools.planning.success_plan.objectives import proposal_date


def _interventions(ctx: PlanContext) -> list[Initiative]:
    tier = ctx.tier
    if tier is None:
        return []
    resources = list(dict.fromkeys([ctx.csm, tier.escalation]))
    return [
        Initiative(
            name=text,
            description=(
                f"{tier.id} churn-risk tier intervention (churn risk "
                f"{plain(ctx.score.churn_risk.score)}); contact cadence: {tier.cadence}"
            ),
            timeline=f"{ctx.as_of} to {ctx.horizon_end}, contact every {tier.cadence_days} days",
            start=ctx.as_of,
            end=ctx.horizon_end,
            resources=resources,
            source=f"churn_risk.tiers.{tier.id}.interventions",
            kind="intervention",
            ref=tier.id,
        )
        for text in tier.interventions
    ]


def build_initiatives(ctx: PlanContext, qbr_date: date) -> list[Initiative]:
    """One initiative per tier intervention and per matched opportunity (unless held)."""
    result = _interventions(ctx)
    if ctx.held:
        return result
    proposed = proposal_date(ctx, qbr_date)
    for o in ctx.score.opportunities:
        plan = ctx.playbook.expansion.offers[o.id]
        weeks = sum(p.weeks for p in plan.phases)
        steps = "; ".join(f"{p.name} ({p.weeks} weeks)" for p in plan.phases)
        result.append(
            Initiative(
                name=f"{o.label}: {o.offer}",
                description=f"{plan.problem}; {offer_text(o, ctx.currency)} at probability "
                f"{plain(o.probability)} ({o.evidence})",
                timeline=f"proposal on {proposed}, then {weeks} weeks: {steps}",
                start=proposed,
                end=add_days(proposed, 7 * weeks),
                resources=[ctx.role("seo"), ctx.csm, plan.client_resources],
                source=f"opportunities.{o.id}",
                kind="offer",
                ref=o.id,
            )
        )
    return result
