"""Health score (SPEC 3): six weighted components, each the mean of its known sub-metrics."""

from __future__ import annotations

from math import fsum
from statistics import fmean
from typing import Any, NamedTuple

from pydantic import BaseModel

from tools.numbers import cents_summing_to, clamp, half_up, linear, plain, r2, weighted
from tools.playbook import Metric, Playbook
from tools.portfolio.account import Account


class MetricResult(BaseModel):
    """One sub-metric: its input value and the 0..100 value it maps to; `note` says so when
    another input decided the mapped value (payment timeliness is 0 when `days_overdue > 30`)."""

    id: str
    input: str
    value: float | int | bool | None
    mapped: float
    note: str | None = None


class ComponentResult(BaseModel):
    """One component: the mean of its known metrics, weight and contribution to the score."""

    id: str
    label: str
    weight: float
    score: float
    contribution: float
    metrics: list[MetricResult]
    missing: list[str]


class Health(BaseModel):
    """The health score with its colour, coverage and per-component breakdown."""

    score: float | None
    color: str | None
    coverage: float
    components: list[ComponentResult]
    missing: list[str]


Mapped = tuple[float | int | bool | None, float | None, str | None]


def map_metric(account: Account, metric: Metric) -> Mapped:
    """Return (input value shown to the user, mapped 0..100 value or None when unknown, the note
    naming the deciding input when it is not the metric's own)."""
    value = getattr(account, metric.input, None)
    if metric.kind == "penalty":
        guard = metric.zero_if
        guard_value = getattr(account, guard.input, None) if guard else None
        if guard is not None and guard_value is not None and guard_value > guard.above:
            note = (
                f"0 because {guard.input} is {plain(guard_value)} (> {plain(guard.above)}), "
                f"whatever {metric.input} is"
            )
            return value, 0.0, note
        if value is None:
            return None, None, None
        return value, clamp(metric.start - metric.per_unit * value), None
    if value is None or value == []:
        return None, None, None
    if metric.kind == "flag":
        return value, 100.0 if value else 0.0, None
    if metric.window:
        mean = fmean(value[-metric.window :])
        return r2(mean), linear(mean, metric.zero, metric.full), None
    if metric.per:
        denominator = getattr(account, metric.per, None)
        if not denominator:
            return None, None, None
        return value, linear(value / denominator, metric.zero, metric.full), None
    return value, linear(value, metric.zero, metric.full), None


class HealthSummary(NamedTuple):
    """The health figures a table or CSV row shows, without the explanation."""

    score: float | None
    color: str | None
    coverage: float


# (component id, mean of the known mapped metrics, the metrics' explanations or None, the ids of
# the unknown metrics)
Scored = tuple[str, float, list[dict[str, Any]] | None, list[str]]


def _components(
    account: Account, playbook: Playbook, explain: bool
) -> tuple[list[Scored], list[str], float | None, float, float]:
    """Every component's mean of its known metrics, the unknown components, and the weighted
    score, known weight and coverage; with `explain`, each known metric's explanation too."""
    rules = playbook.health.components
    total = sum(c.weight for c in rules.values())
    scored: list[Scored] = []
    missing: list[str] = []
    for component_id, component in rules.items():
        metrics: list[dict[str, Any]] | None = [] if explain else None
        raw: list[float] = []
        unknown: list[str] = []
        for metric_id, metric in component.metrics.items():
            value, mapped, note = map_metric(account, metric)
            if mapped is None:
                unknown.append(metric_id)
                continue
            raw.append(mapped)
            if metrics is not None:
                metrics.append(
                    {"id": metric_id, "input": metric.input, "value": value,
                     "mapped": r2(mapped), "note": note}
                )
        if raw:
            scored.append((component_id, fsum(raw) / len(raw), metrics, unknown))  # fmean
        else:
            missing.append(component_id)
    score, known_weight, coverage = weighted(((rules[c].weight, s) for c, s, _, _ in scored), total)
    return scored, missing, score, known_weight, coverage


def _color(playbook: Playbook, printed: float | None) -> str | None:
    return playbook.color(half_up(printed)) if printed is not None else None


def health_summary(account: Account, playbook: Playbook) -> HealthSummary:
    """The health score, colour and coverage of `score_health`, without building the
    explanation (for tables and CSV)."""
    _, _, score, _, coverage = _components(account, playbook, explain=False)
    printed = r2(score) if score is not None else None
    return HealthSummary(printed, _color(playbook, printed), coverage)


def health_dict(account: Account, playbook: Playbook) -> dict[str, Any]:
    """`score_health` as plain data: the same fields, values and types as its `model_dump()`."""
    rules = playbook.health.components
    scored, missing, score, known_weight, coverage = _components(account, playbook, explain=True)
    printed = r2(score) if score is not None else None
    contributions = cents_summing_to(
        [rules[c].weight * s / known_weight if known_weight else 0.0 for c, s, _, _ in scored],
        score or 0.0,
    )
    components = [
        {
            "id": c,
            "label": rules[c].label,
            "weight": rules[c].weight,
            "score": r2(s),
            "contribution": contribution,
            "metrics": m,
            "missing": u,
        }
        for (c, s, m, u), contribution in zip(scored, contributions, strict=True)
    ]
    return {
        "score": printed,
        "color": _color(playbook, printed),
        "coverage": coverage,
        "components": components,
        "missing": missing,
    }


def score_health(account: Account, playbook: Playbook) -> Health:
    """Score health from the known components; unknown ones drop out and weights rescale."""
    return Health.model_validate(health_dict(account, playbook))
