"""Expansion proposal (step 4): current state, one priced offer per matched opportunity with its
ROI case, ranked and judged by `tools.planning.offer_fit` (only the recommended ones are
proposed, dated and counted), implementation phases with dates, and timing against renewal
talks and budget cycles."""

from __future__ import annotations

from datetime import date
from statistics import fmean
from typing import Literal

from pydantic import BaseModel

from tools.numbers import add_days, days_between, month_start, plain, r2
from tools.planning.offer_fit import OfferFit, Roi, expected_roi, rank_offers
from tools.playbook import OfferPlan, Playbook
from tools.portfolio.account import Account
from tools.scoring.expansion import (
    MONTHS_PER_YEAR,
    OpportunityResult,
    expansion_held,
    expected_expansion,
)
from tools.scoring.score import AccountScore
from tools.scoring.signals import in_renewal_window, renewal_talks_days, renewal_talks_start

# Not (yet) a playbook key: a renewal talks window opening within this many days of as-of
# pulls the expansion proposal into the renewal conversation.
# Fallback when the playbook's health `logins` metric has no window.
LOGIN_WINDOW = 4


class KeyContact(BaseModel):
    """A person the proposal goes to: a decision maker, a champion or the primary contact."""

    name: str
    title: str | None
    role: str | None
    primary: bool


class Usage(BaseModel):
    """How much of the current service the client uses (None when unknown)."""

    active_seats: int | None
    licensed_seats: int | None
    seat_usage_pct: float | None
    feature_adoption_pct: float | None
    weekly_logins_mean: float | None
    weekly_logins_weeks: int


class CurrentState(BaseModel):
    """Existing contract value, usage and the people to talk to."""

    mrr: float | None
    arr: float | None
    usage: Usage
    key_contacts: list[KeyContact]


class ImplementationPhase(BaseModel):
    """One phase of the implementation plan; dates are None while the proposal is on hold."""

    number: int
    name: str
    weeks: int
    start_week: int
    end_week: int
    start: date | None
    end: date | None


class OfferProposal(BaseModel):
    """One proposed expansion: offer, business case, investment and implementation plan."""

    id: str
    label: str
    offer: str
    problem: str
    evidence: str
    price: float
    investment_monthly: float
    investment_total: float
    horizon_months: int
    probability: float
    expected_value: float
    expected_annual_value: float
    roi: Roi
    benefits: list[str]
    timeline_weeks: int
    start_date: date | None
    end_date: date | None
    phases: list[ImplementationPhase]
    recommended: bool
    fit: OfferFit  # rank, the checks against expansion.recommend, and the reason


class Timing(BaseModel):
    """When to propose: with the renewal talks, before budget planning, or on hold."""

    basis: Literal["renewal", "qbr", "budget_planning", "hold"]
    proposal_date: date | None
    rationale: str


class ExpansionProposal(BaseModel):
    """The Expansion Proposal of seeds/002 for one account, every figure from the tools."""

    id: str
    name: str
    as_of: date
    currency: str
    tier: str | None
    current_state: CurrentState
    hold: bool
    hold_reason: str | None
    timing: Timing
    offers: list[OfferProposal]  # the recommended offers, best first: what is proposed
    not_recommended: list[OfferProposal]  # matched, but not worth proposing now (fit.reason)
    expected_expansion_monthly: float
    expected_expansion_annual: float
    not_evaluated: list[str]


def _key_contacts(account: Account, playbook: Playbook) -> list[KeyContact]:
    """Decision makers, then champions, then any other primary contact (input order within)."""
    sponsor = set(playbook.stakeholders.sponsor_roles)
    champion = set(playbook.stakeholders.champion_roles)

    def rank(role: str | None) -> int:
        return 0 if role in sponsor else 1 if role in champion else 2

    people = [
        p
        for p in account.stakeholders or []
        if p.role in sponsor or p.role in champion or p.primary is True
    ]
    return [
        KeyContact(name=p.name, title=p.title, role=p.role, primary=p.primary is True)
        for p in sorted(people, key=lambda p: rank(p.role))
    ]


def _login_window(playbook: Playbook) -> int:
    metric = playbook.health.components["engagement"].metrics.get("logins")
    return metric.window if metric is not None and metric.window else LOGIN_WINDOW


def _usage(account: Account, playbook: Playbook) -> Usage:
    active, licensed = account.active_seats, account.licensed_seats
    seats = r2(active / licensed * 100) if active is not None and licensed else None
    logins = (account.weekly_logins or [])[-_login_window(playbook) :]
    return Usage(
        active_seats=active,
        licensed_seats=licensed,
        seat_usage_pct=seats,
        feature_adoption_pct=account.feature_adoption_pct,
        weekly_logins_mean=r2(fmean(logins)) if logins else None,
        weekly_logins_weeks=len(logins),
    )


def current_state(account: Account, playbook: Playbook) -> CurrentState:
    """ARR (mrr x 12), usage and key contacts, each None/empty when unknown."""
    arr = r2(account.mrr * MONTHS_PER_YEAR) if account.mrr is not None else None
    return CurrentState(
        mrr=account.mrr,
        arr=arr,
        usage=_usage(account, playbook),
        key_contacts=_key_contacts(account, playbook),
    )


def _benefits(roi: Roi, currency: str) -> list[str]:
    months = roi.horizon_months
    lines: list[str] = []
    if roi.added_visits_monthly is not None and roi.benefit is not None:
        lines.append(
            f"+{plain(roi.added_visits_monthly)} organic visits a month "
            f"({plain(roi.traffic_uplift_pct)}% of {plain(roi.organic_traffic or 0)})"
        )
        lines.append(
            f"traffic value {plain(r2(roi.added_visits_monthly * roi.cost_per_visit))} {currency} "
            f"a month, {plain(roi.benefit)} {currency} over {months} months at "
            f"{plain(roi.cost_per_visit)} {currency} a visit"
        )
        net = r2(roi.benefit - roi.investment)
        lines.append(
            f"net return {plain(net)} {currency} over {months} months "
            f"on {plain(roi.investment)} {currency} invested"
        )
    else:
        lines.append(
            f"+{plain(roi.traffic_uplift_pct)}% organic traffic expected "
            "(visits and value unknown: organic_traffic is unknown)"
        )
    return lines


def _phases(plan: OfferPlan, start: date | None) -> list[ImplementationPhase]:
    """Consecutive phases from `start`; each ends the day before the next one begins."""
    phases: list[ImplementationPhase] = []
    week = 1
    for number, phase in enumerate(plan.phases, start=1):
        begin = end = None
        if start is not None:
            begin = add_days(start, 7 * (week - 1))
            end = add_days(begin, 7 * phase.weeks - 1)
        phases.append(
            ImplementationPhase(
                number=number,
                name=phase.name,
                weeks=phase.weeks,
                start_week=week,
                end_week=week + phase.weeks - 1,
                start=begin,
                end=end,
            )
        )
        week += phase.weeks
    return phases


def _offer(
    opp: OpportunityResult, account: Account, playbook: Playbook, start: date | None,
    fit: OfferFit,
) -> OfferProposal:
    plan = playbook.expansion.offers[opp.id]
    roi = expected_roi(opp.id, opp.price, account.organic_traffic, playbook)
    phases = _phases(plan, start if fit.recommended else None)
    return OfferProposal(
        id=opp.id,
        label=opp.label,
        offer=opp.offer,
        problem=plan.problem,
        evidence=opp.evidence,
        price=opp.price,
        investment_monthly=r2(opp.price),
        investment_total=roi.investment,
        horizon_months=roi.horizon_months,
        probability=opp.probability,
        expected_value=opp.expected_value,
        expected_annual_value=opp.expected_annual_value,
        roi=roi,
        benefits=_benefits(roi, playbook.currency),
        timeline_weeks=sum(p.weeks for p in plan.phases),
        start_date=phases[0].start,
        end_date=phases[-1].end,
        phases=phases,
        recommended=fit.recommended,
        fit=fit,
    )


def _resume_tiers(playbook: Playbook) -> str:
    """The tiers outside the hold list, riskiest first: 'medium or low'."""
    tiers = sorted(playbook.churn_risk.tiers, key=lambda t: t.min, reverse=True)
    return " or ".join(t.id for t in tiers if t.id not in playbook.expansion.hold_tiers)


def proposal_timing(
    account: Account, playbook: Playbook, as_of: date, hold: bool, next_qbr: date | None = None
) -> Timing:
    """When to propose: the earliest of the renewal talks (now when their window is open, or
    when it opens within expansion.renewal_bundle_days), the next QBR (a success milestone)
    and the 1st of the next budget planning month. Held accounts wait for a lower tier."""
    if hold:
        return Timing(
            basis="hold",
            proposal_date=None,
            rationale=(
                f"retention first: propose after the account returns to "
                f"{_resume_tiers(playbook)} risk"
            ),
        )
    month = playbook.expansion.budget_planning_month
    planning = month_start(as_of.year, month) or date.max
    if planning < as_of:  # next year's, held at the calendar's end in year 9999
        planning = month_start(as_of.year + 1, month) or date.max
    candidates: list[tuple[date, str, str]] = [
        (
            planning,
            "budget_planning",
            f"before the client plans next year's budget (expansion.budget_planning_month {month})",
        )
    ]
    renewal = account.renewal_date
    if renewal is not None and renewal >= as_of:
        talks = renewal_talks_start(renewal, playbook)
        window = f"renewal talks open {talks.isoformat()} (renewal_date {renewal.isoformat()} - "
        window += f"{renewal_talks_days(playbook)} days, signals.renewal_window.within_days)"
        bundle = playbook.expansion.renewal_bundle_days
        if in_renewal_window(renewal, as_of, playbook):
            candidates.append(
                (as_of, "renewal", f"{window}: bundle it with the renewal conversation")
            )
        elif days_between(as_of, talks) <= bundle:
            candidates.append(
                (
                    talks,
                    "renewal",
                    f"{window}, within {bundle} days: bundle it with the renewal conversation",
                )
            )
    if next_qbr is not None and next_qbr >= as_of:
        candidates.append((next_qbr, "qbr", f"at the next QBR on {next_qbr.isoformat()}"))
    when, basis, why = min(candidates, key=lambda c: c[0])
    return Timing(
        basis=basis, proposal_date=when, rationale=f"propose on {when.isoformat()}, {why}"
    )


def build_expansion_proposal(
    account: Account,
    score: AccountScore,
    playbook: Playbook,
    as_of: date,
    next_qbr: date | None = None,
) -> ExpansionProposal:
    """One account's expansion proposal: current state, offers with ROI and phases, timing."""
    tier = score.churn_risk.tier
    hold_tiers = playbook.expansion.hold_tiers
    hold = expansion_held(tier, playbook)
    hold_reason = None
    if hold:
        hold_reason = (
            f"churn tier {tier} (score {plain(score.churn_risk.score or 0)}) is in "
            f"expansion.hold_tiers ({', '.join(hold_tiers)}): retention first; propose after "
            f"the account returns to {_resume_tiers(playbook)} risk"
        )
    timing = proposal_timing(account, playbook, as_of, hold, next_qbr)
    matched = {o.id: o for o in score.opportunities}
    ranked = [
        _offer(matched[f.id], account, playbook, timing.proposal_date, f)
        for f in rank_offers(account, score.opportunities, playbook)
    ]
    offers = [o for o in ranked if o.recommended]
    monthly = expected_expansion([matched[o.id] for o in offers])
    return ExpansionProposal(
        id=account.id,
        name=account.name,
        as_of=as_of,
        currency=playbook.currency,
        tier=tier,
        current_state=current_state(account, playbook),
        hold=hold,
        hold_reason=hold_reason,
        timing=timing,
        offers=offers,
        not_recommended=[o for o in ranked if not o.recommended],
        expected_expansion_monthly=r2(monthly),
        expected_expansion_annual=r2(monthly * MONTHS_PER_YEAR),
        not_evaluated=list(score.not_evaluated.opportunities),
    )
