"""Flow control: what every worker shares about the API's mood, and waiting on it.

The pace (one pacer, or two when pings have their own), the circuit breaker, the unknown
budget, and the notices a person sees about them. Every wait here gives up (Abandoned) as
soon as the run stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from uploader.events import Notice, NoticeKind
from uploader.send.budget import BudgetClosed, BudgetSpent, UnknownBudget
from uploader.send.circuit import ApiDown, Change, Circuit, State
from uploader.send.outcomes import Action, Verdict
from uploader.send.pacer import Pacer, parse_retry_after
from uploader.settings import UploadSettings

_T = TypeVar("_T")
RATE_NOTICE_EVERY_S = 30.0  # a lower rate that is no new low is told at most this often


class Abandoned(Exception):
    """The row goes back unsent; `stop_reason` says why the run must stop, if it must."""

    def __init__(self, stop_reason: str = "") -> None:
        super().__init__(stop_reason)
        self.stop_reason = stop_reason


class FlowControl:
    """The pacers, the circuit breaker and the unknown budget of one run (module docstring)."""

    def __init__(
        self,
        settings: UploadSettings,
        *,
        stopping: asyncio.Event,
        notify: Callable[[Notice], None] = lambda notice: None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._retry = settings.retry
        self.pacer = Pacer(settings.rate)
        ping_rate = settings.ping.rate_per_s if settings.ping is not None else None
        # Pings share the posts' pace unless --ping-rate gives them their own.
        self.ping_pacer = (
            Pacer(replace(settings.rate, rate_per_s=ping_rate)) if ping_rate else self.pacer
        )
        self.circuit = Circuit(settings.circuit, on_change=self._circuit_changed)
        self.budget = UnknownBudget(settings.retry.max_unknown)
        self._stopping = stopping
        self._notify = notify
        self._wall_clock = wall_clock
        self._clock = asyncio.get_running_loop().time
        self._announced_until = 0.0
        self._told_clamp = False  # a Retry-After past --max-retry-after was told
        self._told_rate = (float("inf"), -float("inf"))  # (lowest rate told, when)

    def __repr__(self) -> str:
        return f"<FlowControl {self.pacer!r} {self.circuit!r} {self.budget!r}>"

    # -- what the answers say ---------------------------------------------------------------

    def observe(self, verdict: Verdict, sent_at: float, pacer: Pacer, probe: bool) -> None:
        """Feed the pacer that paced the request, and the circuit breaker, with one answer."""
        failed = verdict.action in (Action.RETRY, Action.AMBIGUOUS)
        if probe:
            self.circuit.probe_done(failed)
        else:
            self.circuit.record(failed)
        if verdict.action is Action.RATE_LIMITED:
            pacer.on_rate_limited(sent_at)
            pause_s = self.retry_after_s(verdict)
            self._pause(
                pause_s if pause_s is not None else self._retry.backoff_initial_s,
                "the API asked to slow down (429): pausing every worker; rate now {rate:.1f}/s",
            )
        elif verdict.action is Action.OVERLOADED:
            if pacer.on_overloaded(sent_at):
                self._rate_lowered(pacer.rate_per_s, verdict.http_status)
        elif verdict.http_status is not None:  # only real answers measure the server's pace
            pacer.on_response(sent_at)

    def retry_after_s(self, verdict: Verdict) -> float | None:
        """The answer's Retry-After in seconds, clamped to --max-retry-after; the first clamp
        of a run is told once, naming the flag (issue 16, item 10)."""
        cap_s = self._retry.retry_after_max_s
        asked_s = parse_retry_after(verdict.retry_after, now=self._wall_clock(), max_s=math.inf)
        if asked_s is not None and asked_s > cap_s and not self._told_clamp:
            self._told_clamp = True
            self._notify(
                Notice(
                    NoticeKind.PAUSED,
                    f"the API asked to wait {asked_s:.0f}s (Retry-After); waiting at most "
                    f"{cap_s:g}s, as --max-retry-after says (raise it to wait longer)",
                    seconds=cap_s,
                )
            )
        return None if asked_s is None else min(asked_s, cap_s)

    def _rate_lowered(self, rate_per_s: float, status: int | None) -> None:
        """Tell of a lower rate when it is news: a new low, or the first in a while."""
        now = self._clock()
        lowest, told_at = self._told_rate
        if rate_per_s < lowest * 0.9 or now - told_at >= RATE_NOTICE_EVERY_S:
            self._told_rate = (rate_per_s, now)
            self._notify(
                Notice(
                    NoticeKind.RATE_LOWERED,
                    f"the API is overloaded (HTTP {status}): rate lowered to {rate_per_s:.1f}/s",
                    rate_per_s=rate_per_s,
                )
            )

    def _circuit_changed(self, change: Change) -> None:
        if change.state is State.OPEN:
            self._notify(
                Notice(
                    NoticeKind.PAUSED,
                    "the API keeps failing: pausing every worker for "
                    f"{change.pause_s:.0f} s, then one test request",
                    seconds=change.pause_s,
                )
            )
        elif change.state is State.HALF_OPEN:
            self._notify(Notice(NoticeKind.PROBING, "sending one test request"))
        elif change.state is State.CLOSED:
            self._notify(Notice(NoticeKind.RECOVERED, "the API answers again: carrying on"))

    def _pause(self, seconds: float, why: str) -> None:
        """Pause the pool; tell the user once per pause that lasts long enough to notice."""
        self.pacer.pause(seconds)
        if self.ping_pacer is not self.pacer:
            self.ping_pacer.pause(seconds)
        until = self._clock() + seconds
        if seconds >= 1 and until > self._announced_until + 0.5:
            self._announced_until = until
            message = why.format(rate=self.pacer.rate_per_s) + f" for {seconds:.0f} s"
            self._notify(Notice(NoticeKind.PAUSED, message, seconds=seconds))

    # -- waiting, unless the run stops ------------------------------------------------------

    async def slot(self, pacer: Pacer) -> tuple[float, bool]:
        """The circuit's leave and a paced slot: (the slot's time, whether this is the probe).

        A circuit that opened while this request waited for its slot sends it back to wait
        for the probe like everyone else: only the probe goes while the API is failing.
        """
        while True:
            probe = await self.admit()
            sent_at = await self.acquire(pacer)
            if probe or self.circuit.state is State.CLOSED:
                return sent_at, probe

    async def admit(self) -> bool:
        """Pass the circuit breaker; True when this request is the probe."""
        if self.circuit.state is State.CLOSED:  # the common case, without tasks
            if self._stopping.is_set():
                raise Abandoned
            return False
        try:
            return await self.unless_stopping(self.circuit.admit())
        except ApiDown:
            raise Abandoned(
                f"the API is down: {self.circuit.failed_probes} test requests in a row failed "
                "after pauses; the rows not yet sent stay pending"
            ) from None

    async def reserve_unknown_place(self) -> None:
        """A place in the unknown budget for one post (see uploader/send/budget.py).

        With --concurrency above --max-unknown, a post waits here for most rows: the pool's
        stop closes the budget (`stop_waiting`), instead of two tasks per wait watching it.
        """
        budget = self.budget
        if self._stopping.is_set():
            raise Abandoned
        try:
            await budget.reserve()
        except BudgetClosed:
            raise Abandoned from None
        except BudgetSpent:
            raise Abandoned(
                f"{budget.unknown} rows got no clear answer and may have been created "
                f"(--max-unknown {budget.limit}): stopped before more need a manual check"
            ) from None

    def stop_waiting(self) -> None:
        """The run stops: posts waiting for a place in the unknown budget give up."""
        self.budget.close()

    async def acquire(self, pacer: Pacer) -> float:
        """A paced slot, unless the run stops while waiting for one."""
        if self._stopping.is_set():
            raise Abandoned
        granted = pacer.try_acquire()  # due now, nobody queued: no tasks to make
        if granted is not None:
            return granted
        return await self.unless_stopping(pacer.acquire())

    async def sleep(self, seconds: float) -> None:
        """Sleep, unless the run stops first."""
        if seconds <= 0:
            if self._stopping.is_set():
                raise Abandoned
            return
        await self.unless_stopping(asyncio.sleep(seconds))

    async def unless_stopping(self, waiting: Awaitable[_T]) -> _T:
        """Await `waiting`, or raise Abandoned (cancelling it) if the run stops first."""
        if self._stopping.is_set():
            if asyncio.iscoroutine(waiting):
                waiting.close()
            raise Abandoned
        task = asyncio.ensure_future(waiting)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.cancelled():
            raise Abandoned
        return task.result()
