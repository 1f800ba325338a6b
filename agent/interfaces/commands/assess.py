"""`csm assess`: run the six-step graph over one account or a whole portfolio."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from agent.assessment.graph import AssessmentContext, build_graph
from agent.assessment.writer import REPORTS
from agent.models import configured_model
from tools.escaping import terminal_line
from tools.filenames import report_name
from tools.planning.forecast import calibrate
from tools.portfolio.account import Account
from tools.portfolio.readers import failed_row, numbered_accounts, sample_portfolio_path


class AssessError(ValueError):
    """A user error of `csm assess`."""


def state_json(state: dict[str, Any]) -> dict[str, Any]:
    """The graph's final state as JSON-ready data."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        if hasattr(value, "model_dump"):
            out[key] = value.model_dump(mode="json")
        elif isinstance(value, list):
            out[key] = [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]
        else:
            out[key] = value
    return out


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def join_reports(texts: dict[str, str]) -> str:
    """The five reports of one account (name -> text), one after another, as one file."""
    return "\n\n".join(texts[name] for name in REPORTS).rstrip() + "\n"


def markdown(state: dict[str, Any]) -> str:
    """The five reports of one account, one after another."""
    reports = state["reports"]
    return join_reports({name: getattr(reports, name) for name in REPORTS})


def assess_portfolio(
    args: argparse.Namespace, before_work: Callable[[], None] = lambda: None
) -> int:
    """Assess the chosen accounts; print them, or write one file per account into --out under
    a name derived from its id (`tools.filenames`). A row that cannot be read or assessed is
    named and skipped: 0 when every account was assessed, 2 when some row was not, and an
    error when none was."""
    from agent.interfaces.errors import CliError, load_checked_playbook
    from agent.sweeps.sweep import Rejections, write_report

    playbook = load_checked_playbook(args.playbook)
    path = Path(args.portfolio) if args.portfolio else sample_portfolio_path()
    tally = Rejections()
    file_as_of, rows = numbered_accounts(path, tally.warnings)
    accounts: list[tuple[int, Account]] = []
    for row, item in rows:
        tally.warn()
        if isinstance(item, Account):
            accounts.append((row, item))
        else:
            tally.reject(item)
    as_of: date = args.as_of or file_as_of or date.today()
    every = [account for _, account in accounts]
    if args.account:
        accounts = [(row, a) for row, a in accounts if a.id == args.account]
        if not accounts:
            raise CliError(
                f"no account with id '{args.account}' in "
                f"{args.portfolio or 'the bundled sample portfolio'}; "
                "`csm score` lists the ids."
            )
    if not accounts:
        raise CliError("no account could be read from the portfolio.")
    try:  # built once for every account; the writer retries on its own
        model = configured_model(args.model, max_retries=0)
    except ValueError as error:
        raise CliError(str(error).replace("csm chat needs a model", "a model is needed")) from None
    before_work()  # the knowledge index, once the input is known to be usable
    context = AssessmentContext(
        as_of=as_of,
        lang=args.lang,
        playbook=str(args.playbook) if args.playbook else None,
        model=model or "none",
        calibration=calibrate(every, playbook, as_of),
    )
    graph = build_graph(checkpointer=None)
    if args.out:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CliError(f"--out {args.out}: cannot be used as the reports folder "
                           f"({error.strerror}); pass a folder you can write to.") from None
    started = time.perf_counter()
    done = 0
    for n, (row, account) in enumerate(accounts, start=1):
        try:
            state = graph.invoke({"account": account}, context=context)
            text = (
                json.dumps(state_json(state), ensure_ascii=False, indent=2) + "\n"
                if args.format == "json"
                else markdown(state)
            )
            if args.out:
                suffix = "json" if args.format == "json" else "md"
                name = report_name(account.id, args.lang, suffix)
                written = write_report(Path(args.out), name, text)
                line = f"[{n}/{len(accounts)}] {account.id}: wrote {written}"
                print(terminal_line(line), file=sys.stderr)
            else:
                sys.stdout.write(text)
            done += 1
        except BrokenPipeError:
            raise
        except Exception as error:  # noqa: BLE001 - one row never stops the others
            tally.reject([failed_row(path.name, row, account.id, error)])
    if done == 0:
        raise CliError(
            f"{path}: no account could be assessed ({tally.rows} rows not processed, "
            "listed above)."
        )
    if args.out:
        print(
            f"assessed {done} account(s) in {time.perf_counter() - started:.1f}s"
            + (f"; {tally.rows} rows not processed" if tally.rows else ""),
            file=sys.stderr,
        )
    return 2 if tally.rows else 0
