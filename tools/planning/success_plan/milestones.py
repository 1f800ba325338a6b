"""The plan's milestones: dated checkpoints inside the horizon, each with one owner."""

from __future__ import annotations

from datetime import date

from tools.numbers import month_start
from tools.planning.success_plan.context import PlanContext
from tools.planning.success_plan.models import Milestone, OnboardingStatus, QbrPlan
from tools.planning.success_plan.onboarding import criterion_owner
from tools.scoring.signals import renewal_talks_days, renewal_talks_start


def _peak_start(ctx: PlanContext) -> date | None:
    quarter = ctx.industry.peak_quarter if ctx.industry else None
    if quarter is None:
        return None
    for year in (ctx.as_of.year, ctx.as_of.year + 1):
        start = month_start(year, 3 * (quarter - 1) + 1)
        if start is not None and ctx.as_of < start <= ctx.horizon_end:
            return start
    return None


def build_milestones(
    ctx: PlanContext, qbr: QbrPlan, onboarding: OnboardingStatus | None
) -> list[Milestone]:
    """Dated checkpoints inside the horizon, sorted by date."""
    a, pb, csm = ctx.account, ctx.playbook, ctx.csm
    found: list[Milestone] = []

    def add(day: date, kind: str, text: str, owner: str, source: str, ref: str | None = None):
        if ctx.as_of <= day <= ctx.horizon_end:
            found.append(
                Milestone(
                    date=day, description=text, owner=owner, source=source, kind=kind, ref=ref
                )
            )

    late = f", overdue since {qbr.due_date}" if qbr.status == "overdue" else ""
    add(
        qbr.date,
        "qbr",
        f"quarterly business review ({qbr.minutes} min{late})",
        csm,
        "qbr.cadence_days",
    )
    if a.renewal_date is not None:
        if a.renewal_conversation_started is not True:
            add(
                renewal_talks_start(a.renewal_date, pb),
                "renewal_talks",
                f"renewal talks start ({renewal_talks_days(pb)} days before the renewal on "
                f"{a.renewal_date})",
                csm,
                "signals.renewal_window.within_days",
            )
        add(a.renewal_date, "renewal", "contract renewal date", csm, "renewal_date")
    if onboarding is not None:
        for c in onboarding.criteria:
            if c.status != "met":
                text = f"onboarding: {c.text} (day {c.due_day})"
                add(
                    c.due_date,
                    "criterion",
                    text,
                    criterion_owner(ctx, c.id),
                    f"onboarding.success_criteria.{c.id}",
                    c.id,
                )
        add(onboarding.ends, "onboarding_end", "onboarding complete", csm, "onboarding.days")
    peak = _peak_start(ctx)
    if peak is not None:
        add(
            peak,
            "peak_quarter",
            f"{ctx.industry.label} peak quarter Q{ctx.industry.peak_quarter} starts: seasonal "
            "campaigns live",
            ctx.role("seo"),
            f"success_plan.industries.{ctx.industry.id}.peak_quarter",
        )
    half = pb.success_plan.horizon_days // 2
    add(
        ctx.days(half),
        "mid_review",
        "mid-quarter review of the success metrics",
        csm,
        "success_plan.horizon_days",
    )
    add(
        ctx.horizon_end,
        "horizon_end",
        "success metrics measured against targets; plan revised",
        csm,
        "success_plan.horizon_days",
    )
    return sorted(found, key=lambda m: m.date)
