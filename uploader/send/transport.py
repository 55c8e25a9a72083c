"""The one network seam: post a lead with aiohttp and translate whatever happens.

Everything else in leadup talks to the `LeadTransport` protocol and sees either an
`ApiResponse` or one of the project's own `NotSent` / `MaybeSent` errors; no aiohttp object
(whose reprs can carry the Authorization header) ever leaves this module.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

import aiohttp

from uploader import __version__
from uploader.errors import MaybeSent, NotSent
from uploader.model import JsonBody
from uploader.settings import ApiSettings, redact

USER_AGENT = f"leadup/{__version__} (+aiohttp/{aiohttp.__version__})"
_MAX_BODY_CHARS = 2000  # keep a hostile or huge error page out of the results file
_MAY_BE_CREATED = "; the lead may have been created"  # a ping creates nothing


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """An HTTP answer, reduced to what leadup decides on."""

    status: int
    body: Any  # parsed JSON, or None when the body was not JSON
    text: str  # the raw body, truncated
    retry_after: str | None = None  # the raw Retry-After header


class LeadTransport(Protocol):
    """Posts one lead; returns the answer or raises NotSent / MaybeSent."""

    async def post_lead(self, payload: dict[str, Any], idempotency_key: str) -> ApiResponse: ...

    async def post_ping(self, payload: dict[str, Any]) -> ApiResponse: ...


class HttpTransport:
    """`POST /leads` and `POST /ping` over one aiohttp session sized to the concurrency."""

    def __init__(self, api: ApiSettings, *, pool_size: int) -> None:
        self._api = api
        self._pool_size = pool_size
        self._url = api.base_url.rstrip("/") + "/leads"
        self._ping_url = api.base_url.rstrip("/") + "/ping"
        self._session: aiohttp.ClientSession | None = None
        secrets = api.credentials.secrets()  # once per run: each form of the credentials
        self._redact: Callable[[str], str] = lambda text: redact(text, secrets)
        self._timeout_s = api.timeout_s

    async def __aenter__(self) -> HttpTransport:
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Authorization": self._api.credentials.authorization(),
        }
        if self._api.partner_id:
            headers["X-Partner-Id"] = self._api.partner_id
        # Only connecting has an aiohttp timeout; --timeout is a deadline that starts when the
        # request starts to go out (DECISIONS: Timeouts), armed by `_DeadlineRequest.send`.
        # Waiting for a pooled connection never counts; the pool is as large as the workers.
        timeout = aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=self._api.connect_timeout_s
        )
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=self._pool_size)
        self._session = aiohttp.ClientSession(
            headers=headers,
            timeout=timeout,
            connector=connector,
            raise_for_status=False,
            request_class=_DeadlineRequest,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post_lead(self, payload: dict[str, Any], idempotency_key: str) -> ApiResponse:
        """Send one lead. A redirect is not followed: a POST must not turn into a GET."""
        headers = {"Idempotency-Key": idempotency_key}
        return await self._post(self._url, payload, headers, _MAY_BE_CREATED)

    async def post_ping(self, payload: dict[str, Any]) -> ApiResponse:
        """Ask what a lead is worth; the caller may retry any failure (a ping creates nothing)."""
        return await self._post(self._ping_url, payload, None, "")

    async def _post(
        self, url: str, payload: dict[str, Any], headers: dict[str, str] | None, maybe: str
    ) -> ApiResponse:
        """`maybe` ends the reason of a failure after sending (what it may have done)."""
        if self._session is None:
            raise RuntimeError("HttpTransport used outside `async with`")
        if type(payload) is JsonBody:
            data = payload.encoded  # the journal's own bytes: encoded once, at the load
        else:
            data = json.dumps(payload, ensure_ascii=False).encode()
        error: NotSent | MaybeSent
        try:
            async with asyncio.timeout(None) as deadline:
                armed = _DEADLINE.set((deadline, self._timeout_s))
                try:
                    async with self._session.post(
                        url, data=data, headers=headers, allow_redirects=False
                    ) as response:
                        raw = await response.read()
                finally:
                    _DEADLINE.reset(armed)
            retry_after = response.headers.get("Retry-After")
            return _to_response(response.status, raw, retry_after, self._redact)
        except aiohttp.ConnectionTimeoutError:
            error = NotSent(f"could not connect to {self._api.base_url} in time")
        except aiohttp.ClientConnectorError as exc:
            error = NotSent(f"could not connect to {self._api.base_url}: {_reason(exc)}")
        except (TimeoutError, aiohttp.ServerTimeoutError):
            error = MaybeSent(f"no answer within {self._api.timeout_s:g}s of sending{maybe}")
        except aiohttp.ClientError as exc:
            # Disconnected, reset or a truncated answer after the request was written.
            error = MaybeSent(f"{_lost(exc)}{maybe}")
        # Raised outside the handlers so that no aiohttp exception (whose request_info can
        # carry the Authorization header) rides along as __context__.
        raise error


# The --timeout of the request the current task is making: (its asyncio.Timeout, seconds).
_DEADLINE: contextvars.ContextVar[tuple[asyncio.Timeout, float] | None] = contextvars.ContextVar(
    "leadup_deadline", default=None
)


class _DeadlineRequest(aiohttp.ClientRequest):
    """Arms the request's --timeout when aiohttp starts writing it on a connection it holds:
    after any wait for a pooled connection or for connecting, as DECISIONS "Timeouts" says.
    One context-variable read per request, where a TraceConfig hook cost a signal per event."""

    async def send(self, conn: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
        armed = _DEADLINE.get()
        if armed is not None:
            deadline, seconds = armed
            deadline.reschedule(asyncio.get_running_loop().time() + seconds)
        return await super().send(conn)


def _to_response(
    status: int, raw: bytes, retry_after: str | None, redact: Callable[[str], str]
) -> ApiResponse:
    """The answer as leadup keeps it: an echo of the credentials is redacted here, at the
    seam, so no result, journal, log or event downstream can hold one (issue 16, item 8)."""
    text = redact(raw.decode("utf-8", errors="replace"))
    try:
        body = json.loads(text) if text.strip() else None
        if "\\" in text:  # an escape can spell a secret the text does not show as such
            body = _redacted(body, redact)
    except ValueError:
        body = None
    if retry_after is not None:
        retry_after = redact(retry_after)
    return ApiResponse(
        status=status, body=body, text=text[:_MAX_BODY_CHARS], retry_after=retry_after
    )


def _redacted(value: Any, redact: Callable[[str], str]) -> Any:
    """Parsed JSON with every string redacted (a `\\u` escape can spell a secret in the text)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted(item, redact) for item in value]
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v, redact) for k, v in value.items()}
    return value


def _reason(exc: aiohttp.ClientConnectorError) -> str:
    """Why connecting failed, in words (the exception's own text can name the request)."""
    if isinstance(exc, aiohttp.ClientSSLError):
        return "the secure connection (TLS) failed: check the API URL and its certificate"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "no such host: check the API URL"
    errno = exc.os_error.errno  # its strerror may be asyncio's "Connect call failed (...)"
    return os.strerror(errno) if errno else "the connection failed"


def _lost(exc: aiohttp.ClientError) -> str:
    """What went wrong after the request was written, as a person would say it."""
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the API closed the connection before its answer came"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the API's answer was cut off"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "the API's answer could not be read"
    return "the connection broke before the answer came"
