"""The accounts table: filters, sort order and pages over the rows of the latest sweep (the
same for the portfolio page and `/api/accounts`). Rows are chosen and ordered, never
recomputed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

SortKey = Literal["churn", "health", "mrr", "risk", "renewal", "name", "id", "industry"]
SORT_FIELDS: dict[str, str] = {
    "churn": "churn_score", "health": "health_score", "mrr": "mrr", "risk": "revenue_at_risk",
    "renewal": "renewal_date", "name": "name", "id": "id", "industry": "industry",
}
Renewal = Literal["", "window", "later", "none"]


class Filters(BaseModel):
    """What the table shows: each filter empty means "any"."""

    tier: Literal["", "low", "medium", "high", "critical", "unknown"] = ""
    color: Literal["", "green", "yellow", "red", "unknown"] = ""
    signal: str = Field("", max_length=64)
    renewal: Renewal = ""
    industry: str = Field("", max_length=64)
    q: str = Field("", max_length=200, description="text in the id or the name")
    sort: SortKey = "churn"
    order: Literal["asc", "desc"] = "desc"
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(50, ge=1, le=500)

    def query(self, **changes: Any) -> dict[str, Any]:
        """The non-default values, with `changes` applied (for links)."""
        values = {**self.model_dump(), **changes}
        defaults = Filters().model_dump()
        return {k: v for k, v in values.items() if v != defaults[k]}


def _keep(row: dict[str, Any], f: Filters) -> bool:
    if f.tier and (row["tier"] or "unknown") != f.tier:
        return False
    if f.color and (row["color"] or "unknown") != f.color:
        return False
    if f.signal and f.signal not in row["signals"]:
        return False
    if f.industry and (row["industry"] or "unknown") != f.industry:
        return False
    if f.renewal == "window" and not row["in_renewal_window"]:
        return False
    if f.renewal == "later" and (not row["renewal_date"] or row["in_renewal_window"]):
        return False
    if f.renewal == "none" and row["renewal_date"]:
        return False
    if f.q:
        needle = f.q.casefold()
        return needle in row["id"].casefold() or needle in (row["name"] or "").casefold()
    return True


def select(rows: list[dict[str, Any]], f: Filters) -> tuple[list[dict[str, Any]], int]:
    """The rows of the requested page and how many rows pass the filters. Unknown values sort
    last in either order; ties keep the id order."""
    kept = [r for r in rows if _keep(r, f)]
    field = SORT_FIELDS[f.sort]
    known = [r for r in kept if r[field] is not None]
    unknown = [r for r in kept if r[field] is None]
    known.sort(key=lambda r: r["id"])

    def key(row: dict[str, Any]) -> Any:
        value = row[field]
        return value.casefold() if isinstance(value, str) else value

    known.sort(key=key, reverse=f.order == "desc")
    ordered = known + unknown
    start = (f.page - 1) * f.per_page
    return ordered[start : start + f.per_page], len(ordered)


def choices(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The signals and industries present, for the filter menus."""
    signals = sorted({s for r in rows for s in r["signals"]})
    industries = sorted({r["industry"] or "unknown" for r in rows})
    return {"signals": signals, "industries": industries}
