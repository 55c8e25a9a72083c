"""The worker pool: a bounded queue feeding N workers, stopping well, recording every row.

What happens to one row between a worker taking it and recording it is the RowSender's.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from uploader.journal import JournalWriter
from uploader.model import Lead, Outcome, RowResult
from uploader.send.pacer import Pacer
from uploader.send.sender import RowSender
from uploader.send.transport import LeadTransport
from uploader.settings import UploadSettings

ResultCallback = Callable[[RowResult], None]
NoticeCallback = Callable[[str], None]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True)
class PoolStats:
    """Counters of one dispatch, for the summary and the log."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    pings: int = 0  # of the requests, how many were pings
    finished: int = 0
    stopped: str = ""  # why dispatch stopped early, "" when it ran out of rows


class LeadPool:
    """Posts leads with bounded concurrency; every lead ends as exactly one RowResult.

    A row whose request may have been applied is never resent unless `retry_unsafe` is set;
    a row not yet sent when the run stops stays pending for a resume.
    """

    def __init__(
        self,
        transport: LeadTransport,
        pacer: Pacer,
        writer: JournalWriter,
        settings: UploadSettings,
        *,
        on_result: ResultCallback | None = None,
        on_notice: NoticeCallback | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        stats: PoolStats | None = None,
    ) -> None:
        self._pacer = pacer
        self._writer = writer
        self._settings = settings
        self._on_result = on_result
        self._stopping = asyncio.Event()
        self._aborted = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._busy = 0
        self._error: Exception | None = None
        self.stats = stats if stats is not None else PoolStats()
        self._sender = RowSender(
            transport,
            pacer,
            writer,
            settings,
            stats=self.stats,
            stopping=self._stopping,
            stop=self.stop,
            record=self._record,
            on_notice=on_notice,
            sleep=sleep,
            rng=rng or random.Random(),
            clock=clock or asyncio.get_running_loop().time,
            wall_clock=wall_clock,
        )

    def __repr__(self) -> str:
        s = self.stats
        return (
            f"<LeadPool requests={s.requests} retries={s.retries} 429s={s.rate_limited} "
            f"finished={s.finished} rate={self._pacer.rate_per_s:.1f}/s stopped={s.stopped!r}>"
        )

    def stop(self, reason: str) -> None:
        """Stop taking new rows; rows not yet sent stay pending. The first reason wins."""
        if not self._stopping.is_set():
            self.stats.stopped = reason
            self._stopping.set()

    async def run(
        self,
        leads: AsyncIterator[Lead],
        stop: asyncio.Event | None = None,
        abort: asyncio.Event | None = None,
    ) -> PoolStats:
        """Dispatch every lead from `leads` until they run out or the run is stopped.

        `stop` (a first Ctrl-C) stops taking rows and gives requests that are out a grace
        period; `abort` (a second one) cancels them at once, recording them unknown.
        A worker that fails for a reason of leadup's own stops the run and is re-raised.
        """
        queue: asyncio.Queue[Lead] = asyncio.Queue(maxsize=2 * self._settings.concurrency)
        workers = [
            asyncio.create_task(self._worker(queue), name=f"leadup-worker-{i}")
            for i in range(self._settings.concurrency)
        ]
        producer = asyncio.create_task(self._produce(leads, queue), name="leadup-producer")
        watchers = [asyncio.create_task(self._watch(stop, abort), name="leadup-stop-watch")]
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
            for task in (stopping, producer, *watchers, *workers):
                task.cancel()  # idle workers wait in get(); busy ones record their row
            await asyncio.gather(stopping, producer, *watchers, *workers, return_exceptions=True)
        if self._error is not None:
            raise self._error
        return self.stats

    async def _grace(self) -> None:
        """Requests that are out get a grace period (none after an abort)."""
        if self._aborted.is_set():
            return
        idle = asyncio.ensure_future(self._idle.wait())
        aborted = asyncio.ensure_future(self._aborted.wait())
        try:
            await asyncio.wait(
                {idle, aborted}, timeout=self._settings.grace_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            idle.cancel()
            aborted.cancel()

    async def _watch(self, stop: asyncio.Event | None, abort: asyncio.Event | None) -> None:
        if stop is not None:
            await stop.wait()
            self.stop("stopped on request")
        if abort is not None:
            await abort.wait()
            self.stop("stopped on request")
            self._aborted.set()

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
                self._busy += 1
                self._idle.clear()
                try:
                    self._record(await self._sender.send(lead))
                finally:
                    self._busy -= 1
                    if self._busy == 0:
                        self._idle.set()
            except Exception as exc:
                self._fail(exc)
                return
            finally:
                queue.task_done()

    def _record(self, result: RowResult) -> None:
        self._writer.record(result)
        if result.outcome is not Outcome.PENDING:
            self.stats.finished += 1
        if self._on_result is not None:
            self._on_result(result)


def _drain(queue: asyncio.Queue[Lead]) -> None:
    while not queue.empty():
        queue.get_nowait()
        queue.task_done()
