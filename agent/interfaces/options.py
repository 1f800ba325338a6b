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
