"""The pacer every worker goes through: an even, adaptive request rate, and Retry-After parsing.

Pacing is even with no burst (slots exactly 1/rate apart, never caught up after an idle
period or a stall); a 429 pauses the whole pool for its Retry-After and lowers the rate once
per episode (AIMD); overload answers (503, 408, 425) lower it too, at most once per
`overload_episode_s`; calm raises it again, slowly near the rate that last drew a 429.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import MAXYEAR, MINYEAR, UTC, datetime, timedelta
from email.utils import parsedate_tz

from uploader.settings import RatePolicy

__all__ = ["Pacer", "parse_retry_after"]


class Pacer:
    """One object all workers await: grants request slots evenly, adapts to 429s.

    Only the head of the FIFO queue sleeps, and it re-reads the pause and the rate each time
    it wakes, so a pause or a decrease issued meanwhile applies to it too.
    """

    def __init__(
        self,
        policy: RatePolicy,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        tick_s: float = 0.001,
    ) -> None:
        self._policy = policy
        self._tick_s = tick_s  # epoll's timeout resolution: asyncio cannot sleep less
        # The event loop's clock by default, so a virtual-time loop drives the pacer too.
        self._clock = clock or asyncio.get_running_loop().time
        self._sleep = sleep
        self._queue = asyncio.Lock()  # FIFO: asyncio.Lock wakes waiters in arrival order
        self._waiting = 0  # callers inside `acquire`: `try_acquire` never jumps them
        self._floor = min(policy.min_rate_per_s, policy.rate_per_s)
        self._rate = policy.rate_per_s
        self._grown_at = -math.inf  # the rate is exact as of this clock time
        self._ceiling = math.inf  # the rate (or measure) that last drew a 429
        self._last_slot = -math.inf
        self._started_at: float | None = None  # the first grant: measuring starts there
        self._decreased_at = -math.inf
        self._accepted: deque[float] = deque()  # clock times of recent non-429 responses
        self._resumed_at = -math.inf  # the end of the last pause that is over
        self.paused_until = -math.inf
        self.rate_limited_count = 0

    def __repr__(self) -> str:
        return (
            f"<Pacer rate={self.rate_per_s:.2f}/s ceiling={self._ceiling:.2f}/s "
            f"paused_until={self.paused_until:.3f} rate_limited={self.rate_limited_count}>"
        )

    @property
    def rate_per_s(self) -> float:
        """The current rate, requests per second."""
        return self._grow(self._clock())

    def try_acquire(self) -> float | None:
        """`acquire` without waiting: the slot if it is due and nobody is queued, else None.

        Most slots are due when asked for at a high rate; granting them here spares the
        caller the tasks and the lock a wait needs (a measurable share of the CPU per row).
        """
        if self._waiting:
            return None
        now = self._clock()
        interval = 1.0 / self._grow(now)
        slot = max(self._last_slot + interval, self.paused_until, now)
        if now < slot - self._tick_s:
            return None
        return self._grant(slot, now, interval)

    async def acquire(self) -> float:
        """Wait for this caller's slot, in FIFO order; return the clock time it was granted."""
        self._waiting += 1
        try:
            return await self._acquire()
        finally:
            self._waiting -= 1

    async def _acquire(self) -> float:
        async with self._queue:
            arrived = self._clock()  # an idle pacer grants at once but never catches up
            waited_for = -math.inf
            while True:
                interval = 1.0 / self._grow(self._clock())
                slot = max(self._last_slot + interval, self.paused_until, arrived)
                now = self._clock()
                # Having slept until this very slot, take it even if the clock reads a hair
                # early: asyncio may wake a timer up to its clock resolution ahead of time.
                # A slot less than one timer tick away is taken at once: the event loop's
                # timers cannot sleep shorter, and the schedule stays anchored on the slot.
                if now >= slot - self._tick_s or slot <= waited_for:
                    break
                await self._sleep(slot - now)
                waited_for = slot
            return self._grant(slot, now, interval)

    def _grant(self, slot: float, now: float, interval: float) -> float:
        # Anchor on the schedule so small wake-up lateness does not drift the rate down;
        # after a stall of a whole interval or more, restart the schedule from now.
        self._last_slot = slot if now - slot < interval else now
        if self._started_at is None:
            self._started_at = now
        return now

    def pause(self, seconds: float) -> None:
        """Hold every acquirer until now + seconds; extends a pause, never shortens one."""
        now = self._clock()
        self._grow(now)  # time paused is not calm: settle the growth up to here
        if self.paused_until <= now:
            self._resumed_at = self.paused_until
        self.paused_until = max(self.paused_until, now + max(seconds, 0.0))

    def on_overloaded(self, sent_at: float) -> bool:
        """A 503/408/425 for a request granted at sent_at: lower the rate, at most once per
        `overload_episode_s`. True when it went down.

        These answers also come at random, unrelated to the pace, so unlike a 429 they do not
        go by the measured rate, and a steady share of them must not drive the rate to its
        floor: one multiplicative step per episode, recovered by the usual calm growth.
        """
        now = self._clock()
        if (
            sent_at <= self._decreased_at
            or now - self._decreased_at < self._policy.overload_episode_s
        ):
            return False
        rate = self._grow(now)
        # No ceiling is learnt: a random share of 503s says nothing about where a limit is,
        # so the rate grows back at full speed once they stop.
        self._rate = self._bounded(rate * self._policy.decrease_factor)
        self._decreased_at = now
        return self._rate < rate

    def on_rate_limited(self, sent_at: float) -> bool:
        """A 429 for a request granted at sent_at: lower the rate once per episode.

        True when the rate went down (the first 429 of an episode).
        """
        self.rate_limited_count += 1
        if sent_at <= self._decreased_at:
            return False  # already in flight when the rate last went down: same episode
        now = self._clock()
        rate = self._grow(now)
        lowered = rate * self._policy.decrease_factor
        ceiling = rate
        measured = self._measured_rate(now)
        if measured is not None:
            # The server just told us what it accepts; going straight under that converges
            # in one or two episodes where a multiplicative step alone needs many.
            lowered = min(lowered, measured * self._policy.measured_share)
            ceiling = min(ceiling, measured)
        self._ceiling = ceiling
        self._rate = self._bounded(lowered)
        self._decreased_at = now
        return True

    def on_response(self, sent_at: float) -> None:
        """Any non-429 response: one more sample of what the server accepts.

        Counted when the response arrives (sent_at is not needed), as the server's own
        window counts requests as they come.
        """
        del sent_at
        now = self._clock()
        self._accepted.append(now)
        self._forget_before(now - self._policy.measure_window_s)

    def _measured_rate(self, now: float) -> float | None:
        """Accepted responses per second over the trailing window, if enough was sent."""
        if self._started_at is None:
            return None
        # The pool may pause before or after reporting the 429: a pause that has not ended
        # yet does not cut short the samples taken since the previous one.
        resumed = self.paused_until if self.paused_until <= now else self._resumed_at
        since = max(self._started_at, resumed)
        if now - since < self._policy.measure_min_s:
            return None
        window_s = self._policy.measure_window_s
        self._forget_before(now - window_s)
        return len(self._accepted) / window_s

    def _forget_before(self, horizon: float) -> None:
        while self._accepted and self._accepted[0] <= horizon:
            self._accepted.popleft()

    def _bounded(self, rate: float) -> float:
        return min(max(rate, self._floor), self._policy.rate_per_s)

    def _grow(self, now: float) -> float:
        """Bring the rate up to date: additive increase per second of calm (pauses excluded),
        at probe speed within the band around the last 429's rate (a CUBIC-like plateau)."""
        calm_s = now - max(self._grown_at, self.paused_until)
        self._grown_at = max(self._grown_at, now)
        policy = self._policy
        band = policy.probe_band
        rate = self._rate
        low, high = self._ceiling * (1 - band), self._ceiling * (1 + band)
        while calm_s > 0 and rate < policy.rate_per_s:
            if low <= rate < high:
                speed, edge = policy.probe_increase_per_s2, high
            else:
                speed, edge = policy.increase_per_s2, low if rate < low else math.inf
            edge = min(edge, policy.rate_per_s)
            if speed <= 0:
                break
            needed_s = (edge - rate) / speed
            if needed_s >= calm_s:
                rate += speed * calm_s
                break
            rate, calm_s = edge, calm_s - needed_s
        self._rate = self._bounded(rate)
        return self._rate


_SECONDS = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def parse_retry_after(value: str | None, *, now: datetime, max_s: float) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110 §10.2.3), clamped to [0, max_s].

    Accepts delay-seconds (decimals too, since servers send them) and HTTP dates, including
    the obsolete RFC 850 and asctime forms. None when the value means nothing, so the caller
    falls back to its own backoff; never raises, whatever the server sent.
    """
    text = (value or "").strip()
    if not text:
        return None
    # A huge digit string becomes inf, not an error.
    delay_s = float(text) if _SECONDS.fullmatch(text) else _seconds_until(text, now)
    if delay_s is None:
        return None
    return min(max(delay_s, 0.0), max_s)


def _seconds_until(text: str, now: datetime) -> float | None:
    """Seconds from now until an HTTP date; +-inf for dates past datetime's range."""
    try:
        parts = parsedate_tz(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if parts is None:
        return None
    year, offset_s = parts[0], parts[9] or 0  # no zone (asctime, -0000) means GMT in HTTP
    if year > MAXYEAR:
        return math.inf
    if year < MINYEAR:
        return -math.inf
    try:
        when = datetime(*parts[:6], tzinfo=UTC) - timedelta(seconds=offset_s)
    except ValueError:
        return None  # a day or hour that does not exist: garbage, not a date
    except OverflowError:
        return math.inf if year > MINYEAR else -math.inf
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return (when - now).total_seconds()
