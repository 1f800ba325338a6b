"""Portfolio metrics (SPEC 9) over per-account snapshots: retention, expansion, CSAT, forecast.

Pure functions over snapshot dicts (the compact per-account record a sweep stores: `id`,
`mrr`, `csat`, `renewal_date`, `renewal_probability`, `expected_churned_mrr`,
`expected_expansion`, ...)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel

from tools.numbers import add_days, plain, r2


class Retention(BaseModel):
    """GRR, NRR and logo retention between two snapshots of the portfolio."""

    start: str
    end: str
    start_mrr: float
    expansion: float
    contraction: float
    churned_mrr: float
    start_logos: int
    retained_logos: int
    new_logos_excluded: int
    grr: float | None
    nrr: float | None
    logo_retention: float | None
    method: str


class Forecast(BaseModel):
    """Next quarter's expected churn and expansion, and the GRR/NRR they imply."""

    horizon_days: int
    current_mrr: float
    renewing_accounts: int
    expected_churned_mrr: float
    expected_expansion: float
    grr: float | None
    nrr: float | None
    method: str


def retention(
    start: Mapping[str, float | None],
    end: Mapping[str, float | None],
    start_day: str,
    end_day: str,
) -> Retention:
    """GRR = (start MRR - contraction - churned) / start MRR; NRR adds expansion.

    Only accounts present at the start count (new logos are excluded); an account missing at
    the end churned its whole start MRR; accounts whose MRR is unknown at either end are left
    out of the money figures."""
    start_mrr = expansion = contraction = churned = 0.0
    retained = 0
    for account_id, before in start.items():
        if account_id not in end:
            churned += before or 0.0
            start_mrr += before or 0.0
            continue
        retained += 1
        after = end[account_id]
        if before is None or after is None:
            continue
        start_mrr += before
        if after > before:
            expansion += after - before
        else:
            contraction += before - after
    new = sum(1 for account_id in end if account_id not in start)
    grr = (start_mrr - contraction - churned) / start_mrr if start_mrr else None
    nrr = (start_mrr + expansion - contraction - churned) / start_mrr if start_mrr else None
    return Retention(
        start=start_day,
        end=end_day,
        start_mrr=r2(start_mrr),
        expansion=r2(expansion),
        contraction=r2(contraction),
        churned_mrr=r2(churned),
        start_logos=len(start),
        retained_logos=retained,
        new_logos_excluded=new,
        grr=round(grr, 4) if grr is not None else None,
        nrr=round(nrr, 4) if nrr is not None else None,
        logo_retention=round(retained / len(start), 4) if start else None,
        method=(
            f"from the snapshot of {start_day} to that of {end_day}: GRR = (start MRR "
            f"{plain(r2(start_mrr))} - contraction {plain(r2(contraction))} - churned MRR "
            f"{plain(r2(churned))})"
            f" / start MRR; NRR = (start MRR + expansion {plain(r2(expansion))} - contraction - "
            f"churned MRR) / start MRR; {new} new logo(s) excluded; logo retention = "
            f"{retained} retained / {len(start)} at the start"
        ),
    )


def forecast_quarter(
    snapshots: Iterable[Mapping[str, Any]], as_of: date, horizon_days: int
) -> Forecast:
    """Expected churned MRR of the accounts renewing within the horizon (or with no known
    renewal date) and expected expansion of every account, against current MRR."""
    until = add_days(as_of, horizon_days)
    mrr = churn = expansion = 0.0
    renewing = 0
    for s in snapshots:
        mrr += s.get("mrr") or 0.0
        expansion += s.get("expected_expansion") or 0.0
        renewal = s.get("renewal_date")
        if renewal is None or date.fromisoformat(renewal) <= until:
            renewing += 1
            churn += s.get("expected_churned_mrr") or 0.0
    grr = (mrr - churn) / mrr if mrr else None
    nrr = (mrr + expansion - churn) / mrr if mrr else None
    return Forecast(
        horizon_days=horizon_days,
        current_mrr=r2(mrr),
        renewing_accounts=renewing,
        expected_churned_mrr=r2(churn),
        expected_expansion=r2(expansion),
        grr=round(grr, 4) if grr is not None else None,
        nrr=round(nrr, 4) if nrr is not None else None,
        method=(
            f"expected churned MRR = sum of MRR x (1 - renewal probability) over the "
            f"{renewing} account(s) renewing by {until.isoformat()} or with no known renewal "
            f"date; expected expansion = sum of price x probability over matched offers; "
            f"forecast GRR = (MRR {plain(r2(mrr))} - {plain(r2(churn))}) / MRR; forecast NRR = "
            f"(MRR + {plain(r2(expansion))} - {plain(r2(churn))}) / MRR"
        ),
    )
