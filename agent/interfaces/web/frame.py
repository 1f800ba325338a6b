"""What every page of `csm serve` shares: its frame (source line, mode, CSRF token) and the
one-sentence failure page or JSON error."""

from __future__ import annotations

from typing import Any

from fastapi import Request
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


def page_globals(request: Request, source: Any) -> dict[str, Any]:
    """What every page's frame shows: the source line, the mode and the CSRF token."""
    state = request.app.state
    return {
        "source": source,
        "allow_writes": state.settings.allow_writes,
        "csrf": state.guard.csrf_token(user_of(request)),
        "chat": None,
    }
