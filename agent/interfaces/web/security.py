"""The guards of `csm serve`: the access token, the per-browser user id, CSRF tokens and the
response headers.

- `CSM_WEB_TOKEN`, when set (required for any host but loopback), must come with every request:
  `Authorization: Bearer <token>`, or the `csm_token` cookie that `/?token=<token>` sets once
  (the address without the token is then loaded).
- Each browser gets a random user id (`csm_user` cookie, HttpOnly, SameSite=Strict): it names
  the browser's chat threads and binds its CSRF token.
- A request that changes anything (the chat, an import) carries the CSRF token of its user
  (`X-CSRF-Token` header or a `csrf` form field): an HMAC of the user id under a key made at
  start, so a page of another site can neither read nor forge it. An API client that sends the
  bearer token sends no cookie, and needs none.
- Every response forbids scripts, styles and images from anywhere but the app itself, framing,
  and content sniffing."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

USER_COOKIE = "csm_user"
TOKEN_COOKIE = "csm_token"
CSRF_HEADER = "x-csrf-token"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
# portfolio.html as served: its CSS is inline, and it runs no script
STANDALONE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; " \
                 "frame-ancestors 'none'"


def is_loopback(host: str) -> bool:
    """Whether an address to listen on reaches this machine only."""
    return host in LOOPBACK or host.startswith("127.")


class Guard:
    """The token, the CSRF key and the middleware that applies them."""

    def __init__(self, token: str | None, secure_cookies: bool = False) -> None:
        self.token = token or None
        self.key = secrets.token_bytes(32)
        self.secure_cookies = secure_cookies

    def csrf_token(self, user: str) -> str:
        """The CSRF token of a user id."""
        return hmac.new(self.key, user.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, request: Request, given: str | None) -> bool:
        """Whether a changing request may go on: it authenticated with the bearer token (no
        cookie involved), or it carries its user's CSRF token."""
        if self.token and self._bearer(request):
            return True
        user = request.cookies.get(USER_COOKIE)
        if not user or not given:
            return False
        return hmac.compare_digest(self.csrf_token(user), given)

    def _bearer(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return bool(self.token) and scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), str(self.token).encode()
        )

    def _authorised(self, request: Request) -> bool:
        if not self.token:
            return True
        cookie = request.cookies.get(TOKEN_COOKIE, "")
        return self._bearer(request) or hmac.compare_digest(
            cookie.encode(), str(self.token).encode()
        )

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Token check, user cookie, security headers."""
        given = request.query_params.get("token")
        if self.token and given is not None:
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return self._refuse(request)
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
            response: Response = RedirectResponse(target, status_code=303)
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict",
                                secure=self.secure_cookies)
            return self._headers(response)
        if not self._authorised(request):
            return self._refuse(request)
        user = request.cookies.get(USER_COOKIE)
        fresh = None
        if not user or len(user) > 64:
            fresh = secrets.token_urlsafe(18)
            request.scope.setdefault("state", {})["user"] = fresh
        response = await call_next(request)
        if request.url.path.startswith("/static/"):  # shipped with the package: cacheable
            response.headers.setdefault("cache-control", "max-age=3600")
        if fresh is not None:
            response.set_cookie(USER_COOKIE, fresh, httponly=True, samesite="strict",
                                max_age=400 * 24 * 3600, secure=self.secure_cookies)
        return self._headers(response)

    def _refuse(self, request: Request) -> Response:
        sentence = ("csm serve needs its access token: send `Authorization: Bearer <token>` "
                    "(the value of CSM_WEB_TOKEN), or open /?token=<token> once in the browser.")
        if request.url.path.startswith("/api/"):
            return self._headers(JSONResponse({"error": sentence}, status_code=401))
        return self._headers(PlainTextResponse(sentence, status_code=401))

    @staticmethod
    def _headers(response: Response) -> Response:
        response.headers.setdefault("content-security-policy", CSP)
        response.headers["x-content-type-options"] = "nosniff"
        response.headers["referrer-policy"] = "no-referrer"
        response.headers["x-frame-options"] = "DENY"
        response.headers.setdefault("cache-control", "no-store")
        return response


def user_of(request: Request) -> str:
    """The browser's user id (set by the middleware on its first request)."""
    return request.scope.get("state", {}).get("user") or request.cookies.get(USER_COOKIE, "")
