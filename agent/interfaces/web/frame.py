"""What every page of `csm serve` shares: its frame (source line, mode, CSRF token) and the
one-sentence failure page or JSON error."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from agent.interfaces.web.render import templates
from agent.interfaces.web.security import user_of


def failure(request: Request, sentence: str, status: int) -> Response:
    """One sentence, as JSON under /api/ and as a page elsewhere."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": sentence}, status_code=status)
    env = templates("en", request.app.state.data.playbook.currency)
    html = env.get_template("error.html.j2").render(
        title="Not found" if status == 404 else "Error", sentence=sentence, status=status,
        **page_globals(request, source=None),
    )
    return HTMLResponse(html, status_code=status)


# the language of the reports a page or an answer shows (the pages' own words are English)
Lang = Annotated[Literal["en", "ru"], Query(description="the language of the reports")]


def in_lang(lang: str) -> dict[str, str]:
    """The query value that keeps a page's report language in its links (none for English)."""
    return {} if lang == "en" else {"lang": lang}


def address(path: str, query: dict[str, Any]) -> str:
    """A path with its query values (none: the path alone)."""
    return f"{path}?{urlencode(query)}" if query else path


def page_globals(request: Request, source: Any, lang: str = "en") -> dict[str, Any]:
    """What every page's frame shows: the source line, the mode, the CSRF token and the menu
    (which keeps the language of the page's reports)."""
    state = request.app.state
    return {
        "source": source,
        "allow_writes": state.settings.allow_writes,
        "csrf": state.guard.csrf_token(user_of(request)),
        "chat": None,
        "portfolio_url": address("/", in_lang(lang)),
        "sweeps_url": address("/sweeps", in_lang(lang)),
    }
