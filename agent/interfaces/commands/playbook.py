"""`csm playbook` and `csm eval`: check a playbook, and score the golden cases with it."""

from __future__ import annotations

import argparse
from typing import Any

from agent.interfaces.errors import EXIT_OK
from agent.interfaces.options import add_playbook_option


def register_eval(sub: Any) -> None:
    """Add `csm eval` to the command line."""
    evals = sub.add_parser(
        "eval",
        help="run the golden scoring evals",
        description="Score the golden cases (hand-computed from SPEC) and print pass rates "
        "per suite. Exit 1 when any case fails.",
    )
    evals.add_argument("--suite", metavar="NAME", help="run one suite only")
    evals.add_argument("--format", choices=["table", "json"], default="table")
    add_playbook_option(evals)
    evals.set_defaults(run=run_eval)


def register_playbook(sub: Any) -> None:
    """Add `csm playbook` to the command line."""
    book = sub.add_parser(
        "playbook",
        help="show or check a playbook",
        description="Validate a playbook and print its version, or print the bundled file's path "
        "to copy it.",
    )
    book.add_argument("--path", action="store_true", help="print the bundled playbook's path")
    add_playbook_option(book)
    book.set_defaults(run=run_playbook)


def run_eval(args: argparse.Namespace) -> int:
    """`csm eval`."""
    from evals.runner import main as evals_main

    argv = ["--format", args.format]
    if args.suite:
        argv += ["--suite", args.suite]
    if args.playbook:
        argv += ["--playbook", str(args.playbook)]
    return evals_main(argv)


def run_playbook(args: argparse.Namespace) -> int:
    """`csm playbook`."""
    from tools.playbook import default_playbook_path, load_playbook

    if args.path:
        print(default_playbook_path())
        return EXIT_OK
    playbook = load_playbook(args.playbook)
    source = args.playbook or default_playbook_path()
    print(f"playbook {source}: valid, version {playbook.version}, currency {playbook.currency}")
    for warning in playbook.warnings():
        print(f"playbook {source}: warning: {warning}")
    return EXIT_OK
