"""The plan's success metrics: each playbook KPI's baseline and target (`success_plan.kpis`)."""

from __future__ import annotations

from tools.numbers import plain, r2
from tools.planning.success_plan.models import KpiPlan
from tools.playbook import Kpi
from tools.portfolio.account import Account
from tools.scoring.score import AccountScore


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
    """Baseline and target of one playbook KPI (rules: the package docstring)."""
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
