"""Which matched expansion offers are worth proposing now (step 4).

The SPEC 5 matrix decides which offers match (`tools.scoring.expansion`); this module decides
which of them the proposal recommends, from three checks whose limits are playbook keys
(`expansion.recommend`):

- ROI: the expected ROI over `expansion.roi_horizon_months` by the traffic-value method must be
  at least `min_roi_pct` (a negative ROI loses the client money by our own calculation);
- price against spend: the monthly price of this offer and of the better offers recommended
  before it must be at most `max_price_to_mrr` times the client's current MRR;
- budget: the client's spend with us after those offers (MRR + their prices) must be at most
  `max_budget_share` of their monthly marketing budget.

Offers are taken best first: by ROI (highest first; an unknown ROI after every known one),
then by price against MRR (lowest first), then by the matrix's order; the price and budget
checks count the offers recommended before, so two offers that each fit but together do not
are not both recommended. A check whose input is unknown (organic traffic, MRR, budget) does
not fire, as every rule of the playbook (SPEC 6), and is listed in `not_checked`. An offer is
"not recommended now" when any known check fails, with the reason; only recommended offers are
proposed and counted in the expansion forecast and the portfolio's upsell pipeline."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from tools.numbers import plain, r2
from tools.playbook import Playbook
from tools.portfolio.account import Account
from tools.scoring.expansion import OpportunityResult

CheckId = Literal["roi", "price_to_mrr", "budget_share"]


class Roi(BaseModel):
    """Expected ROI over the horizon by the traffic-value method, with its inputs."""

    roi_pct: float | None
    horizon_months: int
    organic_traffic: int | None
    traffic_uplift_pct: float
    added_visits_monthly: float | None
    cost_per_visit: float
    benefit: float | None
    investment: float
    method: str


def expected_roi(opp_id: str, price: float, organic_traffic: int | None, playbook: Playbook) -> Roi:
    """ROI % = (added visits x cost per visit x months - price x months) / (price x months) x 100,
    added visits = organic_traffic x traffic_uplift_pct / 100."""
    rules = playbook.expansion
    plan = rules.offers[opp_id]
    months, cpv, uplift = rules.roi_horizon_months, rules.cost_per_visit, plan.traffic_uplift_pct
    investment = price * months
    keys = (
        f"expansion.offers.{opp_id}.traffic_uplift_pct, expansion.cost_per_visit, "
        "expansion.roi_horizon_months"
    )
    if organic_traffic is None:
        return Roi(
            roi_pct=None,
            horizon_months=months,
            organic_traffic=None,
            traffic_uplift_pct=uplift,
            added_visits_monthly=None,
            cost_per_visit=cpv,
            benefit=None,
            investment=r2(investment),
            method=(
                "ROI not computed: organic_traffic is unknown, and the traffic-value method "
                f"values added organic visits (organic_traffic x {plain(uplift)}% uplift x "
                f"{plain(cpv)} per visit x {months} months) against the investment "
                f"({plain(price)} x {months} = {plain(r2(investment))})"
            ),
        )
    added = organic_traffic * uplift / 100
    benefit = added * cpv * months
    roi = (benefit - investment) / investment * 100
    return Roi(
        roi_pct=r2(roi),
        horizon_months=months,
        organic_traffic=organic_traffic,
        traffic_uplift_pct=uplift,
        added_visits_monthly=r2(added),
        cost_per_visit=cpv,
        benefit=r2(benefit),
        investment=r2(investment),
        method=(
            f"traffic value: added visits = organic_traffic {plain(organic_traffic)} x "
            f"{plain(uplift)} / 100 = {plain(r2(added))} a month; benefit = "
            f"{plain(r2(added))} x {plain(cpv)} per visit x {months} months = "
            f"{plain(r2(benefit))}; investment = {plain(price)} x {months} = "
            f"{plain(r2(investment))}; ROI = ({plain(r2(benefit))} - {plain(r2(investment))}) / "
            f"{plain(r2(investment))} x 100 = {plain(r2(roi))}% ({keys})"
        ),
    )


class FitCheck(BaseModel):
    """One check of an offer against `expansion.recommend`: its value, the limit, and whether it
    passed (None: an input is unknown, so it was not checked)."""

    id: CheckId
    value: float | None
    limit: float
    passed: bool | None
    unknown: list[str]  # the inputs that were unknown (organic_traffic, mrr, budget)


class OfferFit(BaseModel):
    """Whether a matched offer is worth proposing now, its rank and why."""

    id: str
    rank: int  # 1 = the best matched offer
    recommended: bool
    roi_pct: float | None
    added_monthly: float  # this offer's price plus the offers recommended before it
    price_to_mrr: float | None  # added_monthly / mrr
    budget_share: float | None  # (mrr + added_monthly) / budget
    checks: list[FitCheck]
    failed: list[CheckId]
    not_checked: list[CheckId]
    reason: str


def _check(check_id: CheckId, value: float | None, limit: float, unknown: list[str],
           at_least: bool = False) -> FitCheck:
    """A check of `value` against `limit`; with no value it fails when nothing is unknown (an
    MRR or budget of 0: any price is beyond it), else it is not checked."""
    if value is None:
        passed = False if not unknown else None
    else:
        passed = value >= limit if at_least else value <= limit
    return FitCheck(id=check_id, value=value, limit=limit, passed=passed, unknown=unknown)


def _reason(fit_checks: list[FitCheck], currency: str, added: float, mrr: float | None,
            budget: float | None, earlier: bool) -> tuple[str, list[CheckId], list[CheckId]]:
    """The English sentence of a verdict: the failed checks, else what was checked."""
    failed = [c for c in fit_checks if c.passed is False]
    unchecked = [c for c in fit_checks if c.passed is None]
    with_earlier = " with the offers ranked above it" if earlier else ""
    words: list[str] = []
    for c in failed or [c for c in fit_checks if c.passed]:
        if c.id == "roi":
            words.append(f"expected ROI {plain(c.value or 0)}% (expansion.recommend.min_roi_pct "
                         f"{plain(c.limit)})")
        elif c.value is None:
            words.append("the current MRR is 0" if c.id == "price_to_mrr"
                         else "the marketing budget is 0")
        elif c.id == "price_to_mrr":
            words.append(
                f"+{plain(added)} {currency} a month{with_earlier} is {plain(c.value or 0)} times "
                f"the current MRR {plain(mrr or 0)} (expansion.recommend.max_price_to_mrr "
                f"{plain(c.limit)})"
            )
        else:
            words.append(
                f"MRR + {plain(added)}{with_earlier} would be {plain(r2((c.value or 0) * 100))}% "
                f"of the marketing budget {plain(budget or 0)} "
                f"(expansion.recommend.max_budget_share {plain(c.limit)})"
            )
    missing = sorted({name for c in unchecked for name in c.unknown})
    note = f"; not checked, unknown: {', '.join(missing)}" if missing else ""
    verdict = "not recommended now: " if failed else "recommended: "
    return verdict + "; ".join(words) + note, [c.id for c in failed], [c.id for c in unchecked]


def rank_offers(
    account: Account, offers: list[OpportunityResult], playbook: Playbook
) -> list[OfferFit]:
    """Every matched offer with its verdict, best first (rules: the module docstring)."""
    rules = playbook.expansion.recommend
    roi = {o.id: expected_roi(o.id, o.price, account.organic_traffic, playbook) for o in offers}
    mrr, budget = account.mrr, account.budget

    def order(item: tuple[int, OpportunityResult]) -> tuple[int, float, float, int]:
        index, o = item
        known = roi[o.id].roi_pct
        ratio = o.price / mrr if mrr else float("inf")
        return (known is None, -(known or 0.0), ratio, index)

    fits: list[OfferFit] = []
    taken = 0.0
    for rank, (_, o) in enumerate(sorted(enumerate(offers), key=order), start=1):
        added = taken + o.price
        ratio = r2(added / mrr) if mrr else None
        share = r2((mrr + added) / budget) if mrr is not None and budget else None
        checks = [
            _check("roi", roi[o.id].roi_pct, rules.min_roi_pct,
                   [] if account.organic_traffic is not None else ["organic_traffic"],
                   at_least=True),
            _check("price_to_mrr", ratio, rules.max_price_to_mrr, [] if mrr is not None else
                   ["mrr"]),
            _check("budget_share", share, rules.max_budget_share,
                   [n for n, v in (("mrr", mrr), ("budget", budget)) if v is None]),
        ]
        reason, failed, unchecked = _reason(
            checks, playbook.currency, added, mrr, budget, earlier=taken > 0
        )
        recommended = not failed
        if recommended:
            taken = added
        fits.append(
            OfferFit(
                id=o.id,
                rank=rank,
                recommended=recommended,
                roi_pct=roi[o.id].roi_pct,
                added_monthly=r2(added),
                price_to_mrr=ratio,
                budget_share=share,
                checks=checks,
                failed=failed,
                not_checked=unchecked,
                reason=reason,
            )
        )
    return fits


def recommended_offers(
    account: Account, offers: list[OpportunityResult], playbook: Playbook
) -> list[OpportunityResult]:
    """The matched offers worth proposing now, best first."""
    by_id = {o.id: o for o in offers}
    return [by_id[f.id] for f in rank_offers(account, offers, playbook) if f.recommended]
