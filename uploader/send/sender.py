"""Sending one row to its result: gated, paced attempts, retries, ping-post, give-ups.

The pool owns the queue, the workers, recording and stopping; a RowSender takes one row from
its first attempt to a RowResult, or raises `Abandoned` when the row must go back unsent (the
run is stopping, or must stop: refused credentials, an API that is down, the unknown budget
spent). It tells the pacer and the circuit breaker how the API answers.

A row whose request may have been applied is never resent unless `retry_unsafe` is set
(RFC 9110 §9.2.2); a ping creates nothing, so it is retried freely. Overload answers (429,
503, 408, 425) are flow control: they slow everyone down and do not use up a row's attempts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_random_exponential,
)

from uploader.errors import MaybeSent, NotSent
from uploader.model import Lead, Outcome, RowResult
from uploader.send.flow import Abandoned, FlowControl
from uploader.send.outcomes import Action, Verdict, judge_response
from uploader.send.pacer import Pacer
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

_T = TypeVar("_T")
_THROTTLED = (Action.RATE_LIMITED, Action.OVERLOADED)  # flow control: attempts not used up


class InFlightLog(Protocol):
    """The journal. The pool reserves each row in flight, durably, before a worker takes it;
    a ping-post attempt marks it again to journal the ping's figures before the post."""

    async def in_flight(self, row: int, attempt: int, extra: dict[str, Any] | None = None) -> None:
        """Return once the mark is durable."""


class _TryAgain(Exception):
    """An attempt that tenacity should follow with another one."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.error)
        self.verdict = verdict


@dataclass(slots=True)
class RowAttempts:
    """One row's bookkeeping across attempts; the pool reads it when a row is cut short."""

    requests: int = 0
    counted: int = 0  # attempts that use up --max-attempts (overload answers do not)
    in_flight: bool = False  # a request is out and its answer not yet read
    maybe_applied: bool = False  # an earlier attempt may have created the lead
    throttled_since: float | None = None  # first overload answer (429/503/408/425)
    extra: dict[str, Any] | None = None  # the ping's figures, in ping-post mode


@dataclass(slots=True)
class SendStats:
    """Requests this run made, counted where they are made."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0  # 429 answers
    overloaded: int = 0  # 503, 408 and 425 answers
    pings: int = 0  # of the requests, how many were pings


class RowSender:
    """Takes one lead to exactly one RowResult (see the module docstring)."""

    def __init__(
        self,
        transport: LeadTransport,
        flow: FlowControl,
        log: InFlightLog,
        settings: UploadSettings,
    ) -> None:
        self._transport = transport
        self._flow = flow
        self._log = log
        self._retry = settings.retry
        self._stall_s = settings.rate.stall_s
        self._ping = settings.ping
        self._credentials_from = settings.api.credentials.source  # named by a 401's message
        self._backoff = wait_random_exponential(
            multiplier=self._retry.backoff_initial_s, max=self._retry.backoff_max_s
        )
        self.stats = SendStats()
        self._clock = asyncio.get_running_loop().time

    def __repr__(self) -> str:
        s = self.stats
        return (
            f"<RowSender requests={s.requests} retries={s.retries} 429s={s.rate_limited} "
            f"overloaded={s.overloaded} {self._flow!r}>"
        )

    def stop_waiting(self) -> None:
        """The run stops: waits that do not watch the stop themselves end now."""
        self._flow.stop_waiting()

    async def send(self, lead: Lead, tries: RowAttempts) -> RowResult:
        """One row: its post (ping first, in ping-post mode) until a final result.

        Raises Abandoned when the row must go back unsent; `tries` then says whether it may
        have been applied (see `stopped_result`).
        """
        if self._ping is None:
            return await self._post(lead, lead.payload, tries)
        return await self._ping_and_post(lead, tries)

    async def _post(self, lead: Lead, payload: dict[str, Any], tries: RowAttempts) -> RowResult:
        """Post: attempts until a final verdict or a give-up."""
        try:
            verdict = await self._with_retries(tries, lambda: self._attempt(lead, payload, tries))
        except _TryAgain as gave_up:
            result = self._give_up(lead, gave_up.verdict, tries)
            if result.outcome is Outcome.UNKNOWN:
                # Only with --retry-unsafe: otherwise an ambiguous answer is final at once.
                self._flow.budget.charge()
            return result
        return _result(lead, verdict, tries)

    async def _with_retries(self, tries: RowAttempts, attempt: Callable[[], Awaitable[_T]]) -> _T:
        """The first attempt directly; tenacity takes over only when it must be retried.

        Most rows need one attempt, and building a tenacity controller per row cost about
        a quarter of leadup's CPU per row (bench/RESULTS.md, profile). The waits come from
        the same tenacity strategy on both paths (`_wait_s`).
        """
        try:
            return await attempt()
        except _TryAgain as first:
            if self._should_give_up(first, tries):
                raise
            wait_s = self._wait_s(first, tries)
        await self._flow.sleep(wait_s)
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_TryAgain),
            stop=lambda state: self._should_give_up(_failure(state), tries),
            wait=lambda state: self._wait_s(_failure(state), tries),
            sleep=self._flow.sleep,
            reraise=True,
        )
        async for retry in retrying:
            with retry:
                result = await attempt()
        return result

    async def _ping_and_post(self, lead: Lead, tries: RowAttempts) -> RowResult:
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
        tries = RowAttempts()
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
        self, payload: dict[str, Any], tries: RowAttempts
    ) -> tuple[Verdict, PingQuote | None]:
        """One ping; raises _TryAgain / Abandoned like `_attempt`."""
        flow = self._flow
        answered = probe = False
        try:
            sent_at, probe = await flow.slot(flow.ping_pacer)
            self._count_request(tries, ping=True)
            try:
                verdict, quote = judge_ping(
                    await self._transport.post_ping(payload), self._credentials_from
                )
            except (NotSent, MaybeSent) as exc:  # a ping creates nothing: both are safe to retry
                verdict, quote = Verdict(Action.RETRY, Outcome.FAILED, error=f"ping: {exc}"), None
            answered = True
            self._observe(verdict, sent_at, flow.ping_pacer, probe)
        finally:
            if probe and not answered:
                flow.circuit.probe_lost()
        self._raise_unless_final(verdict, tries)
        return verdict, quote

    async def _attempt(self, lead: Lead, payload: dict[str, Any], tries: RowAttempts) -> Verdict:
        """Send once; return a final verdict or raise _TryAgain / Abandoned."""
        flow = self._flow
        answered = reserved = probe = False
        try:
            await flow.reserve_unknown_place()
            reserved = True
            sent_at, probe = await flow.slot(flow.pacer)
            self._count_request(tries, ping=False)
            if tries.extra is not None:  # the pool reserved the row; this adds the ping's figures
                await self._log.in_flight(lead.row, tries.requests, tries.extra)
                if self._clock() - sent_at > max(1 / flow.pacer.rate_per_s, self._stall_s):
                    # The mark's commit stalled (an fsync can): requests that waited for it
                    # must not leave together in a burst the server counts, so this one takes
                    # a fresh slot. (Not for waits shorter than stall_s: at a high rate every
                    # commit would count as a stall, and each row would use two slots.)
                    sent_at = await flow.acquire(flow.pacer)
            tries.in_flight = True
            try:
                verdict = judge_response(
                    await self._transport.post_lead(payload, lead.idempotency_key),
                    self._credentials_from,
                )
            except NotSent as exc:
                verdict = Verdict(Action.RETRY, outcome=Outcome.FAILED, error=str(exc))
            except MaybeSent as exc:
                verdict = Verdict(Action.AMBIGUOUS, outcome=Outcome.UNKNOWN, error=str(exc))
            tries.in_flight = False
            answered = True
            ambiguous = verdict.action is Action.AMBIGUOUS
            tries.maybe_applied |= ambiguous
            reserved = False
            flow.budget.release(unknown=ambiguous and not self._retry.retry_unsafe)
            self._observe(verdict, sent_at, flow.pacer, probe)
        finally:
            if reserved and not tries.in_flight:
                flow.budget.release(unknown=False)  # never left
            if probe and not answered:
                flow.circuit.probe_lost()
        self._raise_unless_final(verdict, tries)
        return verdict

    def _count_request(self, tries: RowAttempts, *, ping: bool) -> None:
        tries.requests += 1
        self.stats.requests += 1
        self.stats.pings += ping
        if tries.requests > 1:
            self.stats.retries += 1

    def _observe(self, verdict: Verdict, sent_at: float, pacer: Pacer, probe: bool) -> None:
        self.stats.rate_limited += verdict.action is Action.RATE_LIMITED
        self.stats.overloaded += verdict.action is Action.OVERLOADED
        self._flow.observe(verdict, sent_at, pacer, probe)

    def _raise_unless_final(self, verdict: Verdict, tries: RowAttempts) -> None:
        """Count the attempt and raise _TryAgain / Abandoned unless the verdict is final."""
        if verdict.action in _THROTTLED:
            if tries.throttled_since is None:
                tries.throttled_since = self._clock()
            raise _TryAgain(verdict)
        tries.counted += 1
        if verdict.action is Action.AUTH:
            raise Abandoned(verdict.error)
        if verdict.action is Action.RETRY or (
            verdict.action is Action.AMBIGUOUS and self._retry.retry_unsafe
        ):
            raise _TryAgain(verdict)

    # -- retry policy ------------------------------------------------------------------------

    def _should_give_up(self, exc: _TryAgain | None, tries: RowAttempts) -> bool:
        throttled = exc is not None and exc.verdict.action in _THROTTLED
        if throttled and tries.throttled_since is not None:
            waited = self._clock() - tries.throttled_since
            return waited >= self._retry.rate_limited_max_s
        return tries.counted >= self._retry.max_attempts

    def _wait_s(self, exc: _TryAgain | None, tries: RowAttempts) -> float:
        """Full-jitter exponential backoff (tenacity's), at least a 503's Retry-After; a 429
        waits in the pacer, which pauses every worker."""
        if exc is None or exc.verdict.action is Action.RATE_LIMITED:
            return 0.0
        state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.attempt_number = max(tries.requests, 1)
        backoff = self._backoff(state)
        told = self._flow.retry_after_s(exc.verdict)
        return max(backoff, told) if told is not None else backoff

    def _give_up(self, lead: Lead, verdict: Verdict, tries: RowAttempts) -> RowResult:
        if verdict.action in _THROTTLED and not tries.maybe_applied:
            error = (
                f"the API kept answering HTTP {verdict.http_status} (too busy) for "
                f"{self._retry.rate_limited_max_s:g} s; not created, safe to send again"
            )
            return RowResult(
                lead.row,
                Outcome.FAILED,
                http_status=verdict.http_status,
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


def stopped_result(lead: Lead, tries: RowAttempts) -> RowResult:
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


def _result(lead: Lead, verdict: Verdict, tries: RowAttempts) -> RowResult:
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
