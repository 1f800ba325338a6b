"""`csm backtest` and `csm learn`: judge the playbook's churn probabilities against history, and
fit the churn models that a model file carries to scoring (SPEC 14)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from agent.interfaces.options import add_playbook_option, iso_date, positive_int
from tools.escaping import terminal_line

EXTRA_HINT = "install the extra: pip install 'csm-agent[learn]'"


def _require(command: str, modules: tuple[str, ...]) -> None:
    """One sentence naming the extra when scikit-learn (or matplotlib) is not installed."""
    from agent.interfaces.errors import CliError

    for module in modules:
        try:
            __import__(module)
        except ImportError:
            raise CliError(
                f"`csm {command}` needs {module}, which a base install leaves out; "
                f"{EXTRA_HINT}."
            ) from None


@contextmanager
def _history(args: argparse.Namespace, warnings: list[Any]) -> Iterator[tuple[str, Any, str]]:
    """The history's name, its validated rows and what it is in words: the HISTORY file, or
    else the store's snapshots (the rows `csm history export` writes), read in place."""
    from agent.interfaces.commands.history import new_tally, old_rows, store_rows
    from agent.interfaces.errors import CliError
    from agent.sweeps.store import StoreError, open_store, store_exists
    from tools.learning.history import history_file_rows, history_rows
    from tools.paths import store_location

    if args.history is not None:
        if args.db is not None:
            raise CliError("pass a HISTORY file or --db (the store's own history), not both.")
        path: Path = args.history
        if not path.exists():
            raise CliError(f"{path}: file not found; check the path.")
        yield path.name, history_file_rows(path, warnings), str(path)
        return
    if not store_exists(args.db):
        raise CliError(
            f"no HISTORY file given, and no store at {store_location(args.db)} to read the "
            "history from: pass a history file (JSONL or CSV, docs/backtest.md), or --db PATH, "
            "or sweep first "
            "(`csm import` and `csm sweep`, weekly say)."
        )
    try:
        store = open_store(args.db)
    except StoreError as error:
        raise CliError(str(error)) from None
    try:
        span = store.history_span()
        if span is None:
            raise CliError(f"{store.where} holds no sweep yet, so no history; run `csm sweep` "
                           "first (or pass a HISTORY file).")
        tally = new_tally()
        rows = history_rows(store.name, enumerate(store_rows(store, tally), start=1), warnings)
        yield store.name, rows, (
            f"the store {store.where} ({span[2]} sweeps, {span[0]} to {span[1]})"
        )
        if tally["old"]:
            print(terminal_line(f"csm {args.command}: {old_rows(tally)}"), file=sys.stderr)
    finally:
        store.close()


def _observations(args: argparse.Namespace, playbook: Any) -> tuple[list[Any], list[str], int]:
    """Read the history row by row into observations; bad rows are named on stderr and
    counted. Returns the observations, notes for the report and the rejected row count."""
    from agent.interfaces.errors import CliError
    from agent.sweeps.sweep import Rejections
    from tools.learning.backtest import observe
    from tools.learning.history import Snapshot
    from tools.portfolio.readers import failed_row

    tally = Rejections()
    observations = []
    started = time.perf_counter()
    with _history(args, tally.warnings) as (name, rows, described):
        for item in rows:
            tally.warn()
            if not isinstance(item, Snapshot):
                tally.reject(item)
                continue
            try:
                observations.append(observe(item, playbook))
            except Exception as error:  # noqa: BLE001 - one row never stops the others
                tally.reject([failed_row(name, item.row, item.account.id, error)])
        tally.warn()
    if not observations:
        raise CliError(
            f"{described}: no snapshot could be read"
            + (f" ({tally.rows} rows rejected, listed above)." if tally.rows else
               "; it has no rows.")
        )
    print(
        terminal_line(
            f"csm {args.command}: read {len(observations):,} snapshots from {described}"
            + (f" ({tally.rows:,} rows rejected)" if tally.rows else "")
            + f" in {time.perf_counter() - started:.1f}s"
        ),
        file=sys.stderr,
    )
    notes = []
    if tally.rows:
        notes.append(f"{tally.rows} history row(s) rejected (each named on stderr); the "
                     "backtest uses the others")
    return observations, notes, tally.rows


def _window(args: argparse.Namespace, playbook: Any, observations: list[Any],
            notes: list[str]) -> tuple[int, date]:
    latest = max(o.as_of for o in observations)
    end: date = args.end or latest
    if args.end is not None and args.end > latest:
        notes.append(
            f"--end {args.end.isoformat()} is after the latest snapshot ({latest.isoformat()}): "
            "churn up to the end date is taken as known"
        )
    return args.horizon_days or playbook.forecast.horizon_days, end


def cmd_backtest(args: argparse.Namespace) -> int:
    """`csm backtest`."""
    from agent.interfaces.errors import CliError, load_checked_playbook

    _require("backtest", ("sklearn",) + (("matplotlib",) if args.out else ()))
    from tools.learning.backtest import NotEnoughData, run_backtest
    from tools.learning.report import render_markdown, write_reliability_plots

    playbook = load_checked_playbook(args.playbook)
    observations, notes, rejected = _observations(args, playbook)
    horizon, end = _window(args, playbook, observations, notes)
    try:
        result = run_backtest(observations, playbook, horizon, end, notes).result
    except NotEnoughData as error:
        raise CliError(str(error)) from None
    if args.format == "json":
        sys.stdout.write(
            json.dumps(result.model_dump(mode="json", by_alias=True), ensure_ascii=False,
                       indent=2) + "\n"
        )
    else:
        sys.stdout.write(render_markdown(result))
    if args.out:
        try:
            written = write_reliability_plots(result, args.out)
        except OSError as error:
            raise CliError(f"--out {args.out}: cannot write the plots there "
                           f"({error.strerror}); pass a folder you can write to.") from None
        print(terminal_line(f"csm backtest: wrote {len(written)} reliability plots to "
                            f"{args.out}"), file=sys.stderr)
    return 2 if rejected else 0


def cmd_learn(args: argparse.Namespace) -> int:
    """`csm learn`."""
    from agent.interfaces.errors import CliError, load_checked_playbook

    _require("learn", ("sklearn",))
    from tools.learning.backtest import NotEnoughData, Refused, learn
    from tools.learning.model_file import parse_model, save_model

    playbook = load_checked_playbook(args.playbook)
    observations, notes, rejected = _observations(args, playbook)
    horizon, end = _window(args, playbook, observations, notes)
    try:
        data, _ = learn(observations, playbook, horizon, end, args.force, notes)
    except (NotEnoughData, Refused) as error:
        raise CliError(str(error)) from None
    try:
        save_model(data, args.out)
    except OSError as error:
        raise CliError(f"{args.out}: cannot be written ({error.strerror}); pass a path you "
                       "can write to.") from None
    model = parse_model(data, str(args.out))
    print(terminal_line(f"wrote {args.out}: {model.describe()}"))
    if model.forced:
        print(terminal_line(f"csm learn: warning: {model.reason}"), file=sys.stderr)
    return 2 if rejected else 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "history",
        nargs="?",
        type=Path,
        metavar="HISTORY",
        help="history file: .jsonl or .csv, one row per account per snapshot date with every "
        "account field, `as_of` and `churned_on` (docs/backtest.md); default: the store's own "
        "history (every sweep's snapshots, as `csm history export` writes them)",
    )
    parser.add_argument(
        "--db", metavar="PATH|URL",
        help="without HISTORY: the store whose sweeps are the history, a SQLite file or a "
        "postgresql:// URL (default: $CSM_DB, else csm.sqlite3 in the data directory)",
    )
    parser.add_argument(
        "--horizon-days",
        type=positive_int,
        metavar="N",
        help="a snapshot is positive when the account churned within N days after it "
        "(default: forecast.horizon_days of the playbook, 90)",
    )
    parser.add_argument(
        "--end",
        type=iso_date,
        metavar="DATE",
        help="the day up to which churn is known (default: the latest `as_of` in the history)",
    )
    add_playbook_option(parser)


def register(sub: Any) -> None:
    """Add `csm backtest` and `csm learn` to the command line."""
    backtest = sub.add_parser(
        "backtest",
        help="check churn predictions against what happened",
        description="Label every snapshot of a history file, or of the store's sweeps without "
        "one (did the account churn within the horizon?), split by time, fit the calibrated "
        "and learned models on the earlier snapshots and compare them with the base rate and "
        "the playbook's own probability on the later ones: AUC, PR AUC, Brier, log loss, "
        "calibration error, reliability, churn per tier and per factor. Needs the `learn` "
        "extra (scikit-learn, matplotlib).",
        epilog="Exit codes: 0 done, 2 some rows rejected (named on stderr), 1 failure (too "
        "little history, unreadable file, no store).\nExamples:\n"
        "  csm backtest                      # the store's sweeps (csm sweep, weekly say)\n"
        "  csm sample --history --out history.jsonl\n"
        "  csm backtest history.jsonl\n"
        "  csm backtest history.csv --horizon-days 60 --format json --out plots/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(backtest)
    backtest.add_argument(
        "--format", choices=["md", "json"], default="md",
        help="md (a readable report, default) or json (one object: docs/backtest.md)",
    )
    backtest.add_argument(
        "--out", type=Path, metavar="DIR",
        help="also write each model's reliability curve as a PNG into DIR",
    )
    backtest.set_defaults(run=cmd_backtest)

    learn = sub.add_parser(
        "learn",
        help="fit a churn model on history and save it",
        description="Backtest as `csm backtest` does, then fit the calibrated and learned "
        "models on every labelled snapshot and save them as a JSON model file (no code, "
        "versioned, with its features, training window and backtest figures). `csm score`, "
        "`csm assess` and `csm sweep` show its churn probability with --model-file. A model "
        "that does not beat the base rate on the backtest is not written unless --force.",
        epilog="Examples:\n  csm learn --out churn-model.json   # the store's sweeps\n"
        "  csm learn history.jsonl --out churn-model.json\n"
        "  csm score clients.csv --model-file churn-model.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(learn)
    learn.add_argument("--out", type=Path, required=True, metavar="MODEL_FILE",
                       help="the model file to write (JSON)")
    learn.add_argument("--force", action="store_true",
                       help="write the model even if it does not beat the base rate")
    learn.set_defaults(run=cmd_learn)
