"""`csm assess`: run the six-step graph over one account or a whole portfolio."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
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
)
from tools.escaping import terminal_line

if TYPE_CHECKING:
    from tools.portfolio.account import Account


def assess_portfolio(
    args: argparse.Namespace, before_work: Callable[[], None] = lambda: None
) -> int:
    """Assess the chosen accounts; print them, or write one file per account into --out under
    a name derived from its id (`tools.filenames`). A row that cannot be read or assessed is
    named and skipped: 0 when every account was assessed, 2 when some row was not, and an
    error when none was; with --strict, 3 when a summary asked of the model fell back. Each
    account with a summary that fell back is named on stderr."""
    from agent.accounts import churned_account, churned_left_out
    from agent.assessment.budget import ModelBudget
    from agent.assessment.context import AssessmentContext
    from agent.assessment.graph import build_graph
    from agent.assessment.writer import markdown, state_json
    from agent.interfaces.errors import (
        EXIT_FELL_BACK,
        CliError,
        load_checked_playbook,
        load_run_model,
    )
    from agent.models import report_model
    from agent.sweeps.sweep import Fallbacks, Rejections, prose_keys, write_report
    from tools.filenames import report_name
    from tools.planning.forecast import calibrate
    from tools.portfolio.account import Account
    from tools.portfolio.readers import failed_row, numbered_accounts, sample_portfolio_path

    playbook = load_checked_playbook(args.playbook)
    churn_model = load_run_model(args.model_file, playbook, args.playbook)
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
    every = [account for _, account in accounts]  # churned ones' history calibrates too
    if args.account:
        accounts = [(row, a) for row, a in accounts if a.id == args.account]
        if not accounts:
            raise CliError(
                f"no account with id '{args.account}' in "
                f"{args.portfolio or 'the bundled sample portfolio'}; "
                "`csm score` lists the ids."
            )
        if accounts[0][1].status == "churned":
            raise CliError(f"{churned_account(accounts[0][1])}; its history stays in the "
                           "store (`csm history export`).")
    churned = sum(1 for _, a in accounts if a.status == "churned")
    accounts = [(row, a) for row, a in accounts if a.status != "churned"]
    if churned:
        print(f"csm assess: {churned_left_out(churned)} (no longer clients)", file=sys.stderr)
    if not accounts:
        raise CliError(
            f"every account is churned ({churned}); there is no active client to assess."
            if churned else "no account could be read from the portfolio."
        )
    try:  # built once for every account; the writer retries on its own
        settings = model_budget(args)
        model = report_model(args.model, float(settings["deadline"]))
    except ValueError as error:
        raise CliError(str(error).replace("csm chat needs a model", "a model is needed")) from None
    budget = ModelBudget.local(**settings) if model is not None else None  # type: ignore[arg-type]
    before_work()  # the knowledge index, once the input is known to be usable
    context = AssessmentContext(
        as_of=as_of,
        lang=args.lang,
        playbook=str(args.playbook) if args.playbook else None,
        model=model or "none",
        calibration=calibrate(every, playbook, as_of),
        churn_model=churn_model,
        model_budget=budget,
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
    fallbacks = Fallbacks()
    for n, (row, account) in enumerate(accounts, start=1):
        try:
            state = graph.invoke({"account": account}, context=context)
            fallbacks.add({"id": account.id, **prose_keys(state)})
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
    if fallbacks.reports:
        print(terminal_line(f"csm: {fallbacks.sentence()}; each report says so under its "
                            "summary"), file=sys.stderr)
    if args.strict and fallbacks.reports:
        return EXIT_FELL_BACK
    return 2 if tally.rows else 0


def register(sub: Any) -> None:
    """Add `csm assess` to the command line."""
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
        "1 none, 3 with --strict: some summary asked of the model fell back to the "
        "deterministic one (named on stderr and under the summary).\nExamples:\n"
        "  csm assess --account acc-007\n"
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
    add_model_budget_options(assess, "run")
    add_playbook_option(assess)
    add_model_file_option(assess)
    assess.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """`csm assess`."""
    return assess_portfolio(args, before_work=knowledge_ready)
