"""The plan's next actions: each with one owner and a due date, ordered by due date.

Sources, in priority order: each fired signal (`risk.mitigations`), the churn tier's contact,
each stakeholder gap (`stakeholders.gaps.<id>.action`), an overdue or unknown QBR, late and next
onboarding criteria, missing KPI baselines, and agreeing the objectives."""

from __future__ import annotations

from tools.planning.success_plan.context import PlanContext, churn_text
from tools.planning.success_plan.models import (
    KpiPlan,
    NextAction,
    Objective,
    OnboardingStatus,
    QbrPlan,
)
from tools.planning.success_plan.onboarding import criterion_owner
from tools.playbook import Tier


def _via(channel: str | None) -> str:
    return f" ({channel})" if channel else ""


def _signal_actions(ctx: PlanContext) -> list[NextAction]:
    actions = []
    for s in ctx.score.signals:
        rule = ctx.playbook.risk.mitigations[s.id]
        actions.append(
            NextAction(
                action=ctx.playbook.signals[s.id].action,
                owner=rule.owner,
                due=ctx.days(min(ctx.due_days, rule.due_days)),
                reason=s.evidence,
                kind="signal",
                ref=s.id,
            )
        )
    return actions


def _tier_action(ctx: PlanContext, tier: Tier) -> tuple[NextAction, str | None]:
    """The tier's contact action (primary contact, else the first decision maker) and whom."""
    people = ctx.people
    name = people.primary_contact or next(iter(people.decision_makers), None)
    person = next((p for p in people.people if p.name == name), None)
    channel = person.preferred_channel if person else None
    reason = f"churn risk {churn_text(ctx)}"
    overdue = next((g for g in people.gaps if g.id == "contact_overdue" and g.person == name), None)
    if overdue is not None:
        reason += f"; {overdue.evidence}"
    whom = name or ctx.role("client_primary")
    action = NextAction(
        action=f"{tier.cadence}: contact {whom}{_via(channel)}; {tier.interventions[0]}",
        owner=tier.escalation,
        due=ctx.due,
        reason=reason,
        kind="tier_contact",
        ref=tier.id,
        person=whom,
        channel=channel,
    )
    return action, name


def _gap_person(ctx: PlanContext, gap_id: str, person: str | None) -> str | None:
    """Whom a gap's action names: the stakeholder it is about; for no_executive_sponsor, who
    can introduce the decision maker (the champion, else the primary contact)."""
    if gap_id == "no_executive_sponsor":
        return next(iter(ctx.people.champions), None) or ctx.primary
    return person


def _stakeholder_actions(ctx: PlanContext, skip_contact: str | None) -> list[NextAction]:
    people, fired = ctx.people, {s.id for s in ctx.score.signals}
    channels = {p.name: p.preferred_channel for p in people.people}
    result = []
    for g in people.gaps:
        if g.id == "contact_overdue" and g.person == skip_contact:
            continue
        if g.id == "new_primary_contact" and "stakeholder_change" in fired:
            continue
        whom = _gap_person(ctx, g.id, g.person)
        channel = channels.get(g.person) if g.person else None
        text = ctx.playbook.stakeholders.gaps[g.id].action
        result.append(
            NextAction(
                action=str(text).format(person=whom, via=_via(channel)),
                owner=ctx.csm,
                due=ctx.due,
                reason=g.evidence,
                kind="gap",
                ref=g.id,
                person=whom,
                channel=channel,
            )
        )
    return result


def _late_owner(ctx: PlanContext, late: int) -> str:
    """One late criterion: the account CSM; two or more: the medium tier's escalation level
    (the tier's own when retention comes first), as the onboarding knowledge prescribes."""
    if ctx.held:
        return ctx.tier.escalation
    if late < 2:
        return ctx.csm
    medium = next((t for t in ctx.playbook.churn_risk.tiers if t.id == "medium"), None)
    return medium.escalation if medium else ctx.csm


def _onboarding_actions(ctx: PlanContext, onboarding: OnboardingStatus | None) -> list[NextAction]:
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
                kind="late_onboarding",
                refs=[c.id for c in late],
            )
        )
    upcoming = [c for c in onboarding.criteria if c.status == "upcoming"]
    first = min((c.due_date for c in upcoming), default=None)
    for c in upcoming:
        if c.due_date == first:
            result.append(
                NextAction(
                    action=f"deliver the onboarding criterion: {c.text}",
                    owner=criterion_owner(ctx, c.id),
                    due=min(ctx.due, c.due_date),
                    reason=c.evidence,
                    kind="criterion",
                    ref=c.id,
                )
            )
    return result


def build_next_actions(
    ctx: PlanContext,
    kpis: list[KpiPlan],
    qbr: QbrPlan,
    onboarding: OnboardingStatus | None,
    objectives: list[Objective],
) -> list[NextAction]:
    """Actions with owners and due dates, ordered by due date, then by priority."""
    csm = ctx.csm
    actions = _signal_actions(ctx)
    contacted = None
    if ctx.tier is not None:
        action, contacted = _tier_action(ctx, ctx.tier)
        actions.append(action)
    actions += _stakeholder_actions(ctx, contacted)
    if qbr.status in ("overdue", "unknown"):
        actions.append(
            NextAction(
                action=f"schedule the QBR for {qbr.date}",
                owner=csm,
                due=ctx.due,
                reason=qbr.method,
                kind="schedule_qbr",
            )
        )
    actions += _onboarding_actions(ctx, onboarding)
    unknown = [k for k in kpis if k.baseline is None]
    if unknown:
        actions.append(
            NextAction(
                action=f"collect the missing baselines: {', '.join(k.label for k in unknown)}",
                owner=csm,
                due=ctx.due,
                reason="success metrics without a baseline cannot be tracked",
                kind="collect_baselines",
                refs=[k.id for k in unknown],
            )
        )
    sponsor = next(iter(ctx.people.decision_makers), None) or ctx.primary
    actions.append(
        NextAction(
            action=f"agree this success plan's objectives with {sponsor}",
            owner=csm,
            due=ctx.due,
            reason="; ".join(f"{o.rank}: {o.title}" for o in objectives),
            kind="agree_objectives",
            person=sponsor,
        )
    )
    return sorted(actions, key=lambda a: a.due)
