"""The HTTP side of the fake Juiced API: routes, auth, rate limit, latency, faults, admin.

Order of one `POST /leads` or `POST /ping`: a scripted answer if one is queued for that path
(it decides everything), else auth (401) -> rate limit (429, not counted) -> latency -> one
fault draw (drop, 500, 503, lost response) -> `LeadDesk` (400, 422, or the lead and its 201,
or the ping and its 200).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import email.utils
import hmac
import ipaddress
import json
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from uploader.sandbox.config import SandboxConfig, Scripted
from uploader.sandbox.leads import Answer, LeadDesk
from uploader.sandbox.limiter import SlidingWindow, retry_after_seconds
from uploader.sandbox.state import RequestOutcome, RequestRecord, SandboxState, redact_headers


@dataclass(slots=True)
class _Call:
    """One API request in flight: what the log line needs, whatever happens next."""

    request: web.Request
    path: str
    arrived: float
    idempotency_key: str
    scripted: bool = False


class SandboxApp:
    """The handlers and their shared config, state, limiter and random streams."""

    def __init__(self, config: SandboxConfig, state: SandboxState | None = None) -> None:
        self.state = state or SandboxState()
        self.config = config
        self.state.keep_records = config.keep_records
        self.state.script = deque(config.script)
        self._reset_limiter()
        self._reset_random()

    def _reset_limiter(self) -> None:
        rate = self.config.rate_limit_per_s
        self.limiter = SlidingWindow(rate) if rate is not None else None

    def _reset_random(self) -> None:
        # One stream per purpose, all from the seed, so e.g. a 422 (which draws no
        # outcome) does not shift which later request gets a fault.
        seed = self.config.seed
        self._faults = random.Random(f"{seed}:faults")
        self._latency = random.Random(f"{seed}:latency")
        self.desk = LeadDesk(seed)

    def reconfigure(self, **changes: Any) -> SandboxConfig:
        """Change knobs at runtime (between requests); returns the new config."""
        self.config = dataclasses.replace(self.config, **changes)
        if "rate_limit_per_s" in changes:
            self._reset_limiter()
        if "seed" in changes:
            self._reset_random()
        if "script" in changes:
            self.state.script = deque(self.config.script)
        if "keep_records" in changes:
            self.state.keep_records = self.config.keep_records
        return self.config

    def build(self) -> web.Application:
        """The aiohttp application: the two API routes and the `/_sandbox/*` admin routes."""
        app = web.Application()
        app.router.add_post("/leads", self.post_lead)
        app.router.add_post("/ping", self.post_ping)
        app.router.add_get("/_sandbox/leads", self.admin_leads)
        app.router.add_get("/_sandbox/requests", self.admin_requests)
        app.router.add_get("/_sandbox/stats", self.admin_stats)
        app.router.add_post("/_sandbox/revoke", self.admin_revoke)
        app.router.add_post("/_sandbox/restore", self.admin_restore)
        app.router.add_post("/_sandbox/script", self.admin_script)
        app.router.add_get("/_sandbox/pings", self.admin_pings)
        app.router.add_post("/_sandbox/expire-pings", self.admin_expire_pings)
        return app

    # --- API routes --------------------------------------------------------------------

    async def post_lead(self, request: web.Request) -> web.StreamResponse:
        """`POST /leads`: one lead, or whatever the script or a fault says instead."""
        headers = redact_headers(request.headers)

        def create(body: bytes, call: _Call) -> Answer:
            return self.desk.create_lead(
                self.config, self.state, body, idempotency_key=call.idempotency_key, headers=headers
            )

        return await self._api_route(request, "/leads", create)

    async def post_ping(self, request: web.Request) -> web.StreamResponse:
        """`POST /ping`: bids (internal source) or one price (vendor), or what a script says."""

        def ping(body: bytes, call: _Call) -> Answer:
            return self.desk.ping(self.config, self.state, body)

        return await self._api_route(request, "/ping", ping)

    async def _api_route(
        self, request: web.Request, path: str, apply: Callable[[bytes, _Call], Answer]
    ) -> web.StreamResponse:
        """A queued script item for `path` decides, else `_serve` runs `apply` on the body."""
        scripted = self.state.next_scripted(path)  # before any await: arrival order
        call = self._call(request, path, scripted is not None)
        body = await request.read()
        lose: bool | None = None
        if scripted is not None:
            if scripted.delay_s > 0:
                await asyncio.sleep(scripted.delay_s)
            action = scripted.resolved_action
            if action == "respond":
                status = scripted.status or 500
                return self._send(call, (status, scripted.response_body(), scripted.headers, ""))
            if action == "drop":
                return self._hang_up(call, "dropped")
            lose = action == "lose_response"
        return await self._serve(call, lambda: apply(body, call), lose)

    def _call(self, request: web.Request, path: str, scripted: bool = False) -> _Call:
        key = request.headers.get("Idempotency-Key", "")
        return _Call(request, path, time.time(), key, scripted)

    async def _serve(
        self, call: _Call, apply: Callable[[], Answer], lose: bool | None
    ) -> web.StreamResponse:
        """Auth, limit, latency and faults around `apply`; `lose` set means scripted."""
        if not self._authorized(call.request):
            return self._send(call, (401, {"message": "Unauthorized"}, {}, ""))
        if self.limiter is not None:
            wait_s = self.limiter.try_admit(time.monotonic())
            if wait_s > 0:
                return self._send(call, self._too_many(wait_s))
        await self._sleep_latency()
        fault = self._draw_fault() if lose is None else ("lose" if lose else None)
        if fault == "drop":
            return self._hang_up(call, "dropped")
        if fault == "500":
            return self._send(call, (500, {"message": "Server Error"}, {}, ""))
        if fault == "503":
            headers = {"Retry-After": "1"}
            return self._send(call, (503, {"message": "Service Unavailable"}, headers, ""))
        answer = apply()
        if fault == "lose":
            if answer[3]:
                self.state.mark_response_lost(answer[3])
            return self._hang_up(call, "lost_response", answer[3])
        return self._send(call, answer)

    def _authorized(self, request: web.Request) -> bool:
        """Basic key:secret or the Bearer token, unless revoked; compared in constant time."""
        cfg, state = self.config, self.state
        revoke_due = cfg.revoke_after is not None and state.created_count >= cfg.revoke_after
        if revoke_due and not state.revoke_fired:
            state.revoked = state.revoke_fired = True
        if state.revoked:
            return False
        scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return hmac.compare_digest(value.encode(), cfg.token.encode())
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return False
            expected = f"{cfg.api_key}:{cfg.api_secret}".encode()
            return hmac.compare_digest(decoded, expected)
        return False

    def _too_many(self, wait_s: float) -> Answer:
        seconds = retry_after_seconds(wait_s)
        reset = time.time() + wait_s
        if self.config.retry_after_format == "date":
            retry_after = email.utils.formatdate(float(int(reset) + 1), usegmt=True)
        else:
            retry_after = str(seconds)
        headers = {
            "Retry-After": retry_after,
            "X-RateLimit-Limit": str(self.limiter.limit if self.limiter else 0),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(reset) + 1),
        }
        return 429, {"message": "Too Many Attempts."}, headers, ""

    async def _sleep_latency(self) -> None:
        cfg = self.config
        delay_s = cfg.latency_s
        if cfg.latency_jitter_s > 0:
            delay_s += self._latency.uniform(0.0, cfg.latency_jitter_s)
        if delay_s > 0:
            await asyncio.sleep(delay_s)

    def _draw_fault(self) -> str | None:
        """One draw per admitted request, faults on or not: request n's fate depends on n."""
        cfg = self.config
        draw = self._faults.random()
        for name, ratio in (
            ("drop", cfg.drop_ratio),
            ("500", cfg.error_500_ratio),
            ("503", cfg.error_503_ratio),
            ("lose", cfg.lost_response_ratio),
        ):
            if draw < ratio:
                return name
            draw -= ratio
        return None

    # --- sending -----------------------------------------------------------------------

    def _log(self, call: _Call, status: int | None, outcome: RequestOutcome, lead_id: str) -> None:
        self.state.log(
            RequestRecord(
                method=call.request.method,
                path=call.path,
                status=status,
                outcome=outcome,
                at=call.arrived,
                idempotency_key=call.idempotency_key,
                scripted=call.scripted,
                lead_public_id=lead_id,
            )
        )

    def _send(self, call: _Call, answer: Answer) -> web.Response:
        status, body, headers, lead_id = answer
        self._log(call, status, "answered", lead_id)
        return web.json_response(body, status=status, headers=dict(headers))

    def _hang_up(self, call: _Call, outcome: RequestOutcome, lead_id: str = "") -> web.Response:
        """Close the connection without a byte of response: the client sees a disconnect.

        aiohttp then fails to write the placeholder response to the closed transport and
        drops it quietly (it treats that as a client that went away).
        """
        self._log(call, None, outcome, lead_id)
        transport = call.request.transport
        if transport is not None:
            transport.abort()
        response = web.Response(status=500)
        response.force_close()
        return response

    # --- admin routes (no auth, loopback only) -----------------------------------------

    async def admin_leads(self, request: web.Request) -> web.Response:
        """`GET /_sandbox/leads`: every created lead, for tests that run leadup as a process."""
        _loopback_only(request)
        return web.json_response([lead.to_json() for lead in self.state.leads])

    async def admin_requests(self, request: web.Request) -> web.Response:
        """`GET /_sandbox/requests`: the request log."""
        _loopback_only(request)
        return web.json_response([r.to_json() for r in self.state.requests])

    async def admin_stats(self, request: web.Request) -> web.Response:
        """`GET /_sandbox/stats`: counts by HTTP status, leads, keys created twice."""
        _loopback_only(request)
        return web.json_response(self.state.stats())

    async def admin_revoke(self, request: web.Request) -> web.Response:
        """`POST /_sandbox/revoke`: every API request gets 401 until a restore."""
        _loopback_only(request)
        self.state.revoke()
        return web.json_response({"revoked": True})

    async def admin_restore(self, request: web.Request) -> web.Response:
        """`POST /_sandbox/restore`: accept the credentials again."""
        _loopback_only(request)
        self.state.restore()
        return web.json_response({"revoked": False})

    async def admin_script(self, request: web.Request) -> web.Response:
        """`POST /_sandbox/script`: queue answers, a JSON list of Scripted fields."""
        _loopback_only(request)
        try:
            items = json.loads(await request.read())
            answers = [Scripted.from_json(item) for item in items]
        except (ValueError, TypeError, AttributeError) as exc:
            return web.json_response({"message": f"bad script: {exc}"}, status=400)
        self.state.script.extend(answers)
        return web.json_response({"scripted_left": len(self.state.script)})

    async def admin_pings(self, request: web.Request) -> web.Response:
        """`GET /_sandbox/pings`: every stored ping, its bids, best price and whether expired."""
        _loopback_only(request)
        ttl_s, now = self.config.ping_ttl_s, time.monotonic()
        return web.json_response([p.to_json(ttl_s, now) for p in self.state.pings.values()])

    async def admin_expire_pings(self, request: web.Request) -> web.Response:
        """`POST /_sandbox/expire-pings`: age every stored ping past the TTL, for tests."""
        _loopback_only(request)
        return web.json_response({"expired": self.state.expire_pings()})


def _loopback_only(request: web.Request) -> None:
    try:
        loopback = ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise web.HTTPForbidden(text="the sandbox admin routes answer loopback clients only")
