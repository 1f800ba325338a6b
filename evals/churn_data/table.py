"""The evaluation as one Markdown table (every dataset side by side: its size, the test set and
the four models' figures, then the reference rows) with the notes under it, or as JSON."""

from __future__ import annotations

from typing import Any

from evals.churn_data.evaluate import Evaluation
from tools.learning.backtest import MODELS
from tools.learning.metrics import ModelMetrics

HEADER = ("dataset", "snapshots", "churned", "test", "test churned", "model", "AUC", "PR AUC",
          "Brier", "ECE")


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _figures(m: ModelMetrics) -> list[str]:
    return [_f(m.auc), _f(m.pr_auc), _f(m.brier), _f(m.ece)]


def markdown(evaluations: list[Evaluation]) -> str:
    """The table and, under it, each dataset's split, rejected rows and verdict."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for e in evaluations:
        r = e.result
        labelled = r.counts.labelled
        lead = [e.dataset.name, f"{labelled:,}", f"{e.labelled_positives:,}", f"{r.test.n:,}",
                f"{r.test.positives:,}"]
        for model in MODELS:
            lines.append("| " + " | ".join([*lead, model, *_figures(r.models[model])]) + " |")
            lead = [""] * 5
        for ref in e.references:
            figures = (_figures(ref.metrics) if ref.metrics
                       else [f"about {ref.auc:.2f}", "-", "-", "-"])
            lines.append("| " + " | ".join([*lead, f"reference: {ref.label}", *figures]) + " |")
    lines.append("")
    for e in evaluations:
        r = e.result
        said = "; ".join(e.dataset.notes)
        lines.append(
            f"- {e.dataset.name}: {said}; train {r.train.n:,} snapshots ({r.train.positives:,} "
            f"churned), test {r.test.n:,} ({r.test.positives:,}); horizon {r.horizon_days} "
            f"days; calibration map {r.calibration_map}"
            + (f"; {e.rejected} rows rejected" if e.rejected else "")
            + f". Verdict: {r.verdict.reason}"
        )
    return "\n".join(lines) + "\n"


def as_json(evaluations: list[Evaluation]) -> list[dict[str, Any]]:
    """One object per dataset: the backtest report (docs/backtest.md) and the references."""
    return [
        {
            "dataset": e.dataset.name,
            "split": e.dataset.split,
            "notes": e.dataset.notes,
            "rejected_rows": e.rejected,
            "labelled_positives": e.labelled_positives,
            "backtest": e.result.model_dump(mode="json", by_alias=True),
            "references": [
                {"label": ref.label, "auc": ref.auc,
                 "metrics": ref.metrics.model_dump(mode="json") if ref.metrics else None}
                for ref in e.references
            ],
        }
        for e in evaluations
    ]
