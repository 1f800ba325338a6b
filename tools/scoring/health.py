"""Health score (SPEC 3): six weighted components, each the mean of its known sub-metrics."""

from __future__ import annotations

from statistics import fmean

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


def score_health(account: Account, playbook: Playbook) -> Health:
    """Score health from the known components; unknown ones drop out and weights rescale."""
    rules = playbook.health.components
    total = sum(c.weight for c in rules.values())
    scored: list[tuple[str, float, list[MetricResult], list[str]]] = []
    missing: list[str] = []
    for component_id, component in rules.items():
        metrics: list[MetricResult] = []
        raw: list[float] = []
        unknown: list[str] = []
        for metric_id, metric in component.metrics.items():
            value, mapped, note = map_metric(account, metric)
            if mapped is None:
                unknown.append(metric_id)
                continue
            raw.append(mapped)
            metrics.append(
                MetricResult(
                    id=metric_id, input=metric.input, value=value, mapped=r2(mapped), note=note
                )
            )
        if metrics:
            scored.append((component_id, fmean(raw), metrics, unknown))
        else:
            missing.append(component_id)
    score, known_weight, coverage = weighted(((rules[c].weight, s) for c, s, _, _ in scored), total)
    printed = r2(score) if score is not None else None
    contributions = cents_summing_to(
        [rules[c].weight * s / known_weight if known_weight else 0.0 for c, s, _, _ in scored],
        score or 0.0,
    )
    components = [
        ComponentResult(
            id=c,
            label=rules[c].label,
            weight=rules[c].weight,
            score=r2(s),
            contribution=contribution,
            metrics=m,
            missing=u,
        )
        for (c, s, m, u), contribution in zip(scored, contributions, strict=True)
    ]
    color = playbook.color(half_up(printed)) if printed is not None else None
    return Health(
        score=printed,
        color=color,
        coverage=coverage,
        components=components,
        missing=missing,
    )
