"""The backtest as a readable Markdown report, and the reliability curves as PNG files."""

from __future__ import annotations

from pathlib import Path

from tools.escaping import markdown_inline
from tools.learning.backtest import MODELS, BacktestResult

ABOUT = {
    "baseline": "the training churn rate for every snapshot",
    "playbook": "1 - the playbook's renewal probability (SPEC 9)",
    "calibrated": "the playbook's churn probability mapped by {map}, fitted on training",
    "learned": "logistic regression on the account fields, unknowns flagged",
}
MAPS = {"platt": "Platt scaling", "isotonic": "isotonic regression"}


def _n(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def render_markdown(result: BacktestResult) -> str:
    """The report: the verdict first, then the sets, the models, tiers, factors, warnings."""
    r = result
    lines = [
        f"# Churn backtest: {r.horizon_days}-day horizon, history to {r.end.isoformat()}",
        "",
        "## Which model to trust",
        "",
        markdown_inline(r.verdict.reason),
        "",
        "## Data",
        "",
        f"- Training: {r.train.n:,} snapshots ({r.train.positives:,} churned within "
        f"{r.horizon_days} days), {r.train.from_} to {r.train.to}.",
        f"- Test: {r.test.n:,} snapshots ({r.test.positives:,} churned), {r.test.from_} to "
        f"{r.test.to}: the last {r.counts.test_dates} of {r.counts.dates} snapshot dates.",
        f"- Left out: {r.counts.open_window:,} with a window still open at the end, "
        f"{r.counts.after_churn:,} taken on or after the churn, {r.counts.after_end:,} after "
        f"the end date, {r.counts.between_sets:,} training-period snapshots whose window reaches "
        "into the test period.",
        "",
        "## Models on the test set",
        "",
        "| model | what it is | AUC | PR AUC | Brier | log loss | calibration error |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in MODELS:
        m = r.models[name]
        about = ABOUT[name].format(map=MAPS.get(r.calibration_map, r.calibration_map))
        lines.append(
            f"| {name} | {about} | {_n(m.auc)} | {_n(m.pr_auc)} | {_n(m.brier)} | "
            f"{_n(m.log_loss)} | {_n(m.ece)} |"
        )
    lines += [
        "",
        "How to read it: AUC is the chance that a churned snapshot gets a higher churn "
        "probability than a retained one (0.5 is a coin toss, 1 is perfect ranking); PR AUC "
        "(average precision) is how cleanly the highest probabilities find the churners; Brier "
        "is the mean squared gap between probability and outcome (lower is better; the "
        "baseline's is what knowing nothing costs); log loss punishes confident mistakes; "
        f"calibration error is the mean gap between predicted and observed churn over "
        f"{len(r.models['baseline'].reliability)} equal-width probability bins.",
        "",
        "## Reliability (predicted vs observed churn per probability bin)",
        "",
        "| model | " + " | ".join(
            f"{b.bin / len(r.models['baseline'].reliability):.1f}+"
            for b in r.models["baseline"].reliability
        ) + " |",
        "| --- |" + " ---: |" * len(r.models["baseline"].reliability),
    ]
    for name in MODELS:
        cells = [
            "—" if b.n == 0 else f"{_pct(b.predicted)} / {_pct(b.observed)} (n {b.n:,})"
            for b in r.models[name].reliability
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Playbook tiers on the test set",
        "",
        "| tier | snapshots | churned | churn rate | 95% interval |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for t in r.tiers:
        interval = "—" if t.low is None else f"{_pct(t.low)} to {_pct(t.high)}"
        lines.append(
            f"| {t.tier} | {t.n:,} | {t.churned:,} | {_pct(t.churn_rate)} | {interval} |"
        )
    rise = {
        True: "Churn rises with the tier, as the playbook intends.",
        False: "Churn does not rise with the tier: some tier churns less than the one below it.",
        None: "Fewer than two tiers have test snapshots, so the order cannot be checked.",
    }[r.tiers_monotonic]
    lines += [
        "",
        rise,
        "",
        "## Churn factors alone",
        "",
        "| factor | snapshots with it known | AUC alone | agrees with the playbook |",
        "| --- | ---: | ---: | --- |",
    ]
    for f in r.factors:
        agrees = {True: "yes", False: "no: it points the other way", None: "—"}[f.agrees]
        lines.append(f"| {f.id} | {f.n:,} | {_n(f.auc)} | {agrees} |")
    lines += [
        "",
        "A factor agrees when its input, read the way the playbook reads it (riskier towards "
        "its `bad` bound), ranks churned snapshots above retained ones (AUC above 0.5).",
    ]
    if r.warnings:
        lines += ["", "## Warnings", ""] + [f"- {markdown_inline(w)}" for w in r.warnings]
    return "\n".join(lines) + "\n"


def write_reliability_plots(result: BacktestResult, folder: Path) -> list[Path]:
    """One PNG per model: predicted vs observed churn per bin, the diagonal for reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in MODELS:
        m = result.models[name]
        bins = [b for b in m.reliability if b.n]
        figure, axes = plt.subplots(figsize=(5, 5), dpi=100)
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
        axes.plot(
            [b.predicted for b in bins],
            [b.observed for b in bins],
            marker="o",
            label=f"{name} (ECE {m.ece:.3f})",
        )
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1)
        axes.set_xlabel("predicted churn probability (bin mean)")
        axes.set_ylabel("observed churn rate")
        axes.set_title(f"{name}: {m.n:,} test snapshots, Brier {m.brier:.3f}")
        axes.legend(loc="upper left")
        path = folder / f"reliability-{name}.png"
        figure.savefig(path)
        plt.close(figure)
        written.append(path)
    return written
