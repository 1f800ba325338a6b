"""The full scores (`score_dict`, every explanation) of many accounts at once (issue 15).

`csm score --format json` shows every metric, component, factor, signal and offer of every
account. Here the numbers are taken column by column, from the same per-playbook rules as
bulk.py, and each row's explanations are then assembled from plain lists. Every printed number
is the per-account one:

- Element-wise values (a metric's mapped value, a windowed mean, a factor's risk, a part of a
  score) are computed by numpy with the same operations in the same order as `health._map`,
  `churn._risks` and `health_dict`, so they are the same floats: every number of an account is
  within NUMBER_LIMIT (10^15 < 2**53), so numpy's float of a whole number is exact.
- A component's mean is `fsum`'s (`exact_means`), so the parts of the health score are exact.
- Each is printed by numpy where `r2`'s binary rule applies and by `r2` itself on a tie
  (`printed_cents`); contributions are read in whole nanos as `numbers.nanos` reads them and
  spread as `cents_from_nanos` spreads them (`cents_columns`).
- Only the scores are sums numpy may add in another order than `sum` (Python 3.12 adds with
  compensation): a score within `bulk.SAFE` of a rounding tie sends its row to the per-account
  scorer (about 1% of generated accounts), as does a playbook whose rules are not of the kinds
  bulk.py takes, for the whole batch.
- Signals and offers run the per-account checks (`signals.signal_rules`, `expansion.outcome`)
  on each row's values.

tests/test_bulk_scoring.py compares both, to the byte of their JSON."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

import numpy as np

from tools import numbers
from tools.numbers import FAST_LIMIT, MARGIN, NANO_LIMIT, NANO_MARGIN, NANOS_PER_CENT, r2
from tools.playbook import Playbook
from tools.scoring import bulk, churn, health
from tools.scoring.bulk import MAX_PARTS, Array, Columns
from tools.scoring.expansion import offer_dict, offer_rules, outcome
from tools.scoring.signals import fired, signal_rules


def printed_cents(values: Array) -> list[float]:
    """`r2` of each value (NaN: left as it comes): numpy where r2's binary rule applies, `r2`
    itself elsewhere. The values must be the floats the per-account scorer computes."""
    scaled = values * 100.0
    cents = np.floor(scaled + 0.5)
    printed = (cents / 100 + 0.0).tolist()
    near = ~((np.abs(scaled - cents) < 0.5 - MARGIN) & (np.abs(values) < FAST_LIMIT))
    for row in np.flatnonzero(near & ~np.isnan(values)).tolist():
        printed[row] = r2(float(values[row]))
    return printed


def cents_columns(parts: Array, known: Array, target: Array) -> list[list[float]]:
    """`cents_summing_to` of each row's known parts (rows are columns of `parts` and `known`,
    one line per part) to its total in whole cents (`target`): the parts read in whole nanos
    as `numbers.nanos` reads them, then `cents_from_nanos` column by column. The parts must be
    the floats the per-account scorer computes."""
    scaled = np.where(known, parts * 1e9, 0.0)
    whole = np.floor(scaled + 0.5)
    near = known & ~((np.abs(scaled - whole) < NANO_MARGIN) & (np.abs(parts) < NANO_LIMIT))
    nanos = whole.astype(np.int64)
    for line, row in zip(*np.nonzero(near), strict=True):
        nanos[line, row] = numbers.nanos(float(parts[line, row]))
    floors = nanos // NANOS_PER_CENT
    remainders = nanos % NANOS_PER_CENT
    count = known.sum(axis=0)
    missing = target - np.where(known, floors, 0).sum(axis=0)
    # the order of `cents_from_nanos`: largest remainder first, the earlier part on a tie
    index = np.arange(parts.shape[0])[:, None]
    last = np.iinfo(np.int64).max
    key = np.where(known, (NANOS_PER_CENT - remainders) * MAX_PARTS + index, last)
    rank = np.empty_like(key)
    np.put_along_axis(rank, np.argsort(key, axis=0, kind="stable"), index, axis=0)
    rank = np.where(missing < 0, count - 1 - rank, rank)  # the order reversed when over
    steps = np.abs(missing)
    per = np.where(count > 0, count, 1)
    added = steps // per + (rank < steps % per)
    return ((floors + np.sign(missing) * added) / 100 + 0.0).tolist()


class Scores(NamedTuple):
    """The weighted score of a batch's rows with what `health_dict` or `churn_dict` prints of
    it: printed score and its label (colour or tier; None when the score is too near a
    rounding tie to be printed from the columns), coverage, each part's contribution."""

    printed: list[tuple[float | None, Any] | None]
    coverage: list[float]
    contributions: list[list[float]]


def _scores(
    values: list[Array], weights: list[float], total: float, label: Any, labels: dict[float, Any]
) -> Scores:
    """The weighted score of the parts (each the float the per-account scorer computes); the
    score itself is a sum, so it is printed only away from a tie (`bulk._printed`)."""
    known = np.array([~np.isnan(v) for v in values])
    score, known_weight, coverage, has_score = bulk._weighted(values, weights, total)
    printed = bulk._printed(score, known_weight, has_score, label, labels)
    divisor = np.array(known_weight, dtype=float)
    with_weight = divisor != 0.0
    parts = np.array(values) * np.array(weights)[:, None] / np.where(with_weight, divisor, 1.0)
    parts = np.where(with_weight, parts, 0.0)  # as `weight * value / known_weight if ... else 0`
    target = np.array([round(p[0] * 100) if p and p[0] is not None else 0 for p in printed])
    return Scores(printed, coverage, cents_columns(parts, known, target))


Parts = list[list[dict[str, Any] | None]]  # per part (metric, component, factor): per row


def _by_row(
    parts: Parts, ids: list[str], rows: int
) -> list[tuple[list[dict[str, Any]], list[str]]]:
    """Per row: its known parts' explanations and the ids of its unknown parts (None)."""
    if not parts:
        return [([], []) for _ in range(rows)]
    return [
        ([d for d in row if d is not None],
         [i for i, d in zip(ids, row, strict=True) if d is None])
        if None in row else (list(row), [])
        for row in zip(*parts, strict=True)
    ]


def _wholes(
    scores: Scores, parts: Parts, ids: list[str], rows: int, label: str, listed: str
) -> list[dict[str, Any] | None]:
    """Each row's `health_dict` or `churn_dict` (None: a row to score one by one): the printed
    score, its label (`color` or `tier`), coverage, the known parts' explanations (under
    `components` or `factors`) and the ids of the unknown ones."""
    return [
        None if score is None
        else {"score": score[0], label: score[1], "coverage": coverage, listed: known,
              "missing": unknown}
        for score, coverage, (known, unknown) in zip(
            scores.printed, scores.coverage, _by_row(parts, ids, rows), strict=True
        )
    ]


def _metric_dicts(columns: Columns, rule: health.MetricRule, mapped: Array) -> list[Any]:
    """One metric's explanation per row (None: unknown), from its mapped values."""
    metric_id, name, kind, _, _, window, _, _, _, guard, above = rule
    shown = columns[name]
    if kind == "linear" and window:
        shown = printed_cents(columns.window_means(name, window))
    notes: list[str | None] = [None] * columns.rows
    if guard is not None:
        notes = [
            None if g is None or not g > above else health.guard_note(name, guard, g, above)
            for g in columns[guard]
        ]
    return [
        health.metric_dict(metric_id, name, value, printed, note) if printed == printed else None
        for value, printed, note in zip(shown, printed_cents(mapped), notes, strict=True)
    ]


def health_dicts(columns: Columns, playbook: Playbook) -> list[dict[str, Any] | None] | None:
    """Each row's `health_dict`, None for a row to score one by one; None for all when a rule
    is not of a kind bulk.py takes."""
    total, rules = health.metric_rules(playbook)
    if not 0 < len(rules) <= MAX_PARTS:
        return None
    found = bulk.component_means(columns, rules)
    if found is None:
        return None
    components = playbook.health.components
    means = [mean for _, mean in found]
    weights = [components[c].weight for c, _ in rules]
    with np.errstate(all="ignore"):
        scores = _scores(means, weights, total,
                         lambda p: health.color_of(playbook, p), bulk._labels(playbook)["color"])
    shown: Parts = []
    for (component_id, metric_rules), (mapped, mean), weight, contributions in zip(
        rules, found, weights, scores.contributions, strict=True
    ):
        metrics = [_metric_dicts(columns, r, m) for r, m in zip(metric_rules, mapped, strict=True)]
        rows = _by_row(metrics, [r[0] for r in metric_rules], columns.rows)
        shown.append([
            {"id": component_id, "label": components[component_id].label, "weight": weight,
             "score": printed, "contribution": contribution, "metrics": explained,
             "missing": unknown}
            if printed == printed else None
            for printed, contribution, (explained, unknown) in zip(
                printed_cents(mean), contributions, rows, strict=True
            )
        ])
    return _wholes(scores, shown, [c for c, _ in rules], columns.rows, "color", "components")


def churn_dicts(
    columns: Columns, playbook: Playbook, as_of: date
) -> list[dict[str, Any] | None] | None:
    """Each row's `churn_dict`, None for a row to score one by one; None for all when a
    factor's input is of a kind bulk.py does not take."""
    total, rules = churn.factor_rules(playbook)
    if not 0 < len(rules) <= MAX_PARTS:
        return None
    found = bulk.factor_risks(columns, rules, as_of)
    if found is None:
        return None
    factors = playbook.churn_risk.factors
    risks = [risk for _, risk in found]
    weights = [rule[5] for rule in rules]
    with np.errstate(all="ignore"):
        scores = _scores(risks, weights, total,
                         lambda p: churn.tier_of(playbook, p), bulk._labels(playbook)["tier"])
    shown = [
        [
            {"id": factor_id, "label": factors[factor_id].label, "input": name, "value": value,
             "risk": printed, "weight": weight, "contribution": contribution}
            if printed == printed else None
            for value, printed, contribution in zip(
                values, printed_cents(risk), contributions, strict=True
            )
        ]
        for (factor_id, name, _, _, _, weight), (values, risk), contributions in zip(
            rules, found, scores.contributions, strict=True
        )
    ]
    return _wholes(scores, shown, [rule[0] for rule in rules], columns.rows, "tier", "factors")


def signal_dicts(
    columns: Columns, playbook: Playbook, as_of: date
) -> list[tuple[list[dict[str, str]], list[str]]]:
    """Each row's `fired_signals`: the per-account checks on the row's values."""
    fired_rows: list[list[dict[str, str]]] = [[] for _ in range(columns.rows)]
    unknown_rows: list[list[str]] = [[] for _ in range(columns.rows)]
    for signal_id, rule, fields, check in signal_rules(playbook):
        values = zip(*(columns[f] for f in fields), strict=True)
        for row, evidence in enumerate(check(v, rule, playbook, as_of) for v in values):
            if evidence is None:
                unknown_rows[row].append(signal_id)
            elif evidence:
                fired_rows[row].append(fired(signal_id, rule, evidence))
    return list(zip(fired_rows, unknown_rows, strict=True))


def offer_dicts(
    columns: Columns, playbook: Playbook
) -> list[tuple[list[dict[str, Any]], list[str]]]:
    """Each row's `matched_offers`: the outcomes column by column (`bulk.offer_outcomes`) when
    the clauses read numbers, else `expansion.outcome` on each row's values."""
    matched_rows: list[list[dict[str, Any]]] = [[] for _ in range(columns.rows)]
    unknown_rows: list[list[str]] = [[] for _ in range(columns.rows)]
    in_columns = bulk.offers_in_columns(playbook)
    for offer_id, rule, clauses in offer_rules(playbook):
        inputs = [columns[name] for name, _, _ in clauses]
        if in_columns:
            held = bulk.offer_outcomes(columns, clauses)
            rows = np.flatnonzero(held != 0).tolist()
            outcomes: list[bool | None] = [None if h < 0 else True for h in held[rows].tolist()]
        else:
            values = zip(*inputs, strict=True) if clauses else [()] * columns.rows
            every = [outcome(v, clauses) for v in values]
            rows = [row for row, h in enumerate(every) if h is not False]
            outcomes = [every[row] for row in rows]
        for row, held_row in zip(rows, outcomes, strict=True):
            if held_row is None:
                unknown_rows[row].append(offer_id)
            else:
                matched_rows[row].append(offer_dict(offer_id, rule, [v[row] for v in inputs]))
    return list(zip(matched_rows, unknown_rows, strict=True))
