"""The account's figures on the QBR agenda: the figure sets an agenda item names
(`qbr.sections.*.items.*.figures`, `tools.playbook.FIGURE_SETS`).

A set is a list of `QbrFigure`s, the known ones only (an unknown input leaves its figure out);
`english` words one figure, and a report template words it in its own language from the same
fields."""

from __future__ import annotations

from collections.abc import Callable

from tools.numbers import plain
from tools.planning.success_plan.context import PlanContext, PlanParts, find_kpi, offer_text
from tools.planning.success_plan.models import QbrFigure

Figures = list[QbrFigure]


def _value(figure_id: str, value: float | int | None, **kw: object) -> Figures:
    return [QbrFigure(id=figure_id, value=value, **kw)] if value is not None else []


def _health(ctx: PlanContext) -> Figures:
    return _value("health", ctx.score.health.score, band=ctx.score.health.color)


def _churn(ctx: PlanContext) -> Figures:
    return _value("churn", ctx.score.churn_risk.score, band=ctx.score.churn_risk.tier)


def _target(ctx: PlanContext, plan: PlanParts, figure_id: str, kpi_id: str) -> Figures:
    kpi = find_kpi(plan.kpis, kpi_id)
    return _value(figure_id, kpi.target if kpi else None)


def achievements(ctx: PlanContext, plan: PlanParts) -> Figures:
    last = ctx.account.history[-1] if ctx.account.history else None
    before = []
    if last is not None and last.health_score is not None:
        before = [QbrFigure(id="previous_health", value=last.health_score, day=last.date)]
    return [
        *_health(ctx),
        *before,
        *_value("last_gain_days", ctx.account.days_since_improvement),
    ]


def impact(ctx: PlanContext, plan: PlanParts) -> Figures:
    return [
        *_value("organic_traffic", ctx.account.organic_traffic),
        *_value("mrr", ctx.account.mrr),
    ]


def goals(ctx: PlanContext, plan: PlanParts) -> Figures:
    return [
        *_value("goal_attainment", ctx.account.goal_attainment_pct),
        *_health(ctx),
        *_churn(ctx),
    ]


def traffic(ctx: PlanContext, plan: PlanParts) -> Figures:
    return [
        *_value("organic_traffic", ctx.account.organic_traffic),
        *_target(ctx, plan, "traffic_target", "organic_traffic"),
    ]


def rankings(ctx: PlanContext, plan: PlanParts) -> Figures:
    return _value("domain_authority", ctx.account.domain_authority)


def technical(ctx: PlanContext, plan: PlanParts) -> Figures:
    return [
        *_value("technical_score", ctx.account.technical_score),
        *_target(ctx, plan, "technical_target", "technical_score"),
        *_value("implementation_days", ctx.account.change_implementation_days),
    ]


def content(ctx: PlanContext, plan: PlanParts) -> Figures:
    return _value("content_score", ctx.account.content_score)


def priorities(ctx: PlanContext, plan: PlanParts) -> Figures:
    return [QbrFigure(id="objective", key=o.rank, text=o.title) for o in plan.objectives]


def investment(ctx: PlanContext, plan: PlanParts) -> Figures:
    offers = [o.id for o in ctx.score.opportunities]
    if not offers:
        return [QbrFigure(id="no_offer", refs=list(ctx.score.not_evaluated.opportunities))]
    return [QbrFigure(id="offers", refs=offers, band=ctx.tier.id if ctx.held else None)]


def risks(ctx: PlanContext, plan: PlanParts) -> Figures:
    factors = [f for f in ctx.score.churn_risk.factors if f.contribution > 0]
    heavy = [f.id for f in sorted(factors, key=lambda f: -f.contribution)[:2]]
    return [
        *_churn(ctx),
        QbrFigure(id="signals", refs=[s.id for s in ctx.score.signals]),
        *([QbrFigure(id="heaviest_factors", refs=heavy)] if heavy else []),
    ]


def metrics(ctx: PlanContext, plan: PlanParts) -> Figures:
    return [
        QbrFigure(id="kpi", key=k.id)
        for k in plan.kpis
        if k.baseline is not None and k.target is not None
    ]


def feedback(ctx: PlanContext, plan: PlanParts) -> Figures:
    p = ctx.people
    if not p.known:
        return [QbrFigure(id="stakeholders_unknown")]
    return [
        *_value("mean_satisfaction", p.mean_satisfaction, count=p.satisfaction_known),
        QbrFigure(id="gaps", refs=list(dict.fromkeys(g.id for g in p.gaps))),
    ]


def opportunities(ctx: PlanContext, plan: PlanParts) -> Figures:
    return [
        *_value("expansion_interest", ctx.account.expansion_interest),
        QbrFigure(id="offers_matched", refs=[o.id for o in ctx.score.opportunities]),
    ]


def partnership(ctx: PlanContext, plan: PlanParts) -> Figures:
    return [
        *_value("partnership_depth", ctx.account.partnership_depth),
        *_value("nps", ctx.account.nps),
    ]


FIGURES: dict[str, Callable[[PlanContext, PlanParts], Figures]] = {
    "achievements": achievements,
    "impact": impact,
    "goals": goals,
    "traffic": traffic,
    "rankings": rankings,
    "technical": technical,
    "content": content,
    "priorities": priorities,
    "investment": investment,
    "risks": risks,
    "metrics": metrics,
    "feedback": feedback,
    "opportunities": opportunities,
    "partnership": partnership,
}

# A figure that is a labelled value: its English label and the unit after the value.
LABELLED = {
    "last_gain_days": ("last measurable gain", " days ago"),
    "organic_traffic": ("organic traffic", " visits/month"),
    "goal_attainment": ("goal attainment", "%"),
    "traffic_target": ("target", " visits/month"),
    "domain_authority": ("domain authority", "/100"),
    "technical_score": ("technical score", "/100"),
    "technical_target": ("target", ""),
    "implementation_days": ("median days to ship a recommendation", ""),
    "content_score": ("content score", "/100"),
    "expansion_interest": ("expansion interest", "/10"),
    "partnership_depth": ("partnership depth", "/10"),
    "nps": ("NPS", "/10"),
}


def _listed(ids: list[str]) -> str:
    return ", ".join(ids) or "none"


def _offers(f: QbrFigure, ctx: PlanContext) -> str:
    matched = {o.id: o for o in ctx.score.opportunities}
    text = "; ".join(offer_text(matched[i], ctx.currency) for i in f.refs)
    if f.band is not None:
        return f"on hold while the tier is {f.band} (expansion.hold_tiers): {text}"
    return text


def _kpi(f: QbrFigure, ctx: PlanContext, plan: PlanParts) -> str:
    k = find_kpi(plan.kpis, f.key or "")
    if k.met:
        return f"{k.label} {plain(k.baseline)}{k.unit} (target {plain(k.target)}{k.unit} met)"
    return f"{k.label} {plain(k.baseline)}{k.unit} -> {plain(k.target)}{k.unit}"


def english(f: QbrFigure, ctx: PlanContext, plan: PlanParts) -> str:
    """One figure in English: 'health score 72.35 (green)', 'signals none'."""
    if f.id in LABELLED:
        label, unit = LABELLED[f.id]
        return f"{label} {plain(f.value)}{unit}"
    factors = {x.id: x.contribution for x in ctx.score.churn_risk.factors}
    unknown = ", ".join(f.refs)
    words: dict[str, Callable[[], str]] = {
        "health": lambda: f"health score {plain(f.value)} ({f.band})",
        "previous_health": lambda: f"previous health score {plain(f.value)} on {f.day}",
        "churn": lambda: f"churn risk {plain(f.value)} ({f.band})",
        "mrr": lambda: f"MRR {plain(f.value)} {ctx.currency}/month",
        "objective": lambda: f"{f.key}: {f.text}",
        "no_offer": lambda: (
            "no offer of the expansion matrix matched"
            + (f" (not evaluated, inputs unknown: {unknown})" if unknown else "")
        ),
        "offers": lambda: _offers(f, ctx),
        "signals": lambda: f"signals {_listed(f.refs)}",
        "heaviest_factors": lambda: (
            "heaviest factors " + ", ".join(f"{i} {plain(factors[i])}" for i in f.refs)
        ),
        "kpi": lambda: _kpi(f, ctx, plan),
        "stakeholders_unknown": lambda: "stakeholders unknown",
        "mean_satisfaction": lambda: (
            f"mean stakeholder satisfaction {plain(f.value)}/10 over {f.count} people"
        ),
        "gaps": lambda: f"gaps {_listed(f.refs)}",
        "offers_matched": lambda: f"offers matched {_listed(f.refs)}",
    }
    return words[f.id]()
