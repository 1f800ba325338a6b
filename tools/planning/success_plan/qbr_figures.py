"""The account's figures on the QBR agenda: the figure sets an agenda item names
(`qbr.sections.*.items.*.figures`, `tools.playbook.FIGURE_SETS`).

A set is a list of `QbrFigure`s, the known ones only (an unknown input leaves its figure out);
`english` words one figure, and a report template words it in its own language from the same
fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from tools.numbers import plain, r2
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


def _previous_health(ctx: PlanContext) -> tuple[float, date] | None:
    """The health score of the latest history point, when known, with its date."""
    last = ctx.account.history[-1] if ctx.account.history else None
    if last is None or last.health_score is None or ctx.score.health.score is None:
        return None
    return last.health_score, last.date


def _health_trend(ctx: PlanContext) -> Figures:
    """The health score with its change since the last history point, when known."""
    before = _previous_health(ctx)
    if before is None:
        return _health(ctx)
    now = ctx.score.health.score
    return [
        QbrFigure(id="health_trend", value=now, band=ctx.score.health.color,
                  previous=before[0], day=before[1], change=r2((now or 0) - before[0]))
    ]


def achievements(ctx: PlanContext, plan: PlanParts) -> Figures:
    """At most three achievements of the quarter, only what went well: a health score above the
    last history point's, a measurable traffic or ranking gain within the quarter (playbook
    `qbr.cadence_days`), KPIs that meet their targets. None on record: `no_achievement` (a
    falling score is a risk, shown under the progress against goals, never here)."""
    found: Figures = []
    before = _previous_health(ctx)
    now = ctx.score.health.score
    if before is not None and now is not None and now > before[0]:
        found.append(QbrFigure(id="health_gain", value=now, band=ctx.score.health.color,
                               previous=before[0], day=before[1], change=r2(now - before[0])))
    gain = ctx.account.days_since_improvement
    if gain is not None and gain <= ctx.playbook.qbr.cadence_days:
        found.append(QbrFigure(id="last_gain_days", value=gain))
    gained = {"health_score"} if found and found[0].id == "health_gain" else set()
    found += [QbrFigure(id="kpi_met", key=k.id) for k in plan.kpis if k.met and k.id not in gained]
    return found[:3] or [QbrFigure(id="no_achievement")]


def impact(ctx: PlanContext, plan: PlanParts) -> Figures:
    return [
        *_value("organic_traffic", ctx.account.organic_traffic),
        *_value("mrr", ctx.account.mrr),
    ]


def goals(ctx: PlanContext, plan: PlanParts) -> Figures:
    return [
        *_value("goal_attainment", ctx.account.goal_attainment_pct),
        *_health_trend(ctx),
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
    """The recommended offers (on hold with the tier that holds them), and the matched offers
    not recommended now."""
    matched = [o.id for o in ctx.score.opportunities]
    if not matched:
        return [QbrFigure(id="no_offer", refs=list(ctx.score.not_evaluated.opportunities))]
    offers = [o.id for o in ctx.offers]
    figures: Figures = []
    if offers:
        band = ctx.tier.id if ctx.held and ctx.tier else None
        figures.append(QbrFigure(id="offers", refs=offers, band=band))
    left = [i for i in matched if i not in offers]
    if left:
        figures.append(QbrFigure(id="not_recommended", refs=left))
    return figures


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
    "last_gain_days": ("last measurable gain in traffic or rankings", " days ago"),
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
        "health_trend": lambda: (
            f"health score {plain(f.value)} ({f.band}), "
            + ("unchanged" if not f.change else "up" if f.change > 0 else "down")
            + f" from {plain(f.previous)} on {f.day}"
        ),
        "health_gain": lambda: (
            f"health score up from {plain(f.previous)} on {f.day} to {plain(f.value)} ({f.band})"
        ),
        "kpi_met": lambda: _kpi(QbrFigure(id="kpi", key=f.key), ctx, plan),
        "no_achievement": lambda: "no measurable gain on record this quarter",
        "not_recommended": lambda: f"not recommended now: {_listed(f.refs)} (expansion.recommend)",
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
