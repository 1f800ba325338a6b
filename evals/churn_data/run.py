"""`python -m evals.churn_data`: the backtest of `csm backtest` on public churn data shipped in
packages (the `evals-data` extra), or with `--synthetic` on the seeded synthetic history (no
extra; what CI runs), printed as one table."""

from __future__ import annotations

import argparse
import json
import sys
import time

from evals.churn_data import datasets
from evals.churn_data.evaluate import SPLIT_SEED, Evaluation, evaluate
from evals.churn_data.sources import MissingData, cdnow_lines, rdataset
from evals.churn_data.table import as_json, markdown
from tools.learning.backtest import NotEnoughData
from tools.playbook import PlaybookError, load_playbook


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evals.churn_data",
        description="Backtest the playbook, the calibrated and the learned churn models on "
        "public churn data mapped to the account fields (docs/backtest.md).",
    )
    parser.add_argument("--synthetic", action="store_true",
                        help="the seeded synthetic history and table instead (no extra needed)")
    parser.add_argument("--cdnow", choices=["sample", "master"], default="sample",
                        help="the CDNOW log: the 2,357-customer sample (default) or all 23,570")
    parser.add_argument("--accounts", type=int, default=300,
                        help="--synthetic: accounts of the history (the table has 4x as many)")
    parser.add_argument("--months", type=int, default=24,
                        help="--synthetic: monthly snapshots of the history")
    parser.add_argument("--seed", type=int, default=SPLIT_SEED,
                        help="the synthetic data's seed and the account split's")
    parser.add_argument("--format", choices=["md", "json"], default="md")
    return parser


def _datasets(args: argparse.Namespace, horizon_days: int) -> list[datasets.Dataset]:
    if args.synthetic:
        return datasets.synthetic(args.seed, args.accounts, args.months, horizon_days)
    return [
        datasets.telco(rdataset("wa_churn"), horizon_days),
        datasets.mlc(rdataset("mlc_churn"), horizon_days),
        datasets.cdnow(cdnow_lines(args.cdnow), args.cdnow),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation; 1 with one sentence when the data or the playbook is missing."""
    args = _parser().parse_args(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("evals.churn_data needs scikit-learn: pip install 'csm-agent[learn]'.",
              file=sys.stderr)
        return 1
    try:
        playbook = load_playbook()
        found = _datasets(args, playbook.forecast.horizon_days)
    except (MissingData, PlaybookError) as error:
        print(f"evals.churn_data: {error}", file=sys.stderr)
        return 1
    evaluations: list[Evaluation] = []
    for dataset in found:
        started = time.perf_counter()
        try:
            evaluations.append(evaluate(dataset, playbook, args.seed))
        except NotEnoughData as error:
            print(f"evals.churn_data: {dataset.name}: {error}", file=sys.stderr)
            return 1
        print(f"evals.churn_data: {dataset.name}: {len(dataset.rows):,} rows in "
              f"{time.perf_counter() - started:.1f}s", file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(json.dumps(as_json(evaluations), indent=2) + "\n")
    else:
        sys.stdout.write(markdown(evaluations))
    return 0
