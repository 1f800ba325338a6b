"""Fitting the two churn models of SPEC 14 with scikit-learn, into the plain specs the model
file stores (tools.learning.model_file), so that a backtest judges exactly what gets saved.

- calibrated: the playbook's churn probability mapped by Platt scaling (a logistic fit on its
  logit) or isotonic regression, whichever has the lower Brier score on out-of-fold
  predictions over training folds grouped by snapshot date;
- learned: a logistic regression over the account features (tools.learning.features); an
  unknown value is imputed with the training median and flagged by a missing indicator of its
  own, never taken as zero; values are held within the training 1st-99th percentiles and
  standardised."""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence

from tools.learning.features import FEATURE_NAMES, FEATURES
from tools.learning.model_file import Calibrated, Feature, Isotonic, Learned, Platt, logit

REGULARIZATION_C = 1.0
PLATT_C = 1e6  # Platt scaling is an unregularised fit of two numbers


class FitError(ValueError):
    """The training data cannot fit a model (one class only, say)."""


def _both_classes(labels: Sequence[int], what: str) -> None:
    if not 0 < sum(labels) < len(labels):
        raise FitError(f"{what}: the training snapshots hold only one outcome")


def _platt(scores: Sequence[float], labels: Sequence[int], floor: float) -> Platt:
    from sklearn.linear_model import LogisticRegression

    x = [[logit(s, floor)] for s in scores]
    fit = LogisticRegression(C=PLATT_C, max_iter=1000).fit(x, list(labels))
    return Platt(slope=float(fit.coef_[0][0]), intercept=float(fit.intercept_[0]))


def _isotonic(scores: Sequence[float], labels: Sequence[int]) -> Isotonic:
    from sklearn.isotonic import IsotonicRegression

    fit = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    fit.fit(list(scores), list(labels))
    return Isotonic(
        x=[float(v) for v in fit.X_thresholds_], y=[float(v) for v in fit.y_thresholds_]
    )


def _fold_brier(
    scores: Sequence[float],
    labels: Sequence[int],
    groups: Sequence[Hashable],
    folds: int,
    floor: float,
) -> dict[str, float]:
    """Brier score of each map's out-of-fold predictions (folds grouped by `groups`: the
    snapshot date, or the account in a cross-sectional backtest)."""
    from sklearn.model_selection import GroupKFold

    splits = min(folds, len(set(groups)))
    if splits < 2:
        return {}
    sums = {"platt": 0.0, "isotonic": 0.0}
    counted = 0
    for train, test in GroupKFold(n_splits=splits).split(scores, labels, groups):
        fit_y = [labels[i] for i in train]
        if not 0 < sum(fit_y) < len(fit_y):
            continue
        fit_x = [scores[i] for i in train]
        maps = {"platt": _platt(fit_x, fit_y, floor), "isotonic": _isotonic(fit_x, fit_y)}
        for name, fitted in maps.items():
            for i in test:
                p = min(1 - floor, max(floor, fitted.apply(scores[i], floor)))
                sums[name] += (p - labels[i]) ** 2
        counted += len(test)
    return {k: round(v / counted, 6) for k, v in sums.items()} if counted else {}


def fit_calibrated(
    scores: Sequence[float | None],
    labels: Sequence[int],
    groups: Sequence[Hashable],
    folds: int,
    floor: float,
) -> Calibrated:
    """Platt or isotonic map of the playbook churn probability, the better on training folds
    (Platt on a tie or when the folds cannot tell); fitted on the snapshots whose playbook
    probability is known, with the training churn rate as the fallback for the others."""
    known = [i for i, s in enumerate(scores) if s is not None]
    x = [float(scores[i]) for i in known]  # type: ignore[arg-type]
    y = [labels[i] for i in known]
    _both_classes(y, "calibration")
    fold_brier = _fold_brier(x, y, [groups[i] for i in known], folds, floor)
    chosen = (
        "isotonic"
        if fold_brier and fold_brier["isotonic"] < fold_brier["platt"]
        else "platt"
    )
    mapping = _isotonic(x, y) if chosen == "isotonic" else _platt(x, y, floor)
    return Calibrated(
        map=mapping,
        fallback=round(sum(labels) / len(labels), 6),
        fold_brier=fold_brier,  # type: ignore[arg-type]
    )


def _percentile(values: list[float], q: float) -> float:
    """The q-th percentile (linear interpolation, as numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _prepare(rows: Sequence[Sequence[float | None]]) -> list[Feature]:
    """The feature specs (coefficients 0 for now): every feature with at least two distinct
    known values in training; median, 1st-99th percentile bounds, mean and scale of the
    imputed and bounded column; a missing indicator when some training value is unknown."""
    specs: list[Feature] = []
    for j, name in enumerate(FEATURE_NAMES):
        column = [r[j] for r in rows]
        known = [float(v) for v in column if v is not None and math.isfinite(v)]
        if len(set(known)) < 2:
            continue
        median = _percentile(known, 0.5)
        low, high = _percentile(known, 0.01), _percentile(known, 0.99)
        if low == high:
            low, high = min(known), max(known)
        filled = [min(high, max(low, v)) for v in known] + [median] * (len(column) - len(known))
        mean = sum(filled) / len(filled)
        spread = math.sqrt(sum((v - mean) ** 2 for v in filled) / len(filled))
        specs.append(
            Feature(
                name=name,
                about=FEATURES[name][0],
                impute=median,
                low=low,
                high=high,
                mean=mean,
                scale=spread if spread > 0 else 1.0,
                coef=0.0,
                missing_coef=0.0 if len(known) < len(column) else None,
            )
        )
    return specs


def fit_learned(rows: Sequence[Sequence[float | None]], labels: Sequence[int]) -> Learned:
    """Logistic regression over the prepared features (see the module docstring)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    _both_classes(list(labels), "learned model")
    specs = _prepare(rows)
    if not specs:
        raise FitError("learned model: no account feature varies in the training snapshots")
    shell = Learned(regularization_c=REGULARIZATION_C, intercept=0.0, features=specs)
    matrix = [shell.columns(r) for r in rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = LogisticRegression(C=REGULARIZATION_C, max_iter=5000).fit(matrix, list(labels))
    coefs = [float(c) for c in fit.coef_[0]]
    plain, flags = coefs[: len(specs)], iter(coefs[len(specs) :])
    features = [
        f.model_copy(
            update={
                "coef": c,
                "missing_coef": next(flags) if f.missing_coef is not None else None,
            }
        )
        for f, c in zip(specs, plain, strict=True)
    ]
    return Learned(
        regularization_c=REGULARIZATION_C, intercept=float(fit.intercept_[0]), features=features
    )
