"""One dataset through the code `csm backtest` runs: every row validated by the history reader
(a bad row is counted, never fatal), scored by the playbook as of its own date, labelled, split
and judged by the four models (tools.learning.backtest); plus the reference rows: what a model
that sees more than our fields reaches on the same test snapshots."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evals.churn_data.datasets import Dataset
from tools.learning.backtest import Backtest, BacktestResult, observe, run_backtest
from tools.learning.history import Snapshot, history_rows
from tools.learning.metrics import ModelMetrics, model_metrics
from tools.playbook import Playbook

SPLIT_SEED = 0
SKIPPED_COLUMNS = ("rownames", "churn")


@dataclass
class Reference:
    """A figure to read ours against: computed here on the same test snapshots (`metrics`), or
    published elsewhere (`auc` only)."""

    label: str
    auc: float | None = None
    metrics: ModelMetrics | None = None


@dataclass
class Evaluation:
    """A dataset's backtest report, how many rows were rejected, how many labelled snapshots
    churned, and the reference rows."""

    dataset: Dataset
    result: BacktestResult
    rejected: int
    labelled_positives: int
    references: list[Reference] = field(default_factory=list)


def evaluate(dataset: Dataset, playbook: Playbook, seed: int = SPLIT_SEED) -> Evaluation:
    """The backtest of one dataset, with its reference rows."""
    horizon = playbook.forecast.horizon_days
    observations, rejected = [], 0
    for item in history_rows(dataset.name, enumerate(dataset.rows, start=1)):
        if isinstance(item, Snapshot):
            observations.append(observe(item, playbook))
        else:
            rejected += 1
    backtest = run_backtest(
        observations, playbook, horizon, dataset.end,
        by_accounts=seed if dataset.split == "accounts" else None,
    )
    bins = playbook.forecast.backtest.bins
    references = []
    if dataset.true_probability:
        references.append(Reference("the generator's own probability",
                                    metrics=_generator(dataset, backtest, bins)))
    if dataset.table:
        references.append(Reference("logistic regression on every column of the table",
                                    metrics=_every_column(dataset, backtest, bins)))
    if dataset.published_auc:
        references.append(Reference(dataset.published_auc[0], auc=dataset.published_auc[1]))
    positives = sum(y for _, y in backtest.labelled.rows)
    return Evaluation(dataset, backtest.result, rejected, positives, references)


def _generator(dataset: Dataset, backtest: Backtest, bins: int) -> ModelMetrics:
    probs = [dataset.true_probability[(o.id, o.as_of.isoformat())] for o, _ in backtest.test]
    return model_metrics([y for _, y in backtest.test], probs, bins)


def _encode(table: Sequence[Mapping[str, Any]]) -> list[list[float]]:
    """Every column but the row number and the outcome: numbers as they are (a missing one
    takes the column's median), text one-hot."""
    columns = [c for c in table[0] if c not in SKIPPED_COLUMNS]
    encoded: list[list[float]] = [[] for _ in table]
    for column in columns:
        values = [r[column] for r in table]
        if all(isinstance(v, int | float) for v in values):
            known = sorted(float(v) for v in values if not math.isnan(float(v)))
            median = known[len(known) // 2]
            for row, v in zip(encoded, values, strict=True):
                row.append(median if math.isnan(float(v)) else float(v))
        else:
            for level in sorted({str(v) for v in values}):
                for row, v in zip(encoded, values, strict=True):
                    row.append(1.0 if str(v) == level else 0.0)
    return encoded


def _every_column(dataset: Dataset, backtest: Backtest, bins: int) -> ModelMetrics:
    """A plain logistic regression (standardised inputs, L2, C = 1) on every column of the raw
    table, fitted on the training accounts and scored on the same test accounts."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    matrix = _encode(dataset.table)
    by_id = {row["id"]: k for k, row in enumerate(dataset.rows)}
    test_ids = {o.id for o, _ in backtest.test}
    labels = {o.id: y for o, y in backtest.labelled.rows}
    train = [i for i in labels if i not in test_ids]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))
    model.fit([matrix[by_id[i]] for i in train], [labels[i] for i in train])
    test = [o.id for o, _ in backtest.test]
    probs = model.predict_proba([matrix[by_id[i]] for i in test])[:, 1]
    return model_metrics([labels[i] for i in test], [float(p) for p in probs], bins)
