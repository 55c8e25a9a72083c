"""Sending from the first seconds of a big file: the load runs on a thread while the pool
sends what is already in the journal.

    scan the whole file (scan_rows) ─▶ save the run's identity ─▶ load chunk by chunk ─┐
                                                                  send what is pending ◀┘

The scan refuses a file broken anywhere before anything is sent; the identity saved first
makes a journal cut short mid-load resumable (the load continues after its last row). Rows
are added in row order, so the sender follows the journal by row number and waits at its end
until the loader adds more or finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable
from itertools import islice

from uploader.errors import StopRun
from uploader.journal import RowJournal
from uploader.model import Lead, Outcome
from uploader.prepare.mapping import Mapping
from uploader.read import Table
from uploader.run.load import identity, load_rows, scan_rows
from uploader.run.request import UploadRequest
from uploader.settings import PingPolicy, PrepareOptions

FETCH_BATCH = 500  # pending rows read from the journal at a time


class BackgroundLoad:
    """The load on a thread, and what the event loop needs to know of it as it goes."""

    def __init__(
        self,
        journal: RowJournal,
        table: Table,
        mapping: Mapping,
        options: PrepareOptions,
        ping: PingPolicy | None,
        *,
        total_rows: int,
        halt: threading.Event,
    ) -> None:
        """`halt`: a person asked to stop (the load ends at its next chunk)."""
        self.total_rows = total_rows  # data rows in the file (the scan's count)
        self.on_held: Callable[[Counter[Outcome]], None] = lambda held: None  # (progress)
        self._args = (journal, table, mapping, options, ping)
        self._after = journal.last_row()  # a load cut short continues after its last row
        self._halt = halt
        self._more = asyncio.Event()  # set when rows were added, or the load ended
        self._first = asyncio.Event()  # set after the first chunk, or the load's end
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Future[None] | None = None

    @property
    def finished(self) -> bool:
        """The load ended (every row is in, or it failed: see `wait`)."""
        return self._task is not None and self._task.done()

    def start(self) -> None:
        self._task = asyncio.ensure_future(asyncio.to_thread(self._load))
        self._task.add_done_callback(lambda _: self._ended())

    async def first_chunk(self) -> None:
        """Return once the first chunk is in the journal (or the load ended)."""
        await self._first.wait()

    async def wait(self) -> None:
        """Wait for the load's end; re-raise what failed it (not a stop asked for)."""
        assert self._task is not None
        try:
            await asyncio.shield(self._task)
        except StopRun:
            if not self._halt.is_set():
                raise

    async def abandon(self) -> None:
        """The run is failing: end the load at its next chunk and wait for that, whatever
        it raises (the run's own failure is the one to report)."""
        self._halt.set()
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._task)

    async def pending(self, journal: RowJournal) -> AsyncIterator[list[Lead]]:
        """Pending rows in row order, a batch at a time, following the load to its end."""
        last: int | None = None
        while True:
            ended = self.finished
            self._more.clear()
            batch = await asyncio.to_thread(_page, journal, last)
            if batch:
                last = batch[-1].row
                yield batch
            elif ended:
                return
            else:
                await self._more.wait()

    # -- on the loader's thread, and its hand-offs to the loop ----------------------------

    def _load(self) -> None:
        journal, table, mapping, options, ping = self._args
        load_rows(
            journal,
            table,
            mapping,
            options,
            ping,
            self._halt,
            after=self._after,
            on_chunk=self._tell_loop,
        )

    def _tell_loop(self, held: Counter[Outcome]) -> None:
        self._loop.call_soon_threadsafe(self._chunk_added, held)

    def _chunk_added(self, held: Counter[Outcome]) -> None:
        """On the loop: rows were added to the journal, `held` of them held back."""
        if held:
            self.on_held(held)
        self._more.set()
        self._first.set()

    def _ended(self) -> None:
        self._more.set()
        self._first.set()


async def start_loading(
    journal: RowJournal,
    table: Table,
    mapping: Mapping,
    request: UploadRequest,
    halt: threading.Event,
) -> BackgroundLoad:
    """Scan the whole file, save the run's identity, start the load; return once its first
    chunk is in the journal. A stop asked during the scan ends it (StopRun, nothing sent)."""
    total = await asyncio.to_thread(scan_rows, table, halt)
    ping = request.settings.ping
    journal.save_identity(identity(mapping, request.prepare, ping))
    loading = BackgroundLoad(
        journal, table, mapping, request.prepare, ping, total_rows=total, halt=halt
    )
    loading.start()
    await loading.first_chunk()
    return loading


def _page(journal: RowJournal, after: int | None) -> list[Lead]:
    return list(islice(journal.pending(FETCH_BATCH, after=after), FETCH_BATCH))


def pending_pages(journal: RowJournal) -> AsyncIterator[list[Lead]]:
    """Pending rows of a journal that is fully loaded, a batch at a time."""

    async def pages() -> AsyncIterator[list[Lead]]:
        last: int | None = None
        while batch := await asyncio.to_thread(_page, journal, last):
            last = batch[-1].row
            yield batch

    return pages()
