"""The score summaries of many accounts at once, column by column (issue 15).

`csm score --format csv|table` shows, per account, the printed health score, colour and coverage,
the printed churn-risk score, tier and coverage (`health_summary`, `churn_summary`), the fired
signals and the matched offers. Here the same rules, read from the same per-playbook tables
(`health.metric_rules`, `churn.factor_rules`, `expansion.offer_rules`, the playbook's signals),
run on columns of a batch of accounts: one numpy operation per rule instead of one Python call
per rule and account.

The per-account functions stay the reference. Signals and offers are comparisons of the same
values, so they are exact. For the scores, which inputs are known, which components and factors
count, the known weight and the coverage are decided exactly too (`weighted` itself, once per set
of known components), and each component's mean is `fsum`'s (`exact_means`). Only the weighted
sums may differ from the per-account ones in the last bits (numpy adds in another order than
`sum`, which compensates from Python 3.12): about 1e-12 on a 0..100 score. So a printed score
is taken from the columns only when it is more than `SAFE` away from a rounding tie; then it is
the cents `r2` prints. Every other account (under 1% of generated ones, whose round inputs often
land on a tie) and every batch under a playbook whose rules are not of the kinds below are scored
by the per-account functions. tests/test_bulk_scoring.py compares both."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from math import fsum, nan
from typing import Any

import numpy as np

from tools.numbers import MARGIN, weighted
from tools.playbook import Playbook
from tools.portfolio.account import FIELD_KINDS
from tools.scoring import churn, health
from tools.scoring.churn import ChurnSummary
from tools.scoring.expansion import ClauseRule, offer_rules
from tools.scoring.health import HealthSummary
from tools.scoring.rules import per_playbook
from tools.scoring.signals import signal_rules

# r2 rounds in binary when x * 100 is more than 1e-4 from a half (tools/numbers.py); a summed
# score is within 1e-9 of the per-account one, so beyond this distance both print the same cents
SAFE = 0.5 - MARGIN - 1e-6

MAX_PARTS = 62  # components or factors: which of them are known is kept as the bits of an int64

Array = np.ndarray


class Columns:
    """The inputs of a batch of accounts, one list per field (`input_names` order), taken from
    each account's `inputs` tuple; `numbers` gives a number or flag field as floats (NaN:
    unknown) and `window_means` a series field's means, each made once."""

    def __init__(self, rows: Sequence[tuple[Any, ...]], names: Sequence[str]) -> None:
        self.rows = len(rows)
        if rows and names:
            self._lists = dict(zip(names, map(list, zip(*rows, strict=True)), strict=True))
        else:
            self._lists = {name: [] for name in names}
        self._numbers: dict[str, Array] = {}
        self._means: dict[tuple[str, int], Array] = {}

    def __getitem__(self, name: str) -> list[Any]:
        return self._lists[name]

    def numbers(self, name: str) -> Array:
        found = self._numbers.get(name)
        if found is None:
            values = self._lists[name]
            found = self._numbers[name] = np.array(
                [nan if v is None else v for v in values], dtype=float
            )
        return found

    def window_means(self, name: str, window: int) -> Array:
        """The mean of each series' last `window` values, as `health._map` takes it."""
        found = self._means.get((name, window))
        if found is None:
            means = []
            for series in self._lists[name]:
                if not series:
                    means.append(nan)
                    continue
                last = series[-window:]
                means.append(fsum(last) / len(last))
            found = self._means[name, window] = np.array(means, dtype=float)
        return found



def _two_sum(a: Array, b: Array) -> tuple[Array, Array]:
    """a + b rounded, and its rounding error: the two add up to a + b exactly (Knuth)."""
    total = a + b
    part = total - a
    return total, (a - (total - part)) + (b - part)


def exact_means(mapped: Array) -> Array:
    """Each column's mean of its known values (NaN: unknown), as `fsum(values) / len(values)`.

    The values are added with their rounding errors kept apart (`_two_sum`); where the errors
    add up without rounding, the rounded sum plus their total is one correctly rounded
    addition of the exact sum, which is what `fsum` returns. `fsum` itself sums the rest."""
    known = ~np.isnan(mapped)
    count = known.sum(axis=0)
    values = np.where(known, mapped, 0.0)
    summed, errors = values[0], np.zeros(mapped.shape[1])
    exact = np.ones(mapped.shape[1], dtype=bool)
    for value in values[1:]:
        summed, error = _two_sum(summed, value)
        errors, lost = _two_sum(errors, error)
        exact &= lost == 0.0
    means = np.where(count > 0, (summed + errors) / np.where(count > 0, count, 1), np.nan)
    redo = np.flatnonzero(~exact)
    if redo.size:
        rows = mapped[:, redo].T.tolist()
        means[redo] = [fsum(v for v in row if v == v) / n if n else nan
                       for row, n in zip(rows, count[redo].tolist(), strict=True)]
    return means


def component_means(
    columns: Columns, rules: list[tuple[str, list[health.MetricRule]]]
) -> list[tuple[list[Array], Array]] | None:
    """Per component of `health.metric_rules`: its metrics' mapped values (NaN: unknown) and
    their mean per row (`exact_means`); None when a rule is not of a kind this module takes."""
    found = []
    with np.errstate(all="ignore"):
        for _, metric_rules in rules:
            mapped = [_metric(columns, rule) for rule in metric_rules]
            if any(m is None for m in mapped):
                return None
            stack = np.array(mapped) if mapped else np.full((1, columns.rows), nan)
            found.append((mapped, exact_means(stack)))
    return found  # type: ignore[return-value]


def factor_risks(
    columns: Columns, rules: list[churn.FactorRule], as_of: date
) -> list[tuple[list[Any], Array]] | None:
    """Per factor of `churn.factor_rules`: its input per row as `churn._risks` takes it (a
    date's days since, None: unknown) and its risk (NaN: unknown); None when an input is of a
    kind this module does not take."""
    today = as_of.toordinal()
    found: list[tuple[list[Any], Array]] = []
    with np.errstate(all="ignore"):
        for _, name, days_since, ok, bad, _ in rules:
            field = FIELD_KINDS.get(name)
            if ok == bad:
                return None
            if days_since and field == "date":
                values = [None if d is None else today - d.toordinal() for d in columns[name]]
                numbers = np.array([nan if v is None else v for v in values], dtype=float)
            elif not days_since and field in ("number", "flag"):
                values, numbers = columns[name], columns.numbers(name)
            else:
                return None
            found.append((values, _linear(numbers, ok, bad)))
    return found


def _clamped(mapped: Array, known: Array) -> Array:
    """`_clamp` of health.py on the known values, NaN elsewhere."""
    mapped = np.where(mapped < 100.0, mapped, 100.0)
    mapped = np.where(mapped > 0.0, mapped, 0.0)
    return np.where(known, mapped, nan)


def _linear(value: Array, zero: float, full: float) -> Array:
    return _clamped((value - zero) / (full - zero) * 100.0, ~np.isnan(value))


def _metric(columns: Columns, rule: health.MetricRule) -> Array | None:
    """One metric's mapped values (NaN: unknown) as `health._map` maps them, or None when the
    rule is of a kind this module does not take."""
    _, name, kind, zero, full, window, per, start, per_unit, guard, above = rule
    field = FIELD_KINDS.get(name)
    if kind == "penalty":
        if field != "number" or start is None or per_unit is None:
            return None
        value = columns.numbers(name)
        mapped = _clamped(start - per_unit * value, ~np.isnan(value))
        if guard is not None:
            if FIELD_KINDS.get(guard) != "number" or above is None:
                return None
            guard_value = columns.numbers(guard)
            mapped = np.where(guard_value > above, 0.0, mapped)  # NaN > above is False
        return mapped
    if kind == "flag":
        if field != "flag":
            return None
        value = columns.numbers(name)
        return np.where(np.isnan(value), nan, np.where(value != 0.0, 100.0, 0.0))
    if zero is None or full is None or zero == full:
        return None
    if window:
        return _linear(columns.window_means(name, window), zero, full) if field == "series" \
            else None
    if field not in ("number", "flag"):
        return None
    value = columns.numbers(name)
    if per:
        if FIELD_KINDS.get(per) != "number":
            return None
        denominator = columns.numbers(per)
        usable = ~np.isnan(denominator) & (denominator != 0.0)
        value = np.where(usable, value / np.where(usable, denominator, 1.0), nan)
    return _linear(value, zero, full)


def _printed(
    score: Array,
    known_weight: list[float],
    has_score: Array,
    label: Callable[[float], Any],
    labels: dict[float, Any],
) -> list[tuple[float | None, Any] | None]:
    """Each row's printed score and its label (colour or tier, kept in `labels`): (None, None)
    when there is no score, None when the score lies too near a rounding tie to be printed from
    the column."""
    scaled = score * 100.0
    cents = np.floor(scaled + 0.5)
    certain = np.abs(scaled - cents) < SAFE
    shown: list[tuple[float | None, Any] | None] = []
    for has, sure, cent, weight in zip(
        has_score.tolist(), certain.tolist(), cents.tolist(), known_weight, strict=True
    ):
        if not has or not weight:
            shown.append((None, None))
        elif not sure:
            shown.append(None)
        else:
            printed = int(cent) / 100 + 0.0
            if printed not in labels:
                labels[printed] = label(printed)
            shown.append((printed, labels[printed]))
    return shown


@per_playbook
def _labels(playbook: Playbook) -> dict[str, dict[float, Any]]:
    """The colour and the tier of each printed score met so far (at most 10,001 each)."""
    return {"color": {}, "tier": {}}


def _weighted(
    values: list[Array], weights: list[float], total: float
) -> tuple[Array, list[float], list[float], Array]:
    """The weighted mean of the known columns per row, with each row's known weight and
    coverage exactly as `weighted` gives them (computed once per set of known columns)."""
    known = np.array([~np.isnan(v) for v in values])
    rows = known.shape[1]
    patterns = (known.T.astype(np.int64) << np.arange(len(values))).sum(axis=1)
    exact: dict[int, tuple[float, float]] = {}
    weight_of, coverage_of = [], []
    for pattern in patterns.tolist():
        if pattern not in exact:
            parts = [(w, 0.0) for i, w in enumerate(weights) if pattern >> i & 1]
            _, known_weight, coverage = weighted(parts, total)
            exact[pattern] = (known_weight, coverage)
        known_weight, coverage = exact[pattern]
        weight_of.append(known_weight)
        coverage_of.append(coverage)
    summed = np.zeros(rows)
    for value, w in zip(values, weights, strict=True):
        summed = summed + np.where(np.isnan(value), 0.0, w * value)
    divisor = np.array(weight_of, dtype=float)
    score = summed / np.where(divisor != 0.0, divisor, 1.0)
    return score, weight_of, coverage_of, patterns != 0


def _summaries(
    parts: list[Array],
    weights: list[float],
    total: float,
    make: Callable[[float | None, Any, float], Any],
    label: Callable[[float], Any],
    labels: dict[float, Any],
) -> list[Any]:
    """Each row's summary (`make(printed, label, coverage)`) of the weighted mean of its known
    parts, None for a row to score one by one."""
    with np.errstate(all="ignore"):
        score, known_weight, coverage, has_score = _weighted(parts, weights, total)
    shown = _printed(score, known_weight, has_score, label, labels)
    return [
        None if s is None else make(s[0], s[1], c)
        for s, c in zip(shown, coverage, strict=True)
    ]


def health_summaries(
    columns: Columns, playbook: Playbook
) -> list[HealthSummary | None] | None:
    """Each account's `health_summary`, None for an account to score one by one; None for all
    when the playbook's rules are not all of the kinds this module takes."""
    total, rules = health.metric_rules(playbook)
    if not 0 < len(rules) <= MAX_PARTS:
        return None
    found = component_means(columns, rules)
    if found is None:
        return None
    weights = [playbook.health.components[c].weight for c, _ in rules]
    return _summaries([mean for _, mean in found], weights, total, HealthSummary,
                      lambda p: health.color_of(playbook, p), _labels(playbook)["color"])


def churn_summaries(
    columns: Columns, playbook: Playbook, as_of: date
) -> list[ChurnSummary | None] | None:
    """Each account's `churn_summary`, None for an account to score one by one; None for all
    when a factor's input is of a kind this module does not take."""
    total, rules = churn.factor_rules(playbook)
    if not 0 < len(rules) <= MAX_PARTS:
        return None
    found = factor_risks(columns, rules, as_of)
    if found is None:
        return None
    return _summaries([risk for _, risk in found], [rule[5] for rule in rules], total,
                      ChurnSummary, lambda p: churn.tier_of(playbook, p), _labels(playbook)["tier"])


def _series_fires(values: list[Any], weeks: int, bound: float, below: bool) -> list[bool]:
    """`signals._series` fired: each of the last `weeks` values below (above) the bound."""
    fires = []
    for series in values:
        if not series or len(series) < weeks:
            fires.append(False)
        else:
            last = series[-weeks:]
            fires.append(max(last) < bound if below else min(last) > bound)
    return fires


def _new_primary_fires(values: list[Any], within: int, as_of: date) -> list[bool]:
    """`signals._stakeholder_change` fired: someone known to be primary, in the role for a known
    number of days inside the window (`new_primary` is True)."""
    today = as_of.toordinal()
    return [
        any(
            p.primary is True and p.since is not None and 0 <= today - p.since.toordinal() <= within
            for p in people
        )
        if people
        else False
        for people in values
    ]


def _renewal_fires(days: list[Any], talks: list[Any], within: int, as_of: date) -> list[bool]:
    """`signals._renewal_window` fired: the renewal date within the window ahead and the
    renewal conversation not known to have started."""
    today = as_of.toordinal()
    return [
        day is not None and 0 <= day.toordinal() - today <= within and started is not True
        for day, started in zip(days, talks, strict=True)
    ]


def fired_signal_ids(
    columns: Columns, playbook: Playbook, as_of: date
) -> list[list[str]] | None:
    """The ids of each account's fired signals, in the playbook's order (the ids of
    `fired_signals`); None when a rule is not one this module knows."""
    rules = signal_rules(playbook)
    if any(name not in FIELD_KINDS for _, _, fields, _ in rules for name in fields):
        return None
    fires: list[tuple[str, list[bool]]] = []
    for signal_id, rule, fields, _ in rules:
        values = columns[fields[0]]
        if signal_id in ("engagement_drop", "support_spike"):
            below = signal_id == "engagement_drop"
            bound = rule.below if below else rule.above
            if bound is None or FIELD_KINDS.get(rule.input) != "series":
                return None
            fired = _series_fires(values, rule.weeks or 1, bound, below)
        elif signal_id in ("payment_delay", "performance_plateau"):
            if rule.above is None or FIELD_KINDS.get(rule.input) not in ("number", "flag"):
                return None
            # an unknown input (NaN) never fires
            fired = (columns.numbers(fields[0]) > rule.above).tolist()
        elif signal_id == "stakeholder_change" and rule.within_days is not None:
            fired = _new_primary_fires(values, rule.within_days, as_of)
        elif signal_id == "renewal_window" and rule.within_days is not None:
            talks = columns[fields[1]]
            fired = _renewal_fires(values, talks, rule.within_days, as_of)
        else:
            return None
        fires.append((signal_id, fired))
    ids: list[list[str]] = [[] for _ in range(columns.rows)]
    for signal_id, fired in fires:
        for row in np.flatnonzero(fired).tolist():
            ids[row].append(signal_id)
    return ids


def offer_outcomes(columns: Columns, clauses: list[ClauseRule]) -> Array:
    """`expansion.outcome` of each row as 1 (true), 0 (false) or -1 (unknown: no known input
    fails its clause and an input is unknown). The clauses' inputs must be numbers."""
    fails = np.zeros(columns.rows, dtype=bool)
    unknown = np.zeros(columns.rows, dtype=bool)
    for name, less, bound in clauses:
        value = columns.numbers(name)
        known = ~np.isnan(value)
        fails |= known & ~(value < bound if less else value > bound)
        unknown |= ~known
    return np.where(fails, 0, np.where(unknown, -1, 1))


def offers_in_columns(playbook: Playbook) -> bool:
    """Whether every offer's clauses read numbers (what `offer_outcomes` takes)."""
    names = [name for _, _, clauses in offer_rules(playbook) for name, _, _ in clauses]
    return all(FIELD_KINDS.get(name) == "number" for name in names)


def matched_offer_rows(
    columns: Columns, playbook: Playbook
) -> list[list[tuple[str, float, float]]] | None:
    """Each account's matched offers as (id, price, probability), in the playbook's order (the
    offers `matched_offers` matches: every condition's input known and the condition true);
    None when a condition's input is not a number."""
    if not offers_in_columns(playbook):
        return None
    matched: list[list[tuple[str, float, float]]] = [[] for _ in range(columns.rows)]
    for offer_id, rule, clauses in offer_rules(playbook):
        brief = (offer_id, rule.price, rule.probability)
        for row in np.flatnonzero(offer_outcomes(columns, clauses) == 1).tolist():
            matched[row].append(brief)
    return matched
