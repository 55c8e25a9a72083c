"""The worker pool: a bounded queue feeding N workers; the one place that records rows and
decides to stop.

Rows are reserved in flight in the journal a batch at a time before they are queued (one
durable commit for many rows instead of one per row), never more than 2 x concurrency
without a durable result: that is what a crash may leave `unknown` (DECISIONS, "Outages and
crashes"). Every row reserved gets a result, `pending` for one the run never sent.
What happens to one row between a worker taking it and its result is the RowSender's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

from uploader.model import Lead, Outcome, RowResult
from uploader.send.flow import Abandoned
from uploader.send.sender import RowAttempts, RowSender, stopped_result


class RowLog(Protocol):
    """Where rows are reserved and results go (the journal's group-committing writer)."""

    # Rows reserved without a result recorded; a result recorded is durable no later than
    # the next reservation's commit, so this bounds what a crash may leave in flight.
    unsettled: int

    async def reserve(self, rows: Sequence[int]) -> None:
        """Mark rows in flight before their first attempt; return once that is durable."""

    async def settling(self) -> None:
        """Return once `unsettled` went down."""

    def record(self, result: RowResult) -> None:
        """Queue a result; it is durable with the next group commit."""


class LeadPool:
    """Posts leads with bounded concurrency; every lead taken ends as exactly one RowResult.

    A row not yet sent when the run stops stays pending for a resume. `stop()` is graceful
    (requests out get `grace_s`), `abort()` cancels them (they end unknown).
    """

    def __init__(
        self,
        sender: RowSender,
        log: RowLog,
        *,
        concurrency: int,
        grace_s: float,
        stopping: asyncio.Event,
        on_result: Callable[[RowResult], None] = lambda result: None,
    ) -> None:
        self._sender = sender
        self._log = log
        self._concurrency = concurrency
        self._grace_s = grace_s
        self._stopping = stopping  # shared with the sender, which gives up waiting on it
        self._aborted = asyncio.Event()
        self._on_result = on_result
        self._idle = asyncio.Event()
        self._idle.set()
        self._busy = 0
        self._error: Exception | None = None
        self.finished = 0  # rows that reached a final outcome in this run
        self.stopped = ""  # why the run stopped early; "" when it ran out of rows
        # The reservation being committed, with its rows (not yet queued).
        self._reserving: tuple[asyncio.Future[None], Sequence[Lead]] | None = None

    def __repr__(self) -> str:
        return (
            f"<LeadPool busy={self._busy}/{self._concurrency} finished={self.finished} "
            f"stopped={self.stopped!r} {self._sender!r}>"
        )

    def stop(self, reason: str) -> None:
        """Stop taking new rows; rows not yet sent stay pending. The first reason wins."""
        if not self._stopping.is_set():
            self.stopped = reason
            self._stopping.set()
            self._sender.stop_waiting()

    def abort(self, reason: str) -> None:
        """Stop now: requests out are cancelled and recorded unknown."""
        self.stop(reason)
        self._aborted.set()

    async def run(self, leads: AsyncIterator[Sequence[Lead]]) -> None:
        """Dispatch every lead (they come in batches) until they run out or the run stops.

        A worker that fails for a reason of leadup's own (the journal cannot be written) stops
        the run, and that error is re-raised once every worker has recorded its row.
        """
        queue: asyncio.Queue[Lead] = asyncio.Queue()  # bounded by the reservations
        workers = [
            asyncio.create_task(self._worker(queue), name=f"leadup-worker-{i}")
            for i in range(self._concurrency)
        ]
        producer = asyncio.create_task(self._produce(leads, queue), name="leadup-producer")
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({producer, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if producer.done() and not producer.cancelled() and producer.exception():
                self._fail(producer.exception())
            if not self._stopping.is_set():
                drained = asyncio.ensure_future(queue.join())
                await asyncio.wait({drained, stopping}, return_when=asyncio.FIRST_COMPLETED)
                drained.cancel()
            if self._stopping.is_set():
                producer.cancel()
                self._unsend(queue)  # queued rows go back to pending in the journal
                await self._grace()
        finally:
            for task in (stopping, producer, *workers):
                task.cancel()  # idle workers wait in get(); busy ones record their row
            await asyncio.gather(stopping, producer, *workers, return_exceptions=True)
            await self._unreserve()
            self._unsend(queue)
        if self._error is not None:
            raise self._error

    async def _grace(self) -> None:
        """Requests that are out get a grace period (none after an abort)."""
        if self._aborted.is_set():
            return
        idle = asyncio.ensure_future(self._idle.wait())
        aborted = asyncio.ensure_future(self._aborted.wait())
        try:
            await asyncio.wait(
                {idle, aborted}, timeout=self._grace_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            idle.cancel()
            aborted.cancel()

    def _fail(self, error: BaseException | None) -> None:
        """leadup's own failure (e.g. the journal cannot be written): stop, then re-raise it."""
        if self._error is None and isinstance(error, Exception):
            self._error = error
            self.stop(f"stopped by an error: {error}")

    async def _produce(
        self, batches: AsyncIterator[Sequence[Lead]], queue: asyncio.Queue[Lead]
    ) -> None:
        """Reserve rows in flight a batch at a time and queue them for the workers."""
        limit = 2 * self._concurrency  # rows reserved without a durable result, at most
        least = max(1, self._concurrency // 2)  # rows worth one reservation's commit
        async for batch in batches:
            start = 0
            while start < len(batch):
                if self._stopping.is_set():
                    return
                wanted = min(least, len(batch) - start)
                while limit - self._log.unsettled < wanted:
                    await self._log.settling()  # a result was recorded: room again
                end = start + min(limit - self._log.unsettled, len(batch) - start)
                await self._reserve(batch[start:end], queue)
                start = end

    async def _reserve(self, leads: Sequence[Lead], queue: asyncio.Queue[Lead]) -> None:
        """Reserve these rows durably, then queue them (see `_unreserve` if cut short)."""
        reserving = asyncio.ensure_future(self._log.reserve([lead.row for lead in leads]))
        self._reserving = (reserving, leads)
        await asyncio.shield(reserving)  # a cancelled producer leaves it to commit
        self._reserving = None
        for lead in leads:
            queue.put_nowait(lead)

    async def _unreserve(self) -> None:
        """A reservation the stopped producer left: once it commits, its rows go back pending."""
        if self._reserving is None:
            return
        reserving, leads = self._reserving
        self._reserving = None
        with contextlib.suppress(Exception):  # it failed: its rows never left pending
            await asyncio.shield(reserving)
            for lead in leads:
                self._record(RowResult(lead.row, Outcome.PENDING))

    async def _worker(self, queue: asyncio.Queue[Lead]) -> None:
        while True:
            lead = await queue.get()
            try:
                if self._stopping.is_set():
                    self._record(RowResult(lead.row, Outcome.PENDING))  # never taken
                    continue
                await self._send(lead)
            except Exception as exc:
                self._fail(exc)
                return
            finally:
                queue.task_done()

    async def _send(self, lead: Lead) -> None:
        """One row to its one recorded result, whatever happens on the way."""
        self._busy += 1
        self._idle.clear()
        tries = RowAttempts()
        try:
            try:
                result = await self._sender.send(lead, tries)
            except Abandoned as abandoned:
                if abandoned.stop_reason:
                    self.stop(abandoned.stop_reason)
                result = stopped_result(lead, tries)
            except asyncio.CancelledError:
                # The grace period is over, or the run was aborted.
                self._record(stopped_result(lead, tries))
                raise
            except Exception:
                with contextlib.suppress(Exception):  # the log itself may be what failed
                    self._record(stopped_result(lead, tries))
                raise
            self._record(result)
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    def _record(self, result: RowResult) -> None:
        self._log.record(result)
        if result.outcome is not Outcome.PENDING:
            self.finished += 1
        self._on_result(result)

    def _unsend(self, queue: asyncio.Queue[Lead]) -> None:
        """Rows reserved and queued but never taken: back to pending, as if never reserved."""
        while not queue.empty():
            lead = queue.get_nowait()
            queue.task_done()
            with contextlib.suppress(Exception):  # the log itself may be what failed
                self._record(RowResult(lead.row, Outcome.PENDING))
