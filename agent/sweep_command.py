"""`csm import` and `csm sweep`: load a portfolio into the store, run the routine, report."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from agent.escaping import terminal_line
from agent.portfolio_report import build_portfolio_report, render_portfolio_report
from agent.store import Store, StoreError
from agent.sweep import SweepOptions, run_sweep
from tools.account import Account
from tools.forecast import calibrate
from tools.paths import data_dir, store_path
from tools.playbook import load_playbook
from tools.portfolio import stream_accounts


def cmd_import(args: argparse.Namespace) -> int:
    """`csm import PORTFOLIO`: validated accounts into the store; bad rows are named."""
    _, results = stream_accounts(args.portfolio)
    rejected = 0

    def good() -> Any:
        nonlocal rejected
        for item in results:
            if isinstance(item, Account):
                yield item.model_dump(mode="json", exclude_none=True)
            else:
                rejected += 1
                for error in item:
                    print(terminal_line(f"csm: rejected {error.sentence()}"), file=sys.stderr)

    store = Store(store_path(args.db))
    try:
        count = store.import_accounts(good())
    finally:
        store.close()
    print(terminal_line(f"imported {count} accounts into {store.path} ({rejected} rows rejected)"))
    return 2 if rejected else 0


def _accounts(source: Path | None, store: Store) -> Iterator[Account]:
    """The valid accounts of the file or the store, streamed (for the forecast calibration)."""
    if source is None:
        yield from (Account.model_validate(record) for _, record in store.iter_accounts())
        return
    for item in stream_accounts(source)[1]:
        if isinstance(item, Account):
            yield item


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


def cmd_sweep(args: argparse.Namespace) -> int:
    """`csm sweep`."""
    from agent.cli import CliError

    playbook = load_playbook(args.playbook)
    source: Path | None = args.portfolio
    file_as_of = None
    if source is not None:
        if not source.exists():
            raise CliError(f"{source}: file not found; check the path.")
        file_as_of, _ = stream_accounts(source)
    store = Store(store_path(args.db))
    try:
        store.lock()
        if source is None and store.account_count() == 0:
            raise CliError(f"{store.path} holds no accounts; run `csm import PORTFOLIO` "
                           "or pass a portfolio file to `csm sweep`.")
        as_of: date = args.as_of or file_as_of or date.today()
        folder = args.out or data_dir() / "reports" / as_of.isoformat()
        out = None if args.no_reports else folder
        options = SweepOptions(
            as_of=as_of,
            routine=args.routine,
            source=source,
            out=out,
            workers=max(1, args.workers or os.cpu_count() or 1),
            lang=args.lang,
            model=None if args.with_model else "none",
            playbook=str(args.playbook) if args.playbook else None,
            resume=args.resume,
        )
        calibration = calibrate(_accounts(source, store), playbook, as_of)
        total = store.account_count() if source is None else None
        bar, progress = _progress(total)
        try:
            result = run_sweep(options, store, playbook, calibration, progress)
        except KeyboardInterrupt:
            done = len(store.done_ids(store.sweep(as_of.isoformat())["id"]))
            print(
                f"csm: interrupted; the {done} finished accounts are stored and the sweep is "
                f"marked incomplete; run `csm sweep --resume --as-of {as_of}` to finish it.",
                file=sys.stderr,
            )
            return 130
        finally:
            if bar is not None:
                bar.stop()
        if result.note:
            print(terminal_line(f"csm sweep: {result.note}."), file=sys.stderr)
        elif result.accounts == 0 and result.skipped == 0:
            raise CliError(f"{source or store.path}: no account could be read"
                           + (f" ({len(result.rejected)} problems listed above)."
                              if result.rejected else "; it has no rows."))
        report = build_portfolio_report(store, result.sweep_id, as_of, playbook, args.routine)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "portfolio.md").write_text(render_portfolio_report(report, playbook), "utf-8")
        (folder / "portfolio.json").write_text(
            json.dumps(report, ensure_ascii=False, indent=2), "utf-8"
        )
        rate = result.accounts / result.seconds if result.seconds else 0
        print(terminal_line(
            f"swept {result.accounts} accounts ({result.skipped} already done) as of {as_of} "
            f"in {result.seconds:.1f}s ({rate:.0f}/s); {len(result.alerts)} alerts; "
            f"portfolio report: {folder / 'portfolio.md'}"
        ))
        if args.notify and result.alerts:
            try:
                notify(args.notify, {"as_of": as_of.isoformat(), "alerts": result.alerts})
            except Exception as error:  # noqa: BLE001 - any delivery failure is reported
                raise CliError(
                    f"--notify {args.notify}: delivery failed ({error}); the sweep "
                    "itself is stored."
                ) from None
        return 2 if result.rejected else 0
    except StoreError as error:
        raise CliError(str(error)) from None
    finally:
        store.close()
