"""What every part of a success plan reads: the account, its scores and stakeholder map, the
playbook, the dates, and the few lookups and phrases the parts share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

from tools.numbers import add_days, plain
from tools.planning.offer_fit import recommended_offers
from tools.planning.stakeholders import StakeholderMap
from tools.planning.success_plan.models import IndustryAdaptation, KpiPlan, Objective
from tools.playbook import Industry, Playbook, Tier
from tools.portfolio.account import Account
from tools.scoring.expansion import OpportunityResult
from tools.scoring.score import AccountScore
from tools.texts import Text


@dataclass(frozen=True)
class PlanContext:
    """One account's inputs to its plan for the quarter of `as_of`."""

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

    def role(self, role_id: str) -> Text:
        """A role of `success_plan.roles` (csm, seo, client_primary, or the agency's own)."""
        return self.playbook.success_plan.roles[role_id]

    @property
    def csm(self) -> Text:
        return self.role("csm")

    @property
    def primary(self) -> str:
        """The primary contact's name, else the client_primary role."""
        return self.people.primary_contact or self.role("client_primary")

    def owner(self, role_id: str) -> str:
        """Who holds a role: the primary contact's name for client_primary."""
        return self.primary if role_id == "client_primary" else self.role(role_id)

    @property
    def currency(self) -> str:
        return self.playbook.currency

    @cached_property
    def offers(self) -> list[OpportunityResult]:
        """The matched offers worth proposing now, best first (`expansion.recommend`)."""
        return recommended_offers(self.account, self.score.opportunities, self.playbook)

    @property
    def held(self) -> bool:
        """Retention first: the tier is one of `expansion.hold_tiers`."""
        return self.tier is not None and self.tier.id in self.playbook.expansion.hold_tiers


@dataclass(frozen=True)
class PlanParts:
    """The parts of the plan that the QBR agenda's figures quote."""

    kpis: list[KpiPlan]
    qbr_date: date
    objectives: list[Objective]


def quarter_label(day: date) -> str:
    """'Q4 2026' for any day of October to December 2026."""
    return f"Q{(day.month - 1) // 3 + 1} {day.year}"


def find_tier(score: AccountScore, playbook: Playbook) -> Tier | None:
    tier_id = score.churn_risk.tier
    return next((t for t in playbook.churn_risk.tiers if t.id == tier_id), None)


def find_industry(account: Account, playbook: Playbook, as_of: date) -> IndustryAdaptation | None:
    rule: Industry | None = playbook.success_plan.industries.get(account.industry or "")
    if rule is None:
        return None
    in_peak = None
    if rule.peak_quarter is not None:
        in_peak = quarter_label(as_of).startswith(f"Q{rule.peak_quarter} ")
    return IndustryAdaptation(id=account.industry, in_peak_quarter=in_peak, **dict(rule))


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


def find_kpi(kpis: list[KpiPlan], kpi_id: str) -> KpiPlan | None:
    return next((k for k in kpis if k.id == kpi_id), None)


def _band(score: float | None, band: str | None, paren: bool) -> str | None:
    if score is None:
        return None
    return f"{plain(score)} ({band})" if paren else f"{plain(score)}, {band}"


def health_text(ctx: PlanContext, paren: bool = True) -> str | None:
    """'72.35 (green)', or '72.35, green' without parentheses."""
    return _band(ctx.score.health.score, ctx.score.health.color, paren)


def churn_text(ctx: PlanContext, paren: bool = True) -> str | None:
    """'62.7 (high)', or '62.7, high' without parentheses."""
    return _band(ctx.score.churn_risk.score, ctx.score.churn_risk.tier, paren)


def offer_text(o: OpportunityResult, currency: str) -> str:
    return (
        f"{o.offer} {plain(o.price)} {currency}/month, expected value "
        f"{plain(o.expected_value)} {currency}/month ({plain(o.expected_annual_value)}/year)"
    )
