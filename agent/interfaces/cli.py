"""`csm`: the command line of csm-agent. Each command group lives in `agent.interfaces.commands`
and adds its parser here; this module parses argv, runs the command and turns every outcome into
an exit code and at most one sentence on stderr."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib import import_module

from agent.interfaces.errors import EXIT_FAILED, EXIT_OK, CliError
from agent.interfaces.options import Parser
from tools.escaping import terminal_line

# Every command: its module in agent.interfaces.commands and the function there that adds its
# parser, in the order `csm --help` lists them. A run builds only its own command's parser
# (the other modules are not even imported); `csm --help` and a mistyped command build all.
COMMANDS: dict[str, tuple[str, str]] = {
    "score": ("score", "register"),
    "sample": ("sample", "register"),
    "eval": ("playbook", "register_eval"),
    "assess": ("assess", "register"),
    "import": ("sweep", "register"),
    "sweep": ("sweep", "register"),
    "history": ("history", "register"),
    "backtest": ("learning", "register"),
    "learn": ("learning", "register"),
    "kb": ("kb", "register"),
    "chat": ("chat", "register"),
    "serve": ("serve", "register"),
    "playbook": ("playbook", "register_playbook"),
    "mcp": ("mcp", "register"),
}


def build_parser(command: str | None = None) -> Parser:
    """The `csm` argument parser: with every subcommand, or only `command`'s when it names
    one."""
    parser = Parser(
        prog="csm",
        description="csm-agent: explainable health, churn risk, early warnings and upsell "
        "opportunities for a portfolio of B2B client accounts.",
        epilog="Start with `csm score` (the bundled sample portfolio) and `csm score --help`.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    wanted = [COMMANDS[command]] if command in COMMANDS else list(COMMANDS.values())
    for module, function in dict.fromkeys(wanted):
        getattr(import_module(f"agent.interfaces.commands.{module}"), function)(sub)
    return parser


# OpenBLAS starts a thread per core as numpy is imported, and they spin for a while: some 0.1 s
# of CPU a command on two cores, for math that is element-wise (no BLAS call). The embedding
# model raises its own pools to CSM_EMBED_THREADS (threadpoolctl); a value already set wins.
MATH_THREADS = {"OPENBLAS_NUM_THREADS": "1"}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `csm` console script."""
    for name, value in MATH_THREADS.items():
        os.environ.setdefault(name, value)
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error already explained on stderr
        return int(stop.code or 0)
    if not args.command:
        parser.print_help()
        return EXIT_OK
    try:
        code = args.run(args)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except BrokenPipeError:  # `csm score | head`: the reader has what it wanted
        _detach_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        _say("csm: interrupted")
        return 130
    except Exception as error:  # noqa: BLE001 - the last resort: one sentence, no traceback
        if isinstance(error, _user_errors()):
            _say(f"csm: error: {error}")
            return EXIT_FAILED
        if os.environ.get("CSM_DEBUG"):
            raise
        _say(f"csm: internal error in `csm {args.command}`: {type(error).__name__}: {error}. "
             "Run again with CSM_DEBUG=1 for the traceback and report it.")
        return EXIT_FAILED


def _user_errors() -> tuple[type[Exception], ...]:
    """The errors told as one sentence with exit code 1. Imported only when something failed:
    their modules (pydantic models, the knowledge index) are not needed to start `csm`."""
    from agent.sweeps.store import StoreError
    from tools.knowledge.documents import KnowledgeError
    from tools.learning.model_file import ModelFileError
    from tools.paths import DataDirError
    from tools.playbook import PlaybookError
    from tools.portfolio.readers import PortfolioError

    return (
        CliError, PlaybookError, PortfolioError, KnowledgeError, DataDirError, ModelFileError,
        StoreError,
    )


def _say(line: str) -> None:
    """One line on stderr, cleaned for the terminal (it may quote account text)."""
    try:
        print(terminal_line(line), file=sys.stderr, flush=True)
    except (BrokenPipeError, ValueError):  # stderr closed too: nothing left to tell
        pass


def _detach_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush of the unwritten rest does
    not fail again ("Exception ignored ... BrokenPipeError")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a file descriptor (a test's capture)
        pass


if __name__ == "__main__":
    sys.exit(main())
