"""The unknown budget: a run stops before more of its rows could end `unknown` than allowed.

Each `unknown` row (a 500, 502, 504, a timeout or a dropped connection after sending) costs a
person a manual check, so `--max-unknown N` bounds them. Every post that is out could become
one, so a post may leave only while the unknown rows so far plus the posts out stay under N:
the bound holds even when every request out fails at once.
"""

from __future__ import annotations

import asyncio
from collections import deque


class BudgetSpent(Exception):
    """`limit` rows of this run ended unknown: nothing more may be sent."""


class BudgetClosed(Exception):
    """The run is stopping: nobody waits for a place any more."""


class UnknownBudget:
    """Places for posts that may end unknown; see the module docstring."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the unknown budget needs at least one place")
        self.limit = limit
        self.unknown = 0  # rows of this run that ended unknown
        self.out = 0  # posts that hold a place now
        # Posts waiting for a place, first come first served: a freed place wakes one of
        # them, not all (with --concurrency above the limit, waking all cost more CPU per
        # row than the rest of the pool's bookkeeping).
        self._waiting: deque[asyncio.Future[None]] = deque()
        self.closed = False

    def __repr__(self) -> str:
        return f"<UnknownBudget unknown={self.unknown} out={self.out} limit={self.limit}>"

    @property
    def spent(self) -> bool:
        return self.unknown >= self.limit

    async def reserve(self) -> None:
        """Wait for a place for one post; raises BudgetSpent once the limit is reached."""
        while True:
            if self.spent:
                raise BudgetSpent
            if self.closed:
                raise BudgetClosed
            if self.unknown + self.out < self.limit and not self._waiting:
                self.out += 1
                return
            woken = asyncio.get_running_loop().create_future()
            self._waiting.append(woken)
            try:
                await woken
            except asyncio.CancelledError:
                if woken in self._waiting:
                    self._waiting.remove(woken)
                elif woken.done() and not woken.cancelled():
                    self._wake_one()  # the place it was woken for goes to the next in line
                raise
            if not self.spent and not self.closed and self.unknown + self.out < self.limit:
                self.out += 1
                self._wake_one()  # more places may be free (several releases at once)
                return

    def release(self, *, unknown: bool) -> None:
        """A post's answer is in (or it never left): give its place back, or spend it."""
        self.out -= 1
        if unknown:
            self.unknown += 1
        if self.spent:
            self._wake_all()
        else:
            self._wake_one()

    def close(self) -> None:
        """The run stops: every post waiting for a place raises BudgetClosed."""
        self.closed = True
        self._wake_all()

    def charge(self) -> None:
        """A row ended unknown after its place was given back (a retried unsafe attempt)."""
        self.unknown += 1
        if self.spent:
            self._wake_all()

    def _wake_one(self) -> None:
        while self._waiting:
            if self.unknown + self.out >= self.limit and not self.spent:
                return  # no free place: nobody to wake
            woken = self._waiting.popleft()
            if not woken.done():
                woken.set_result(None)
                return

    def _wake_all(self) -> None:
        while self._waiting:
            woken = self._waiting.popleft()
            if not woken.done():
                woken.set_result(None)
