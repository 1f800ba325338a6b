"""The plan's three business objectives: the first three that apply, in the order of the
package docstring. Titles come from the playbook (`success_plan.objectives`, a health
component's or an offer's `objective`); each criterion is a sentence a check can verify."""

from __future__ import annotations

from datetime import date

from tools.numbers import days_between, plain, r2
from tools.planning.proposal import proposal_timing
from tools.planning.success_plan.context import PlanContext, churn_text, find_kpi, health_text
from tools.planning.success_plan.models import KpiPlan, Objective
from tools.scoring.expansion import OpportunityResult

RANKS = ("primary", "secondary", "tertiary")


def _objective(ctx: PlanContext, id_: str, criterion: str, evidence: str, **kw: object) -> dict:
    title = kw.pop("title", None) or ctx.playbook.success_plan.objectives[id_]
    return {"id": id_, "title": title, "criterion": criterion, "evidence": evidence, **kw}


def _churn_objective(ctx: PlanContext, kpis: list[KpiPlan], urgent: bool) -> dict | None:
    """Reduce churn risk: at a retention-first tier (`urgent`), else at the medium tier."""
    churn = ctx.score.churn_risk
    applies = ctx.held if urgent else churn.tier == "medium" and not ctx.held
    if not applies:
        return None
    kpi = find_kpi(kpis, "churn_risk")
    target = kpi.target if kpi and kpi.target is not None else ctx.playbook.tier(0).max
    return _objective(
        ctx,
        "reduce_churn_risk",
        f"churn risk from {plain(churn.score)} ({churn.tier}) to {plain(target)} or below "
        f"by {ctx.horizon_end}",
        f"churn tier {churn.tier}",
        baseline=churn.score,
        target=target,
    )


def _renewal_objective(ctx: PlanContext) -> dict | None:
    signal = next((s for s in ctx.score.signals if s.id == "renewal_window"), None)
    renewal = ctx.account.renewal_date
    if signal is None or renewal is None:
        return None
    ahead = days_between(ctx.as_of, renewal)
    return _objective(
        ctx,
        "protect_renewal",
        f"renewal conversation opened with the decision maker by {ctx.due} and the renewal "
        f"agreed before {renewal} ({ahead} days ahead)",
        signal.evidence,
        due=renewal,
    )


def _component_objective(ctx: PlanContext, kpis: list[KpiPlan]) -> dict | None:
    components = ctx.score.health.components
    kpi = find_kpi(kpis, "health_score")
    if not components or kpi is None or kpi.target is None:
        return None
    weakest = min(components, key=lambda c: c.score)
    if weakest.score >= kpi.target:
        return None
    health, refs = "", [weakest.id]
    if kpi.baseline is not None and kpi.met is False:
        health = f", and the health score from {health_text(ctx)} to {plain(kpi.target)} or above"
        refs.append(kpi.id)
    return _objective(
        ctx,
        "raise_weakest_component",
        f"{weakest.label} from {plain(weakest.score)} to {plain(kpi.target)} or above{health} "
        f"by {ctx.horizon_end}",
        f"weakest health component: {weakest.id} {plain(weakest.score)}",
        title=ctx.playbook.health.components[weakest.id].objective,
        baseline=weakest.score,
        target=kpi.target,
        refs=refs,
    )


def _gaps_objective(ctx: PlanContext) -> dict | None:
    gaps = [g for g in ctx.people.gaps if g.severity == "high" or g.id == "stakeholders_unknown"]
    if not gaps:
        return None
    ids = list(dict.fromkeys(g.id for g in gaps))
    rules = ctx.playbook.stakeholders.gaps
    outcomes = ", ".join(rules[i].outcome for i in ids)
    return _objective(
        ctx,
        "close_stakeholder_gaps",
        f"{len(gaps)} stakeholder gaps ({', '.join(ids)}) closed by {ctx.horizon_end}: {outcomes}",
        "; ".join(g.evidence for g in gaps),
        baseline=len(gaps),
        target=0,
        refs=ids,
    )


def best_offer(ctx: PlanContext) -> OpportunityResult | None:
    """The best recommended offer (tools/planning/offer_fit.py: highest ROI first)."""
    return ctx.offers[0] if ctx.offers else None


def proposal_date(ctx: PlanContext, qbr_date: date) -> date:
    """The expansion proposal date, by the proposal tool's own timing rule."""
    timing = proposal_timing(ctx.account, ctx.playbook, ctx.as_of, False, next_qbr=qbr_date)
    return timing.proposal_date or qbr_date


def _growth_objective(ctx: PlanContext, qbr_date: date) -> dict | None:
    best = best_offer(ctx)
    if best is None or ctx.held:
        return None
    mrr = ctx.account.mrr
    proposed = proposal_date(ctx, qbr_date)
    return _objective(
        ctx,
        "grow_via_opportunity",
        f"{best.offer} proposed on {proposed} and signed by {ctx.horizon_end}: "
        f"+{plain(best.price)} {ctx.currency}/month (expected value {plain(best.expected_value)} "
        f"{ctx.currency}/month at probability {plain(best.probability)})",
        best.evidence,
        title=ctx.playbook.expansion.offers[best.id].objective,
        baseline=mrr,
        target=mrr + best.price if mrr is not None else None,
        refs=[best.id],
        proposed=proposed,
    )


def _csat_objective(ctx: PlanContext, kpis: list[KpiPlan]) -> dict | None:
    kpi = find_kpi(kpis, "csat")
    if kpi is None or kpi.met is not False:
        return None
    return _objective(
        ctx,
        "raise_csat",
        f"CSAT from {plain(kpi.baseline)} to {plain(kpi.target)} or above by {ctx.horizon_end}",
        kpi.method,
        baseline=kpi.baseline,
        target=kpi.target,
    )


def _traffic_objective(ctx: PlanContext, kpis: list[KpiPlan]) -> dict | None:
    kpi = find_kpi(kpis, "organic_traffic")
    if kpi is None:
        return None
    if kpi.baseline is None:
        criterion = f"organic traffic baseline measured by {ctx.due} and a target set on it"
    else:
        criterion = (
            f"organic traffic from {plain(kpi.baseline)} to {plain(kpi.target)} visits/month "
            f"by {ctx.horizon_end}"
        )
    return _objective(
        ctx,
        "grow_organic_traffic",
        criterion,
        kpi.method,
        baseline=kpi.baseline,
        target=kpi.target,
    )


def _sustain_objective(ctx: PlanContext, kpis: list[KpiPlan]) -> dict | None:
    health, churn = find_kpi(kpis, "health_score"), find_kpi(kpis, "churn_risk")
    parts, refs = [], []
    if health is not None and health.target is not None:
        now = health_text(ctx, paren=False) or "unknown"
        parts.append(f"health score at {plain(health.target)} or above (now {now})")
        refs.append(health.id)
    if churn is not None and churn.target is not None:
        now = churn_text(ctx, paren=False) or "unknown"
        parts.append(f"churn risk at {plain(churn.target)} or below (now {now})")
        refs.append(churn.id)
    if not parts:
        return None
    return _objective(
        ctx,
        "sustain_health",
        " and ".join(parts) + f" through {ctx.horizon_end}",
        "health and churn KPI targets",
        refs=refs,
    )


def _qbr_objective(ctx: PlanContext, qbr_date: date) -> dict:
    return _objective(
        ctx,
        "hold_qbr",
        f"QBR held by {qbr_date} with the decision maker present and next quarter's targets agreed",
        f"qbr.cadence_days {ctx.playbook.qbr.cadence_days}",
        due=qbr_date,
    )


def _r(value: float | None) -> float | None:
    return r2(value) if value is not None else None


def build_objectives(ctx: PlanContext, kpis: list[KpiPlan], qbr_date: date) -> list[Objective]:
    """The first three objectives that apply, in the order of the package docstring."""
    candidates = (
        lambda: _churn_objective(ctx, kpis, urgent=True),
        lambda: _renewal_objective(ctx),
        lambda: _component_objective(ctx, kpis),
        lambda: _churn_objective(ctx, kpis, urgent=False),
        lambda: _gaps_objective(ctx),
        lambda: _growth_objective(ctx, qbr_date),
        lambda: _csat_objective(ctx, kpis),
        lambda: _traffic_objective(ctx, kpis),
        lambda: _sustain_objective(ctx, kpis),
        lambda: _qbr_objective(ctx, qbr_date),
    )
    chosen: list[dict] = []
    for make in candidates:
        if len(chosen) == len(RANKS):
            break
        found = make()
        if found is not None and all(c["id"] != found["id"] for c in chosen):
            chosen.append(found)
    return [
        Objective(
            rank=rank,
            due=c.pop("due", ctx.horizon_end),
            baseline=_r(c.pop("baseline", None)),
            target=_r(c.pop("target", None)),
            **c,
        )
        for rank, c in zip(RANKS, chosen, strict=False)
    ]
