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
        "--accounts", type=int, default=1000, metavar="N", help="how many accounts (default 1000)"
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
        help="output file; .json, .jsonl or .csv by extension",
    )
    sample.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """`csm sample`."""
    from tools.portfolio.readers import write_portfolio
    from tools.portfolio.sample import generate_accounts

    if args.accounts < 1:
        raise CliError("--accounts must be at least 1.")
    as_of = args.as_of or date.today()
    started = time.perf_counter()
    try:
        count = write_portfolio(generate_accounts(args.accounts, args.seed, as_of), args.out, as_of)
    except OSError as error:
        raise CliError(f"{args.out}: cannot be written ({error.strerror}).") from None
    print(
        f"wrote {count} accounts to {args.out} in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    return EXIT_OK
