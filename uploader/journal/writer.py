"""Group commit for asyncio callers: many rows' journal writes share one transaction.

Workers must not post a row before its in-flight mark is durable, and an fsync per row
would cap a run at a few hundred rows a second on a laptop disk. So marks and results go
into one queue; a dedicated thread takes whatever has gathered (up to `max_batch`; by
default it waits for no company, since what arrives during one commit forms the next
group), commits it as one transaction, and only then wakes the callers of that group.
SQLite runs on that thread, never on the event loop.

The pool reserves rows in flight a batch at a time (`reserve`: one commit, one wake-up for
many rows), and results ride on the next reservation's commit (or a flush, or a timer a
fraction of a second later), not one hand-over each: waking the thread costs the loop more
than the SQLite work itself. `unsettled` counts the rows reserved without a result
recorded: results recorded before a reservation commit no later than it, so keeping
`unsettled` within 2 x --concurrency when reserving keeps within that bound what a crash
can leave `unknown` (DECISIONS, "Outages and crashes").
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from uploader.errors import JournalWriteError
from uploader.model import RowResult


class Committer(Protocol):
    """What the writer commits into (`Journal.commit`)."""

    def commit(
        self,
        in_flight: Sequence[tuple[int, int, dict[str, Any] | None]],
        results: Sequence[RowResult],
    ) -> None: ...


@dataclass(slots=True)
class _Mark:
    row: int
    attempt: int
    extra: dict[str, Any] | None
    done: asyncio.Future[None]


@dataclass(slots=True)
class _Reserve:
    rows: Sequence[int]
    results: list[RowResult]  # recorded before it: committed with it, or earlier
    done: asyncio.Future[None]


@dataclass(slots=True)
class _Flush:
    done: asyncio.Future[None]


HAND_OVER_S = 0.2  # results wait at most this long for a reservation to ride on
_STOP = object()
_Item = object  # a _Mark, _Reserve, _Flush, list[RowResult] or _STOP
_Waiter = _Mark | _Reserve | _Flush


class JournalWriter:
    """Commits in-flight marks and results in groups, on one thread (see module docstring).

    Once a commit fails the writer commits nothing more: every later call raises that
    error, so no row is posted that the journal could not record.
    """

    def __init__(self, journal: Committer, *, max_batch: int = 512, max_delay_s: float = 0.0):
        if max_batch < 1 or max_delay_s < 0:
            raise ValueError("max_batch must be at least 1 and max_delay_s not negative")
        self.journal = journal
        self.max_batch = max_batch
        self.max_delay_s = max_delay_s
        self.commits = 0  # transactions committed
        self.marked = 0  # in-flight marks committed
        self.recorded = 0  # results committed
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._results: list[RowResult] = []  # recorded, not yet handed to the thread
        self._handing: asyncio.TimerHandle | None = None  # the timer that hands them over
        self.unsettled = 0  # rows reserved without a result recorded yet
        self._settled = asyncio.Event()  # set when `unsettled` went down

    def __repr__(self) -> str:
        return (
            f"JournalWriter(commits={self.commits}, marked={self.marked},"
            f" recorded={self.recorded}, queued={self._queue.qsize()},"
            f" failed={self._error is not None})"
        )

    async def __aenter__(self) -> JournalWriter:
        if self._thread is not None:
            raise RuntimeError("a JournalWriter is started once")
        self._loop = asyncio.get_running_loop()
        # Not a daemon: results queued when the process is asked to exit are still written.
        self._thread = threading.Thread(target=self._run, name="leadup-journal")
        self._thread.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        thread = self._thread
        assert thread is not None
        try:
            await self.flush()
        except JournalWriteError:
            if exc_type is None:
                raise  # otherwise the body's own exception is the one to see
        finally:
            self._hand_results()  # recorded while the flush ran (rows cut short)
            self._queue.put(_STOP)
            joined = asyncio.ensure_future(asyncio.to_thread(thread.join))
            try:
                await asyncio.shield(joined)
            except asyncio.CancelledError:
                thread.join()  # a few commits at most; the journal must not close under it
                raise

    async def in_flight(self, row: int, attempt: int, extra: dict[str, Any] | None = None) -> None:
        """Mark a row in flight; returns once that is durably committed (safe to post).

        `extra` (a ping's figures) is journalled with the mark.
        """
        done = self._future()
        self._hand_results()  # in order: a result recorded before this mark commits first
        self._queue.put(_Mark(row, attempt, extra, done))
        await done

    async def reserve(self, rows: Sequence[int]) -> None:
        """Mark rows in flight before their first attempt, with the results recorded so far,
        in one commit (attempt 0: no attempt counted yet); returns once that is durable.
        Each row needs a result later."""
        done = self._future()
        results, self._results = self._results, []
        self.unsettled += len(rows)
        self._queue.put(_Reserve(rows, results, done))
        await done

    async def settling(self) -> None:
        """Return once `unsettled` has gone down (a result was recorded)."""
        self._check()
        self._settled.clear()
        await self._settled.wait()

    def record(self, result: RowResult) -> None:
        """Queue a row's result; it is committed with the next reservation or group, within
        HAND_OVER_S at the latest (see `flush`)."""
        self._check()
        self._results.append(result)
        if self.unsettled:
            self.unsettled -= 1
            self._settled.set()
        if self._handing is None:
            assert self._loop is not None
            self._handing = self._loop.call_later(HAND_OVER_S, self._hand_results)

    async def flush(self) -> None:
        """Return once everything queued before this call is committed."""
        done = self._future()
        self._hand_results()
        self._queue.put(_Flush(done))
        await done

    def _hand_results(self) -> None:
        """The results recorded so far to the thread, as one item."""
        if self._handing is not None:
            self._handing.cancel()
            self._handing = None
        if self._results:
            self._queue.put(self._results)
            self._results = []

    def _future(self) -> asyncio.Future[None]:
        self._check()
        assert self._loop is not None
        return self._loop.create_future()

    def _check(self) -> None:
        if self._loop is None or self._thread is None or not self._thread.is_alive():
            raise RuntimeError("use the JournalWriter inside `async with`")
        if self._error is not None:
            raise JournalWriteError(
                f"the journal cannot be written: {self._error}"
            ) from self._error

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        carry: _Item | None = None
        while True:
            items, carry, stop = self._collect(carry)
            self._commit(items)
            if stop:
                return

    def _collect(self, carry: _Item | None) -> tuple[list[_Item], _Item | None, bool]:
        """One group: until it is full, a flush or stop arrives, or the delay has passed.

        A mark for a row whose result is already in the group starts the next group, since
        one commit applies its marks before its results.
        """
        items: list[_Item] = []
        with_result: set[int] = set()
        deadline = None
        while len(items) < self.max_batch:
            if deadline is None:  # the group's first item: wait for it as long as it takes
                item, carry = (self._queue.get() if carry is None else carry), None
                deadline = time.monotonic() + self.max_delay_s
            else:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
            if item is _STOP:
                return items, None, True
            if isinstance(item, _Mark) and item.row in with_result:
                return items, item, False
            if isinstance(item, _Reserve) and not with_result.isdisjoint(item.rows):
                return items, item, False
            items.append(item)
            if isinstance(item, list):
                with_result.update(result.row for result in item)
            elif isinstance(item, _Reserve):
                with_result.update(result.row for result in item.results)
            elif isinstance(item, _Flush):
                break
        return items, None, False

    def _commit(self, items: list[_Item]) -> None:
        marks: list[tuple[int, int, dict[str, Any] | None]] = []
        results: list[RowResult] = []
        for item in items:
            if isinstance(item, list):
                results.extend(item)
            elif isinstance(item, _Mark):
                marks.append((item.row, item.attempt, item.extra))
            elif isinstance(item, _Reserve):
                results.extend(item.results)
                marks.extend((row, 0, None) for row in item.rows)
        if (marks or results) and self._error is None:
            try:
                self.journal.commit(marks, results)
                self.commits += 1
                self.marked += len(marks)
                self.recorded += len(results)
            except BaseException as exc:  # every waiter must hear of it; none may hang
                self._error = exc
        waiters = [i.done for i in items if isinstance(i, _Waiter)]
        if waiters and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                self._loop.call_soon_threadsafe(_settle, waiters, self._error)


def _settle(waiters: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for done in waiters:
        if done.done():
            continue  # its caller was cancelled
        if error is None:
            done.set_result(None)
        else:
            failure = JournalWriteError(f"the journal cannot be written: {error}")
            failure.__cause__ = error
            done.set_exception(failure)
