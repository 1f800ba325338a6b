"""Health score (SPEC 3): six weighted components, each the mean of its known sub-metrics."""

from __future__ import annotations

from math import fsum
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from tools.numbers import cents_summing_to, half_up, plain, r2, weighted
from tools.playbook import Metric, Playbook
from tools.portfolio.account import Account
from tools.scoring.rules import color_ids, per_playbook


class MetricResult(BaseModel):
    """One sub-metric: its input value and the 0..100 value it maps to; `note` says so when
    another input decided the mapped value (payment timeliness is 0 when `days_overdue > 30`)."""

    model_config = ConfigDict(defer_build=True)

    id: str
    input: str
    value: float | int | bool | None
    mapped: float
    note: str | None = None


class ComponentResult(BaseModel):
    """One component: the mean of its known metrics, weight and contribution to the score."""

    model_config = ConfigDict(defer_build=True)

    id: str
    label: str
    weight: float
    score: float
    contribution: float
    metrics: list[MetricResult]
    missing: list[str]


class Health(BaseModel):
    """The health score with its colour, coverage and per-component breakdown."""

    model_config = ConfigDict(defer_build=True)

    score: float | None
    color: str | None
    coverage: float
    components: list[ComponentResult]
    missing: list[str]


Mapped = tuple[float | int | bool | None, float | None, str | None]

# A metric's rule as plain values, read once per playbook (`metric_rules`): id, input, kind, zero,
# full, window, per, start, per_unit, and the input and bound of its zero_if guard.
MetricRule = tuple[
    str, str, str, float | None, float | None, int | None, str | None, float | None,
    float | None, str | None, float | None,
]


def _rule(metric_id: str, metric: Metric) -> MetricRule:
    guard = metric.zero_if
    return (
        metric_id, metric.input, metric.kind, metric.zero, metric.full, metric.window,
        metric.per, metric.start, metric.per_unit,
        guard.input if guard else None, guard.above if guard else None,
    )


@per_playbook
def metric_rules(playbook: Playbook) -> tuple[float, list[tuple[str, list[MetricRule]]]]:
    """The total component weight and every component's metric rules."""
    components = playbook.health.components
    rules = [
        (component_id, [_rule(m, metric) for m, metric in component.metrics.items()])
        for component_id, component in components.items()
    ]
    return sum(c.weight for c in components.values()), rules


def map_metric(account: Account, metric: Metric) -> Mapped:
    """Return (input value shown to the user, mapped 0..100 value or None when unknown, the note
    naming the deciding input when it is not the metric's own)."""
    value, mapped, note = _map(account, _rule("", metric))
    if mapped is None:
        return None, None, None
    return _shown(metric.kind, metric.window, value), mapped, note


def _shown(kind: str, window: int | None, value: Any) -> Any:
    """The input value shown: a windowed metric's mean, rounded; any other input as it is."""
    return r2(value) if kind == "linear" and window else value


def _map(account: Account, rule: MetricRule) -> Mapped:
    """`map_metric` on a rule read from the playbook; a windowed metric's value is its mean,
    unrounded. `linear` and `clamp` (tools/numbers.py) are written out here, for speed."""
    _, name, kind, zero, full, window, per, start, per_unit, guard, above = rule
    value = getattr(account, name, None)
    if kind == "penalty":
        if guard is not None:
            guard_value = getattr(account, guard, None)
            if guard_value is not None and guard_value > above:
                return value, 0.0, guard_note(name, guard, guard_value, above)
        if value is None:
            return None, None, None
        return value, _clamp(start - per_unit * value), None
    if value is None or value == []:
        return None, None, None
    if kind == "flag":
        return value, 100.0 if value else 0.0, None
    if window:
        last = value[-window:]
        mean = fsum(last) / len(last)  # statistics.fmean
        return mean, _clamp((mean - zero) / (full - zero) * 100.0), None
    if per:
        denominator = getattr(account, per, None)
        if not denominator:
            return None, None, None
        value_per = value / denominator
        return value, _clamp((value_per - zero) / (full - zero) * 100.0), None
    return value, _clamp((value - zero) / (full - zero) * 100.0), None


def guard_note(name: str, guard: str, guard_value: float, above: float) -> str:
    """The note of a penalty metric set to 0 by its guard (`zero_if`)."""
    return f"0 because {guard} is {plain(guard_value)} (> {plain(above)}), whatever {name} is"


def metric_dict(
    metric_id: str, name: str, value: Any, mapped: float, note: str | None
) -> dict[str, Any]:
    """A known metric's explanation as plain data (the fields of `MetricResult`), its input
    value as shown and its mapped value as printed."""
    return {"id": metric_id, "input": name, "value": value, "mapped": mapped, "note": note}


def _clamp(value: float) -> float:
    """`clamp(value)` of tools/numbers.py: max(0.0, min(100.0, value)), without the calls."""
    value = value if value < 100.0 else 100.0
    return value if value > 0.0 else 0.0


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
    total, rules = metric_rules(playbook)
    weights = playbook.health.components
    scored: list[Scored] = []
    missing: list[str] = []
    for component_id, component_rules in rules:
        metrics: list[dict[str, Any]] | None = [] if explain else None
        raw: list[float] = []
        unknown: list[str] = []
        for rule in component_rules:
            value, mapped, note = _map(account, rule)
            if mapped is None:
                unknown.append(rule[0])
                continue
            raw.append(mapped)
            if metrics is not None:
                metrics.append(
                    metric_dict(rule[0], rule[1], _shown(rule[2], rule[5], value), r2(mapped), note)
                )
        if raw:
            scored.append((component_id, fsum(raw) / len(raw), metrics, unknown))  # fmean
        else:
            missing.append(component_id)
    score, known_weight, coverage = weighted(
        ((weights[c].weight, s) for c, s, _, _ in scored), total
    )
    return scored, missing, score, known_weight, coverage


def color_of(playbook: Playbook, printed: float | None) -> str | None:
    if printed is None:
        return None
    whole = half_up(printed)
    return color_ids(playbook).get(whole) or playbook.color(whole)


def health_summary(account: Account, playbook: Playbook) -> HealthSummary:
    """The health score, colour and coverage of `score_health`, without building the
    explanation (for tables and CSV)."""
    _, _, score, _, coverage = _components(account, playbook, explain=False)
    printed = r2(score) if score is not None else None
    return HealthSummary(printed, color_of(playbook, printed), coverage)


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
        "color": color_of(playbook, printed),
        "coverage": coverage,
        "components": components,
        "missing": missing,
    }


def score_health(account: Account, playbook: Playbook) -> Health:
    """Score health from the known components; unknown ones drop out and weights rescale."""
    return Health.model_validate(health_dict(account, playbook))
