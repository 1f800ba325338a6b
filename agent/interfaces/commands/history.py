"""`csm history export`: the store's snapshots as the SPEC 14 history file (JSONL or CSV), the
input of `csm backtest` and of any analysis of what happened to the clients."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from agent.interfaces.errors import CliError
from tools.escaping import terminal_line
from tools.paths import store_location

if TYPE_CHECKING:  # the store and the account model load when a command runs, not for --help
    from agent.sweeps.store import Store

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def register(sub: Any) -> None:
    """Add `csm history export` to the command line."""
    history = sub.add_parser(
        "history", help="the store's history of every account (export)",
        description="The accounts as every sweep saw them, with what became of them.",
    )
    actions = history.add_subparsers(dest="action", metavar="ACTION", required=True,
                                     parser_class=type(history))
    export = actions.add_parser(
        "export", help="write the history file: one row per account per sweep",
        description="Write the store's history in the SPEC 14 history-file format: one row per "
                    "account per snapshot date, with every account field as it was known on "
                    "that date, `as_of` (the snapshot date) and `churned_on` (the day the "
                    "account churned, empty if it had not churned by the last date). Churned "
                    "accounts' earlier rows are included.",
        epilog="Exit codes: 0 written, 1 no store or no sweep in it.\nExamples:\n"
               "  csm history export --out history.jsonl\n"
               "  csm history export --format csv > history.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("--format", choices=["jsonl", "csv"],
                        help="jsonl (default) or csv (list fields as JSON text); default: from "
                        "the --out extension, else jsonl")
    export.add_argument("--out", type=Path, metavar="FILE",
                        help="the file to write (default: standard output)")
    export.add_argument("--db", metavar="PATH|URL",
                        help="the store: a SQLite file or a postgresql:// URL (default: $CSM_DB, "
                        "else csm.sqlite3 in the data directory)")
    export.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    """`csm history export`."""
    from agent.sweeps.store import StoreError, open_store, store_exists

    if not store_exists(args.db):
        raise CliError(f"{store_location(args.db)}: no store there; run `csm import` and "
                       "`csm sweep` first, or pass --db PATH.")
    kind = args.format or (FORMATS.get(args.out.suffix.lower()) if args.out else None) or "jsonl"
    try:
        store = open_store(args.db)
    except StoreError as error:
        raise CliError(str(error)) from None
    try:
        span = store.history_span()
        if span is None:
            raise CliError(f"{store.where} holds no sweep yet; run `csm sweep` first.")
        days = store.churn_days()
        if args.out is None:
            tally = _write(store, span[1], days, kind, sys.stdout)
        else:
            partial = args.out.with_name(f".{args.out.name}.partial")
            try:
                with open(partial, "w", encoding="utf-8", newline="") as handle:
                    tally = _write(store, span[1], days, kind, handle)
                os.replace(partial, args.out)
            except OSError as error:
                partial.unlink(missing_ok=True)
                raise CliError(f"--out {args.out}: cannot be written ({error.strerror}); pass "
                               "a file in a folder you can write to.") from None
        _tell(tally, span, days, args.out)
    finally:
        store.close()
    return 0


def new_tally() -> dict[str, Any]:
    """What the rows of a history count: rows, rows of snapshots older than the inputs column
    (`old`) and the fields those carry, accounts."""
    return {"rows": 0, "old": 0, "old_fields": set(), "accounts": set()}


def store_rows(store: Store, tally: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The store's history rows, exactly as `csm history export` writes them (nothing when no
    sweep stored any): what `csm backtest` and `csm learn` read without a HISTORY file."""
    span = store.history_span()
    if span is None:
        return iter(())
    return _rows(store, span[1], store.churn_days(), tally)


def _rows(
    store: Store, end: str, churn_days: dict[str, str], tally: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Every snapshot as a history row, counting what the summary says."""
    from tools.portfolio.history import history_row

    for as_of, account_id, inputs, snapshot in store.history():
        if inputs is None:
            tally["old"] += 1
            tally["old_fields"].update(k for k, v in snapshot.items() if v is not None)
        tally["rows"] += 1
        tally["accounts"].add(account_id)
        yield history_row(as_of, inputs, snapshot, churn_days.get(account_id), end)


def _write(
    store: Store, end: str, churn_days: dict[str, str], kind: str, out: IO[str]
) -> dict[str, Any]:
    """Write the history file in `kind` (csv or jsonl) to `out`; returns the tally."""
    from tools.portfolio.history import HISTORY_COLUMNS, history_csv_row

    tally = new_tally()
    if kind == "csv":
        writer = csv.writer(out)
        writer.writerow(HISTORY_COLUMNS)
        for row in _rows(store, end, churn_days, tally):
            writer.writerow(history_csv_row(row))
    else:
        for row in _rows(store, end, churn_days, tally):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return tally


def old_rows(tally: dict[str, Any]) -> str:
    """The rows made before the store kept every input, in one sentence."""
    from tools.portfolio.account import Account

    kept = [f for f in Account.model_fields if f in tally["old_fields"]]
    return (
        f"{tally['old']} row(s) come from snapshots made before the store kept every input "
        f"field (an older csm-agent); they carry only {', '.join(kept)}"
    )


def _tell(
    tally: dict[str, Any], span: tuple[str, str, int], churn_days: dict[str, str], out: Path | None
) -> None:
    """The summary and the notes, once each, on stderr (stdout may carry the file)."""
    first, end, dates = span
    churned = {i for i, day in churn_days.items() if i in tally["accounts"] and day <= end}
    later = sorted(i for i, day in churn_days.items() if i in tally["accounts"] and day > end)
    say = [
        f"csm history: {tally['rows']} rows, {len(tally['accounts'])} accounts, {dates} snapshot "
        f"date(s) from {first} to {end}, {len(churned)} account(s) churned by {end}"
        + (f"; written to {out}" if out else "")
    ]
    if tally["old"]:
        say.append(f"csm history: {old_rows(tally)}")
    if later:
        say.append(
            f"csm history: {len(later)} account(s) churned after the last snapshot date {end} "
            f"({', '.join(later)}): churned_on is empty in their rows until a sweep runs on or "
            "after that day"
        )
    for line in say:
        print(terminal_line(line), file=sys.stderr)
