"""One tool surface for chat, MCP and agent runners: the deterministic tools, knowledge search,
the account store and the six-step assessment, with typed arguments and JSON results.

Read-only tools are in READ_TOOLS; the ones that write (import a portfolio, save a report) are
in WRITE_TOOLS and say so in their names. Every function raises ToolError with one clear
sentence for a bad argument (an unknown account id, say); adapters turn it into a tool error."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, get_type_hints

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from agent.accounts import Accounts, churned_account, churned_left_out, current, run_day
from agent.sweeps.store import StoreError, open_store
from tools.playbook import load_playbook
from tools.portfolio.account import Account
from tools.scoring.score import score_account as _score

Lang = Literal["en", "ru"]
LIST_LIMIT = 1000  # rows of `errors` / `rejected` a tool returns (the count covers them all)
AccountId = Annotated[str, Field(min_length=1, description="an account id, e.g. acc-001 "
                                 "(list_accounts shows them)")]
Passages = Annotated[int, Field(ge=1, le=10, description="how many passages, 1 to 10")]
Limit = Annotated[int, Field(ge=1, le=500, description="at most this many accounts, 1 to 500")]
Days = Annotated[int, Field(ge=0, le=3650, description="renewal within this many days, "
                            "0 to 3650")]


class ToolError(ValueError):
    """A tool call that cannot be answered; the message says why and what to do."""


class Workspace(BaseModel):
    """Where the tools find accounts: a portfolio file and the store, as of a day."""

    portfolio: str | None = Field(default=None, description="portfolio file (default: "
                                  "$CSM_PORTFOLIO, else the store when it holds accounts, "
                                  "else the bundled sample)")
    db: str | None = Field(default=None, description="the store (default: in $CSM_DATA_DIR)")
    as_of: date | None = None


def workspace() -> Workspace:
    """The workspace from the environment (CSM_PORTFOLIO, CSM_DB, CSM_AS_OF)."""
    return Workspace(portfolio=os.environ.get("CSM_PORTFOLIO") or None,
                     db=os.environ.get("CSM_DB") or None,
                     as_of=run_day(None) if os.environ.get("CSM_AS_OF") else None)


def _source(ws: Workspace) -> Accounts:
    """The accounts the tools read now (agent.accounts: one rule, re-read when it changes)."""
    return current(ws.portfolio, ws.db)


def _day(ws: Workspace, source: Accounts) -> date:
    return run_day(ws.as_of, source)


def _account(source: Accounts, account_id: str) -> Account:
    found = source.get(account_id)
    if found is not None:
        return found
    known = ", ".join(a.id for a in source.accounts[:5])
    raise ToolError(f"no account with id '{account_id}' in {source.label()}; list_accounts "
                    f"shows the ids (for example {known}).")


def _client(source: Accounts, account_id: str) -> Account:
    """The account, when it is still a client: a churned one (SPEC 14) is not scored or
    assessed for action any more, and the error says so."""
    account = _account(source, account_id)
    if account.status == "churned":
        raise ToolError(f"{churned_account(account)}; account_history shows its stored "
                        "snapshots.")
    return account


# arguments -------------------------------------------------------------------


def describe(function: Callable[..., Any]) -> str:
    """The function's docstring as a tool description (indentation removed)."""
    return inspect.cleandoc(function.__doc__ or "")


def _allowed(schema: dict[str, Any]) -> str | None:
    """What a JSON schema allows, in words (None when it is not simple to say)."""
    if "anyOf" in schema:
        parts = [_allowed(s) for s in schema["anyOf"] if s.get("type") != "null"]
        if None in parts:
            return None
        nullable = len(parts) < len(schema["anyOf"])
        return " or ".join(p for p in parts if p) + (", or left out" if nullable else "")
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        return "one of " + ", ".join(repr(v) for v in values)
    kind = {"integer": "an integer", "number": "a number", "string": "a string",
            "boolean": "true or false"}.get(schema.get("type", ""))
    low, high = schema.get("minimum"), schema.get("maximum")
    if kind and low is not None and high is not None:
        return f"{kind} from {low} to {high}"
    if kind and low is not None:
        return f"{kind} of at least {low}"
    if kind == "a string" and schema.get("minLength"):
        return "a non-empty string"
    return kind


def argument_error(function: Callable[..., Any], error: ValidationError,
                   name: str | None = None) -> str:
    """One sentence for an argument that fails the function's types: which one, what it
    accepts, what it got. `name`: the argument (default: the error's first location)."""
    first = error.errors()[0]
    name = name or (str(first["loc"][0]) if first["loc"] else "arguments")
    if first["type"] in ("missing", "missing_argument"):
        return f"the argument '{name}' is required."
    if first["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"there is no argument '{name}'."
    hint = get_type_hints(function, include_extras=True).get(name)
    allowed = _allowed(TypeAdapter(hint).json_schema()) if hint is not None else None
    if allowed is None:
        return f"{name}: {first['msg'][:1].lower()}{first['msg'][1:]}."
    return f"{name} must be {allowed} (got {first.get('input')!r})."


def checked(function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """The tool with its arguments validated against its type hints (ranges, choices) on every
    call; a bad one is a ToolError naming the argument and what it accepts."""
    signature = inspect.signature(function)
    hints = get_type_hints(function, include_extras=True)
    adapters = {name: TypeAdapter(hints[name]) for name in signature.parameters}

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise ToolError(f"{error}.") from None
        for name, value in bound.arguments.items():
            try:
                bound.arguments[name] = adapters[name].validate_python(value)
            except ValidationError as error:
                raise ToolError(argument_error(function, error, name)) from None
        return function(*bound.args, **bound.kwargs)

    return call


# tools -----------------------------------------------------------------------


def _churn_model(playbook: Any) -> Any:
    """The churn model the tools use (CSM_MODEL_FILE, else the playbook's forecast.model_file),
    or None; a broken file is a ToolError naming the problem."""
    from tools.learning.model_file import ModelFileError
    from tools.learning.scoring import load_model_for

    try:
        return load_model_for(None, playbook, None)
    except ModelFileError as error:
        raise ToolError(str(error)) from None


@checked
def score_account(account_id: AccountId) -> dict[str, Any]:
    """Health, churn risk, early-warning signals and expansion opportunities of one account,
    each with its explanation (inputs, weights, contributions, evidence); with a churn model
    file (CSM_MODEL_FILE), also `model_forecast`: the model's churn and renewal probability
    with its method and backtest figures. A churned account is an error that says so (it is
    no longer scored; account_history has its snapshots)."""
    from tools.learning.scoring import with_model

    ws = workspace()
    source = _source(ws)
    playbook, day = load_playbook(), _day(ws, source)
    account = _client(source, account_id)
    scored = _score(account, playbook, day)
    model = _churn_model(playbook)
    if model is not None:
        scored = with_model(model, account, scored, playbook, day)
    return {**scored.model_dump(mode="json"), "source": source.describe()}


@checked
def list_accounts(
    tier: Literal["low", "medium", "high", "critical"] | None = None,
    color: Literal["green", "yellow", "red"] | None = None,
    signal: str | None = None,
    renewal_within_days: Days | None = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Accounts of the portfolio with their scores, filtered by churn tier, health colour,
    fired signal and renewal window; riskiest first. `errors` names the rows that could not be
    read or scored (row, id, reason); the other accounts are listed. Churned accounts (no
    longer clients) are left out and counted in `churned_left_out`. With a churn model file
    (CSM_MODEL_FILE), each row also has the model's `churn_probability`."""
    from tools.learning.scoring import predict

    ws = workspace()
    source = _source(ws)
    playbook, day = load_playbook(), _day(ws, source)
    model = _churn_model(playbook)
    errors = [{"row": e.row, "id": e.id, "reason": f"{e.field}: {e.reason}"}
              for e in source.errors]
    rows = []
    churned = 0
    for account in source.accounts:
        if account.status == "churned":
            churned += 1
            continue
        try:
            scored = _score(account, playbook, day)
            fired = [s.id for s in scored.signals]
            ahead = (account.renewal_date - day).days if account.renewal_date else None
            row = {"id": account.id, "name": account.name, "mrr": account.mrr,
                   "health_score": scored.health.score, "color": scored.health.color,
                   "churn_risk": scored.churn_risk.score, "tier": scored.churn_risk.tier,
                   "signals": fired,
                   "renewal_date": account.renewal_date and account.renewal_date.isoformat()}
            if model is not None:
                row["churn_probability"] = predict(
                    model, account, scored, playbook, day
                ).churn_probability
        except Exception as error:  # noqa: BLE001 - one account never hides the others
            errors.append({"row": _row_of(source, account.id), "id": account.id,
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
    found = {"as_of": day.isoformat(), "source": source.describe(), "total": len(rows),
             "accounts": rows[:limit], "errors": errors[:LIST_LIMIT],
             "errors_total": len(errors), "churned_left_out": churned}
    if churned:
        found["note"] = f"{churned_left_out(churned)}: no longer clients (account_history " \
                        "keeps their snapshots)"
    if model is not None:
        found["churn_model"] = model.describe()
    return found


def _row_of(source: Accounts, account_id: str) -> int | None:
    """The row of an account in its portfolio file (read again: errors only); None for the
    store, whose rows have no number a person could look up."""
    from tools.portfolio.readers import numbered_accounts

    if source.kind == "store":
        return None
    for row, item in numbered_accounts(source.path)[1]:
        if isinstance(item, Account) and item.id == account_id:
            return row
    return None


@checked
def account_history(account_id: AccountId) -> dict[str, Any]:
    """The stored sweep snapshots of one account, newest first (empty before the first sweep)."""
    ws = workspace()
    source = _source(ws)
    _account(source, account_id)
    store = _open_store(ws)
    try:
        snapshots = store.account_snapshots(account_id)
    except StoreError as error:
        raise ToolError(str(error)) from None
    finally:
        store.close()
    return {"id": account_id, "source": source.describe(), "store": store.where,
            "snapshots": snapshots}


def _open_store(ws: Workspace) -> Any:
    """The workspace's store (`db`, else CSM_DB, else the default file); one that cannot be
    opened is a ToolError."""
    try:
        return open_store(ws.db)
    except StoreError as error:
        raise ToolError(str(error)) from None


@checked
def search_knowledge(query: Annotated[str, Field(min_length=1, description="the question")],
                     k: Passages = 3, topic: str | None = None,
                     lang: Lang | None = None) -> dict[str, Any]:
    """Passages of the playbook knowledge base (English and Russian) that answer a question."""
    from tools.knowledge.documents import TOPICS
    from tools.knowledge.index import search_knowledge as search

    if topic is not None and topic not in TOPICS:
        raise ToolError(f"unknown topic '{topic}'; use one of {', '.join(TOPICS)}.")
    return {"results": [p.model_dump() for p in search(query, k=k, topic=topic, lang=lang)]}


@checked
def assess_account(account_id: AccountId, lang: Lang = "en") -> dict[str, Any]:
    """The six-step assessment of one account: the five reports (dashboard, success plan,
    expansion proposal, risk mitigation plan, QBR agenda), the forecast and the citations;
    with a churn model file (CSM_MODEL_FILE), also the model's forecast (`model_forecast`).
    A churned account is an error that says so (it is no longer assessed)."""
    from agent.assessment.context import AssessmentContext
    from agent.assessment.graph import build_graph
    from agent.assessment.writer import REPORTS
    from tools.planning.forecast import calibrate

    ws = workspace()
    source = _source(ws)
    account, playbook, day = _client(source, account_id), load_playbook(), _day(ws, source)
    context = AssessmentContext(as_of=day, lang=lang, model="none",
                                calibration=calibrate(source.accounts, playbook, day),
                                churn_model=_churn_model(playbook))
    state = build_graph(checkpointer=None).invoke({"account": account}, context=context)
    reports = state["reports"]
    model = ({"model_forecast": state["model_forecast"].model_dump(mode="json")}
             if "model_forecast" in state else {})
    return {
        "id": account.id, "as_of": day.isoformat(), "lang": lang, "source": source.describe(),
        "reports": {name: getattr(reports, name) for name in REPORTS},
        "forecast": state["forecast"].model_dump(mode="json"), **model,
        "citations": [c.model_dump() for c in state["citations"]],
    }


@checked
def write_import_portfolio(path: str) -> dict[str, Any]:
    """WRITES: import a portfolio file into the account store. Rows that cannot be read or
    stored are listed in `rejected` (row, id, reason) and the others imported."""
    from tools.portfolio.readers import failed_row, numbered_accounts

    file = Path(path).expanduser()
    _, raw = numbered_accounts(file)
    rejected: list[dict[str, Any]] = []

    def good() -> Any:
        for row, item in raw:
            if not isinstance(item, Account):
                rejected.extend(e.model_dump() for e in item)
                continue
            try:
                yield row, item.model_dump(mode="json", exclude_none=True)
            except Exception as error:  # noqa: BLE001 - one row never stops the others
                rejected.append(failed_row(file.name, row, item.id, error).model_dump())

    ws = workspace()
    store = _open_store(ws)
    try:
        count, failed = store.import_accounts(good())
    except StoreError as error:
        raise ToolError(str(error)) from None
    finally:
        store.close()
    rejected += [failed_row(file.name, f.row, f.record["id"], f.error).model_dump()
                 for f in failed]
    if count == 0:
        raise ToolError(f"{file}: no account could be imported"
                        + (f" ({len({e['row'] for e in rejected})} rows rejected, for example "
                           f"row {rejected[0]['row']}: {rejected[0]['reason']})."
                           if rejected else "; the file has no rows."))
    return {"imported": count, "rejected": rejected[:LIST_LIMIT],
            "rejected_rows": len({e["row"] for e in rejected}), **_reads_next(ws)}


@checked
def write_save_report(account_id: AccountId, folder: str, lang: Lang = "en") -> dict[str, Any]:
    """WRITES: save one account's five reports as Markdown into a folder (created if missing).
    The file name is derived from the account id (`tools.filenames`), never taken from it, and
    is always directly inside the folder."""
    from agent.assessment.writer import join_reports
    from agent.sweeps.sweep import write_report
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
    return {"path": str(path), "file": path.name, "source": result["source"]}


def _reads_next(ws: Workspace) -> dict[str, Any]:
    """Where the tools read after an import: the store, unless CSM_PORTFOLIO names a file."""
    source = _source(ws)
    if source.kind != "file":
        return {"source": source.describe()}
    return {"source": source.describe(), "note": f"CSM_PORTFOLIO is set, so the tools keep "
            f"reading {source.path}; unset it to read the store."}


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

    def invalid(function: Callable[..., Any]) -> Callable[[ValidationError], str]:
        return lambda error: argument_error(function, error)

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
            func=guarded(function), name=name, description=describe(function),
            handle_tool_error=True, handle_validation_error=invalid(function),
        )
        for name, function in chosen.items()
    ]
