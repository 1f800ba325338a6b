"""`csm sample`: a seeded synthetic portfolio for demos and benchmarks."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from agent.interfaces.errors import EXIT_OK, CliError
from agent.interfaces.options import iso_date


def register(sub: Any) -> None:
    """Add `csm sample` to the command line."""
    sample = sub.add_parser(
        "sample",
        help="generate a synthetic portfolio",
        description="Generate a seeded synthetic portfolio with correlated, plausible values "
        "(for benchmarks and demos). The same seed gives the same file.",
        epilog="Example: csm sample --accounts 100000 --seed 7 --out big.jsonl",
    )
    sample.add_argument(
        "--accounts",
        type=int,
        metavar="N",
        help="how many accounts (default 1000; with --history, 300 at the start)",
    )
    sample.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    sample.add_argument(
        "--as-of",
        type=iso_date,
        metavar="DATE",
        help="dates are generated relative to this day (default: today)",
    )
    sample.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help="output file; .json, .jsonl or .csv by extension (a history: .jsonl or .csv)",
    )
    sample.add_argument(
        "--history",
        action="store_true",
        help="write a history (SPEC 14) instead: monthly snapshots of a book of --accounts "
        "accounts (default 300 here) with churn drawn from a known logistic model, accounts "
        "leaving and joining; for `csm backtest` and `csm learn`",
    )
    sample.add_argument(
        "--snapshots",
        type=int,
        default=24,
        metavar="K",
        help="with --history: monthly snapshot dates, ending on the month of --as-of "
        "(default 24)",
    )
    sample.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """`csm sample`."""
    from tools.portfolio.readers import write_portfolio
    from tools.portfolio.sample import generate_accounts

    if args.accounts is not None and args.accounts < 1:
        raise CliError("--accounts must be at least 1.")
    if args.history:
        return _history(args)
    as_of = args.as_of or date.today()
    started = time.perf_counter()
    try:
        count = write_portfolio(
            generate_accounts(args.accounts or 1000, args.seed, as_of), args.out, as_of
        )
    except OSError as error:
        raise CliError(f"{args.out}: cannot be written ({error.strerror}).") from None
    print(
        f"wrote {count} accounts to {args.out} in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    return EXIT_OK


def _history(args: argparse.Namespace) -> int:
    """`csm sample --history`: a synthetic history ending on the 1st of --as-of's month."""
    from tools.learning.history import write_history
    from tools.learning.synthetic import synthetic_history

    if args.snapshots < 1:
        raise CliError("--snapshots must be at least 1.")
    if args.out.suffix.lower() not in (".jsonl", ".ndjson", ".csv"):
        raise CliError(f"{args.out}: a history is written as .jsonl or .csv; use one of those.")
    last = (args.as_of or date.today()).replace(day=1)
    months = last.year * 12 + last.month - 1 - (args.snapshots - 1)
    start = date(months // 12, months % 12 + 1, 1)
    started = time.perf_counter()
    history = synthetic_history(args.accounts or 300, args.snapshots, args.seed, start)
    try:
        count = write_history(history.rows, args.out)
    except OSError as error:
        raise CliError(f"{args.out}: cannot be written ({error.strerror}).") from None
    print(
        f"wrote {count} snapshots ({args.snapshots} dates from {start}) to {args.out} in "
        f"{time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    return EXIT_OK
