"""The `csm serve` application: FastAPI with server-rendered pages (Jinja2, autoescape), a JSON
API under /api/ with its OpenAPI description, the chat panel's stream, and the guards of
`security.py`. Nothing is fetched from elsewhere: the CSS, the script and the charts ship with
the package."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from agent.interfaces.web import api, pages
from agent.interfaces.web.chat import ChatService
from agent.interfaces.web.data import Data, NotFound, ServeError, ServeSettings
from agent.interfaces.web.frame import failure
from agent.interfaces.web.security import Guard
from agent.sweeps.portfolio_html import css


def create_app(
    settings: ServeSettings | None = None,
    chat_model: Any = None,
    loopback_only: bool = True,
) -> FastAPI:
    """The application. `chat_model`: a chat model instance for the panel (default: the one
    CSM_MODEL configures, else none); `loopback_only`: accept only requests addressed to
    127.0.0.1, localhost or [::1] (against DNS rebinding), as when bound to loopback."""
    from importlib import resources

    settings = settings or ServeSettings()
    app = FastAPI(
        title="csm-agent",
        version=_version(),
        summary="Portfolio, accounts and sweeps of csm-agent, read-only JSON.",
        description="Every figure comes from the deterministic tools of csm-agent: the same "
        "numbers as `csm score --format json`, `csm assess --format json` and the sweep's "
        "portfolio.json. Account ids go in the `id` query parameter.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan,
    )
    guard = Guard(settings.token)
    app.state.settings = settings
    app.state.data = Data(settings)
    app.state.chat = ChatService(chat_model)
    app.state.guard = guard
    app.middleware("http")(guard.middleware)
    if loopback_only:
        app.add_middleware(TrustedHostMiddleware,
                           allowed_hosts=["127.0.0.1", "localhost", "[::1]", "testserver"])
    @app.get("/static/report.css", include_in_schema=False)
    def _report_css() -> Response:
        return Response(css(), media_type="text/css; charset=utf-8",
                        headers={"cache-control": "max-age=3600"})

    static = resources.files("agent.interfaces.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)

    @app.exception_handler(ServeError)
    async def _serve_error(request: Request, error: ServeError) -> Response:
        status = 404 if isinstance(error, NotFound) else 500
        return failure(request, str(error), status)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "the request"
        sentence = f"{where}: {first.get('msg', 'invalid value')}; fix it and try again."
        return failure(request, sentence, 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        sentence = str(error.detail) if error.status_code != 404 else \
            f"nothing at {request.url.path}; the portfolio page links every page."
        return failure(request, sentence, error.status_code)

    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("csm-agent")
    except PackageNotFoundError:  # a bare checkout
        return "0+unknown"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On shutdown: the private store is deleted and the chat store closed."""
    yield
    app.state.data.close()
    app.state.chat.close()
