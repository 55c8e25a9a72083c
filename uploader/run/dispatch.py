"""Phases 2 and 3 of a run: send what the journal has pending, then render the results file
from the journal (also when the run stopped), and report.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from uploader.errors import JournalWriteError, LeadupError, OutputError, ResultsWriteError
from uploader.events import Notice, NoticeKind
from uploader.journal import JournalWriter, RowJournal
from uploader.journal.results import write_results
from uploader.model import Outcome
from uploader.report import QuoteSummary, UploadReport
from uploader.run.control import RunControl
from uploader.run.progress import ProgressReporter
from uploader.run.quote import save_quote, summarise
from uploader.run.streaming import BackgroundLoad, pending_pages
from uploader.send.flow import FlowControl
from uploader.send.pool import LeadPool
from uploader.send.sender import RowSender, SendStats
from uploader.send.transport import HttpTransport, LeadTransport
from uploader.settings import PingPolicy, UploadSettings

STOPPED_AS_ASKED = "stopped as asked; the rows not yet sent stay pending"


async def dispatch_and_render(
    journal: RowJournal,
    settings: UploadSettings,
    results_path: Path,
    control: RunControl,
    *,
    started: float,
    notes: list[str],
    transport: LeadTransport | None = None,
    loading: BackgroundLoad | None = None,
    counts: Mapping[Outcome, int] | None = None,
) -> UploadReport:
    """Send what is pending, then render the results file (always) and report.

    `loading`: the load still running (the pool follows it); `counts`: every row's outcome
    now, rows not yet loaded as pending. `transport` replaces the HTTP one (tests use an
    in-memory transport).
    """
    stats = SendStats()
    finished, stopped = 0, ""
    failure: BaseException | None = None
    try:
        if loading is not None or journal.pending_count():
            stats, finished, stopped = await _dispatch(
                journal, settings, control, transport, loading, counts or journal.counts()
            )
        if loading is not None:
            await loading.wait()  # the rows after a stop are loaded too (not after Ctrl-C)
    except BaseException as exc:
        failure = exc
        if loading is not None:
            await loading.abandon()  # the journal must not close under the loader
        raise
    finally:
        # Also when cancelled or failing: the results file always reflects the journal. A
        # failure to write it never hides why the run stopped (issue 16, item 5).
        await _render(journal, results_path, ping=settings.ping is not None, failure=failure)
    quote = None
    if settings.ping is not None and not settings.ping.post:
        quote = await asyncio.to_thread(_quote_of, journal, settings.ping, results_path)
    return UploadReport(
        input_path=Path(journal.input_name),
        results_path=results_path,
        journal_path=journal.path,
        counts=journal.counts(),
        status_counts=journal.status_counts(),
        total_price=journal.total_price(),
        duration_s=time.monotonic() - started,
        requests=stats.requests,
        retries=stats.retries,
        rate_limited=stats.rate_limited,
        overloaded=stats.overloaded,
        pings=stats.pings,
        quote=quote,
        sent_this_run=finished,
        stopped=stopped,
        notes=notes,
    )


async def _render(
    journal: RowJournal, results_path: Path, *, ping: bool, failure: BaseException | None
) -> None:
    """Write the results file; when the run is failing, say on its error where they are."""
    try:
        await asyncio.to_thread(
            write_results, results_path, journal.columns, journal.results(), ping=ping
        )
    except (OSError, JournalWriteError) as exc:
        why = str(exc)
        if isinstance(exc, OSError):
            why = f"{exc.strerror} ({exc.filename})" if exc.filename else str(exc.strerror or exc)
        if failure is None:
            raise ResultsWriteError(
                f"{results_path}: the results file could not be written: {why}"
            ) from exc
        failure.add_note(f"the results file could not be written either: {why}")
        return
    if isinstance(failure, LeadupError):
        failure.add_note(f"the results so far are in {results_path}")


class NothingSentYet:
    """Environment faults before the first request (a read-only folder, a full disk, a
    damaged journal) are a clear stop, exit 2, not a crash: nothing was sent. Once
    `sending()` is called, they are the run's (exit 3, resumable)."""

    def __init__(self) -> None:
        self.started = False

    def sending(self) -> None:
        self.started = True

    def __enter__(self) -> NothingSentYet:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.started:
            return
        if isinstance(exc, JournalWriteError):
            raise OutputError(f"{exc}; nothing was sent") from exc
        if isinstance(exc, OSError):
            where = f"{exc.filename}: " if exc.filename else ""
            raise OutputError(f"{where}{exc.strerror or exc}; nothing was sent") from exc


async def _dispatch(
    journal: RowJournal,
    settings: UploadSettings,
    control: RunControl,
    transport: LeadTransport | None,
    loading: BackgroundLoad | None,
    counts: Mapping[Outcome, int],
) -> tuple[SendStats, int, str]:
    """The worker pool over the journal's pending rows: (request counts, rows done, stop why)."""
    stopping = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        if transport is None:
            transport = await stack.enter_async_context(
                HttpTransport(settings.api, pool_size=settings.concurrency)
            )
        writer = await stack.enter_async_context(JournalWriter(journal))
        progress = await stack.enter_async_context(ProgressReporter(counts, control.emit))
        if loading is not None:
            loading.on_held = progress.held_back
        flow = FlowControl(settings, stopping=stopping, notify=control.emit)
        sender = RowSender(transport, flow, writer, settings)
        pool = LeadPool(
            sender,
            writer,
            concurrency=settings.concurrency,
            grace_s=settings.grace_s,
            stopping=stopping,
            on_result=progress.add,
        )
        watcher = asyncio.create_task(_watch(control, pool), name="leadup-stop-watch")
        try:
            pages = pending_pages(journal) if loading is None else loading.pending(journal)
            await pool.run(pages)  # JournalWriteError: exit 3, resumable
            if loading is not None and loading.finished:
                # Rows held back while the progress was being set up were not told: the
                # last snapshot counts from the journal itself.
                await writer.flush()
                progress.recount(await asyncio.to_thread(journal.counts))
        finally:
            watcher.cancel()
    if pool.stopped:
        control.emit(Notice(NoticeKind.STOPPING, pool.stopped))
    return sender.stats, pool.finished, pool.stopped


async def _watch(control: RunControl, pool: LeadPool) -> None:
    """A face's stop or abort becomes the pool's."""
    await control.stopping.wait()
    pool.stop(STOPPED_AS_ASKED)
    await control.aborting.wait()
    pool.abort(STOPPED_AS_ASKED)


def _quote_of(journal: RowJournal, ping: PingPolicy, results_path: Path) -> QuoteSummary:
    """The quote's figures from the journal; its chart and by-state file beside the results."""
    results = (result for result, _ in journal.results())
    summary = summarise(results, journal.field_values("state"), ping.min_price)
    return save_quote(summary, results_path)
