"""The worker pool: a bounded queue feeding N workers; the one place that records rows and
decides to stop.

What happens to one row between a worker taking it and its result is the RowSender's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from uploader.model import Lead, Outcome, RowResult
from uploader.send.flow import Abandoned
from uploader.send.sender import RowAttempts, RowSender, stopped_result


class ResultLog(Protocol):
    """Where results go (the journal's group-committing writer)."""

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
        log: ResultLog,
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

    def abort(self, reason: str) -> None:
        """Stop now: requests out are cancelled and recorded unknown."""
        self.stop(reason)
        self._aborted.set()

    async def run(self, leads: AsyncIterator[Lead]) -> None:
        """Dispatch every lead until they run out or the run is stopped.

        A worker that fails for a reason of leadup's own (the journal cannot be written) stops
        the run, and that error is re-raised once every worker has recorded its row.
        """
        queue: asyncio.Queue[Lead] = asyncio.Queue(maxsize=2 * self._concurrency)
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
                _drain(queue)  # queued rows stay pending in the journal
                await self._grace()
        finally:
            for task in (stopping, producer, *workers):
                task.cancel()  # idle workers wait in get(); busy ones record their row
            await asyncio.gather(stopping, producer, *workers, return_exceptions=True)
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

    async def _produce(self, leads: AsyncIterator[Lead], queue: asyncio.Queue[Lead]) -> None:
        async for lead in leads:
            if self._stopping.is_set():
                return
            await queue.put(lead)

    async def _worker(self, queue: asyncio.Queue[Lead]) -> None:
        while True:
            lead = await queue.get()
            try:
                if self._stopping.is_set():
                    continue  # not taken: it stays pending in the journal
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


def _drain(queue: asyncio.Queue[Lead]) -> None:
    while not queue.empty():
        queue.get_nowait()
        queue.task_done()
