"""Success plan (step 3): objectives, milestones, initiatives, KPIs, QBR agenda, next actions.

Every figure comes from the account, the scores (`AccountScore`), the stakeholder map or the
playbook (`success_plan`, `qbr`, `onboarding`, `renewal`, `churn_risk.tiers`, `expansion`,
`risk.mitigations`). The rules:

- Quarter: the calendar quarter of `as_of` ("Q4 2026"); the horizon ends at
  `as_of + success_plan.horizon_days`.
- Next-action due days: `success_plan.next_action_days`, tightened to the tier's
  `cadence_days` and the industry's `review_cadence_days` when shorter; a signal's action is
  due within its `risk.mitigations.<id>.due_days` when that is shorter still.
- QBR: due `last_qbr_date + qbr.cadence_days`; with no QBR on record, `contract_start +
  onboarding.days` while that is still ahead. Overdue or unknown: held as soon as possible,
  `as_of + success_plan.next_action_days`. Status `overdue` (due date passed), `due` (due within
  the horizon), `scheduled` (after it) or `unknown`.
- KPIs (`success_plan.kpis`): baseline from the health or churn score (`source`) or the
  account input (`input`). Target: `target`; or baseline + `gain` (minus when lower is better),
  capped at `target`; or baseline x (1 + `growth_pct`/100), capped at `target` when set.
  Unknown baseline: baseline None, a relative target None (a fixed `target` is kept), and a
  note to collect it. `met` when the baseline already reaches the target.
- Objectives: the first three that apply, in this order:
  1. `reduce_churn_risk` when the tier is high or critical (to the churn KPI target);
  2. `protect_renewal` when the `renewal_window` signal fired;
  3. `raise_weakest_component`: the lowest health component, when below the health KPI target;
  4. `reduce_churn_risk` when the tier is medium;
  5. `close_stakeholder_gaps` when a high-severity gap exists or stakeholders are unknown;
  6. `grow_via_opportunity`: the matched offer with the highest expected value, when the tier
     is not in `expansion.hold_tiers`;
  7. `raise_csat` when CSAT is below its KPI target;
  8. `grow_organic_traffic` (always; with an unknown baseline the criterion is to measure it);
  9. `sustain_health`, 10. `hold_qbr` (always).
- Milestones inside the horizon: the QBR, renewal talks start (`renewal_date -
  signals.renewal_window.within_days`) unless talks started, the renewal date, open onboarding
  criteria and the end of onboarding, the industry's peak quarter start, a mid-horizon review
  and the horizon end.
- Initiatives: one per intervention of the tier, one per matched opportunity unless held.
- Onboarding (contract started less than `onboarding.days` ago): the phase holding today's day
  number; each criterion `met`/`not_met` where data can tell (stakeholder satisfaction: mean
  stakeholder satisfaction, else CSAT), else `upcoming` (due today or later) or
  `due_unverified`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel

from tools.numbers import add_days, days_between, month_start, plain, r2
from tools.planning.proposal import proposal_timing
from tools.planning.stakeholders import StakeholderMap
from tools.playbook import Criterion, Industry, Kpi, Playbook, Tier
from tools.portfolio.account import Account
from tools.scoring.expansion import OpportunityResult
from tools.scoring.score import AccountScore
from tools.scoring.signals import renewal_talks_days, renewal_talks_start

CSM = "account CSM"
SEO = "SEO lead"
PRIMARY = "client's primary contact"
RANKS = ("primary", "secondary", "tertiary")
URGENT_TIERS = ("high", "critical")
# Agency-side owner of each onboarding criterion; PRIMARY means the client's primary contact.
CRITERION_OWNERS = {
    "first_report": CSM,
    "strategy_approved": PRIMARY,
    "implementation_started": SEO,
    "technical_score_gain": SEO,
    "content_calendar": SEO,
    "stakeholder_satisfaction": CSM,
    "organic_traffic_gain": SEO,
    "keywords_improved": SEO,
    "renewal_probability": CSM,
}
GAP_OUTCOMES = {
    "stakeholders_unknown": "the stakeholder map built",
    "no_champion": "a named champion",
    "no_executive_sponsor": "an executive sponsor met",
    "influential_detractor": "every influential detractor met and answered with data",
}
CLIENT_RESOURCES = {
    "technical_seo": "client developer hours for the fixes",
    "content_marketing": "client approvals for topics and drafts",
    "link_building": "client approval of target sites and the placement budget",
    "local_seo": "access to every location's business profile",
}


class Objective(BaseModel):
    """A ranked business objective with a success criterion that data can check."""

    rank: str
    id: str
    title: str
    criterion: str
    baseline: float | None
    target: float | None
    due: date
    evidence: str


class Milestone(BaseModel):
    """A dated checkpoint with one owner."""

    date: date
    description: str
    owner: str
    source: str


class Initiative(BaseModel):
    """A body of work: what it is, when, and the resources it needs."""

    name: str
    description: str
    timeline: str
    start: date
    end: date
    resources: list[str]
    source: str


class KpiPlan(BaseModel):
    """A success metric with its baseline and target."""

    id: str
    label: str
    unit: str
    baseline: float | None
    target: float | None
    lower_is_better: bool
    met: bool | None
    method: str


class QbrItem(BaseModel):
    """An agenda item with the account's figures (`line` = text plus figures)."""

    text: str
    figures: str | None
    line: str


class QbrAgendaSection(BaseModel):
    """One timed section of the QBR agenda."""

    id: str
    title: str
    minutes: int
    items: list[QbrItem]


class QbrPlan(BaseModel):
    """The next QBR: when, whether it is due or overdue, and its agenda."""

    date: date
    due_date: date | None
    status: str
    days_overdue: int | None
    last_qbr_date: date | None
    minutes: int
    method: str
    sections: list[QbrAgendaSection]


class NextAction(BaseModel):
    """An action with one owner and a due date."""

    action: str
    owner: str
    due: date
    reason: str


class CriterionStatus(BaseModel):
    """An onboarding success criterion with its due date and status."""

    id: str
    text: str
    phase: str
    due_day: int
    due_date: date
    target: float | None
    status: str
    evidence: str


class OnboardingStatus(BaseModel):
    """Where a new account stands in the onboarding plan."""

    contract_start: date
    day: int
    ends: date
    phase: str | None
    phase_start: date | None
    phase_end: date | None
    deliverables: list[str]
    criteria: list[CriterionStatus]


class IndustryAdaptation(BaseModel):
    """The industry's focus, KPIs and review cadence from `success_plan.industries`."""

    id: str
    label: str
    focus: list[str]
    kpis: list[str]
    review_cadence_days: int
    contract_months: int | None
    peak_quarter: int | None
    in_peak_quarter: bool | None


class SuccessPlan(BaseModel):
    """The success plan of one account for the quarter of `as_of`."""

    id: str
    client: str
    as_of: date
    quarter: str
    horizon_end: date
    objectives: list[Objective]
    milestones: list[Milestone]
    initiatives: list[Initiative]
    kpis: list[KpiPlan]
    qbr: QbrPlan
    next_actions: list[NextAction]
    next_action_days: int
    next_action_rule: str
    onboarding: OnboardingStatus | None
    industry: IndustryAdaptation | None
    notes: list[str]


@dataclass(frozen=True)
class _Ctx:
    account: Account
    score: AccountScore
    people: StakeholderMap
    playbook: Playbook
    as_of: date
    horizon_end: date
    due_days: int
    tier: Tier | None
    industry: IndustryAdaptation | None

    def days(self, n: int) -> date:
        return add_days(self.as_of, n)

    @property
    def due(self) -> date:
        return self.days(self.due_days)

    @property
    def primary(self) -> str:
        return self.people.primary_contact or PRIMARY

    @property
    def currency(self) -> str:
        return self.playbook.currency


@dataclass(frozen=True)
class _PlanParts:
    kpis: list[KpiPlan]
    qbr_date: date
    objectives: list[Objective]


def quarter_label(day: date) -> str:
    """'Q4 2026' for any day of October to December 2026."""
    return f"Q{(day.month - 1) // 3 + 1} {day.year}"


def _tier(score: AccountScore, playbook: Playbook) -> Tier | None:
    tier_id = score.churn_risk.tier
    return next((t for t in playbook.churn_risk.tiers if t.id == tier_id), None)


def _industry(account: Account, playbook: Playbook, as_of: date) -> IndustryAdaptation | None:
    rule: Industry | None = playbook.success_plan.industries.get(account.industry or "")
    if rule is None:
        return None
    in_peak = None
    if rule.peak_quarter is not None:
        in_peak = quarter_label(as_of).startswith(f"Q{rule.peak_quarter} ")
    return IndustryAdaptation(id=account.industry, in_peak_quarter=in_peak, **rule.model_dump())


def action_due_days(
    playbook: Playbook, tier: Tier | None, industry: IndustryAdaptation | None
) -> tuple[int, str]:
    """Days to a next action's due date and the rule that set it (the tightest applies)."""
    days = playbook.success_plan.next_action_days
    rule = f"success_plan.next_action_days {days}"
    options = []
    if tier is not None:
        options.append((tier.cadence_days, f"churn_risk.tiers.{tier.id}.cadence_days"))
    if industry is not None:
        options.append(
            (
                industry.review_cadence_days,
                f"success_plan.industries.{industry.id}.review_cadence_days",
            )
        )
    for value, key in options:
        if value < days:
            days, rule = value, f"{key} {value} (tighter than {rule})"
    return days, rule


# --- KPIs -----------------------------------------------------------------------------------


def _kpi_baseline(kpi: Kpi, account: Account, score: AccountScore) -> tuple[float | None, str]:
    if kpi.source == "health":
        return score.health.score, "health.score"
    if kpi.source == "churn":
        return score.churn_risk.score, "churn_risk.score"
    return getattr(account, kpi.input, None), kpi.input


def _cap(value: float, cap: float | None, lower: bool) -> float:
    if cap is None:
        return value
    return max(value, cap) if lower else min(value, cap)


def plan_kpi(kpi: Kpi, account: Account, score: AccountScore) -> KpiPlan:
    """Baseline and target of one playbook KPI (see the module docstring)."""
    baseline, source = _kpi_baseline(kpi, account, score)
    key = f"success_plan.kpis.{kpi.id}"
    sign = -1 if kpi.lower_is_better else 1
    relative = kpi.gain is not None or kpi.growth_pct is not None
    cap = f", capped at target {plain(kpi.target)}" if kpi.target is not None else ""
    if baseline is None:
        target = None if relative else kpi.target
        method = f"{source} unknown: collect the baseline"
    elif kpi.gain is not None:
        raw = baseline + sign * kpi.gain
        target = _cap(raw, kpi.target, kpi.lower_is_better)
        op = "-" if kpi.lower_is_better else "+"
        method = f"{source} {plain(baseline)} {op} gain {plain(kpi.gain)}{cap}"
    elif kpi.growth_pct is not None:
        raw = baseline * (1 + sign * kpi.growth_pct / 100)
        target = _cap(raw, kpi.target, kpi.lower_is_better)
        op = "-" if kpi.lower_is_better else "+"
        method = f"{source} {plain(baseline)} x (1 {op} {plain(kpi.growth_pct)}%){cap}"
    else:
        target = kpi.target
        method = f"{source} {plain(baseline)}; target {key}.target"
    met = None
    if baseline is not None and target is not None:
        met = baseline <= target if kpi.lower_is_better else baseline >= target
    return KpiPlan(
        id=kpi.id,
        label=kpi.label,
        unit=kpi.unit,
        baseline=r2(baseline) if baseline is not None else None,
        target=r2(target) if target is not None else None,
        lower_is_better=kpi.lower_is_better,
        met=met,
        method=f"{method} ({key})",
    )


def _kpi(kpis: list[KpiPlan], kpi_id: str) -> KpiPlan | None:
    return next((k for k in kpis if k.id == kpi_id), None)


# --- QBR ------------------------------------------------------------------------------------


def _qbr_date(ctx: _Ctx) -> tuple[date, date | None, str, int | None, str]:
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


def _offer_text(o: OpportunityResult, currency: str) -> str:
    return (
        f"{o.offer} {plain(o.price)} {currency}/month, expected value "
        f"{plain(o.expected_value)} {currency}/month ({plain(o.expected_annual_value)}/year)"
    )


def _held(ctx: _Ctx) -> bool:
    return ctx.tier is not None and ctx.tier.id in ctx.playbook.expansion.hold_tiers


def _fmt(value: float | int | str | None, suffix: str = "") -> str | None:
    if value is None:
        return None
    return f"{plain(value) if isinstance(value, int | float) else value}{suffix}"


def _join(*parts: str | None) -> str | None:
    return "; ".join(p for p in parts if p) or None


def _labelled(label: str, value: str | None) -> str | None:
    return f"{label} {value}" if value is not None else None


def _band(score: float | None, band: str | None, paren: bool) -> str | None:
    if score is None:
        return None
    return f"{plain(score)} ({band})" if paren else f"{plain(score)}, {band}"


def _health_text(ctx: _Ctx, paren: bool = True) -> str | None:
    """'72.35 (green)', or '72.35, green' without parentheses."""
    return _band(ctx.score.health.score, ctx.score.health.color, paren)


def _churn_text(ctx: _Ctx, paren: bool = True) -> str | None:
    """'62.7 (high)', or '62.7, high' without parentheses."""
    return _band(ctx.score.churn_risk.score, ctx.score.churn_risk.tier, paren)


def _fig_achievements(ctx: _Ctx, plan: _PlanParts) -> str | None:
    last = ctx.account.history[-1] if ctx.account.history else None
    before = None
    if last is not None and last.health_score is not None:
        before = f"{plain(last.health_score)} on {last.date}"
    return _join(
        _labelled("health score", _health_text(ctx)),
        _labelled("previous health score", before),
        _labelled("last measurable gain", _fmt(ctx.account.days_since_improvement, " days ago")),
    )


def _fig_impact(ctx: _Ctx, plan: _PlanParts) -> str | None:
    a = ctx.account
    return _join(
        _labelled("organic traffic", _fmt(a.organic_traffic, " visits/month")),
        _labelled("MRR", _fmt(a.mrr, f" {ctx.currency}/month")),
    )


def _fig_goals(ctx: _Ctx, plan: _PlanParts) -> str | None:
    return _join(
        _labelled("goal attainment", _fmt(ctx.account.goal_attainment_pct, "%")),
        _labelled("health score", _health_text(ctx)),
        _labelled("churn risk", _churn_text(ctx)),
    )


def _fig_traffic(ctx: _Ctx, plan: _PlanParts) -> str | None:
    kpi = _kpi(plan.kpis, "organic_traffic")
    return _join(
        _labelled("organic traffic", _fmt(ctx.account.organic_traffic, " visits/month")),
        _labelled("target", _fmt(kpi.target if kpi else None, " visits/month")),
    )


def _fig_rankings(ctx: _Ctx, plan: _PlanParts) -> str | None:
    return _labelled("domain authority", _fmt(ctx.account.domain_authority, "/100"))


def _fig_technical(ctx: _Ctx, plan: _PlanParts) -> str | None:
    kpi = _kpi(plan.kpis, "technical_score")
    days = ctx.account.change_implementation_days
    return _join(
        _labelled("technical score", _fmt(ctx.account.technical_score, "/100")),
        _labelled("target", _fmt(kpi.target if kpi else None)),
        _labelled("median days to ship a recommendation", _fmt(days)),
    )


def _fig_content(ctx: _Ctx, plan: _PlanParts) -> str | None:
    return _labelled("content score", _fmt(ctx.account.content_score, "/100"))


def _fig_priorities(ctx: _Ctx, plan: _PlanParts) -> str | None:
    return _join(*(f"{o.rank}: {o.title}" for o in plan.objectives))


def _fig_investment(ctx: _Ctx, plan: _PlanParts) -> str | None:
    offers = ctx.score.opportunities
    if not offers:
        unknown = ", ".join(ctx.score.not_evaluated.opportunities)
        tail = f" (not evaluated, inputs unknown: {unknown})" if unknown else ""
        return f"no offer of the expansion matrix matched{tail}"
    text = "; ".join(_offer_text(o, ctx.currency) for o in offers)
    if _held(ctx):
        return f"on hold while the tier is {ctx.tier.id} (expansion.hold_tiers): {text}"
    return text


def _fig_risks(ctx: _Ctx, plan: _PlanParts) -> str | None:
    factors = [f for f in ctx.score.churn_risk.factors if f.contribution > 0]
    factors = sorted(factors, key=lambda f: -f.contribution)[:2]
    heavy = ", ".join(f"{f.id} {plain(f.contribution)}" for f in factors) or None
    return _join(
        _labelled("churn risk", _churn_text(ctx)),
        _labelled("signals", ", ".join(s.id for s in ctx.score.signals) or "none"),
        _labelled("heaviest factors", heavy),
    )


def _kpi_text(k: KpiPlan) -> str:
    if k.met:
        return f"{k.label} {plain(k.baseline)}{k.unit} (target {plain(k.target)}{k.unit} met)"
    return f"{k.label} {plain(k.baseline)}{k.unit} -> {plain(k.target)}{k.unit}"


def _fig_metrics(ctx: _Ctx, plan: _PlanParts) -> str | None:
    known = [k for k in plan.kpis if k.baseline is not None and k.target is not None]
    return _join(*(_kpi_text(k) for k in known))


def _fig_feedback(ctx: _Ctx, plan: _PlanParts) -> str | None:
    p = ctx.people
    if not p.known:
        return "stakeholders unknown"
    mean = None
    if p.mean_satisfaction is not None:
        mean = f"{plain(p.mean_satisfaction)}/10 over {p.satisfaction_known} people"
    return _join(
        _labelled("mean stakeholder satisfaction", mean),
        _labelled("gaps", ", ".join(dict.fromkeys(g.id for g in p.gaps)) or "none"),
    )


def _fig_opportunities(ctx: _Ctx, plan: _PlanParts) -> str | None:
    return _join(
        _labelled("expansion interest", _fmt(ctx.account.expansion_interest, "/10")),
        _labelled("offers matched", ", ".join(o.id for o in ctx.score.opportunities) or "none"),
    )


def _fig_partnership(ctx: _Ctx, plan: _PlanParts) -> str | None:
    return _join(
        _labelled("partnership depth", _fmt(ctx.account.partnership_depth, "/10")),
        _labelled("NPS", _fmt(ctx.account.nps, "/10")),
    )


# First keyword found in the item text (lower case) picks the figures.
QBR_FIGURES = (
    ("achievement", _fig_achievements),
    ("impact", _fig_impact),
    ("goals", _fig_goals),
    ("traffic", _fig_traffic),
    ("ranking", _fig_rankings),
    ("technical", _fig_technical),
    ("content", _fig_content),
    ("priorit", _fig_priorities),
    ("investment", _fig_investment),
    ("risk", _fig_risks),
    ("metric", _fig_metrics),
    ("stakeholder", _fig_feedback),
    ("opportunit", _fig_opportunities),
    ("partnership", _fig_partnership),
)


def _qbr_item(text: str, ctx: _Ctx, plan: _PlanParts) -> QbrItem:
    low = text.lower()
    figures = next((fn(ctx, plan) for key, fn in QBR_FIGURES if key in low), None)
    return QbrItem(text=text, figures=figures, line=f"{text}: {figures}" if figures else text)


def _qbr(ctx: _Ctx, plan: _PlanParts) -> QbrPlan:
    planned, due, status, late, method = _qbr_date(ctx)
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
                items=[_qbr_item(item, ctx, plan) for item in s.items],
            )
            for s in q.sections
        ],
    )


# --- onboarding -----------------------------------------------------------------------------


def _criterion_data(c: Criterion, ctx: _Ctx) -> tuple[float, str] | None:
    """The measured value of a criterion, when the data holds one."""
    if c.id == "stakeholder_satisfaction":
        p = ctx.people
        if p.mean_satisfaction is not None:
            return (
                p.mean_satisfaction,
                f"mean stakeholder satisfaction {plain(p.mean_satisfaction)}",
            )
        if ctx.account.csat is not None:
            return ctx.account.csat, f"csat {plain(ctx.account.csat)}"
    return None


def _criterion(c: Criterion, phase: str, start: date, ctx: _Ctx) -> CriterionStatus:
    due = add_days(start, c.due_day)
    data = _criterion_data(c, ctx) if c.target is not None else None
    if data is not None:
        value, text = data
        met = value >= c.target
        status = "met" if met else "not_met"
        evidence = f"{text} {'>=' if met else '<'} target {plain(c.target)}"
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
    )


def onboarding_status(ctx: _Ctx) -> OnboardingStatus | None:
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


# --- objectives -----------------------------------------------------------------------------


def _objective(id_: str, title: str, criterion: str, evidence: str, **kw: object) -> dict:
    return {"id": id_, "title": title, "criterion": criterion, "evidence": evidence, **kw}


def _churn_objective(ctx: _Ctx, kpis: list[KpiPlan], tiers: tuple[str, ...]) -> dict | None:
    churn = ctx.score.churn_risk
    if churn.tier not in tiers:
        return None
    kpi = _kpi(kpis, "churn_risk")
    target = kpi.target if kpi and kpi.target is not None else ctx.playbook.tier(0).max
    return _objective(
        "reduce_churn_risk",
        "Reduce churn risk",
        f"churn risk from {plain(churn.score)} ({churn.tier}) to {plain(target)} or below "
        f"by {ctx.horizon_end}",
        f"churn tier {churn.tier}",
        baseline=churn.score,
        target=target,
    )


def _renewal_objective(ctx: _Ctx) -> dict | None:
    signal = next((s for s in ctx.score.signals if s.id == "renewal_window"), None)
    renewal = ctx.account.renewal_date
    if signal is None or renewal is None:
        return None
    ahead = days_between(ctx.as_of, renewal)
    return _objective(
        "protect_renewal",
        "Protect the renewal",
        f"renewal conversation opened with the decision maker by {ctx.due} and the renewal "
        f"agreed before {renewal} ({ahead} days ahead)",
        signal.evidence,
        due=renewal,
    )


def _component_objective(ctx: _Ctx, kpis: list[KpiPlan]) -> dict | None:
    components = ctx.score.health.components
    kpi = _kpi(kpis, "health_score")
    if not components or kpi is None or kpi.target is None:
        return None
    weakest = min(components, key=lambda c: c.score)
    if weakest.score >= kpi.target:
        return None
    health = ""
    if kpi.baseline is not None and kpi.met is False:
        health = f", and the health score from {_health_text(ctx)} to {plain(kpi.target)} or above"
    return _objective(
        "raise_weakest_component",
        f"Raise {weakest.label.lower()}",
        f"{weakest.label} from {plain(weakest.score)} to {plain(kpi.target)} or above{health} "
        f"by {ctx.horizon_end}",
        f"weakest health component: {weakest.id} {plain(weakest.score)}",
        baseline=weakest.score,
        target=kpi.target,
    )


def _gaps_objective(ctx: _Ctx) -> dict | None:
    gaps = [g for g in ctx.people.gaps if g.severity == "high" or g.id == "stakeholders_unknown"]
    if not gaps:
        return None
    ids = list(dict.fromkeys(g.id for g in gaps))
    outcomes = ", ".join(GAP_OUTCOMES.get(i, i) for i in ids)
    return _objective(
        "close_stakeholder_gaps",
        "Close the stakeholder gaps",
        f"{len(gaps)} stakeholder gaps ({', '.join(ids)}) closed by {ctx.horizon_end}: {outcomes}",
        "; ".join(g.evidence for g in gaps),
        baseline=len(gaps),
        target=0,
    )


def _best_offer(ctx: _Ctx) -> OpportunityResult | None:
    offers = ctx.score.opportunities
    return max(offers, key=lambda o: o.expected_value) if offers else None


def _proposal_date(ctx: _Ctx, qbr_date: date) -> date:
    """The expansion proposal date, by the proposal tool's own timing rule."""
    timing = proposal_timing(ctx.account, ctx.playbook, ctx.as_of, False, next_qbr=qbr_date)
    return timing.proposal_date or qbr_date


def _growth_objective(ctx: _Ctx, qbr_date: date) -> dict | None:
    best = _best_offer(ctx)
    if best is None or _held(ctx):
        return None
    mrr = ctx.account.mrr
    return _objective(
        "grow_via_opportunity",
        f"Grow through {best.label}",
        f"{best.offer} proposed on {_proposal_date(ctx, qbr_date)} and signed by "
        f"{ctx.horizon_end}: "
        f"+{plain(best.price)} {ctx.currency}/month (expected value {plain(best.expected_value)} "
        f"{ctx.currency}/month at probability {plain(best.probability)})",
        best.evidence,
        baseline=mrr,
        target=mrr + best.price if mrr is not None else None,
    )


def _csat_objective(ctx: _Ctx, kpis: list[KpiPlan]) -> dict | None:
    kpi = _kpi(kpis, "csat")
    if kpi is None or kpi.met is not False:
        return None
    return _objective(
        "raise_csat",
        "Raise client satisfaction",
        f"CSAT from {plain(kpi.baseline)} to {plain(kpi.target)} or above by {ctx.horizon_end}",
        kpi.method,
        baseline=kpi.baseline,
        target=kpi.target,
    )


def _traffic_objective(ctx: _Ctx, kpis: list[KpiPlan]) -> dict | None:
    kpi = _kpi(kpis, "organic_traffic")
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
        "grow_organic_traffic",
        "Grow organic traffic",
        criterion,
        kpi.method,
        baseline=kpi.baseline,
        target=kpi.target,
    )


def _sustain_objective(ctx: _Ctx, kpis: list[KpiPlan]) -> dict | None:
    health, churn = _kpi(kpis, "health_score"), _kpi(kpis, "churn_risk")
    parts = []
    if health is not None and health.target is not None:
        now = _health_text(ctx, paren=False) or "unknown"
        parts.append(f"health score at {plain(health.target)} or above (now {now})")
    if churn is not None and churn.target is not None:
        now = _churn_text(ctx, paren=False) or "unknown"
        parts.append(f"churn risk at {plain(churn.target)} or below (now {now})")
    if not parts:
        return None
    return _objective(
        "sustain_health",
        "Keep the account healthy",
        " and ".join(parts) + f" through {ctx.horizon_end}",
        "health and churn KPI targets",
    )


def _qbr_objective(ctx: _Ctx, qbr_date: date) -> dict:
    return _objective(
        "hold_qbr",
        "Hold the quarterly business review",
        f"QBR held by {qbr_date} with the decision maker present and next quarter's targets agreed",
        f"qbr.cadence_days {ctx.playbook.qbr.cadence_days}",
        due=qbr_date,
    )


def build_objectives(ctx: _Ctx, kpis: list[KpiPlan], qbr_date: date) -> list[Objective]:
    """The first three objectives that apply, in the order of the module docstring."""
    candidates = (
        lambda: _churn_objective(ctx, kpis, URGENT_TIERS),
        lambda: _renewal_objective(ctx),
        lambda: _component_objective(ctx, kpis),
        lambda: _churn_objective(ctx, kpis, ("medium",)),
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


def _r(value: float | None) -> float | None:
    return r2(value) if value is not None else None


# --- initiatives, milestones, next actions ---------------------------------------------------


def build_initiatives(ctx: _Ctx, qbr_date: date) -> list[Initiative]:
    """One initiative per tier intervention and per matched opportunity (unless held)."""
    result = []
    tier = ctx.tier
    if tier is not None:
        resources = list(dict.fromkeys([CSM, tier.escalation]))
        for text in tier.interventions:
            result.append(
                Initiative(
                    name=text,
                    description=(
                        f"{tier.id} churn-risk tier intervention (churn risk "
                        f"{plain(ctx.score.churn_risk.score)}); contact cadence: {tier.cadence}"
                    ),
                    timeline=f"{ctx.as_of} to {ctx.horizon_end}, contact every "
                    f"{tier.cadence_days} days",
                    start=ctx.as_of,
                    end=ctx.horizon_end,
                    resources=resources,
                    source=f"churn_risk.tiers.{tier.id}.interventions",
                )
            )
    if _held(ctx):
        return result
    proposed = _proposal_date(ctx, qbr_date)
    for o in ctx.score.opportunities:
        plan = ctx.playbook.expansion.offers.get(o.id)
        phases = plan.phases if plan else []
        weeks = sum(p.weeks for p in phases)
        steps = "; ".join(f"{p.name} ({p.weeks} weeks)" for p in phases)
        problem = f"{plan.problem}; " if plan else ""
        result.append(
            Initiative(
                name=f"{o.label}: {o.offer}",
                description=f"{problem}{_offer_text(o, ctx.currency)} at probability "
                f"{plain(o.probability)} ({o.evidence})",
                timeline=f"proposal on {proposed}, then {weeks} weeks: {steps}",
                start=proposed,
                end=add_days(proposed, 7 * weeks),
                resources=[SEO, CSM, CLIENT_RESOURCES.get(o.id, "client approvals and access")],
                source=f"opportunities.{o.id}",
            )
        )
    return result


def _owner(name: str, ctx: _Ctx) -> str:
    return ctx.primary if name == PRIMARY else name


def _peak_start(ctx: _Ctx) -> date | None:
    quarter = ctx.industry.peak_quarter if ctx.industry else None
    if quarter is None:
        return None
    for year in (ctx.as_of.year, ctx.as_of.year + 1):
        start = month_start(year, 3 * (quarter - 1) + 1)
        if start is not None and ctx.as_of < start <= ctx.horizon_end:
            return start
    return None


def build_milestones(
    ctx: _Ctx, qbr: QbrPlan, onboarding: OnboardingStatus | None
) -> list[Milestone]:
    """Dated checkpoints inside the horizon, sorted by date."""
    a, pb = ctx.account, ctx.playbook
    found: list[Milestone] = []

    def add(day: date, text: str, owner: str, source: str) -> None:
        if ctx.as_of <= day <= ctx.horizon_end:
            found.append(Milestone(date=day, description=text, owner=owner, source=source))

    late = f", overdue since {qbr.due_date}" if qbr.status == "overdue" else ""
    add(qbr.date, f"quarterly business review ({qbr.minutes} min{late})", CSM, "qbr.cadence_days")
    if a.renewal_date is not None:
        if a.renewal_conversation_started is not True:
            add(
                renewal_talks_start(a.renewal_date, pb),
                f"renewal talks start ({renewal_talks_days(pb)} days before the renewal on "
                f"{a.renewal_date})",
                CSM,
                "signals.renewal_window.within_days",
            )
        add(a.renewal_date, "contract renewal date", CSM, "renewal_date")
    if onboarding is not None:
        for c in onboarding.criteria:
            if c.status != "met":
                owner = _owner(CRITERION_OWNERS.get(c.id, CSM), ctx)
                text = f"onboarding: {c.text} (day {c.due_day})"
                add(c.due_date, text, owner, f"onboarding.success_criteria.{c.id}")
        add(onboarding.ends, "onboarding complete", CSM, "onboarding.days")
    peak = _peak_start(ctx)
    if peak is not None:
        add(
            peak,
            f"{ctx.industry.label} peak quarter Q{ctx.industry.peak_quarter} starts: seasonal "
            "campaigns live",
            SEO,
            f"success_plan.industries.{ctx.industry.id}.peak_quarter",
        )
    half = pb.success_plan.horizon_days // 2
    add(
        ctx.days(half),
        "mid-quarter review of the success metrics",
        CSM,
        "success_plan.horizon_days",
    )
    add(
        ctx.horizon_end,
        "success metrics measured against targets; plan revised",
        CSM,
        "success_plan.horizon_days",
    )
    return sorted(found, key=lambda m: m.date)


def _tier_action(ctx: _Ctx, tier: Tier) -> tuple[NextAction, str | None]:
    """The tier's contact action (primary contact, else the first decision maker) and whom."""
    people = ctx.people
    name = people.primary_contact or next(iter(people.decision_makers), None)
    person = next((p for p in people.people if p.name == name), None)
    reason = f"churn risk {_churn_text(ctx)}"
    overdue = next((g for g in people.gaps if g.id == "contact_overdue" and g.person == name), None)
    if overdue is not None:
        reason += f"; {overdue.evidence}"
    action = NextAction(
        action=f"{tier.cadence}: contact {name or PRIMARY}"
        f"{_via(person.preferred_channel if person else None)}; {tier.interventions[0]}",
        owner=tier.escalation,
        due=ctx.due,
        reason=reason,
    )
    return action, name


def _via(channel: str | None) -> str:
    return f" ({channel})" if channel else ""


def _stakeholder_actions(ctx: _Ctx, skip_contact: str | None) -> list[NextAction]:
    people, fired = ctx.people, {s.id for s in ctx.score.signals}
    channels = {p.name: p.preferred_channel for p in people.people}
    intro = next(iter(people.champions), None) or people.primary_contact or PRIMARY
    result = []
    for g in people.gaps:
        if g.id == "stakeholders_unknown":
            text = "map the stakeholders: decision maker, champion and primary contact"
        elif g.id == "contact_overdue" and g.person != skip_contact:
            text = f"contact {g.person}{_via(channels.get(g.person))}"
        elif g.id == "no_champion":
            text = "find a champion among engaged users and give them wins to share"
        elif g.id == "no_executive_sponsor":
            text = f"ask {intro} for an introduction to the decision maker"
        elif g.id == "influential_detractor":
            text = f"meet {g.person} to hear their concerns and answer them with data"
        elif g.id == "new_primary_contact" and "stakeholder_change" not in fired:
            text = f"welcome meeting with {g.person}: introduce the team, recap goals and results"
        else:
            continue
        result.append(NextAction(action=text, owner=CSM, due=ctx.due, reason=g.evidence))
    return result


def _late_owner(ctx: _Ctx, late: int) -> str:
    """One late criterion: the account CSM; two or more: the medium tier's escalation level
    (the tier's own when it is high or critical), as the onboarding knowledge prescribes."""
    if ctx.tier is not None and ctx.tier.id in URGENT_TIERS:
        return ctx.tier.escalation
    if late < 2:
        return CSM
    medium = next((t for t in ctx.playbook.churn_risk.tiers if t.id == "medium"), None)
    return medium.escalation if medium else CSM


def _onboarding_actions(ctx: _Ctx, onboarding: OnboardingStatus | None) -> list[NextAction]:
    if onboarding is None:
        return []
    result = []
    late = [
        c
        for c in onboarding.criteria
        if c.due_date < ctx.as_of and c.status in ("due_unverified", "not_met")
    ]
    if late:
        listed = "; ".join(f"{c.text} (due {c.due_date}, {c.status})" for c in late)
        result.append(
            NextAction(
                action=f"confirm or recover {len(late)} late onboarding criteria: {listed}",
                owner=_late_owner(ctx, len(late)),
                due=ctx.due,
                reason="; ".join(f"{c.id}: {c.evidence}" for c in late),
            )
        )
    upcoming = [c for c in onboarding.criteria if c.status == "upcoming"]
    first = min((c.due_date for c in upcoming), default=None)
    for c in upcoming:
        if c.due_date == first:
            result.append(
                NextAction(
                    action=f"deliver the onboarding criterion: {c.text}",
                    owner=_owner(CRITERION_OWNERS.get(c.id, CSM), ctx),
                    due=min(ctx.due, c.due_date),
                    reason=c.evidence,
                )
            )
    return result


def build_next_actions(
    ctx: _Ctx,
    kpis: list[KpiPlan],
    qbr: QbrPlan,
    onboarding: OnboardingStatus | None,
    objectives: list[Objective],
) -> list[NextAction]:
    """Actions with owners and due dates, ordered by due date, then by priority."""
    pb = ctx.playbook
    actions: list[NextAction] = []
    for s in ctx.score.signals:
        rule = pb.risk.mitigations.get(s.id)
        days = min(ctx.due_days, rule.due_days) if rule else ctx.due_days
        owner = rule.owner if rule else CSM
        actions.append(
            NextAction(action=s.action, owner=owner, due=ctx.days(days), reason=s.evidence)
        )
    contacted = None
    if ctx.tier is not None:
        action, contacted = _tier_action(ctx, ctx.tier)
        actions.append(action)
    actions += _stakeholder_actions(ctx, contacted)
    if qbr.status in ("overdue", "unknown"):
        actions.append(
            NextAction(
                action=f"schedule the QBR for {qbr.date}", owner=CSM, due=ctx.due, reason=qbr.method
            )
        )
    actions += _onboarding_actions(ctx, onboarding)
    unknown = [k.label for k in kpis if k.baseline is None]
    if unknown:
        actions.append(
            NextAction(
                action=f"collect the missing baselines: {', '.join(unknown)}",
                owner=CSM,
                due=ctx.due,
                reason="success metrics without a baseline cannot be tracked",
            )
        )
    sponsor = next(iter(ctx.people.decision_makers), None) or ctx.primary
    actions.append(
        NextAction(
            action=f"agree this success plan's objectives with {sponsor}",
            owner=CSM,
            due=ctx.due,
            reason="; ".join(f"{o.rank}: {o.title}" for o in objectives),
        )
    )
    return sorted(actions, key=lambda a: a.due)


# --- the plan -------------------------------------------------------------------------------


def build_success_plan(
    account: Account,
    score: AccountScore,
    stakeholders: StakeholderMap,
    playbook: Playbook,
    as_of: date,
) -> SuccessPlan:
    """Build the account's success plan for the quarter of `as_of` (rules: module docstring)."""
    tier = _tier(score, playbook)
    industry = _industry(account, playbook, as_of)
    due_days, due_rule = action_due_days(playbook, tier, industry)
    ctx = _Ctx(
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
    qbr_date = _qbr_date(ctx)[0]
    objectives = build_objectives(ctx, kpis, qbr_date)
    qbr = _qbr(ctx, _PlanParts(kpis=kpis, qbr_date=qbr_date, objectives=objectives))
    onboarding = onboarding_status(ctx)
    notes = [f"{k.label}: {k.method}" for k in kpis if k.baseline is None]
    if _held(ctx) and score.opportunities:
        ids = ", ".join(o.id for o in score.opportunities)
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
