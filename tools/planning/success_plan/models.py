"""The success plan's result models.

Texts copied from the playbook are `ShownText`: they keep their translations for the report
templates. Fields made with `for_templates` hold the structure behind a sentence (its kind and
the ids it names) so that a template in any language can word it; they are left out of the
JSON output, whose shape stays as it was."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from tools.texts import ShownText


def for_templates(default: Any = None) -> Any:
    """A field the report templates read and the JSON output leaves out."""
    if isinstance(default, list):
        return Field(default_factory=list, exclude=True)
    return Field(default=default, exclude=True)


class Objective(BaseModel):
    """A ranked business objective with a success criterion that data can check."""

    rank: str
    id: str
    title: ShownText
    criterion: str
    baseline: float | None
    target: float | None
    due: date
    evidence: str
    # the ids the criterion names: the weakest component (and `health_score` when the health
    # score must rise too), the best offer, the gaps to close, or the KPIs to sustain
    refs: list[str] = for_templates([])
    proposed: date | None = for_templates()  # grow_via_opportunity: the proposal date


class Milestone(BaseModel):
    """A dated checkpoint with one owner."""

    date: date
    description: str
    owner: ShownText
    source: str
    kind: str = for_templates("")  # qbr, renewal_talks, renewal, criterion, onboarding_end, ...
    ref: str | None = for_templates()  # the onboarding criterion of a `criterion` milestone


class Initiative(BaseModel):
    """A body of work: what it is, when, and the resources it needs."""

    name: ShownText
    description: str
    timeline: str
    start: date
    end: date
    resources: list[ShownText]
    source: str
    kind: str = for_templates("")  # intervention (of the churn tier) or offer
    ref: str | None = for_templates()  # the tier or the offer id


class KpiPlan(BaseModel):
    """A success metric with its baseline and target."""

    id: str
    label: ShownText
    unit: str
    baseline: float | None
    target: float | None
    lower_is_better: bool
    met: bool | None
    method: str


class QbrFigure(BaseModel):
    """One of an agenda item's figures: what it is (`id`), its value and what goes with it."""

    id: str
    value: int | float | None = None
    band: str | None = None  # the colour or tier of a score; the tier an offer waits on
    day: date | None = None  # the date of a past value
    previous: float | None = None  # the value on `day` (health_trend, health_gain)
    change: float | None = None  # value - previous, rounded (health_trend, health_gain)
    count: int | None = None  # how many values a mean is over
    key: str | None = None  # the objective's rank, the KPI's id
    text: ShownText | None = None  # the objective's title
    refs: list[str] = []  # the ids it lists: offers, signals, factors, gaps


class QbrItem(BaseModel):
    """An agenda item with the account's figures (`line` = text plus figures)."""

    text: ShownText
    figures: str | None
    line: str
    id: str = for_templates("")
    shows: str | None = for_templates()  # the figure set (qbr.sections.*.items.*.figures)
    parts: list[QbrFigure] = for_templates([])


class QbrAgendaSection(BaseModel):
    """One timed section of the QBR agenda."""

    id: str
    title: ShownText
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

    action: ShownText
    owner: ShownText
    due: date
    reason: str
    # signal, tier_contact, gap, schedule_qbr, late_onboarding, criterion, collect_baselines,
    # agree_objectives
    kind: str = for_templates("")
    ref: str | None = for_templates()  # the signal, tier, gap or onboarding criterion id
    refs: list[str] = for_templates([])  # the late criteria, the KPIs without a baseline
    person: ShownText | None = for_templates()  # whom the action is about or addressed to
    channel: str | None = for_templates()  # that person's preferred channel


class CriterionStatus(BaseModel):
    """An onboarding success criterion with its due date and status."""

    id: str
    text: ShownText
    phase: str
    due_day: int
    due_date: date
    target: float | None
    status: str
    evidence: str
    measured: str | None = for_templates()  # what data decided met/not_met: mean_satisfaction, csat
    value: float | None = for_templates()  # its value
    days_until: int = for_templates(0)  # due_date - as_of in days (negative: past)


class OnboardingStatus(BaseModel):
    """Where a new account stands in the onboarding plan."""

    contract_start: date
    day: int
    ends: date
    phase: str | None
    phase_start: date | None
    phase_end: date | None
    deliverables: list[ShownText]
    criteria: list[CriterionStatus]


class IndustryAdaptation(BaseModel):
    """The industry's focus, KPIs and review cadence from `success_plan.industries`."""

    id: str
    label: ShownText
    focus: list[ShownText]
    kpis: list[ShownText]
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
