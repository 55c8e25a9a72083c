"""Who may use the page: the one-time token of the printed URL, the session cookie it sets,
the Host and Origin of each request; and what every response carries (no credentials, a
strict content policy).

The token is good once: it sets an HttpOnly, SameSite=Strict cookie and the page is sent
again without it in the URL. Every route needs that cookie (403 otherwise); a request that
changes something must also come from the page's own origin, and every request must name
this server as its Host (a DNS-rebinding page cannot).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable, MutableMapping

from aiohttp import web
from aiohttp.typedefs import Middleware

from uploader.settings import redact

COOKIE = "leadup_session"
TOKEN_PARAM = "token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_S = 7 * 24 * 3600
# The page loads only its own scripts, styles and images; nothing may frame it.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Sessions:
    """One-time login tokens and the sessions they opened."""

    def __init__(self) -> None:
        self._tokens: set[str] = set()
        self._sessions: set[str] = set()

    def new_token(self) -> str:
        """A token for one login URL (`leadup web` prints one; tests mint their own)."""
        token = secrets.token_urlsafe(24)
        self._tokens.add(token)
        return token

    def redeem(self, token: str) -> str | None:
        """A new session id for a token not used before, else None."""
        for known in tuple(self._tokens):
            if hmac.compare_digest(known.encode(), token.encode()):
                self._tokens.discard(known)
                session = secrets.token_urlsafe(32)
                self._sessions.add(session)
                return session
        return None

    def valid(self, session: str | None) -> bool:
        return bool(session) and any(
            hmac.compare_digest(s.encode(), (session or "").encode()) for s in self._sessions
        )


def forbidden(text: str) -> web.Response:
    return web.Response(status=403, text=f"403 Forbidden: {text}\n", content_type="text/plain")


def guard(sessions: Sessions, hosts: Callable[[], Iterable[str]]) -> Middleware:
    """The middleware that lets only this server's page in (see the module docstring)."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        allowed = set(hosts())
        if "*" not in allowed and request.host not in allowed:
            return forbidden("this server answers only to the address it printed")
        token = request.query.get(TOKEN_PARAM)
        if token is not None and request.method == "GET":
            session = sessions.redeem(token)
            if session is None:
                return forbidden("this link was used already; run `leadup web` for a new one")
            query = {k: v for k, v in request.query.items() if k != TOKEN_PARAM}
            response = web.Response(
                status=303, headers={"Location": str(request.rel_url.with_query(query))}
            )
            # Kept when the browser closes (runs go on; the person comes back to them) for as
            # long as this server runs: its sessions live in its memory only.
            response.set_cookie(
                COOKIE, session, httponly=True, samesite="Strict", path="/", max_age=SESSION_S
            )
            return response
        if not sessions.valid(request.cookies.get(COOKIE)):
            return forbidden("open the link `leadup web` printed (it logs this browser in)")
        if request.method not in SAFE_METHODS:
            origin = request.headers.get("Origin", "")
            if origin != f"http://{request.host}":
                return forbidden("a change must come from this page (the Origin is not ours)")
        return await handler(request)

    return check


def protect(secrets_of: Callable[[], Iterable[str]]) -> Middleware:
    """Security headers on every answer; credentials taken out of any text body (they should
    never be in one: this is the second line)."""

    @web.middleware
    async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # redirects and 404s: headers only, no text of ours
            _secure(exc.headers)
            raise
        textual = (response.content_type or "").startswith(("text/", "application/json"))
        if isinstance(response, web.Response) and isinstance(response.body, bytes) and textual:
            charset = response.charset or "utf-8"
            text = response.body.decode(charset, "replace")
            cleaned = redact(text, secrets_of())
            if cleaned != text:
                response.body = cleaned.encode(charset)
        _secure(response.headers)
        return response

    return headers


def _secure(headers: MutableMapping[str, str]) -> None:
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on a form POST.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cache-Control", "no-store")
    headers.setdefault("X-Frame-Options", "DENY")
