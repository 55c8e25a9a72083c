"""Turning row results into the run's Progress and RowsFinished events, a few times a second.

Rows finish hundreds of times a second; faces want a steady snapshot (counts, rate, ETA)
and results in batches, so this gathers them and emits on a tick and once at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from collections.abc import Callable, Mapping

from uploader.events import Event, Progress, RowsFinished
from uploader.model import Outcome, RowResult

TICK_S = 0.25  # how often a snapshot goes out while rows finish
RATE_WINDOW_S = 10.0  # the rate (and so the ETA) is measured over this trailing window


class ProgressReporter:
    """Counts outcomes as rows finish and emits snapshots; see the module docstring."""

    def __init__(
        self,
        counts: Mapping[Outcome, int],
        emit: Callable[[Event], None],
        *,
        tick_s: float = TICK_S,
    ) -> None:
        self._counts: Counter[Outcome] = Counter({o: n for o, n in counts.items() if n})
        self._total = sum(self._counts.values())
        self._emit = emit
        self._tick_s = tick_s
        self._batch: list[RowResult] = []
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._recent: deque[tuple[float, int]] = deque([(self._started, 0)])
        self.done_this_run = 0
        self._ticker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ProgressReporter:
        self._emit(self.snapshot())
        self._ticker = asyncio.create_task(self._tick(), name="leadup-progress")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        self.flush()

    def add(self, result: RowResult) -> None:
        """One row reached an outcome (a pending result: it was handed back unsent)."""
        if result.outcome is not Outcome.PENDING:
            self._counts[Outcome.PENDING] -= 1
            self._counts[result.outcome] += 1
            self.done_this_run += 1
        self._batch.append(result)

    def held_back(self, held: Mapping[Outcome, int]) -> None:
        """Rows the load (still running) found invalid or skipped: counted, not sent."""
        for outcome, n in held.items():
            self._counts[Outcome.PENDING] -= n
            self._counts[outcome] += n

    def recount(self, counts: Mapping[Outcome, int]) -> None:
        """Every row's outcome as the journal has it (after a load that ran alongside)."""
        self._counts = Counter({o: n for o, n in counts.items() if n})
        self._total = sum(self._counts.values())

    def flush(self) -> None:
        """Emit what gathered since the last tick, and a snapshot."""
        if self._batch:
            self._emit(RowsFinished(tuple(self._batch)))
            self._batch = []
        self._emit(self.snapshot())

    def snapshot(self) -> Progress:
        now = self._loop.time()
        self._recent.append((now, self.done_this_run))
        while len(self._recent) > 2 and now - self._recent[1][0] >= RATE_WINDOW_S:
            self._recent.popleft()
        since, done_then = self._recent[0]
        rate = (self.done_this_run - done_then) / (now - since) if now > since else 0.0
        pending = self._counts.get(Outcome.PENDING, 0)
        return Progress(
            total=self._total,
            counts={o: n for o, n in self._counts.items() if n},
            done_this_run=self.done_this_run,
            elapsed_s=now - self._started,
            rate_per_s=rate,
            eta_s=pending / rate if rate > 0 else None,
        )

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            self.flush()
