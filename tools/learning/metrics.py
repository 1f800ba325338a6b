"""Figures of a churn model on labelled snapshots (SPEC 14): ROC AUC, PR AUC (average
precision), Brier score, log loss, expected calibration error over equal-width bins with the
reliability table, and the Wilson interval of a churn rate. The ranking and loss figures are
scikit-learn's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

from pydantic import BaseModel, Field

Z95 = NormalDist().inv_cdf(0.975)
DIGITS = 4


class Bin(BaseModel):
    """One bin of the reliability table: predictions in [bin/bins, (bin+1)/bins) (the last bin
    includes 1), how many, their mean prediction and the observed churn rate."""

    bin: int
    n: int
    predicted: float | None
    observed: float | None


class ModelMetrics(BaseModel):
    """Every figure of one model on one set of snapshots."""

    n: int
    positives: int
    auc: float | None
    pr_auc: float | None
    brier: float
    log_loss: float
    ece: float
    reliability: list[Bin] = Field(default_factory=list)


def _r(value: float) -> float:
    return round(float(value), DIGITS) + 0.0


def reliability(labels: Sequence[int], probs: Sequence[float], bins: int) -> list[Bin]:
    """The reliability table over `bins` equal-width bins of the predicted probability."""
    counts = [0] * bins
    predicted = [0.0] * bins
    observed = [0] * bins
    for y, p in zip(labels, probs, strict=True):
        b = min(bins - 1, max(0, math.floor(p * bins)))
        counts[b] += 1
        predicted[b] += p
        observed[b] += y
    return [
        Bin(
            bin=b,
            n=counts[b],
            predicted=_r(predicted[b] / counts[b]) if counts[b] else None,
            observed=_r(observed[b] / counts[b]) if counts[b] else None,
        )
        for b in range(bins)
    ]


def expected_calibration_error(labels: Sequence[int], probs: Sequence[float], bins: int) -> float:
    """sum over bins of (n_bin / n) x |mean prediction - observed rate| (unrounded)."""
    counts = [0] * bins
    gap = [0.0] * bins
    for y, p in zip(labels, probs, strict=True):
        b = min(bins - 1, max(0, math.floor(p * bins)))
        counts[b] += 1
        gap[b] += p - y
    n = sum(counts)
    return sum(abs(g) for g in gap) / n if n else 0.0


def model_metrics(labels: Sequence[int], probs: Sequence[float], bins: int) -> ModelMetrics:
    """All figures of one model; AUC and PR AUC are None when the labels hold one class."""
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    y = [int(v) for v in labels]
    p = [float(v) for v in probs]
    both = 0 < sum(y) < len(y)
    return ModelMetrics(
        n=len(y),
        positives=sum(y),
        auc=_r(roc_auc_score(y, p)) if both else None,
        pr_auc=_r(average_precision_score(y, p)) if both else None,
        brier=_r(brier_score_loss(y, p, labels=[0, 1])),
        log_loss=_r(log_loss(y, p, labels=[0, 1])),
        ece=_r(expected_calibration_error(y, p, bins)),
        reliability=reliability(y, p, bins),
    )


def auc_alone(labels: Sequence[int], values: Sequence[float]) -> float | None:
    """ROC AUC of one score (higher = riskier), None with one class."""
    from sklearn.metrics import roc_auc_score

    if not 0 < sum(labels) < len(labels):
        return None
    return _r(roc_auc_score(list(labels), list(values)))


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95% by default); None when n is 0."""
    if n == 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return _r(max(0.0, center - half)), _r(min(1.0, center + half))
