"""`csm score`: every account of a portfolio scored, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agent.interfaces.errors import (
    EXIT_OK,
    EXIT_PARTIAL,
    CliError,
    load_checked_playbook,
    load_run_model,
)
from agent.interfaces.options import add_model_file_option, add_playbook_option, iso_date
from tools.escaping import terminal_line

# --sort's choices (kept here so that `csm --help` imports no table code)
SORTS = ("churn", "health", "upsell", "id", "name")

Scored = TypeVar("Scored")

if TYPE_CHECKING:
    from tools.playbook import Playbook
    from tools.portfolio.account import Account
    from tools.portfolio.plausibility import Reviewed
    from tools.portfolio.readers import RowError, RowWarning
    from tools.scoring.score import ScoreSummary

def register(sub: Any) -> None:
    """Add `csm score` to the command line."""
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
    score.add_argument(
        "--sort",
        choices=list(SORTS),
        help="the table's order: churn (riskiest first, the default), health (least healthy "
        "first), upsell (largest expected upsell first), id or name; JSON and CSV keep the "
        "portfolio's order",
    )
    score.add_argument(
        "--wide",
        action="store_true",
        help="the table as wide as its longest cells (default: the terminal's width, 80 "
        "columns when the output is no terminal)",
    )
    add_playbook_option(score)
    add_model_file_option(score)
    score.set_defaults(run=run)


# accounts scored together: summaries for a table or CSV, every explanation for JSON (whose
# 35 or so dicts per account outgrow the caches in larger batches) (tools/scoring/score.py)
BATCH, FULL_BATCH = 512, 256


def _scores(
    accounts: Iterator[Account | list[RowError]],
    playbook: Playbook,
    as_of: date,
    warnings: list[RowWarning],
    full: bool,
    model: Any = None,
) -> Iterator[dict[str, Any] | ScoreSummary | list[RowError]]:
    """Score each account, BATCH accounts at a time: every explanation as plain data
    (`score_dicts`, for JSON) when `full`, else the figures a table or CSV shows
    (`score_summaries`); with a churn model, one by one, the full score with the model's
    forecast. Print rejected rows and warnings on stderr as they come. The reader adds its
    warnings (unknown columns, keys) to `warnings`; this adds each account's. Scores keep the
    portfolio's order."""
    from tools.portfolio.account import Account
    from tools.portfolio.plausibility import review
    from tools.portfolio.readers import RowWarning
    from tools.scoring.score import score_dicts, score_summaries, waiting

    if model is not None:
        from tools.learning.scoring import with_model
        from tools.scoring.score import score_reviewed

        def one(reviewed: Reviewed) -> Any:
            account = reviewed.account
            score = score_reviewed(reviewed, playbook, as_of)
            return with_model(model, account, score, playbook, as_of)

    scored, size = (score_dicts, FULL_BATCH) if full else (score_summaries, BATCH)
    batched = model is None
    printed = 0
    batch: list[Any] = []
    for item in accounts:
        if isinstance(item, Account):
            reviewed = review(item, as_of)
            if reviewed.warnings:
                source, row = item.origin or ("", 0)
                warnings.extend(
                    RowWarning(source=source, row=row, id=item.id, **w.model_dump())
                    for w in reviewed.warnings
                )
        else:
            for error in item:
                print(terminal_line(f"csm: rejected {error.sentence()}"), file=sys.stderr)
            yield item
        if len(warnings) > printed:
            for warning in warnings[printed:]:
                print(terminal_line(f"csm: warning: {warning.sentence()}"), file=sys.stderr)
            printed = len(warnings)
        if not isinstance(item, Account):
            continue
        if not batched:
            yield one(reviewed)
            continue
        # only the values the rules read wait for the batch: whole accounts outgrow the caches
        batch.append(waiting(reviewed, playbook))
        if len(batch) >= size:
            yield from _one_by_one(scored(batch, playbook, as_of))
            batch = []
    if batch:
        yield from _one_by_one(scored(batch, playbook, as_of))


def _one_by_one(scores: list[Scored]) -> Iterator[Scored]:
    """The scores in order, each let go as soon as it has been written (while it is still in
    the processor's caches), not the whole batch at the end."""
    scores.reverse()
    while scores:
        yield scores.pop()


def _active(
    items: Iterator[Account | list[RowError]], churned: list[str]
) -> Iterator[Account | list[RowError]]:
    """The rows but the churned accounts (SPEC 14: not scored for action), whose ids go to
    `churned`."""
    from tools.portfolio.account import Account

    for item in items:
        if isinstance(item, Account) and item.status == "churned":
            churned.append(item.id)
            continue
        yield item


def quiet_collector() -> None:
    """Keep the cycle collector off the accounts in flight: what start-up loaded (modules,
    playbook) is set aside for good, and a collection waits for 50,000 new objects instead of
    700. An account is some hundred objects without cycles, and a batch of them lives until it
    is scored, so the default thresholds rescanned them (and everything loaded) over and over:
    a quarter of the CPU of a large portfolio's scoring."""
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def run(args: argparse.Namespace) -> int:
    """`csm score`."""
    from agent.interfaces.render import only_scores, write_csv, write_json, write_table
    from tools.portfolio.readers import sample_portfolio_path, stream_accounts
    if args.format != "table" and (args.sort or args.wide):
        raise CliError(f"--sort and --wide shape the table; --format {args.format} keeps every "
                       "account in the portfolio's order at full width (drop the option).")
    playbook = load_checked_playbook(args.playbook)
    model = load_run_model(args.model_file, playbook, args.playbook)
    quiet_collector()
    path = args.portfolio or sample_portfolio_path()
    warnings: list[RowWarning] = []
    file_as_of, accounts = stream_accounts(path, warnings)
    as_of = args.as_of or file_as_of or date.today()
    errors: list[RowError] = []
    churned: list[str] = []
    # JSON shows every explanation, as plain data; a table or CSV row only the figures
    full = args.format == "json"
    scores = only_scores(
        _scores(_active(accounts, churned), playbook, as_of, warnings, full, model), errors
    )
    out = sys.stdout
    summary = None
    if model is not None:
        from tools.learning.scoring import model_summary

        summary = model_summary(model)
    if args.format == "json":
        count = write_json(scores, as_of, errors, out, warnings, summary)
    elif args.format == "csv":
        count = write_csv(scores, out, model=summary is not None)
    else:
        count = write_table(scores, as_of, playbook, out, summary, sort=args.sort or "churn",
                            wide=args.wide)
    if churned:
        from agent.accounts import churned_left_out

        print(f"csm score: {churned_left_out(len(churned))} (no longer clients)",
              file=sys.stderr)
    if count == 0 and churned and not errors:
        raise CliError(f"{path}: every account is churned ({len(churned)}); there is no "
                       "active client to score.")
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
