"""`csm`: the command line of csm-agent."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

from agent.interfaces.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    CliError,
    load_checked_playbook,
)
from agent.interfaces.render import only_scores, write_csv, write_json, write_table
from tools.escaping import terminal_line
from tools.knowledge.documents import TOPICS, KnowledgeError
from tools.paths import DataDirError
from tools.playbook import Playbook, PlaybookError, load_playbook
from tools.portfolio.account import Account
from tools.portfolio.readers import (
    PortfolioError,
    RowError,
    RowWarning,
    sample_portfolio_path,
    stream_accounts,
    write_portfolio,
)
from tools.scoring.score import AccountScore, score_account


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


def _add_playbook(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--playbook",
        metavar="FILE",
        type=Path,
        help="playbook YAML with the weights, thresholds and offers (default: the bundled one; "
        "copy it from `csm playbook --path` to customise)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The `csm` argument parser with every subcommand."""
    parser = Parser(
        prog="csm",
        description="csm-agent: explainable health, churn risk, early warnings and upsell "
        "opportunities for a portfolio of B2B client accounts.",
        epilog="Start with `csm score` (the bundled sample portfolio) and `csm score --help`.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    score = sub.add_parser(
        "score",
        help="score every account of a portfolio",
        description="Score every account: health (0-100, colour), churn risk (0-100, tier), "
        "early-warning signals and expansion opportunities. Rows that fail "
        "validation are reported on stderr and the rest is still scored.",
        epilog="Exit codes: 0 all rows scored, 2 some rows rejected (listed in `errors` and on "
        "stderr), 1 nothing could be read.\nExamples:\n  csm score\n"
        "  csm score clients.csv --as-of 2026-11-20 --format json > scores.json\n"
        "  csm score clients.jsonl --format csv --playbook my-playbook.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    score.add_argument(
        "portfolio",
        nargs="?",
        type=Path,
        metavar="PORTFOLIO",
        help='a .json (list or {"accounts": [...]}), .jsonl or .csv file '
        "(default: the bundled sample portfolio)",
    )
    score.add_argument(
        "--as-of",
        type=iso_date,
        metavar="DATE",
        help='the day to score as of, YYYY-MM-DD (default: the portfolio\'s own "as_of" if it '
        "has one, else today)",
    )
    score.add_argument(
        "--format",
        choices=["table", "json", "csv"],
        default="table",
        help="table (terminal, default), json (full explanations) or csv (one row per account)",
    )
    _add_playbook(score)

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

    evals = sub.add_parser(
        "eval",
        help="run the golden scoring evals",
        description="Score the golden cases (hand-computed from SPEC) and print pass rates "
        "per suite. Exit 1 when any case fails.",
    )
    evals.add_argument("--suite", metavar="NAME", help="run one suite only")
    evals.add_argument("--format", choices=["table", "json"], default="table")
    _add_playbook(evals)

    assess = sub.add_parser(
        "assess",
        help="run the six-step assessment and write the reports",
        description="Run the six-step assessment (health, stakeholders, success plan, expansion, "
        "risk mitigation, forecast) for one account or all, and write the Client "
        "Health Dashboard, Success Plan, Expansion Proposal, Risk Mitigation Plan "
        "and QBR agenda. Numbers come from the tools; with CSM_MODEL set, a model "
        "writes the summary paragraphs and is overruled if it invents a number.",
        epilog="With --out, each account's file is <name>.<lang>.md (or .json): the account id "
        "when it is a safe lower-case file name, else a slug of it with a hash "
        "(`Acme Corp` -> acme-corp~<10 hex digits>).\n"
        "Exit codes: 0 every account assessed, 2 some rows not processed (named on stderr), "
        "1 none.\nExamples:\n  csm assess --account acc-007\n"
        "  csm assess clients.json --account c-12 --lang ru --format json\n"
        "  csm assess --all --out reports/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    assess.add_argument(
        "portfolio",
        nargs="?",
        type=Path,
        metavar="PORTFOLIO",
        help="portfolio file (default: the bundled sample)",
    )
    which = assess.add_mutually_exclusive_group(required=True)
    which.add_argument("--account", metavar="ID", help="the account id to assess")
    which.add_argument("--all", action="store_true", help="assess every account")
    assess.add_argument(
        "--as-of",
        type=iso_date,
        metavar="DATE",
        help="the day to assess as of (default: the portfolio's as_of, else today)",
    )
    assess.add_argument("--lang", choices=["en", "ru"], default="en", help="report language")
    assess.add_argument(
        "--format",
        choices=["md", "json"],
        default="md",
        help="md (the reports) or json (the full state: scores, plans, "
        "citations, where the prose came from)",
    )
    assess.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write one file per account into DIR instead of printing",
    )
    assess.add_argument(
        "--model",
        metavar="NAME",
        help="provider:model for the prose, or `none` (default: $CSM_MODEL)",
    )
    _add_playbook(assess)

    imp = sub.add_parser(
        "import", help="load a portfolio into the store",
        description="Validate a portfolio and insert or update its accounts in the SQLite store "
                    "(default: csm.sqlite3 in $CSM_DATA_DIR). Bad rows are named and skipped.",
        epilog="Exit codes: 0 every row imported, 2 some rows rejected (named on stderr), "
               "1 no row imported.",
    )
    imp.add_argument("portfolio", type=Path, metavar="PORTFOLIO", help=".json, .jsonl or .csv")
    imp.add_argument("--db", metavar="PATH", help="the store (default: in the data directory)")

    sweep = sub.add_parser(
        "sweep", help="run the daily or weekly routine over every account",
        description="Assess every account through the six-step graph, store a snapshot per "
                    "account, raise alerts for what changed since the previous sweep, write "
                    "each account's reports and the portfolio report (Markdown and JSON).",
        epilog="Exit codes: 0 done, 2 some rows not processed (named on stderr and in the "
               "portfolio report), 1 failure (nothing half-written: finished accounts are "
               "stored), 130 interrupted (finish with the --resume command it prints).\n"
               "Examples:\n  csm sweep clients.jsonl --weekly\n"
               "  csm import clients.csv && csm sweep --daily --notify https://hooks.example/csm\n"
               "  csm sweep --resume --as-of 2026-11-20",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument("portfolio", nargs="?", type=Path, metavar="PORTFOLIO",
                       help="a portfolio file (default: the accounts in the store)")
    sweep.add_argument("--as-of", type=iso_date, metavar="DATE",
                       help="the sweep's day (default: the portfolio's as_of, else today)")
    routine = sweep.add_mutually_exclusive_group()
    routine.add_argument("--daily", dest="routine", action="store_const", const="daily",
                         help="health, risk, signals and alerts (default)")
    routine.add_argument("--weekly", dest="routine", action="store_const", const="weekly",
                         help="adds success stories to collect to the portfolio report")
    sweep.set_defaults(routine="daily")
    sweep.add_argument("--out", type=Path, metavar="DIR",
                       help="reports folder (default: reports/<as-of> in the data directory): "
                       "<name>.<lang>.md per account (the id, or a slug of it with a hash when "
                       "the id is not a safe file name; portfolio.json maps ids to files), "
                       "portfolio.md, portfolio.json")
    sweep.add_argument("--no-reports", action="store_true",
                       help="store snapshots and the portfolio report only")
    sweep.add_argument("--workers", type=positive_int, metavar="N",
                       help="worker processes, 1 or more (default: one per core)")
    sweep.add_argument("--with-model", action="store_true",
                       help="let the model configured by CSM_MODEL write the report prose")
    sweep.add_argument("--resume", action="store_true", help="finish an interrupted sweep")
    sweep.add_argument("--lang", choices=["en", "ru"], default="en", help="report language")
    sweep.add_argument("--db", metavar="PATH", help="the store (default: in the data directory)")
    sweep.add_argument("--notify", metavar="URL|COMMAND",
                       help="send the alerts JSON to a webhook (POST) or a command's stdin")
    _add_playbook(sweep)

    kb = sub.add_parser(
        "kb",
        help="build or search the knowledge base",
        description="The playbook knowledge base (English and Russian) in a local Chroma index. "
        "The index lives in $CSM_KNOWLEDGE_DIR, else in knowledge-index of $CSM_DATA_DIR "
        "(default: your user data directory); it is built on first use and rebuilt when a "
        "build was interrupted or the documents changed. Embeddings run offline "
        "(CSM_EMBEDDINGS=use by default) on CSM_EMBED_THREADS math threads (default 1).",
    )
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="ACTION", parser_class=Parser)
    kb_index = kb_sub.add_parser(
        "index",
        help="index new and changed documents",
        description="Embed new and changed documents and drop removed ones. Unchanged documents "
        "(same content hash) keep their stored embeddings; when nothing changed nothing is "
        "embedded. The new index replaces the old one only once it is complete.",
    )
    kb_index.add_argument("--rebuild", action="store_true", help="embed every document again")
    kb_search = kb_sub.add_parser(
        "search",
        help="search the knowledge base",
        description="Find the passages that answer a question, in either language.",
        epilog='Examples:\n  csm kb search "what do we do when a client stops logging in?"\n'
        '  csm kb search "как провести QBR" --lang ru --k 3 --format json',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kb_search.add_argument("query", metavar="QUERY", help="the question, in English or Russian")
    kb_search.add_argument("--k", type=int, default=5, metavar="N", help="passages (default 5)")
    kb_search.add_argument(
        "--topic", choices=TOPICS, metavar="TOPIC", help="only this topic: " + ", ".join(TOPICS)
    )
    kb_search.add_argument("--lang", choices=["en", "ru"], help="only this language")
    kb_search.add_argument("--format", choices=["table", "json"], default="table")

    chat = sub.add_parser(
        "chat", help="talk to the agent in the terminal",
        description="A chat agent over the csm tools (scores, accounts, history, assessment, "
                    "knowledge search) that streams its answers. Each --thread keeps its "
                    "memory in chat.sqlite3 in the data directory. Type /exit to quit.",
        epilog="Needs a model: CSM_MODEL=openai:gpt-4.1-mini with OPENAI_API_KEY, or an "
               "OpenAI-compatible server (Ollama, vLLM) via OPENAI_BASE_URL.\n"
               "Examples:\n  csm chat --thread acme\n  csm chat --model openai:gpt-4.1-mini",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chat.add_argument("--thread", default="default", metavar="NAME",
                      help="conversation to continue or start (default: default)")
    chat.add_argument("--model", metavar="PROVIDER:MODEL", help="the model (default: $CSM_MODEL)")

    book = sub.add_parser(
        "playbook",
        help="show or check a playbook",
        description="Validate a playbook and print its version, or print the bundled file's path "
        "to copy it.",
    )
    book.add_argument("--path", action="store_true", help="print the bundled playbook's path")
    _add_playbook(book)

    mcp = sub.add_parser(
        "mcp", help="serve the tools to MCP clients (Claude Code, Cursor, VS Code)",
        description="Serve the read-only tools (scores, accounts, history, knowledge search,\n"
                    "the six-step assessment), the playbook and knowledge resources and the\n"
                    "six-step prompt over MCP. Logs go to stderr.",
        epilog="Examples:\n  csm mcp\n  csm mcp --transport http --port 8765 --allow-writes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mcp.add_argument("--transport", choices=["stdio", "http"], default="stdio",
                     help="stdio (default, for a runner that starts csm) or streamable HTTP")
    mcp.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    mcp.add_argument("--port", type=int, default=8000, metavar="N", help="HTTP port (default 8000)")
    mcp.add_argument("--allow-writes", action="store_true",
                     help="also serve the write_* tools (import a portfolio, save reports)")
    return parser


def _scores(
    accounts: Iterator[Account | list[RowError]],
    playbook: Playbook,
    as_of: date,
    warnings: list[RowWarning],
) -> Iterator[AccountScore | list[RowError]]:
    """Score each account; print rejected rows and warnings on stderr as they come. The
    reader adds its warnings (unknown columns, keys) to `warnings`; this adds each account's."""
    printed = 0
    for item in accounts:
        if isinstance(item, Account):
            score = score_account(item, playbook, as_of)
            source, row = item.origin or ("", 0)
            warnings.extend(
                RowWarning(source=source, row=row, id=item.id, **w.model_dump())
                for w in score.warnings
            )
        else:
            for error in item:
                print(terminal_line(f"csm: rejected {error.sentence()}"), file=sys.stderr)
        for warning in warnings[printed:]:
            print(terminal_line(f"csm: warning: {warning.sentence()}"), file=sys.stderr)
        printed = len(warnings)
        yield score if isinstance(item, Account) else item


def cmd_score(args: argparse.Namespace) -> int:
    """`csm score`."""
    playbook = load_checked_playbook(args.playbook)
    path = args.portfolio or sample_portfolio_path()
    warnings: list[RowWarning] = []
    file_as_of, accounts = stream_accounts(path, warnings)
    as_of = args.as_of or file_as_of or date.today()
    errors: list[RowError] = []
    scores = only_scores(_scores(accounts, playbook, as_of, warnings), errors)
    out = sys.stdout
    if args.format == "json":
        count = write_json(scores, as_of, errors, out, warnings)
    elif args.format == "csv":
        count = write_csv(scores, out)
    else:
        count = write_table(scores, as_of, playbook.currency, out)
    if count == 0:
        raise CliError(
            f"{path}: no account could be read"
            + (f" ({len(errors)} problems listed above)." if errors else "; the file has no rows.")
        )
    if errors:
        rows = len({e.row for e in errors})
        print(
            f"csm: {rows} row(s) rejected, {count} scored; fix the rows named above.",
            file=sys.stderr,
        )
        return EXIT_PARTIAL
    return EXIT_OK


def cmd_sample(args: argparse.Namespace) -> int:
    """`csm sample`."""
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


def cmd_eval(args: argparse.Namespace) -> int:
    """`csm eval`."""
    from evals.runner import main as evals_main

    argv = ["--format", args.format]
    if args.suite:
        argv += ["--suite", args.suite]
    if args.playbook:
        argv += ["--playbook", str(args.playbook)]
    return evals_main(argv)


def cmd_playbook(args: argparse.Namespace) -> int:
    """`csm playbook`."""
    from tools.playbook import default_playbook_path

    if args.path:
        print(default_playbook_path())
        return EXIT_OK
    playbook = load_playbook(args.playbook)
    source = args.playbook or default_playbook_path()
    print(f"playbook {source}: valid, version {playbook.version}, currency {playbook.currency}")
    for warning in playbook.warnings():
        print(f"playbook {source}: warning: {warning}")
    return EXIT_OK


def cmd_kb(args: argparse.Namespace) -> int:
    """`csm kb index|search`."""
    from agent.interfaces.render import write_passages
    from tools.knowledge.index import KnowledgeBase, TerminalProgress, open_knowledge_base

    if args.kb_command is None:
        raise CliError("say what to do: `csm kb index` or `csm kb search QUERY`.")
    if args.kb_command == "index":
        kb = KnowledgeBase()
        report = kb.index(rebuild=args.rebuild, progress=TerminalProgress(where=kb.path))
        if not report.embedded_docs and not report.removed_docs and not args.rebuild:
            print(
                f"knowledge index up to date: {report.unchanged_docs} documents unchanged, "
                f"nothing embedded ({kb.path})."
            )
        else:
            print(
                f"embedded {len(report.embedded_docs)} documents ({report.chunks_embedded} "
                f"chunks), removed {len(report.removed_docs)}, {report.unchanged_docs} "
                f"unchanged, in {report.seconds:.1f}s ({kb.path})."
            )
        return EXIT_OK
    if args.k < 1:
        raise CliError("--k must be at least 1.")
    passages = open_knowledge_base().search(args.query, k=args.k, topic=args.topic,
                                            lang=args.lang)
    write_passages(passages, args.format, sys.stdout)
    return EXIT_OK


def _knowledge_ready() -> None:
    """Build the knowledge index, if it is not whole and current, before a long-running command
    starts its work (with progress on stderr), not inside its first request."""
    from tools.knowledge.index import open_knowledge_base

    open_knowledge_base()


def cmd_assess(args: argparse.Namespace) -> int:
    """`csm assess`."""
    from agent.interfaces.commands.assess import assess_portfolio

    return assess_portfolio(args, before_work=_knowledge_ready)


def cmd_import(args: argparse.Namespace) -> int:
    """`csm import`."""
    from agent.interfaces.commands.sweep import cmd_import as run

    return run(args)


def cmd_sweep(args: argparse.Namespace) -> int:
    """`csm sweep`."""
    # One math thread per process: the sweep's parallelism is its worker processes, and
    # native thread pools in every worker would fight over the cores (measured: 2x slower).
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    from agent.interfaces.commands.sweep import cmd_sweep as run

    return run(args, before_work=_knowledge_ready)  # once, before the workers start


def cmd_mcp(args: argparse.Namespace) -> int:
    """`csm mcp`."""
    from agent.interfaces.mcp_server import main as serve

    return serve(args.transport, args.host, args.port, args.allow_writes)


def cmd_chat(args: argparse.Namespace) -> int:
    """`csm chat`."""
    from agent.chat.agent import chat_model, max_steps, run_chat

    try:
        max_steps()  # a bad CSM_CHAT_MAX_STEPS is named before the session starts
        model = chat_model(args.model)
    except ValueError as error:
        raise CliError(str(error)) from None
    _knowledge_ready()
    return run_chat(args.thread, model=model)


COMMANDS = {
    "chat": cmd_chat,
    "mcp": cmd_mcp,
    "import": cmd_import,
    "sweep": cmd_sweep,
    "score": cmd_score,
    "kb": cmd_kb,
    "assess": cmd_assess,
    "sample": cmd_sample,
    "eval": cmd_eval,
    "playbook": cmd_playbook,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `csm` console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error already explained on stderr
        return int(stop.code or 0)
    if not args.command:
        parser.print_help()
        return EXIT_OK
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except BrokenPipeError:  # `csm score | head`: the reader has what it wanted
        _detach_stdout()
        return EXIT_OK
    except (CliError, PlaybookError, PortfolioError, KnowledgeError, DataDirError) as error:
        _say(f"csm: error: {error}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _say("csm: interrupted")
        return 130
    except Exception as error:  # noqa: BLE001 - the last resort: one sentence, no traceback
        if os.environ.get("CSM_DEBUG"):
            raise
        _say(f"csm: internal error in `csm {args.command}`: {type(error).__name__}: {error}. "
             "Run again with CSM_DEBUG=1 for the traceback and report it.")
        return EXIT_FAILED


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
