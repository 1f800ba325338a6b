"""`csm import` and `csm sweep`: load a portfolio into the store, run the routine, report."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.interfaces.commands.kb import knowledge_ready
from agent.interfaces.options import (
    add_model_budget_options,
    add_model_file_option,
    add_playbook_option,
    iso_date,
    model_budget,
    positive_int,
)
from tools.escaping import terminal_line
from tools.paths import data_dir

if TYPE_CHECKING:
    from agent.sweeps.store import Store
    from tools.portfolio.account import Account


def cmd_import(args: argparse.Namespace) -> int:
    """`csm import PORTFOLIO [--full]`: validated accounts into the store; a row that cannot be
    read or stored is named and skipped (exit 2); no row imported is a failure (exit 1). With
    --full, the stored active accounts absent from the file are marked churned (SPEC 14)."""
    from agent.interfaces.errors import CliError
    from agent.sweeps.store import open_store
    from agent.sweeps.sweep import Rejections
    from tools.portfolio.account import Account
    from tools.portfolio.readers import failed_row, numbered_accounts

    source = args.portfolio.name
    tally = Rejections()
    listed = _listed(args) if args.full else None
    _, rows = numbered_accounts(args.portfolio, tally.warnings)
    store = open_store(args.db)
    try:
        before = store.statuses()
        churn = _absent(args, listed, before) if listed else None
        came_back: list[str] = []
        churned_here = [0]

        def good() -> Iterator[tuple[int, dict[str, Any]]]:
            for row, item in rows:
                tally.warn()
                if not isinstance(item, Account):
                    tally.reject(item)
                    continue
                try:
                    record = item.model_dump(mode="json", exclude_none=True)
                except Exception as error:  # noqa: BLE001 - one row never stops the others
                    tally.reject([failed_row(source, row, item.id, error)])
                    continue
                if item.status == "churned":
                    churned_here[0] += 1
                elif before.get(item.id) == "churned":
                    came_back.append(item.id)
                yield row, record

        count, failed = store.import_accounts(good())
        for failure in failed:
            tally.reject([failed_row(source, failure.row, failure.record["id"], failure.error)])
        if count == 0:
            raise CliError(
                f"{args.portfolio}: no account could be read"
                + (f" ({tally.rows} rows rejected, listed above)" if tally.rows
                   else "; the file has no rows")
                + ("; nobody was marked churned" if churn and churn[0] else "")
                + ("; fix them and import again." if tally.rows else ".")
            )
        if churn and churn[0]:
            store.mark_churned(*churn)
    finally:
        store.close()
    print(terminal_line(
        f"imported {count} accounts into {store.where} ({tally.rows} rows rejected)"
        + (f"; {churned_here[0]} of them churned in {source}" if churned_here[0] else "")
    ))
    if came_back:
        print(terminal_line(
            f"{len(came_back)} account(s) stored as churned are in {source} as active again: "
            + ", ".join(sorted(came_back))
        ))
    return 2 if tally.rows else 0


def _listed(args: argparse.Namespace) -> tuple[set[str], date] | None:
    """--full: the account ids the file names and the day the accounts it lacks churned; None
    (with the reason on stderr) when no account may be marked: a row whose id cannot be read
    may be any of them, and an empty file names nobody."""
    from tools.portfolio.readers import iter_rows, row_ids

    file_as_of, rows = iter_rows(args.portfolio)
    ids, unidentified = row_ids(rows)
    if unidentified:
        print(terminal_line(
            f"csm: --full: {unidentified} row(s) of {args.portfolio.name} name no readable "
            "account id, so the accounts absent from it cannot be told apart from them; nobody "
            "is marked churned. Fix those rows and import again."
        ), file=sys.stderr)
        return None
    return (ids, args.as_of or file_as_of or date.today()) if ids else None


def _absent(
    args: argparse.Namespace, listed: tuple[set[str], date], statuses: dict[str, str]
) -> tuple[list[str], str]:
    """The stored active accounts the file lacks and the day they churned, said on stdout
    before anything is written."""
    ids, day = listed
    name = args.portfolio.name
    gone = sorted(i for i, status in statuses.items() if status == "active" and i not in ids)
    if gone:
        print(terminal_line(
            f"--full: {len(gone)} stored active account(s) absent from {name} will be marked "
            f"churned on {day.isoformat()}: " + ", ".join(gone)
        ))
    else:
        print(terminal_line(f"--full: every stored active account is in {name}; none churned"))
    return gone, day.isoformat()


def _accounts(source: Path | None, store: Store) -> Iterator[Account]:
    """The valid accounts of the file or the store that have a history, streamed: the only ones
    the forecast calibration counts, with no validation pass over the others. The stored
    accounts were validated on import and have unique ids, so only those with a history are
    validated again; in a file a duplicate id is refused whatever row it is in, so a file is
    validated whole, and only when some row has a history."""
    from tools.portfolio.account import Account
    from tools.portfolio.readers import iter_rows, validated_rows

    if source is None:
        rows = (row for row in store.iter_accounts() if _has_history(row[1]))
    elif any(_has_history(record) for _, record in iter_rows(source)[1]):
        rows = iter_rows(source)[1]
    else:
        return
    name = source.name if source is not None else "store"
    for _, _, item in validated_rows(name, rows):
        if isinstance(item, Account) and item.history:
            yield item


def _has_history(record: Any) -> bool:
    """Whether a raw row may hold history points (a list, or a CSV cell's text)."""
    return isinstance(record, dict) and bool(record.get("history"))


def resume_command(args: argparse.Namespace, as_of: date, db: str, folder: Path) -> str:
    """The shell command that resumes this sweep: the same inputs, store (`db`: its
    locator, a URL without its password) and folder."""
    argv = ["csm", "sweep"]
    if args.portfolio is not None:
        argv.append(str(args.portfolio.resolve()))
    argv += ["--resume", "--as-of", as_of.isoformat(), "--db", db,
             "--out", str(folder)]
    if args.no_reports:
        argv.append("--no-reports")
    if args.routine != "daily":
        argv.append(f"--{args.routine}")
    if args.lang != "en":
        argv += ["--lang", args.lang]
    if args.with_model:
        argv.append("--with-model")
    if args.playbook:
        argv += ["--playbook", str(Path(args.playbook).resolve())]
    if getattr(args, "model_file", None):
        argv += ["--model-file", str(Path(args.model_file).resolve())]
    if args.workers:
        argv += ["--workers", str(args.workers)]
    if getattr(args, "executor", None):
        argv += ["--executor", args.executor]
    for option in ("model_deadline", "model_run_deadline", "model_concurrency"):
        if getattr(args, option, None):
            argv += ["--" + option.replace("_", "-"), f"{getattr(args, option):g}"]
    if getattr(args, "strict", False):
        argv.append("--strict")
    if args.notify:
        argv += ["--notify", args.notify]
    return shlex.join(argv)


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGINT reached the sweep: it stops as on Ctrl-C (exit 128 + the signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """Turn the first SIGTERM or SIGINT into `Stopped` in the main thread; the next ones are
    ignored while the sweep ends its workers and marks itself incomplete."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kinds = (signal.SIGTERM, signal.SIGINT)
    before = {kind: signal.getsignal(kind) for kind in kinds}

    def stop(signum: int, _frame: Any) -> None:
        for kind in kinds:
            signal.signal(kind, signal.SIG_IGN)
        raise Stopped(signum)

    for kind in kinds:
        signal.signal(kind, stop)
    try:
        yield
    finally:
        for kind, handler in before.items():
            signal.signal(kind, handler)


def _progress(total: int | None) -> Any:
    """A rich progress bar on a terminal, plain log lines otherwise."""
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        bar = Progress(
            "sweeping", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
        )
        task = bar.add_task("sweep", total=total)
        bar.start()
        return bar, lambda done, _: bar.update(task, completed=done)
    step = max(1000, (total or 0) // 10)
    last = [0]

    def log(done: int, _: int | None) -> None:
        if done - last[0] >= step:
            last[0] = done
            print(
                f"csm sweep: {done} accounts done" + (f" of {total}" if total else ""),
                file=sys.stderr,
                flush=True,
            )

    return None, log


def _check_ray() -> None:
    """`--executor ray` without Ray installed: one sentence naming the extra."""
    from importlib.util import find_spec

    from agent.interfaces.errors import CliError

    if find_spec("ray") is None:
        raise CliError("--executor ray needs Ray, which is not installed; install it with "
                       "pip install 'csm-agent[ray]', or use --executor local.")


def notify(target: str, payload: dict[str, Any]) -> None:
    """Send the alerts JSON to a webhook URL (POST) or a command (on its stdin)."""
    body = json.dumps(payload, ensure_ascii=False)
    if target.startswith(("http://", "https://")):
        import httpx

        response = httpx.post(
            target, content=body, timeout=15, headers={"content-type": "application/json"}
        )
        response.raise_for_status()
    else:
        subprocess.run(target, shell=True, input=body, text=True, check=True, timeout=60)  # noqa: S602


def cmd_sweep(
    args: argparse.Namespace, before_work: Callable[[], None] = lambda: None
) -> int:
    """`csm sweep`."""
    from agent.interfaces.errors import (
        EXIT_FELL_BACK,
        CliError,
        load_checked_playbook,
        load_run_model,
    )
    from agent.models import model_name, report_model
    from agent.sweeps.executors import default_executor
    from agent.sweeps.portfolio_html import render_portfolio_html
    from agent.sweeps.portfolio_report import build_portfolio_report, render_portfolio_report
    from agent.sweeps.store import StoreError, open_store
    from agent.sweeps.sweep import SweepOptions, run_sweep
    from tools.planning.forecast import calibrate
    from tools.portfolio.readers import stream_accounts

    try:
        budget = model_budget(args)
        if args.with_model and report_model() is None:
            raise CliError("--with-model needs a model: set CSM_MODEL=provider:model (for "
                           "example openai:gpt-4.1-mini with OPENAI_API_KEY, or OPENAI_BASE_URL "
                           "for an OpenAI-compatible server).")
    except ValueError as error:
        raise CliError(str(error)) from None
    executor = args.executor or default_executor()
    if executor == "ray":
        _check_ray()
    playbook = load_checked_playbook(args.playbook)
    churn_model = load_run_model(args.model_file, playbook, args.playbook)
    source: Path | None = args.portfolio
    file_as_of = None
    if source is not None:
        if not source.exists():
            raise CliError(f"{source}: file not found; check the path.")
        file_as_of, _ = stream_accounts(source)
    store = open_store(args.db)
    try:
        store.lock()
        if source is None and store.account_count() == 0:
            raise CliError(f"{store.where} holds no accounts; run `csm import PORTFOLIO` "
                           "or pass a portfolio file to `csm sweep`.")
        as_of: date = args.as_of or file_as_of or date.today()
        folder = (args.out or data_dir() / "reports" / as_of.isoformat()).expanduser().resolve()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CliError(f"--out {folder}: cannot be used as the reports folder "
                           f"({error.strerror}); pass a folder you can write to.") from None
        options = SweepOptions(
            as_of=as_of,
            routine=args.routine,
            source=source,
            out=None if args.no_reports else folder,
            workers=args.workers or (0 if executor == "ray" else os.cpu_count() or 1),
            executor=executor,
            lang=args.lang,
            model=None if args.with_model else "none",
            model_name=model_name() if args.with_model else "none",
            model_concurrency=int(budget["concurrency"]),
            model_deadline=float(budget["deadline"]),
            run_deadline=float(budget["run_deadline"]),
            max_failures=int(budget["max_failures"]),
            playbook=str(args.playbook) if args.playbook else None,
            resume=args.resume,
            churn_model=churn_model,
        )
        before_work()  # the knowledge index, once the inputs are known to be usable
        calibration = calibrate(_accounts(source, store), playbook, as_of)
        total = store.account_count() if source is None else None
        bar, progress = _progress(total)
        try:
            with stopped_by_signals():
                result = run_sweep(options, store, playbook, calibration, progress)
        except KeyboardInterrupt as stop:
            code = 128 + stop.signum if isinstance(stop, Stopped) else 130
            how = f"stopped by {stop}" if isinstance(stop, Stopped) else "interrupted"
            row = store.sweep(as_of.isoformat())
            if row is None or row["status"] == "complete":
                print(f"csm: {how} before the sweep started; run the same command again.",
                      file=sys.stderr)
                return code
            done = len(store.done_ids(row["id"]))
            print(
                f"csm: {how}; the {done} finished accounts are stored and the sweep is "
                f"marked incomplete; finish it with: "
                f"{resume_command(args, as_of, store.locator, folder)}",
                file=sys.stderr,
            )
            return code
        finally:
            if bar is not None:
                bar.stop()
        if result.accounts == 0 and result.skipped == 0:
            if result.churned and not result.rejected.rows:
                raise CliError(f"{source or store.where}: every account is churned "
                               f"({result.churned}); there is no active client to sweep.")
            raise CliError(f"{source or store.where}: no account could be read"
                           + (f" ({result.rejected.rows} rows rejected, listed above)."
                              if result.rejected.rows else "; it has no rows."))
        if result.note:
            print(terminal_line(f"csm sweep: {result.note}."), file=sys.stderr)
        report = build_portfolio_report(
            store, result.sweep_id, as_of, playbook, args.routine, churn_model
        )
        (folder / "portfolio.md").write_text(
            render_portfolio_report(report, playbook, args.lang), "utf-8"
        )
        (folder / "portfolio.json").write_text(
            json.dumps(report, ensure_ascii=False, indent=2), "utf-8", "backslashreplace"
        )
        (folder / "portfolio.html").write_text(
            render_portfolio_html(report, playbook, args.lang), "utf-8", "backslashreplace"
        )
        rate = result.accounts / result.seconds if result.seconds else 0
        rejected = f"; {result.rejected.rows} rows not processed" if result.rejected.rows else ""
        print(terminal_line(
            f"swept {result.accounts} accounts ({result.skipped} already done"
            + (f", {result.churned} churned not swept" if result.churned else "")
            + f") as of {as_of} "
            f"in {result.seconds:.1f}s ({rate:.0f}/s); {len(result.alerts)} alerts{rejected}; "
            f"portfolio report: {folder / 'portfolio.md'}"
        ))
        fell = report.get("model_summaries", {}).get("reports_fell_back", 0)
        if fell:
            summary = report["model_summaries"]
            kinds = ", ".join(f"{k} {n}" for k, n in summary["reasons"].items())
            print(terminal_line(
                f"csm: {fell} of {summary['reports_asked']} model summaries fell back to the "
                f"deterministic ones, in {summary['accounts_total']} account(s) ({kinds}); "
                f"listed in {folder / 'portfolio.md'}"
            ), file=sys.stderr)
        if args.notify and result.alerts:
            try:
                notify(args.notify, {"as_of": as_of.isoformat(), "alerts": result.alerts})
            except Exception as error:  # noqa: BLE001 - any delivery failure is reported
                raise CliError(
                    f"--notify {args.notify}: delivery failed ({error}); the sweep "
                    "itself is stored."
                ) from None
        if args.strict and fell:
            return EXIT_FELL_BACK
        return 2 if result.rejected.rows else 0
    except StoreError as error:
        raise CliError(str(error)) from None
    finally:
        store.close()


DB_HELP = ("the store: a SQLite file or a postgresql://user@host:port/database URL (default: "
           "$CSM_DB, else csm.sqlite3 in the data directory)")


def register(sub: Any) -> None:
    """Add `csm import` and `csm sweep` to the command line."""
    imp = sub.add_parser(
        "import", help="load a portfolio into the store",
        description="Validate a portfolio and insert or update its accounts in the store "
                    "(default: csm.sqlite3 in $CSM_DATA_DIR; --db or CSM_DB: a SQLite file or a "
                    "postgresql:// URL). Bad rows are named and skipped. "
                    "A row with status churned is stored as churned (it needs churned_on); a "
                    "plain import never churns an account the file lacks, --full does.",
        epilog="Exit codes: 0 every row imported, 2 some rows rejected (named on stderr), "
               "1 no row imported.\nExamples:\n  csm import clients.csv\n"
               "  csm import weekly-export.csv --full --as-of 2026-11-27 && csm sweep --weekly",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("portfolio", type=Path, metavar="PORTFOLIO", help=".json, .jsonl or .csv")
    imp.add_argument("--full", action="store_true",
                     help="the file is the whole portfolio: every stored active account it lacks "
                     "has left and is marked churned on the as-of date (the ids are printed "
                     "first; nobody is asked)")
    imp.add_argument("--as-of", type=iso_date, metavar="DATE",
                     help="the day absent accounts churned, with --full (default: the file's "
                     "as_of, else today)")
    imp.add_argument("--db", metavar="PATH|URL", help=DB_HELP)
    imp.set_defaults(run=cmd_import)

    sweep = sub.add_parser(
        "sweep", help="run the daily or weekly routine over every account",
        description="Assess every account through the six-step graph, store a snapshot per "
                    "account, raise alerts for what changed since the previous sweep, write "
                    "each account's reports and the portfolio report (Markdown, JSON and a "
                    "self-contained HTML page).",
        epilog="Exit codes: 0 done, 2 some rows not processed (named on stderr and in the "
               "portfolio report), 3 with --strict: some summary asked of the model fell back "
               "to the deterministic one (named on stderr and in the portfolio report), 1 "
               "failure (nothing half-written: finished accounts are stored), 130 interrupted "
               "(Ctrl-C, SIGINT), 143 stopped (SIGTERM): finish with the --resume command it "
               "prints.\n"
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
                       "portfolio.md, portfolio.json, portfolio.html")
    sweep.add_argument("--no-reports", action="store_true",
                       help="store snapshots and the portfolio report only")
    sweep.add_argument("--workers", type=positive_int, metavar="N",
                       help="worker processes, 1 or more (default: one per core)")
    sweep.add_argument("--executor", choices=["local", "ray"],
                       help="where the workers run: local processes (default), or Ray actors "
                       "on the cluster of RAY_ADDRESS, else a Ray instance started for the sweep "
                       "(default ray when RAY_ADDRESS is set; needs csm-agent[ray]); with ray, "
                       "--workers defaults to the cluster's CPUs")
    sweep.add_argument("--with-model", action="store_true",
                       help="let the model configured by CSM_MODEL write the report prose")
    add_model_budget_options(sweep, "sweep")
    sweep.add_argument("--resume", action="store_true", help="finish an interrupted sweep")
    sweep.add_argument("--lang", choices=["en", "ru"], default="en", help="report language")
    sweep.add_argument("--db", metavar="PATH|URL", help=DB_HELP)
    sweep.add_argument("--notify", metavar="URL|COMMAND",
                       help="send the alerts JSON to a webhook (POST) or a command's stdin")
    add_playbook_option(sweep)
    add_model_file_option(sweep)
    sweep.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """`csm sweep`."""
    # One math thread per process: the sweep's parallelism is its worker processes, and
    # native thread pools in every worker would fight over the cores (measured: 2x slower).
    from agent.sweeps.executors.base import THREAD_CAPS

    for name, value in THREAD_CAPS.items():
        os.environ.setdefault(name, value)
    return cmd_sweep(args, before_work=knowledge_ready)  # once, before the workers start
