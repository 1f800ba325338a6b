"""The plan's key initiatives: the interventions of the churn tier, and one per recommended
expansion offer unless retention comes first (`expansion.hold_tiers`)."""

from __future__ import annotations

from datetime import date

from tools.numbers import add_days, plain
from tools.planning.success_plan.context import PlanContext, offer_text
from tools.planning.success_plan.models import Initiative
from tools.planning.success_plan.objectives import proposal_date


def _interventions(ctx: PlanContext) -> list[Initiative]:
    """The churn tier's interventions as one body of work (they share the tier, its cadence and
    its people, so one initiative lists them rather than repeating that four times)."""
    tier = ctx.tier
    if tier is None:
        return []
    every = "every day" if tier.cadence_days == 1 else f"every {tier.cadence_days} days"
    return [
        Initiative(
            name=f"{tier.id} churn-risk interventions",
            description=(
                f"{'; '.join(tier.interventions)} (churn risk "
                f"{plain(ctx.score.churn_risk.score)}, tier {tier.id})"
            ),
            timeline=f"{ctx.as_of} to {ctx.horizon_end}, {tier.cadence}: contact {every}",
            start=ctx.as_of,
            end=ctx.horizon_end,
            resources=list(dict.fromkeys([ctx.csm, tier.escalation])),
            source=f"churn_risk.tiers.{tier.id}.interventions",
            kind="intervention",
            ref=tier.id,
        )
    ]


def build_initiatives(ctx: PlanContext, qbr_date: date) -> list[Initiative]:
    """The tier's interventions, and one initiative per recommended offer (unless held)."""
    result = _interventions(ctx)
    if ctx.held:
        return result
    proposed = proposal_date(ctx, qbr_date)
    for o in ctx.offers:
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
