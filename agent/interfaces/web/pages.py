"""The pages of `csm serve`: portfolio, account, sweeps (each sweep's portfolio report), import
(with --allow-writes) and the API's documentation. Each page takes its figures from `Data` and
its HTML from a template."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from agent.interfaces.web.data import Data, NotFound, Source, SweepRef, same_store
from agent.interfaces.web.frame import Lang, address, failure, in_lang, page_globals
from agent.interfaces.web.render import (
    churn_chart,
    health_chart,
    history_charts,
    report_parts,
    templates,
)
from agent.interfaces.web.security import STANDALONE_CSP, user_of
from agent.interfaces.web.table import Filters, choices, select
from agent.sweeps.portfolio_html import render_portfolio_html, report_sections
from agent.sweeps.portfolio_report import render_portfolio_report

router = APIRouter(include_in_schema=False)
REPORT_TITLES = {
    "dashboard": "Client Health Dashboard",
    "success_plan": "Success Plan",
    "expansion_proposal": "Expansion Proposal",
    "risk_plan": "Risk Mitigation Plan",
    "qbr_agenda": "QBR agenda",
}
SWEEPS_WITH_FIGURES = 24
COLUMNS = (
    ("name", "account"), ("industry", "industry"), ("mrr", "MRR"), ("health", "health"),
    ("churn", "churn risk"), ("risk", "revenue at risk"), ("renewal", "renewal"),
)


def other_lang(lang: str) -> str:
    return "ru" if lang == "en" else "en"


def account_url(account_id: str, lang: str = "en") -> str:
    """The address of an account's page (the id as a query value: any text is safe there),
    its reports in `lang`."""
    return address("/account", {"id": account_id, **in_lang(lang)})


def _data(request: Request) -> Data:
    return request.app.state.data


def _render(request: Request, template: str, source: Source | None, **values: Any) -> str:
    data = _data(request)
    env = templates("en", data.playbook.currency)
    frame = page_globals(request, source, values.get("lang", "en"))
    return env.get_template(template).render(**{**frame, **values})


def _chat(request: Request, account: dict[str, str] | None) -> dict[str, Any]:
    """The chat panel of a page."""
    chat = request.app.state.chat
    return {
        "account": account,
        "available": chat.available,
        "reason": chat.reason,
        "history": chat.history(user_of(request), account["id"] if account else None),
    }


@router.get("/", response_class=HTMLResponse)
def portfolio(
    request: Request, filters: Annotated[Filters, Query()], lang: Lang = "en"
) -> Response:
    """The portfolio: figures, distribution, the accounts table, work queue, renewals, QBRs,
    retention against targets and its trend; the report's sections in `lang`, and every link
    keeping it."""
    data = _data(request)
    source = data.source()
    chat = _chat(request, None)
    if source.latest is None:
        return HTMLResponse(_render(request, "portfolio.html.j2", source, title="Portfolio",
                                    report=None, chat=chat))

    def here(**changes: Any) -> str:
        """This page's address with `changes` to its filters, in its language."""
        return address("/", {**filters.query(**changes), **in_lang(lang)})

    def link(account_id: str) -> str:
        return account_url(account_id, lang)

    report = data.report(source.latest)
    rows = data.rows(source)
    shown, total = select(rows, filters)
    trend = data.trend(source)
    pages = max(1, math.ceil(total / filters.per_page))
    sections = {
        part: report_sections(report, data.playbook, lang, link=link, trend=trend,
                              headline=False, part=part)
        for part in ("summary", "details")
    }
    sort_links = {
        key: here(sort=key, page=1,
                  order="asc" if filters.sort == key and filters.order == "desc" else "desc")
        + "#accounts"
        for key, _ in COLUMNS
    }
    html = _render(
        request, "portfolio.html.j2", source, title="Portfolio", report=report,
        sections=sections, rows=shown, total=total, all_rows=len(rows), filters=filters,
        choices=choices(rows), sort_links=sort_links, columns=COLUMNS, page=filters.page,
        pages=pages, account_url=link, chat=chat, lang=lang,
        lang_url=address("/", {**filters.query(), **in_lang(other_lang(lang))}),
        clear_url=address("/", in_lang(lang)),
        sweep_url=address(f"/sweeps/{report['as_of']}", in_lang(lang)),
        prev_url=here(page=filters.page - 1) + "#accounts" if filters.page > 1 else None,
        next_url=here(page=filters.page + 1) + "#accounts" if filters.page < pages else None,
    )
    return HTMLResponse(html)


@router.get("/account", response_class=HTMLResponse)
def account(
    request: Request,
    id: Annotated[str, Query(min_length=1, max_length=1000)],  # noqa: A002 - the URL's name
    lang: Lang = "en",
) -> Response:
    """One account: health and churn with their parts, signals and mitigations,
    opportunities, stakeholders, the five reports, history and forecast."""
    data = _data(request)
    source = data.source()
    page = data.account(id, lang, source)
    state = page["assessment"]
    env = templates("en", data.playbook.currency)
    num, money = env.filters["num"], env.filters["money"]
    charts: dict[str, Any] = history_charts(page["history"], num, money)
    reports: dict[str, Any] = {}
    mitigations: dict[str, Any] = {}
    if state is not None:
        charts["health"] = health_chart(state["score"]["health"], num, data.playbook)
        charts["churn"] = churn_chart(state["score"]["churn_risk"], num, data.playbook)
        reports = {k: report_parts(state["reports"][k], t) for k, t in REPORT_TITLES.items()}
        mitigations = {m["signal"]: m for m in state["risk_plan"]["mitigations"]}
    html = _render(
        request, "account.html.j2", source, title=page["name"], page=page, state=state,
        charts=charts, reports=reports, mitigations=mitigations,
        lang=lang, account_url=account_url, json_url="/api" + account_url(id),
        lang_url=account_url(id, other_lang(lang)),
        chat=_chat(request, {"id": page["id"], "name": page["name"]}),
    )
    return HTMLResponse(html)


@router.get("/sweeps", response_class=HTMLResponse)
def sweeps(request: Request, lang: Lang = "en") -> Response:
    """Every sweep served, newest first, with its figures and its portfolio report (in
    `lang`)."""
    data = _data(request)
    source = data.source()
    listed = []
    for n, ref in enumerate(data.sweeps(source)):
        report = data.report(ref) if n < SWEEPS_WITH_FIGURES else None
        listed.append({"ref": ref, "report": report})
    html = _render(request, "sweeps.html.j2", source, title="Sweeps", sweeps=listed,
                   shown=SWEEPS_WITH_FIGURES, chat=_chat(request, None), lang=lang,
                   lang_query=address("", in_lang(lang)),
                   lang_url=address("/sweeps", in_lang(other_lang(lang))))
    return HTMLResponse(html)


def _sweep(request: Request, as_of: str) -> tuple[Data, Source, SweepRef, dict[str, Any]]:
    data = _data(request)
    source = data.source()
    ref = data.sweep(as_of, source)
    return data, source, ref, data.report(ref)


@router.get("/sweeps/{as_of}", response_class=HTMLResponse)
def sweep_report(request: Request, as_of: str, lang: Lang = "en") -> Response:
    """A sweep's portfolio report: the same self-contained page `csm sweep --lang LANG`
    writes as portfolio.html, with the GRR/NRR trend up to that sweep."""
    data, source, ref, report = _sweep(request, as_of)
    trend = [t for t in data.trend(source) if t["as_of"] <= ref.as_of]
    response = HTMLResponse(render_portfolio_html(report, data.playbook, lang, trend=trend))
    response.headers["content-security-policy"] = STANDALONE_CSP
    return response


@router.get("/sweeps/{as_of}/portfolio.md")
def sweep_markdown(request: Request, as_of: str, lang: Lang = "en") -> Response:
    """A sweep's portfolio report in Markdown (portfolio.md), in `lang`."""
    data, _, _, report = _sweep(request, as_of)
    return PlainTextResponse(render_portfolio_report(report, data.playbook, lang),
                             media_type="text/markdown; charset=utf-8")


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> Response:
    """The API's documentation, from its OpenAPI description (no script, works offline)."""
    spec = request.app.openapi()
    html = _render(request, "api_docs.html.j2", None, title="API", spec=spec,
                   chat=_chat(request, None))
    return HTMLResponse(html)


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request) -> Response:
    """The import form (only with --allow-writes)."""
    if not request.app.state.settings.allow_writes:
        return failure(request, "this server is read-only; start it with `csm serve "
                       "--allow-writes` to import portfolios.", 403)
    html = _render(request, "import.html.j2", _data(request).source(), title="Import",
                   result=None, chat=_chat(request, None))
    return HTMLResponse(html)


@router.post("/import", response_class=HTMLResponse)
async def import_portfolio(
    request: Request, portfolio: UploadFile, csrf: Annotated[str, Form()] = "",
) -> Response:
    """Import an uploaded portfolio into the store (`csm import`); rows that cannot be read
    are listed and the others imported."""
    import os

    from starlette.concurrency import run_in_threadpool

    from agent.chat.tool_surface import write_import_portfolio
    from tools.paths import store_location

    state = request.app.state
    if not state.settings.allow_writes:
        return failure(request, "this server is read-only; start it with `csm serve "
                       "--allow-writes` to import portfolios.", 403)
    if not state.guard.csrf_ok(request, csrf):
        return failure(request, "the form's CSRF token is missing or wrong; reload the import "
                       "page and send it again.", 403)
    data = _data(request)
    if not same_store(store_location(os.environ.get("CSM_DB") or None), data.store_where):
        return failure(request, f"the import writes to the store of CSM_DB, not to "
                       f"{data.store_shown} that this server reads; start `csm serve` with "
                       "--db, which sets both.", 409)
    suffix = Path(portfolio.filename or "").suffix.lower()
    if suffix not in (".json", ".jsonl", ".csv"):
        return failure(request, f"'{portfolio.filename}': send a .json, .jsonl or .csv "
                       "portfolio file.", 400)
    content = await portfolio.read()
    with tempfile.TemporaryDirectory(prefix="csm-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        result = await run_in_threadpool(write_import_portfolio, str(path))
    source = await run_in_threadpool(_data(request).source)
    html = _render(request, "import.html.j2", source, title="Import", result=result,
                   chat=_chat(request, None))
    return HTMLResponse(html)


__all__ = ["NotFound", "account_url", "router"]
