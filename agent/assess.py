"""`csm assess`: run the six-step graph over one account or a whole portfolio."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from agent.escaping import terminal_line
from agent.graph import AssessmentContext, build_graph
from agent.models import configured_model
from agent.writer import REPORTS
from tools.forecast import calibrate
from tools.playbook import load_playbook
from tools.portfolio import read_portfolio


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


def markdown(state: dict[str, Any]) -> str:
    """The five reports of one account, one after another."""
    reports = state["reports"]
    return "\n\n".join(getattr(reports, name) for name in REPORTS).rstrip() + "\n"


def assess_portfolio(args: argparse.Namespace) -> int:
    """Assess the chosen accounts; print or write the reports; 0 when all succeeded."""
    from agent.cli import CliError

    playbook = load_playbook(args.playbook)
    portfolio = read_portfolio(args.portfolio)
    for error in portfolio.errors:
        print(terminal_line(f"csm: rejected {error.sentence()}"), file=sys.stderr)
    as_of: date = args.as_of or portfolio.as_of or date.today()
    accounts = portfolio.accounts
    if args.account:
        accounts = [a for a in accounts if a.id == args.account]
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
    context = AssessmentContext(
        as_of=as_of,
        lang=args.lang,
        playbook=str(args.playbook) if args.playbook else None,
        model=model or "none",
        calibration=calibrate(portfolio.accounts, playbook, as_of),
    )
    graph = build_graph(checkpointer=None)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for n, account in enumerate(accounts, start=1):
        state = graph.invoke({"account": account}, context=context)
        text = (
            json.dumps(state_json(state), ensure_ascii=False, indent=2) + "\n"
            if args.format == "json"
            else markdown(state)
        )
        if args.out:
            suffix = "json" if args.format == "json" else "md"
            path = Path(args.out) / f"{account.id}.{args.lang}.{suffix}"
            path.write_text(text, encoding="utf-8")
            print(terminal_line(f"[{n}/{len(accounts)}] {account.id}: wrote {path}"),
                  file=sys.stderr)
        else:
            sys.stdout.write(text)
    if args.out:
        print(
            f"assessed {len(accounts)} account(s) in {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
    return 2 if portfolio.errors else 0
