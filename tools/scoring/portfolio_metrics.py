"""Portfolio metrics (SPEC 9) over per-account snapshots: retention over a period and its annual
equivalent, the four portfolio targets (met, missed or not measurable), next quarter's forecast.

Pure functions over snapshot dicts (the compact per-account record a sweep stores: `id`,
`mrr`, `csat`, `renewal_date`, `renewal_probability`, `expected_churned_mrr`,
`expected_expansion`, ...). Every result states its period; docs/portfolio-report.md gives each
formula."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from tools.numbers import add_days, plain, r2
from tools.playbook import Targets

DAYS_PER_YEAR = 365
TARGET_IDS = (
    "annual_retention",
    "expansion_share_of_arr",
    "referrals_per_satisfied_client_quarter",
    "average_csat",
)
NO_BASELINE = "no earlier complete sweep in the store: retention needs two snapshots"

Status = Literal["met", "missed", "not_measurable"]


class Period(BaseModel):
    """The snapshot dates a metric runs from and to, and the days between them."""

    start: str
    end: str
    days: int


def period(start_day: str, end_day: str) -> Period:
    """The period between two ISO dates."""
    days = (date.fromisoformat(end_day) - date.fromisoformat(start_day)).days
    return Period(start=start_day, end=end_day, days=days)


class LostAccount(BaseModel):
    """An account present at the start of a period and gone at its end (churned in it)."""

    id: str
    start_mrr: float | None
    last_mrr: float | None


class Retention(BaseModel):
    """GRR, NRR and logo retention between two snapshots, and GRR and NRR a year at that pace;
    the accounts that churned in the period, and those still active whose MRR fell to 0."""

    period: Period
    start_mrr: float
    expansion: float
    contraction: float
    churned_mrr: float
    start_logos: int
    retained_logos: int
    new_logos_excluded: int
    mrr_unknown_accounts: int
    grr: float | None
    nrr: float | None
    logo_retention: float | None
    annual_grr: float | None
    annual_nrr: float | None
    annualised: str
    method: str
    churned_accounts: list[LostAccount]
    zero_mrr_accounts: list[str]


class TargetCheck(BaseModel):
    """One SPEC 9 target: the measured value, met / missed / not measurable, and why."""

    id: str
    target: float
    value: float | None
    status: Status
    period: Period | None
    reason: str | None
    method: str


class Forecast(BaseModel):
    """Next quarter's expected churn and expansion, and the GRR/NRR they imply."""

    period: Period
    horizon_days: int
    accounts: int
    left_out_accounts: int
    current_mrr: float
    renewing_accounts: int
    expected_churned_mrr: float
    expected_expansion: float
    held_expansion: float
    grr: float | None
    nrr: float | None
    method: str


def too_short(p: Period, min_days: int) -> str | None:
    """Why a period is too short to extrapolate to a year, or None when it is long enough."""
    if p.days >= min_days:
        return None
    return (
        f"not measurable yet: the period {p.start} to {p.end} is {p.days} days, shorter than the "
        f"{min_days} days needed to extrapolate to a year (playbook targets.min_annualise_days)"
    )


def annualise(rate: float | None, days: int) -> float | None:
    """A retention rate over `days` compounded to a year: rate ** (365 / days)."""
    if rate is None:
        return None
    return round(rate ** (DAYS_PER_YEAR / days), 4)


def retention(
    start: Mapping[str, float | None],
    end: Mapping[str, float | None],
    start_day: str,
    end_day: str,
    min_annualise_days: int,
    last: Mapping[str, float] | None = None,
) -> Retention:
    """GRR = (start MRR - contraction - churned) / start MRR; NRR adds expansion.

    `start` and `end` map account id -> MRR (None when unknown) in the two snapshots. Only
    accounts present at the start count (new logos are excluded). An account absent at the end
    churned in the period: its last MRR (`last`: its latest known MRR before the end, else its
    start MRR) is churned MRR, and a fall from its start MRR to that last MRR is contraction;
    a rise before it left is neither expansion nor churn (churned MRR is at most its start MRR,
    so an account never takes more than its own start MRR off GRR). An account present at the
    end with MRR 0 is still a client: its fall is contraction, and it is named in
    `zero_mrr_accounts`. An account whose MRR is unknown at either end still counts as a logo
    (retained when present at both ends, churned when absent at the end) but is left out of
    every money figure, start MRR included, and counted in `mrr_unknown_accounts`: its change
    is unknown, never taken as zero. GRR and NRR are annualised by compounding when the period
    has at least `min_annualise_days` days."""
    p = period(start_day, end_day)
    start_mrr = expansion = contraction = churned = 0.0
    retained = unknown = 0
    lost: list[LostAccount] = []
    zero: list[str] = []
    for account_id, before in start.items():
        present = account_id in end
        retained += present
        after = end[account_id] if present else (last or {}).get(account_id, before)
        if not present:
            lost.append(LostAccount(id=account_id, start_mrr=before, last_mrr=after))
        if before is None or after is None:
            unknown += 1
            continue
        start_mrr += before
        if not present:  # gone: never more than its start MRR lost
            churned += min(after, before)
            contraction += max(before - after, 0.0)
            continue
        expansion += max(after - before, 0.0)
        contraction += max(before - after, 0.0)
        if after == 0 and before > 0:
            zero.append(account_id)
    new = sum(1 for account_id in end if account_id not in start)
    grr = (start_mrr - contraction - churned) / start_mrr if start_mrr else None
    nrr = (start_mrr + expansion - contraction - churned) / start_mrr if start_mrr else None
    short = too_short(p, min_annualise_days)
    if short:
        annualised = short
    elif grr is None:
        annualised = "not measurable: no account has a known MRR at both ends"
    else:
        annualised = (
            f"annual = period rate ^ ({DAYS_PER_YEAR} / {p.days}), as if the period's pace "
            f"held for a year"
        )
    return Retention(
        period=p,
        start_mrr=r2(start_mrr),
        expansion=r2(expansion),
        contraction=r2(contraction),
        churned_mrr=r2(churned),
        start_logos=len(start),
        retained_logos=retained,
        new_logos_excluded=new,
        mrr_unknown_accounts=unknown,
        grr=round(grr, 4) if grr is not None else None,
        nrr=round(nrr, 4) if nrr is not None else None,
        logo_retention=round(retained / len(start), 4) if start else None,
        annual_grr=None if short else annualise(grr, p.days),
        annual_nrr=None if short else annualise(nrr, p.days),
        annualised=annualised,
        method=(
            f"from the snapshot of {start_day} to that of {end_day} ({p.days} days): GRR = "
            f"(start MRR {plain(r2(start_mrr))} - contraction {plain(r2(contraction))} - "
            f"churned MRR {plain(r2(churned))}) / start MRR; NRR = (start MRR + expansion "
            f"{plain(r2(expansion))} - contraction - churned MRR) / start MRR; churned MRR = "
            f"the last MRR (at most the start MRR) of the {len(lost)} account(s) gone by the "
            f"end; {new} new "
            f"logo(s) excluded; {unknown} account(s) with MRR unknown at either end left out "
            f"of the money figures; logo retention = {retained} retained / {len(start)} at the "
            f"start"
        ),
        churned_accounts=sorted(lost, key=lambda a: a.id),
        zero_mrr_accounts=sorted(zero),
    )


def _judged(
    target_id: str, target: float, value: float, p: Period | None, method: str
) -> TargetCheck:
    """A measured target: met when the reported (rounded) value reaches the target."""
    status: Status = "met" if value >= target else "missed"
    return TargetCheck(
        id=target_id,
        target=target,
        value=value,
        status=status,
        period=p,
        reason=None,
        method=method,
    )


def _unmeasured(
    target_id: str, target: float, reason: str, p: Period | None, method: str
) -> TargetCheck:
    """A target that cannot be measured, with the reason."""
    return TargetCheck(
        id=target_id,
        target=target,
        value=None,
        status="not_measurable",
        period=p,
        reason=reason,
        method=method,
    )


def retention_target(r: Retention | None, targets: Targets) -> TargetCheck:
    """Annual retention: the annualised GRR against `targets.annual_retention`."""
    key, goal = "annual_retention", targets.annual_retention
    method = f"annualised GRR = period GRR ^ ({DAYS_PER_YEAR} / period days)"
    if r is None:
        return _unmeasured(key, goal, f"not measurable: {NO_BASELINE}", None, method)
    if r.annual_grr is None:
        return _unmeasured(key, goal, r.annualised, r.period, method)
    return _judged(
        key,
        goal,
        r.annual_grr,
        r.period,
        f"{method} = {plain(r.grr or 0.0)} ^ ({DAYS_PER_YEAR} / {r.period.days})",
    )


def expansion_target(r: Retention | None, current_mrr: float, targets: Targets) -> TargetCheck:
    """Expansion revenue a year over current ARR, against `targets.expansion_share_of_arr`.

    share = (expansion MRR over the period x 365 / days) x 12 / (current MRR x 12): the MRR the
    retained accounts added, at the period's pace for a year (linear), as annual revenue, over
    the current annual run rate; the two x 12 cancel."""
    key, goal = "expansion_share_of_arr", targets.expansion_share_of_arr
    method = (
        f"(expansion MRR over the period x {DAYS_PER_YEAR} / period days) x 12 / current ARR "
        f"(current MRR x 12)"
    )
    if r is None:
        return _unmeasured(key, goal, f"not measurable: {NO_BASELINE}", None, method)
    short = too_short(r.period, targets.min_annualise_days)
    if short:
        return _unmeasured(key, goal, short, r.period, method)
    if not current_mrr:
        return _unmeasured(key, goal, "not measurable: no current MRR is known", r.period, method)
    share = round(r.expansion * DAYS_PER_YEAR / r.period.days / current_mrr, 4)
    return _judged(
        key,
        goal,
        share,
        r.period,
        f"{method} = ({plain(r.expansion)} x {DAYS_PER_YEAR} / {r.period.days}) x 12 / "
        f"({plain(r2(current_mrr))} x 12)",
    )


def referrals_target(targets: Targets) -> TargetCheck:
    """Referrals per satisfied client a quarter: the inputs carry no referral data."""
    return _unmeasured(
        "referrals_per_satisfied_client_quarter",
        targets.referrals_per_satisfied_client_quarter,
        "not measurable: no referral data in the inputs (the account model has no referral "
        "field), so the count is unknown, not zero",
        None,
        "referrals received in a quarter / clients satisfied in that quarter",
    )


def csat_target(values: list[float], accounts: int, as_of: str, targets: Targets) -> TargetCheck:
    """Average CSAT of the accounts whose CSAT is known, as of the end snapshot."""
    key, goal = "average_csat", targets.average_csat
    p = period(as_of, as_of)
    method = (
        f"mean CSAT of the {len(values)} of {accounts} accounts whose CSAT is known, as of "
        f"{as_of} (a point in time)"
    )
    if not values:
        return _unmeasured(key, goal, "not measurable: no account has a known CSAT", p, method)
    return _judged(key, goal, round(sum(values) / len(values), 2), p, method)


def check_targets(
    r: Retention | None,
    current_mrr: float,
    csat_values: list[float],
    accounts: int,
    as_of: str,
    targets: Targets,
) -> dict[str, TargetCheck]:
    """The four SPEC 9 targets, in SPEC order."""
    checks = (
        retention_target(r, targets),
        expansion_target(r, current_mrr, targets),
        referrals_target(targets),
        csat_target(csat_values, accounts, as_of, targets),
    )
    return {c.id: c for c in checks}


def forecast_quarter(
    snapshots: Iterable[Mapping[str, Any]], as_of: date, horizon_days: int
) -> Forecast:
    """Expected churned MRR of the accounts renewing by as_of + horizon (that day included; an
    unknown renewal date counts as renewing) and expected expansion of every account, against
    their MRR. An account whose MRR is unknown, or that renews with an unknown expected churned
    MRR, is left out of every figure (counted in `left_out_accounts`), never taken as zero.
    Offers a proposal holds back (`held_expansion` of a snapshot) are summed apart, never in
    the expected expansion or the NRR."""
    until = add_days(as_of, horizon_days)
    mrr = churn = expansion = held = 0.0
    counted = renewing = left_out = 0
    for s in snapshots:
        renews = s.get("renewal_date") is None or date.fromisoformat(s["renewal_date"]) <= until
        if s.get("mrr") is None or (renews and s.get("expected_churned_mrr") is None):
            left_out += 1
            continue
        counted += 1
        mrr += s["mrr"]
        expansion += s.get("expected_expansion") or 0.0
        held += s.get("held_expansion") or 0.0
        if renews:
            renewing += 1
            churn += s["expected_churned_mrr"]
    grr = (mrr - churn) / mrr if mrr else None
    nrr = (mrr + expansion - churn) / mrr if mrr else None
    return Forecast(
        period=period(as_of.isoformat(), until.isoformat()),
        horizon_days=horizon_days,
        accounts=counted,
        left_out_accounts=left_out,
        current_mrr=r2(mrr),
        renewing_accounts=renewing,
        expected_churned_mrr=r2(churn),
        expected_expansion=r2(expansion),
        held_expansion=r2(held),
        grr=round(grr, 4) if grr is not None else None,
        nrr=round(nrr, 4) if nrr is not None else None,
        method=(
            f"over the {counted} account(s) with known MRR ({left_out} left out: MRR unknown, "
            f"or renewing with an unknown renewal probability): expected churned MRR = sum of "
            f"MRR x (1 - renewal probability) over the {renewing} renewing by "
            f"{until.isoformat()} or with no known renewal date; expected expansion = sum of "
            f"price x probability over the recommended offers (expansion.recommend), leaving out "
            f"the {plain(r2(held))} a "
            f"month held back while the churn tier is in expansion.hold_tiers; forecast GRR = "
            f"(MRR {plain(r2(mrr))} - {plain(r2(churn))}) / MRR; forecast NRR = (MRR + "
            f"{plain(r2(expansion))} - {plain(r2(churn))}) / MRR"
        ),
    )
