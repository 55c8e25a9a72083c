"""Sending one row to its final result: paced attempts, retries, ping-post, give-ups.

The pool owns the queue, the workers and stopping; a RowSender owns what happens to one
row between taking it and recording it, and reports the server's mood to the pacer and the
circuit breaker. A row whose request may have been applied is never resent unless
`retry_unsafe` is set (RFC 9110 §9.2.2); a ping creates nothing, so it is retried freely.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from uploader.errors import MaybeSent, NotSent
from uploader.journal import JournalWriter
from uploader.model import Lead, Outcome, RowResult
from uploader.send.circuit import Circuit
from uploader.send.outcomes import Action, Verdict, judge_response
from uploader.send.pacer import Pacer, parse_retry_after
from uploader.send.pinging import (
    PingQuote,
    decide,
    is_expired_ping,
    judge_ping,
    ping_payload,
    post_payload,
)
from uploader.send.transport import LeadTransport
from uploader.settings import UploadSettings

if TYPE_CHECKING:
    from uploader.send.pool import PoolStats

_T = TypeVar("_T")


class _TryAgain(Exception):
    """An attempt that tenacity should follow with another one."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.error)
        self.verdict = verdict


class _Abandon(Exception):
    """The run is stopping: this row goes back to pending, unsent."""


@dataclass(slots=True)
class _RowAttempts:
    """Per-row bookkeeping across attempts."""

    requests: int = 0
    counted: int = 0  # attempts that use up --max-attempts (429s do not)
    in_flight: bool = False  # a request is out and its answer not yet read
    maybe_applied: bool = False  # an earlier attempt may have created the lead
    rate_limited_since: float | None = None
    extra: dict[str, Any] | None = None  # the ping's figures, in ping-post mode


class RowSender:
    """Takes one lead to exactly one RowResult (see the module docstring)."""

    def __init__(
        self,
        transport: LeadTransport,
        pacer: Pacer,
        writer: JournalWriter,
        settings: UploadSettings,
        *,
        stats: PoolStats,
        stopping: asyncio.Event,
        stop: Callable[[str], None],
        record: Callable[[RowResult], None],
        on_notice: Callable[[str], None] | None,
        sleep: Callable[[float], Awaitable[None]],
        rng: random.Random,
        clock: Callable[[], float],
        wall_clock: Callable[[], datetime],
    ) -> None:
        self._transport = transport
        self._pacer = pacer
        self._writer = writer
        self._retry = settings.retry
        self._stall_s = settings.rate.stall_s
        self._ping = settings.ping
        ping_rate = self._ping.rate_per_s if self._ping is not None else None
        # Pings share the posts' pace unless --ping-rate gives them their own.
        self._ping_pacer = (
            Pacer(replace(settings.rate, rate_per_s=ping_rate)) if ping_rate else pacer
        )
        self._circuit = Circuit(settings.circuit)
        self.stats = stats
        self._stopping = stopping
        self._stop = stop
        self._record = record
        self._on_notice = on_notice
        self._announced_until = 0.0
        self._sleep = sleep
        self._rng = rng
        self._clock = clock
        self._wall_clock = wall_clock

    async def send(self, lead: Lead) -> RowResult:
        """One row: its post (ping first, in ping-post mode) until a final result or a stop."""
        tries = _RowAttempts()
        try:
            if self._ping is None:
                return await self._post(lead, lead.payload, tries)
            return await self._ping_and_post(lead, tries)
        except _Abandon:
            return _stopped(lead, tries)
        except asyncio.CancelledError:
            # The grace period is over, or a second Ctrl-C.
            self._record(_stopped(lead, tries))
            raise

    async def _post(self, lead: Lead, payload: dict[str, Any], tries: _RowAttempts) -> RowResult:
        """Post: attempts until a final verdict or a give-up."""
        try:
            verdict = await self._with_retries(tries, lambda: self._attempt(lead, payload, tries))
        except _TryAgain as gave_up:
            return self._give_up(lead, gave_up.verdict, tries)
        return _result(lead, verdict, tries)

    async def _with_retries(self, tries: _RowAttempts, attempt: Callable[[], Awaitable[_T]]) -> _T:
        """The first attempt directly; tenacity takes over only when it must be retried.

        Most rows need one attempt, and building a tenacity controller per row cost about
        a quarter of leadup's CPU per row (bench/RESULTS.md, profile).
        """
        try:
            return await attempt()
        except _TryAgain as first:
            wait_s = self._wait_before_next(first, tries)
            if self._should_give_up(first, tries):
                raise
        await self._sleep_unless_stopping(wait_s)
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_TryAgain),
            stop=lambda state: self._should_give_up(_failure(state), tries),
            wait=lambda state: self._wait_before_next(_failure(state), tries),
            sleep=self._sleep_unless_stopping,
            reraise=True,
        )
        async for retry in retrying:
            with retry:
                result = await attempt()
        return result

    async def _ping_and_post(self, lead: Lead, tries: _RowAttempts) -> RowResult:
        """Price the lead, then post it with that ping only if the price clears the floor.

        A post refused because the ping expired is priced again once, and posted if the new
        price still clears the floor.
        """
        assert self._ping is not None
        for round_ in (1, 2):
            quote = await self._ping_until_answered(lead)
            if isinstance(quote, RowResult):
                return quote
            decision = decide(quote, self._ping.min_price)
            tries.extra = quote.cells(decision.bid_id)
            if not self._ping.post:
                return RowResult(lead.row, Outcome.QUOTED, error=decision.reason, extra=tries.extra)
            if not decision.post:
                return RowResult(lead.row, Outcome.HELD, error=decision.reason, extra=tries.extra)
            result = await self._post(lead, post_payload(lead.payload, quote, decision), tries)
            if not (is_expired_ping(result) and round_ == 1):
                return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _ping_until_answered(self, lead: Lead) -> PingQuote | RowResult:
        """Ping with retries on any transient failure; a refusal ends the row rejected."""
        assert self._ping is not None
        payload = ping_payload(lead.payload, self._ping.fields)
        tries = _RowAttempts()
        try:
            verdict, quote = await self._with_retries(
                tries, lambda: self._ping_once(payload, tries)
            )
        except _TryAgain as gave_up:
            verdict = gave_up.verdict
            return RowResult(
                lead.row,
                Outcome.FAILED,
                http_status=verdict.http_status,
                error=f"not sent: the ping failed after {tries.requests} attempts: {verdict.error}",
            )
        if quote is None:
            assert verdict.outcome is not None
            return RowResult(
                lead.row, verdict.outcome, http_status=verdict.http_status, error=verdict.error
            )
        return quote

    async def _ping_once(
        self, payload: dict[str, Any], tries: _RowAttempts
    ) -> tuple[Verdict, PingQuote | None]:
        """One ping; raises _TryAgain / _Abandon like `_attempt`."""
        sent_at = await self._acquire(self._ping_pacer)
        tries.requests += 1
        self.stats.requests += 1
        self.stats.pings += 1
        if tries.requests > 1:
            self.stats.retries += 1
        try:
            verdict, quote = judge_ping(await self._transport.post_ping(payload))
        except (NotSent, MaybeSent) as exc:  # a ping creates nothing: both are safe to retry
            verdict, quote = Verdict(Action.RETRY, Outcome.FAILED, error=f"ping: {exc}"), None
        self._observe(verdict, sent_at, self._ping_pacer)
        self._raise_unless_final(verdict, tries)
        return verdict, quote

    async def _attempt(self, lead: Lead, payload: dict[str, Any], tries: _RowAttempts) -> Verdict:
        """Send once; return a final verdict or raise _TryAgain / _Abandon."""
        sent_at = await self._acquire(self._pacer)
        tries.requests += 1
        self.stats.requests += 1
        if tries.requests > 1:
            self.stats.retries += 1
        await self._writer.in_flight(lead.row, tries.requests, tries.extra)
        if self._clock() - sent_at > max(1 / self._pacer.rate_per_s, self._stall_s):
            # The mark's commit stalled (an fsync can): requests that waited for it must not
            # leave together in a burst the server counts, so this one takes a fresh slot.
            # (Not for waits shorter than stall_s: at a high rate every commit would count
            # as a stall, and each row would use two slots.)
            sent_at = await self._acquire(self._pacer)
        tries.in_flight = True
        try:
            response = await self._transport.post_lead(payload, lead.idempotency_key)
            verdict = judge_response(response)
        except NotSent as exc:
            verdict = Verdict(Action.RETRY, outcome=Outcome.FAILED, error=str(exc))
        except MaybeSent as exc:
            verdict = Verdict(Action.AMBIGUOUS, outcome=Outcome.UNKNOWN, error=str(exc))
        tries.in_flight = False
        if verdict.action is Action.AMBIGUOUS:
            tries.maybe_applied = True
        self._observe(verdict, sent_at, self._pacer)
        self._raise_unless_final(verdict, tries)
        return verdict

    def _raise_unless_final(self, verdict: Verdict, tries: _RowAttempts) -> None:
        """Count the attempt and raise _TryAgain / _Abandon unless the verdict is final."""
        if verdict.action is Action.RATE_LIMITED:
            if tries.rate_limited_since is None:
                tries.rate_limited_since = self._clock()
            raise _TryAgain(verdict)
        tries.counted += 1
        if verdict.action is Action.AUTH:
            self._stop(verdict.error)
            raise _Abandon
        if verdict.action is Action.RETRY or (
            verdict.action is Action.AMBIGUOUS and self._retry.retry_unsafe
        ):
            raise _TryAgain(verdict)

    def _observe(self, verdict: Verdict, sent_at: float, pacer: Pacer) -> None:
        """Feed the pacer that paced the request, and the circuit breaker, with one answer."""
        if verdict.action is Action.RATE_LIMITED:
            self.stats.rate_limited += 1
            pacer.on_rate_limited(sent_at)
            pause_s = parse_retry_after(
                verdict.retry_after, now=self._wall_clock(), max_s=self._retry.retry_after_max_s
            )
            self._pause(
                pause_s if pause_s is not None else self._retry.backoff_initial_s,
                "rate limited (429): pausing every worker; rate now {rate:.1f}/s",
            )
            return
        if verdict.http_status is not None:  # only real answers measure the server's pace
            pacer.on_response(sent_at)
        server_failed = verdict.action in (Action.RETRY, Action.AMBIGUOUS)
        pause_s = self._circuit.record(server_failed)
        if pause_s is None:
            return
        if self._circuit.exhausted:
            self._stop(
                "the API kept failing (server errors or no connection); stopped so as not "
                "to hammer it: the rows not yet sent stay pending"
            )
        else:
            self._pause(pause_s, "the API keeps failing: pausing every worker")

    def _pause(self, seconds: float, why: str) -> None:
        """Pause the pool; tell the user once per pause that lasts long enough to notice."""
        self._pacer.pause(seconds)
        if self._ping_pacer is not self._pacer:
            self._ping_pacer.pause(seconds)
        until = self._clock() + seconds
        if self._on_notice is not None and seconds >= 1 and until > self._announced_until + 0.5:
            self._announced_until = until
            self._on_notice(why.format(rate=self._pacer.rate_per_s) + f" for {seconds:.0f}s")

    async def _acquire(self, pacer: Pacer) -> float:
        """A paced slot, unless the run stops while waiting for one."""
        if self._stopping.is_set():
            raise _Abandon
        granted = pacer.try_acquire()  # due now, nobody queued: no tasks to make
        if granted is not None:
            return granted
        slot = asyncio.ensure_future(pacer.acquire())
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({slot, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not slot.done():
            slot.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await slot
            raise _Abandon
        return slot.result()

    def _should_give_up(self, exc: _TryAgain | None, tries: _RowAttempts) -> bool:
        limited = exc is not None and exc.verdict.action is Action.RATE_LIMITED
        if limited and tries.rate_limited_since is not None:
            waited = self._clock() - tries.rate_limited_since
            return waited >= self._retry.rate_limited_max_s
        return tries.counted >= self._retry.max_attempts

    def _wait_before_next(self, exc: _TryAgain | None, tries: _RowAttempts) -> float:
        """Full-jitter backoff; a 503's Retry-After delays this row; a 429 waits in the pacer."""
        if exc is None or exc.verdict.action is Action.RATE_LIMITED:
            return 0.0
        ceiling = min(
            self._retry.backoff_max_s,
            self._retry.backoff_initial_s * 2 ** max(tries.counted - 1, 0),
        )
        backoff = self._rng.uniform(0, ceiling)
        told = parse_retry_after(
            exc.verdict.retry_after, now=self._wall_clock(), max_s=self._retry.retry_after_max_s
        )
        return max(backoff, told) if told is not None else backoff

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        if seconds <= 0:
            if self._stopping.is_set():
                raise _Abandon
            return
        stopping = asyncio.ensure_future(self._stopping.wait())
        sleeping = asyncio.ensure_future(self._sleep(seconds))
        try:
            await asyncio.wait({stopping, sleeping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            sleeping.cancel()
        if self._stopping.is_set():
            raise _Abandon

    def _give_up(self, lead: Lead, verdict: Verdict, tries: _RowAttempts) -> RowResult:
        if verdict.action is Action.RATE_LIMITED and not tries.maybe_applied:
            error = (
                f"still rate limited (429) after {self._retry.rate_limited_max_s:g}s; "
                "not created, safe to resend"
            )
            return RowResult(
                lead.row,
                Outcome.FAILED,
                http_status=429,
                attempts=tries.requests,
                error=error,
                extra=tries.extra or {},
            )
        if tries.maybe_applied:
            outcome, prefix = Outcome.UNKNOWN, "an earlier attempt may have created it; gave up"
        else:
            outcome, prefix = Outcome.FAILED, "not sent"
        return RowResult(
            lead.row,
            outcome,
            http_status=verdict.http_status,
            attempts=tries.requests,
            error=f"{prefix} after {tries.counted} attempts: {verdict.error}",
            extra=tries.extra or {},
        )


def _stopped(lead: Lead, tries: _RowAttempts) -> RowResult:
    """A row the run stopped on: pending if certainly never applied, else unknown."""
    if tries.in_flight or tries.maybe_applied:
        return RowResult(
            lead.row,
            Outcome.UNKNOWN,
            attempts=tries.requests,
            error="the run stopped while this lead was being sent; it may have been created",
            extra=tries.extra or {},
        )
    # A ping's figures are not kept on a pending row: a resume prices it again.
    return RowResult(
        lead.row, Outcome.PENDING, attempts=tries.requests, error="not sent: the run stopped first"
    )


def _result(lead: Lead, verdict: Verdict, tries: _RowAttempts) -> RowResult:
    assert verdict.outcome is not None
    return RowResult(
        row=lead.row,
        outcome=verdict.outcome,
        lead_status=verdict.lead_status,
        price=verdict.price,
        lead_public_id=verdict.lead_public_id,
        http_status=verdict.http_status,
        attempts=tries.requests,
        error=verdict.error,
        extra=tries.extra or {},
    )


def _failure(state: RetryCallState) -> _TryAgain | None:
    """The _TryAgain that ended a tenacity attempt (tenacity retries nothing else)."""
    exc = state.outcome.exception() if state.outcome is not None else None
    return exc if isinstance(exc, _TryAgain) else None
