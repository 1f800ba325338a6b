"""One tool surface for chat, MCP and agent runners: the deterministic tools, knowledge search,
the account store and the six-step assessment, with typed arguments and JSON results.

Read-only tools are in READ_TOOLS; the ones that write (import a portfolio, save a report) are
in WRITE_TOOLS and say so in their names. Every function raises ToolError with one clear
sentence for a bad argument (an unknown account id, say); adapters turn it into a tool error."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.account import Account
from tools.assessment import score_account as _score
from tools.paths import store_path
from tools.playbook import load_playbook
from tools.portfolio import Portfolio, read_portfolio

Lang = Literal["en", "ru"]
LIST_LIMIT = 1000  # rows of `errors` / `rejected` a tool returns (the count covers them all)


class ToolError(ValueError):
    """A tool call that cannot be answered; the message says why and what to do."""


class Workspace(BaseModel):
    """Where the tools find accounts: a portfolio file and the store, as of a day."""

    portfolio: str | None = Field(default=None, description="portfolio file (default: "
                                  "$CSM_PORTFOLIO, else the bundled sample)")
    db: str | None = Field(default=None, description="the store (default: in $CSM_DATA_DIR)")
    as_of: date | None = None


def workspace() -> Workspace:
    """The workspace from the environment (CSM_PORTFOLIO, CSM_DB, CSM_AS_OF)."""
    as_of = os.environ.get("CSM_AS_OF")
    return Workspace(portfolio=os.environ.get("CSM_PORTFOLIO") or None,
                     db=os.environ.get("CSM_DB") or None,
                     as_of=date.fromisoformat(as_of) if as_of else None)


_PORTFOLIOS: dict[str | None, Portfolio] = {}


def _portfolio(ws: Workspace) -> Portfolio:
    if ws.portfolio not in _PORTFOLIOS:
        _PORTFOLIOS[ws.portfolio] = read_portfolio(ws.portfolio)
    return _PORTFOLIOS[ws.portfolio]


def _day(ws: Workspace) -> date:
    return ws.as_of or _portfolio(ws).as_of or date.today()


def _account(ws: Workspace, account_id: str) -> Account:
    for account in _portfolio(ws).accounts:
        if account.id == account_id:
            return account
    known = ", ".join(a.id for a in _portfolio(ws).accounts[:5])
    raise ToolError(f"no account with id '{account_id}'; list_accounts shows the ids "
                    f"(for example {known}).")


def score_account(account_id: str) -> dict[str, Any]:
    """Health, churn risk, early-warning signals and expansion opportunities of one account,
    each with its explanation (inputs, weights, contributions, evidence)."""
    ws = workspace()
    return _score(_account(ws, account_id), load_playbook(), _day(ws)).model_dump(mode="json")


def list_accounts(
    tier: Literal["low", "medium", "high", "critical"] | None = None,
    color: Literal["green", "yellow", "red"] | None = None,
    signal: str | None = None,
    renewal_within_days: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Accounts of the portfolio with their scores, filtered by churn tier, health colour,
    fired signal and renewal window; riskiest first. `errors` names the rows that could not be
    read or scored (row, id, reason); the other accounts are listed."""
    ws = workspace()
    playbook, day = load_playbook(), _day(ws)
    portfolio = _portfolio(ws)
    errors = [{"row": e.row, "id": e.id, "reason": f"{e.field}: {e.reason}"}
              for e in portfolio.errors]
    rows = []
    for account in portfolio.accounts:
        try:
            scored = _score(account, playbook, day)
            fired = [s.id for s in scored.signals]
            ahead = (account.renewal_date - day).days if account.renewal_date else None
            row = {"id": account.id, "name": account.name, "mrr": account.mrr,
                   "health_score": scored.health.score, "color": scored.health.color,
                   "churn_risk": scored.churn_risk.score, "tier": scored.churn_risk.tier,
                   "signals": fired,
                   "renewal_date": account.renewal_date and account.renewal_date.isoformat()}
        except Exception as error:  # noqa: BLE001 - one account never hides the others
            errors.append({"row": _row_of(ws, account.id), "id": account.id,
                           "reason": f"not scored: {type(error).__name__}: {error}"})
            continue
        if tier and row["tier"] != tier or color and row["color"] != color:
            continue
        if signal and signal not in fired:
            continue
        if renewal_within_days is not None and (ahead is None or
                                                not 0 <= ahead <= renewal_within_days):
            continue
        rows.append(row)
    rows.sort(key=lambda r: -(r["churn_risk"] or 0.0))
    return {"as_of": day.isoformat(), "total": len(rows), "accounts": rows[: max(1, limit)],
            "errors": errors[:LIST_LIMIT], "errors_total": len(errors)}


def _row_of(ws: Workspace, account_id: str) -> int | None:
    """The row of an account in the workspace's portfolio file (read again: errors only)."""
    from agent.sweep import numbered_accounts
    from tools.portfolio import iter_rows, sample_portfolio_path

    path = Path(ws.portfolio) if ws.portfolio else sample_portfolio_path()
    for row, item in numbered_accounts(path.name, iter_rows(path)[1]):
        if isinstance(item, Account) and item.id == account_id:
            return row
    return None


def account_history(account_id: str) -> dict[str, Any]:
    """The stored sweep snapshots of one account, newest first (empty before the first sweep)."""
    from agent.store import Store
    ws = workspace()
    _account(ws, account_id)
    store = Store(store_path(ws.db))
    try:
        rows = store.db.execute(
            "SELECT s.as_of, n.data FROM snapshots n JOIN sweeps s ON s.id = n.sweep_id "
            "WHERE n.account_id = ? ORDER BY s.as_of DESC", (account_id,),
        ).fetchall()
    finally:
        store.close()
    import json

    return {"id": account_id, "snapshots": [{"as_of": r[0], **json.loads(r[1])} for r in rows]}


def search_knowledge(query: str, k: int = 3, topic: str | None = None,
                     lang: Lang | None = None) -> dict[str, Any]:
    """Passages of the playbook knowledge base (English and Russian) that answer a question."""
    from tools.kb_docs import TOPICS
    from tools.knowledge import search_knowledge as search

    if topic is not None and topic not in TOPICS:
        raise ToolError(f"unknown topic '{topic}'; use one of {', '.join(TOPICS)}.")
    return {"results": [p.model_dump() for p in search(query, k=k, topic=topic, lang=lang)]}


def assess_account(account_id: str, lang: Lang = "en") -> dict[str, Any]:
    """The six-step assessment of one account: the five reports (dashboard, success plan,
    expansion proposal, risk mitigation plan, QBR agenda), the forecast and the citations."""
    from agent.graph import AssessmentContext, build_graph
    from agent.writer import REPORTS
    from tools.forecast import calibrate

    ws = workspace()
    account, playbook, day = _account(ws, account_id), load_playbook(), _day(ws)
    context = AssessmentContext(as_of=day, lang=lang, model="none",
                                calibration=calibrate(_portfolio(ws).accounts, playbook, day))
    state = build_graph(checkpointer=None).invoke({"account": account}, context=context)
    reports = state["reports"]
    return {
        "id": account.id, "as_of": day.isoformat(), "lang": lang,
        "reports": {name: getattr(reports, name) for name in REPORTS},
        "forecast": state["forecast"].model_dump(mode="json"),
        "citations": [c.model_dump() for c in state["citations"]],
    }


def write_import_portfolio(path: str) -> dict[str, Any]:
    """WRITES: import a portfolio file into the account store. Rows that cannot be read or
    stored are listed in `rejected` (row, id, reason) and the others imported."""
    from agent.store import Store
    from agent.sweep import crash_error, numbered_accounts
    from tools.portfolio import iter_rows

    file = Path(path).expanduser()
    _, raw = iter_rows(file)
    rejected: list[dict[str, Any]] = []

    def good() -> Any:
        for row, item in numbered_accounts(file.name, raw):
            if not isinstance(item, Account):
                rejected.extend(e.model_dump() for e in item)
                continue
            try:
                yield row, item.model_dump(mode="json", exclude_none=True)
            except Exception as error:  # noqa: BLE001 - one row never stops the others
                rejected.append(crash_error(file.name, row, item.id, error).model_dump())

    store = Store(store_path(workspace().db))
    try:
        count, failed = store.import_accounts(good())
    finally:
        store.close()
    rejected += [crash_error(file.name, f.row, f.record["id"], f.error).model_dump()
                 for f in failed]
    if count == 0:
        raise ToolError(f"{file}: no account could be imported"
                        + (f" ({len({e['row'] for e in rejected})} rows rejected, for example "
                           f"row {rejected[0]['row']}: {rejected[0]['reason']})."
                           if rejected else "; the file has no rows."))
    return {"imported": count, "rejected": rejected[:LIST_LIMIT],
            "rejected_rows": len({e["row"] for e in rejected})}


def write_save_report(account_id: str, folder: str, lang: Lang = "en") -> dict[str, Any]:
    """WRITES: save one account's five reports as Markdown into a folder (created if missing).
    The file name is derived from the account id (`tools.filenames`), never taken from it, and
    is always directly inside the folder."""
    from agent.assess import join_reports
    from agent.sweep import write_report
    from tools.filenames import UnsafePath, report_name

    if not folder or not folder.strip() or "\0" in folder:
        raise ToolError("folder must name a directory, e.g. 'reports'.")
    target = Path(folder).expanduser()
    if target.exists() and not target.is_dir():
        raise ToolError(f"{target} is a file, not a folder; pass a folder for the reports.")
    result = assess_account(account_id, lang)
    try:
        target.mkdir(parents=True, exist_ok=True)
        text = join_reports(result["reports"])
        path = write_report(target, report_name(result["id"], lang), text)
    except UnsafePath as error:
        raise ToolError(f"the report cannot be saved in {target}: {error}") from None
    except OSError as error:
        raise ToolError(f"the report cannot be saved in {target} "
                        f"({error.strerror or error}); pass a folder you can write to.") from None
    return {"path": str(path), "file": path.name}


READ_TOOLS: dict[str, Callable[..., dict[str, Any]]] = {
    "score_account": score_account,
    "list_accounts": list_accounts,
    "account_history": account_history,
    "search_knowledge": search_knowledge,
    "assess_account": assess_account,
}
WRITE_TOOLS: dict[str, Callable[..., dict[str, Any]]] = {
    "write_import_portfolio": write_import_portfolio,
    "write_save_report": write_save_report,
}


def langchain_tools(include_writes: bool = False) -> list[Any]:
    """The same functions as LangChain tools (errors come back to the model as tool errors)."""
    from langchain_core.tools import StructuredTool, ToolException

    def guarded(function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(function)
        def call(**kwargs: Any) -> dict[str, Any]:
            try:
                return function(**kwargs)
            except (ToolError, ValueError) as error:
                raise ToolException(str(error)) from None
        return call

    chosen = {**READ_TOOLS, **(WRITE_TOOLS if include_writes else {})}
    return [
        StructuredTool.from_function(
            func=guarded(function), name=name, description=(function.__doc__ or "").strip(),
            handle_tool_error=True,
        )
        for name, function in chosen.items()
    ]
