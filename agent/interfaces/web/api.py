"""The JSON API of `csm serve` under /api/ (OpenAPI at /api/openapi.json, documented at
/api/docs): the same data as the pages, for a CRM or a script. Read-only, but for the chat
turn, which needs the user's CSRF token (or the bearer token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from agent.interfaces.web.chat import MAX_MESSAGE
from agent.interfaces.web.data import Data, SweepRef
from agent.interfaces.web.frame import Lang
from agent.interfaces.web.security import CSRF_HEADER, user_of
from agent.interfaces.web.table import Filters, select

router = APIRouter(prefix="/api", tags=["csm"])


def _data(request: Request) -> Data:
    return request.app.state.data


def _sweep(ref: SweepRef) -> dict[str, Any]:
    return {"as_of": ref.as_of, "routine": ref.routine, "status": ref.status,
            "started_at": ref.started_at, "finished_at": ref.finished_at,
            "accounts": ref.accounts, "rows_not_processed": ref.rejected,
            "private": ref.private}


@router.get("/portfolio", summary="The portfolio report of the latest sweep")
def portfolio(request: Request) -> dict[str, Any]:
    """The portfolio report of the latest sweep (the shape of the sweep's portfolio.json:
    distribution, alerts, outreach plan, upsell pipeline, renewals, QBRs due, metrics against
    targets, forecast), the source and the GRR/NRR trend over the sweeps."""
    data = _data(request)
    source = data.source()
    if source.latest is None:
        return {"source": source.describe(), "sweep": None, "report": None, "trend": []}
    return {"source": source.describe(), "sweep": _sweep(source.latest),
            "report": data.report(source.latest), "trend": data.trend(source)}


@router.get("/accounts", summary="The accounts of the latest sweep, filtered and sorted")
def accounts(request: Request, filters: Annotated[Filters, Query()]) -> dict[str, Any]:
    """One row per account of the latest sweep (scores, tier, colour, signals, renewal,
    revenue at risk), filtered by tier, colour, signal, renewal window, industry and text,
    sorted (`sort`, `order`) and paged (`page`, `per_page`)."""
    data = _data(request)
    source = data.source()
    rows = data.rows(source)
    shown, total = select(rows, filters)
    return {"source": source.describe(), "total": total, "page": filters.page,
            "per_page": filters.per_page, "accounts": shown}


@router.get("/account", summary="One account: its assessment and history")
def account(
    request: Request,
    id: Annotated[str, Query(min_length=1, max_length=1000,  # noqa: A002 - the URL's name
                             description="the account id")],
    lang: Lang = "en",
) -> dict[str, Any]:
    """The six-step assessment of one account as `csm assess --format json` writes it
    (`assessment.score` is the account's `csm score --format json` entry), with its history of
    health, churn risk and MRR; a churned account has `churned` and no assessment."""
    return _data(request).account(id, lang)


@router.get("/sweeps", summary="The sweeps, newest first")
def sweeps(request: Request) -> dict[str, Any]:
    """Every sweep served, newest first: the latest one and the complete ones before it."""
    data = _data(request)
    source = data.source()
    return {"source": source.describe(), "sweeps": [_sweep(r) for r in data.sweeps(source)]}


@router.get("/sweeps/{as_of}", summary="The portfolio report of one sweep")
def sweep(request: Request, as_of: str) -> dict[str, Any]:
    """A sweep's portfolio report (portfolio.json)."""
    data = _data(request)
    return data.report(data.sweep(as_of))


class ChatTurn(BaseModel):
    """One message to the chat agent."""

    message: str = Field(min_length=1, max_length=MAX_MESSAGE)
    account: str | None = Field(None, description="the account id the user is looking at")


@router.post("/chat", summary="One chat turn, streamed",
             response_class=StreamingResponse,
             responses={200: {"content": {"application/x-ndjson": {}},
                              "description": "JSON lines: token, tool, error, done"}})
def chat(request: Request, turn: ChatTurn) -> Response:
    """Send one message to the chat agent in the caller's thread for that account (or the
    portfolio) and stream the answer as JSON lines. Needs the `X-CSRF-Token` header of the
    page (or the bearer token)."""
    state = request.app.state
    if not state.guard.csrf_ok(request, request.headers.get(CSRF_HEADER)):
        return JSONResponse({"error": "the CSRF token is missing or wrong; reload the page."},
                            status_code=403)
    about = None
    if turn.account is not None:
        data = _data(request)
        found = data.find(data.source(), turn.account)
        about = {"id": found.id, "name": found.name}
    lines = state.chat.stream(user_of(request), about, turn.message)
    return StreamingResponse(lines, media_type="application/x-ndjson",
                             headers={"x-accel-buffering": "no"})
