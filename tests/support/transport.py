"""An in-memory LeadTransport: what httpx's MockTransport(handler) is to httpx, for leadup.

`MemoryTransport(handler)` implements uploader.send.transport.LeadTransport without sockets.
Every request becomes a `Request` (path "/leads" or "/ping", payload, idempotency key, the
loop time it was made at), is recorded in `transport.requests`, and is handed to `handler`,
which returns an ApiResponse (or an awaitable of one) or raises NotSent / MaybeSent as the
real transport would.

Handlers compose; the building blocks are:

    FakeApi()                          a healthy API: 201 with a lead id, 200 "Match found" pings
    always(500)                        the same answer (a status, ApiResponse or error) every time
    script(answer(503), MaybeSent("x"), then=api)   the first requests scripted, then `then`
    flaky(random.Random(7), 0.2, then=api)          503 to a seeded-random share of requests
    created_then_lost(api)             `api` creates the lead, then the answer is lost (MaybeSent)
    delayed(0.1, api)                  answer after 0.1 s of loop time (virtual time: no real wait)

`script` and `flaky` take `path="/ping"` (or "/leads") to touch only those requests.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from uploader.errors import MaybeSent, TransportError
from uploader.send.transport import ApiResponse

__all__ = [
    "Answer",
    "FakeApi",
    "Handler",
    "MemoryTransport",
    "Request",
    "always",
    "answer",
    "created_then_lost",
    "delayed",
    "flaky",
    "script",
]

LEADS = "/leads"
PING = "/ping"


@dataclass(frozen=True, slots=True)
class Request:
    """One request as the handler sees it."""

    path: str  # "/leads" or "/ping"
    payload: dict[str, Any]
    idempotency_key: str | None  # None for a ping (it has no Idempotency-Key)
    at: float  # the running loop's time() when the request was made


Handler: TypeAlias = Callable[[Request], "ApiResponse | Awaitable[ApiResponse]"]
# What a scripted step is: an answer, a status for `answer(status)`, an error to raise, or
# a handler to delegate that one request to.
Answer: TypeAlias = "ApiResponse | int | TransportError | Handler"


class MemoryTransport:
    """A LeadTransport that hands each request to `handler` and records it."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    def __repr__(self) -> str:
        return f"<MemoryTransport requests={len(self.requests)}>"

    async def __aenter__(self) -> MemoryTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    @property
    def leads(self) -> list[Request]:
        """The requests to /leads, in the order they were made."""
        return [r for r in self.requests if r.path == LEADS]

    @property
    def pings(self) -> list[Request]:
        """The requests to /ping, in the order they were made."""
        return [r for r in self.requests if r.path == PING]

    async def post_lead(self, payload: dict[str, Any], idempotency_key: str) -> ApiResponse:
        return await self._handle(Request(LEADS, dict(payload), idempotency_key, _now()))

    async def post_ping(self, payload: dict[str, Any]) -> ApiResponse:
        return await self._handle(Request(PING, dict(payload), None, _now()))

    async def _handle(self, request: Request) -> ApiResponse:
        self.requests.append(request)
        return await _call(self.handler, request)


def answer(
    status: int, body: Any = None, *, retry_after: str | None = None, text: str | None = None
) -> ApiResponse:
    """An ApiResponse as HttpTransport would build it (text is the JSON of `body`)."""
    if text is None:
        text = "" if body is None else json.dumps(body)
    return ApiResponse(status=status, body=body, text=text, retry_after=retry_after)


@dataclass
class FakeApi:
    """A healthy API: every post creates a lead (201), every ping is a vendor-shaped match.

    Ids are predictable: `lead_0001`, `lead_0002`, ... and `ping_0001`, ... in request order.
    Like the sandbox, it does not deduplicate on the idempotency key: `keys_created_twice()`
    says whether a key created more than one lead.
    """

    status: str = "assigned"
    price: float | Callable[[dict[str, Any]], float] = 10.0  # a ping's (and a lead's) price
    created: list[Request] = field(default_factory=list)  # posts that created a lead
    priced: list[Request] = field(default_factory=list)  # pings answered

    def __call__(self, request: Request) -> ApiResponse:
        if request.path == PING:
            self.priced.append(request)
            body = {
                "ping_id": f"ping_{len(self.priced):04d}",
                "message": "Match found",
                "price": self._price(request.payload),
            }
            return answer(200, body)
        self.created.append(request)
        body = {
            "lead_uuid": f"00000000-0000-4000-8000-{len(self.created):012d}",
            "lead_public_id": f"lead_{len(self.created):04d}",
            "status": self.status,
            "price": self._price(request.payload) if self.status == "assigned" else 0.0,
        }
        return answer(201, body)

    def _price(self, payload: dict[str, Any]) -> float:
        return self.price(payload) if callable(self.price) else self.price

    def keys_created_twice(self) -> set[str]:
        seen: set[str] = set()
        twice: set[str] = set()
        for request in self.created:
            key = request.idempotency_key or ""
            (twice if key in seen else seen).add(key)
        return twice


def always(what: Answer) -> Handler:
    """Answer every request the same: `always(500)`, `always(NotSent("refused"))`."""

    async def handler(request: Request) -> ApiResponse:
        return await _apply(what, request)

    return handler


def script(*steps: Answer, then: Handler, path: str | None = None) -> Handler:
    """The first len(steps) requests (to `path`, if given) take `steps` in order; all other
    requests, and every one after them, go to `then`."""
    pending = list(steps)

    async def handler(request: Request) -> ApiResponse:
        if pending and (path is None or request.path == path):
            return await _apply(pending.pop(0), request)
        return await _call(then, request)

    return handler


def flaky(
    rng: random.Random,
    share: float,
    *,
    then: Handler,
    failure: Answer = 503,
    path: str | None = None,
) -> Handler:
    """`failure` (503 by default) for a `share` of requests drawn from `rng`, else `then`.

    One draw per request (to `path`, if given), so a seeded `rng` gives the same requests the
    same fate on every run with the same request order.
    """

    async def handler(request: Request) -> ApiResponse:
        if (path is None or request.path == path) and rng.random() < share:
            return await _apply(failure, request)
        return await _call(then, request)

    return handler


def created_then_lost(
    then: Handler, *, message: str = "connection lost during the request; may have been created"
) -> Handler:
    """Let `then` handle the request (the lead is created), then lose its answer: MaybeSent."""

    async def handler(request: Request) -> ApiResponse:
        await _call(then, request)
        raise MaybeSent(message)

    return handler


def delayed(seconds: float, then: Handler) -> Handler:
    """Answer after `seconds` of loop time (instant in real time on a virtual-time loop)."""

    async def handler(request: Request) -> ApiResponse:
        await asyncio.sleep(seconds)
        return await _call(then, request)

    return handler


async def _apply(what: Answer, request: Request) -> ApiResponse:
    if isinstance(what, ApiResponse):
        return what
    if isinstance(what, int):
        return answer(what)
    if isinstance(what, TransportError):
        # A fresh copy each time: one instance raised twice would pile up tracebacks.
        raise type(what)(*what.args)
    return await _call(what, request)


async def _call(handler: Handler, request: Request) -> ApiResponse:
    result = handler(request)
    if inspect.isawaitable(result):
        result = await result
    return result


def _now() -> float:
    return asyncio.get_running_loop().time()
