"""The argument types and options that several `csm` commands share."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from agent.interfaces.errors import EXIT_FAILED


class Parser(argparse.ArgumentParser):
    """argparse with exit code 1 for usage errors (2 means "some rows rejected")."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_FAILED, f"{self.prog}: error: {message}\n")


def iso_date(text: str) -> date:
    """argparse type for --as-of."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date; write it as YYYY-MM-DD"
        ) from None


def positive_int(text: str) -> int:
    """argparse type for counts that must be at least 1 (--workers)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_seconds(text: str) -> float:
    """argparse type for a number of seconds above 0 (--model-deadline)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def add_model_budget_options(parser: argparse.ArgumentParser, run: str) -> None:
    """The budgets of the model that writes the report prose, and --strict (`run`: what one
    run is, for the help: "sweep", say)."""
    parser.add_argument(
        "--model-deadline", type=positive_seconds, metavar="SECONDS",
        help="seconds of model work per account; the summaries not written by then are the "
        "deterministic ones (default: $CSM_MODEL_DEADLINE, else 120)",
    )
    parser.add_argument(
        "--model-run-deadline", type=positive_seconds, metavar="SECONDS",
        help=f"seconds of model work for the whole {run}; after it every summary is the "
        "deterministic one (default: $CSM_MODEL_RUN_DEADLINE, else 3600)",
    )
    parser.add_argument(
        "--model-concurrency", type=positive_int, metavar="N",
        help="model calls in flight at once (default: $CSM_MODEL_CONCURRENCY, else 2)",
    )
    parser.add_argument(
        "--strict", action="store_true",
        help="exit 3 when any summary asked of the model fell back to the deterministic one",
    )


def model_budget(args: argparse.Namespace) -> dict[str, float | int]:
    """The budgets of a run from its options, else the environment, else the defaults: the
    keyword arguments of ModelBudget.local and ModelBudget.shared. Raises ValueError on a bad
    environment value."""
    from agent.models import (
        model_concurrency,
        model_deadline,
        model_max_failures,
        model_run_deadline,
    )

    return {
        "deadline": args.model_deadline or model_deadline(),
        "run_deadline": args.model_run_deadline or model_run_deadline(),
        "concurrency": args.model_concurrency or model_concurrency(),
        "max_failures": model_max_failures(),
    }


def add_playbook_option(parser: argparse.ArgumentParser) -> None:
    """The --playbook option."""
    parser.add_argument(
        "--playbook",
        metavar="FILE",
        type=Path,
        help="playbook YAML with the weights, thresholds and offers (default: the bundled one; "
        "copy it from `csm playbook --path` to customise)",
    )


def add_model_file_option(parser: argparse.ArgumentParser) -> None:
    """The --model-file option (a churn model written by `csm learn`)."""
    parser.add_argument(
        "--model-file",
        metavar="FILE",
        type=Path,
        help="a churn model written by `csm learn`: adds its churn and renewal probability "
        "beside the playbook's (default: $CSM_MODEL_FILE, else the playbook's "
        "forecast.model_file, else none)",
    )
