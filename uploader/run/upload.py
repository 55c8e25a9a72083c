"""A run from start to end: a new upload, its resume, or a retry of a results file.

    read and map ─▶ load into the journal (phase 1) ─▶ dispatch (phase 2) ─▶ render (phase 3)
                    (a resume skips phase 1)

Each step reports itself as events to the run's RunControl; see uploader/events.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path

from uploader.errors import JournalError, JournalMismatch, JournalWriteError, UsageError
from uploader.events import Notice, NoticeKind, RowsLoaded, RunFinished
from uploader.journal import Journal, RowJournal
from uploader.model import Outcome
from uploader.prepare.mapped import held_back_note
from uploader.report import UploadReport
from uploader.run.control import RunControl
from uploader.run.dispatch import NothingSentYet, dispatch_and_render
from uploader.run.guards import (
    adopt_legacy_journal,
    explain_mismatch,
    prepare_restart,
    refuse_results_file,
    refuse_sending_again,
)
from uploader.run.load import (
    EDITABLE,
    apply_fixes,
    check_same_run,
    halted_by,
    open_journal,
    ping_of,
    read_and_map,
)
from uploader.run.lock import OutputLock
from uploader.run.memory import earlier_uploads, memory_path, remember
from uploader.run.next_steps import next_steps
from uploader.run.request import UploadRequest, journal_path_for
from uploader.run.streaming import BackgroundLoad, start_loading
from uploader.send.transport import LeadTransport
from uploader.settings import UploadSettings
from uploader.text import plural


async def upload(
    request: UploadRequest,
    control: RunControl | None = None,
    *,
    transport: LeadTransport | None = None,
) -> UploadReport:
    """Upload one file (or resume its upload) and render its results file.

    `control` carries stop and abort requests in and events out. Raises UsageError (exit 2)
    before anything is sent when the file, mapping or options are wrong, or would send rows
    again (see uploader/run/guards.py); otherwise returns a report, also when the run stopped
    early. `transport` replaces HTTP (tests).
    """
    control = control or RunControl()
    started = time.monotonic()
    results_path = request.results_path
    with NothingSentYet() as stage:
        refuse_overwriting_input(request.input_path, results_path)
        results_path.parent.mkdir(parents=True, exist_ok=True)
        adopt_legacy_journal(results_path)
        notes: list[str] = []
        with OutputLock(results_path):
            table, mapping, detected = await read_and_map(request, control.stopping)
            refuse_results_file(request.input_path, table.columns, request.program)
            control.emit(detected)
            if mapping.held_back:  # the summary says what was never sent, and why
                notes.append(held_back_note(mapping, table.columns))
            if request.restart and (kept := prepare_restart(request)) is not None:
                notes.append(f"the earlier results are kept as {kept.name}")
            try:
                journal = open_journal(request, table)
            except JournalMismatch as exc:
                raise explain_mismatch(exc, request) from None
            try:
                resumed = journal.sending_began  # loaded, or cut short after sending began
                if resumed:
                    check_same_run(journal, mapping, request.prepare, request.settings.ping)
                    notes.extend(recover_rows_in_flight(journal, request.settings))
                else:
                    earlier = earlier_uploads(table.sha256, request.settings.api.base_url)
                    refuse_sending_again(earlier, request)
                async with halted_by(control.stopping) as halt:
                    loading = None
                    if not journal.loaded:  # scan it whole, then load while sending
                        loading = await start_loading(journal, table, mapping, request, halt)
                    finished_before = resumed and journal.loaded and not journal.pending_count()
                    counts = _announce(control, journal, resumed, notes, loading)
                    stage.sending()
                    report = await dispatch_and_render(
                        journal,
                        request.settings,
                        results_path,
                        control,
                        started=started,
                        notes=notes,
                        transport=transport,
                        loading=loading,
                        counts=counts,
                    )
            finally:
                _remember(journal, request.settings, results_path, notes)
                journal.close()
    ping = request.settings.ping
    report = replace(
        report,
        already_finished=finished_before,
        next_steps=next_steps(
            report.counts,
            results_path=results_path,
            input_path=request.input_path,
            program=request.program,
            again=request.command,
            floor=ping.min_price if ping is not None and not ping.post else None,
            sellable=report.quote.overall.clearing if report.quote is not None else 0,
        ),
    )
    control.emit(RunFinished(report))
    return report


async def retry(
    results_path: Path,
    settings: UploadSettings,
    *,
    include: Collection[Outcome] = (Outcome.FAILED,),
    control: RunControl | None = None,
    transport: LeadTransport | None = None,
    program: str = "leadup",
    command: str = "",
) -> UploadReport:
    """Resend the rows of a results file whose outcome is in `include`; never a created one.

    The report's notes say which rows were not resent, and which flag would resend them.
    """
    control = control or RunControl()
    wanted = frozenset(include)
    if Outcome.CREATED in wanted:
        raise UsageError("created rows are never resent")
    started = time.monotonic()
    with NothingSentYet() as stage:
        adopt_legacy_journal(results_path)
        journal_path = journal_path_for(results_path)
        if not journal_path.exists():
            raise JournalError(
                f"{results_path}: leadup has no record of the upload that wrote it (looked for "
                f"{journal_path}); retry works on the results file of an upload made here"
            )
        notes: list[str] = []
        with OutputLock(results_path):
            journal = Journal.open_existing(journal_path)
            try:
                notes.extend(recover_rows_in_flight(journal, settings))
                fixed = await asyncio.to_thread(apply_fixes, journal, results_path, wanted)
                if fixed:
                    notes.append(f"{fixed} rows re-read from the edited results file")
                settings = replace(settings, ping=ping_of(journal, settings.ping))
                requeued = journal.requeue(wanted - EDITABLE)
                notes.append(f"{plural(requeued + fixed, 'row')} to send again")
                notes.extend(_not_resent(journal.counts(), wanted))
                _announce(control, journal, True, notes)
                stage.sending()
                report = await dispatch_and_render(
                    journal,
                    settings,
                    results_path,
                    control,
                    started=started,
                    notes=notes,
                    transport=transport,
                )
            finally:
                _remember(journal, settings, results_path, notes)
                journal.close()
    report = replace(
        report,
        next_steps=next_steps(
            report.counts,
            results_path=results_path,
            input_path=Path(report.input_path),
            program=program,
            again=command,
        ),
    )
    control.emit(RunFinished(report))
    return report


_FLAGS = {
    Outcome.UNKNOWN: "--include-unknown (after checking them on the platform)",
    Outcome.REJECTED: "--include-rejected (after fixing them)",
    Outcome.INVALID: "--include-invalid (after fixing them)",
    Outcome.HELD: "--include-held",
}


def _not_resent(counts: dict[Outcome, int], wanted: frozenset[Outcome]) -> list[str]:
    """What a retry left alone, and the flag that would have sent it."""
    return [
        f"not sent again: {plural(counts[outcome], 'row')} {outcome.value}; add {flag}"
        for outcome, flag in _FLAGS.items()
        if counts.get(outcome) and outcome not in wanted
    ]


def _remember(
    journal: RowJournal, settings: UploadSettings, results_path: Path, notes: list[str]
) -> None:
    """What this upload created, for the memory that spans results files (run/memory.py);
    also when it stopped while the file was still being read (rows may have been created)."""
    if not journal.sending_began:
        return
    created = journal.counts()[Outcome.CREATED]
    try:
        remember(journal.input_sha256, settings.api.base_url, results_path, created)
    except (OSError, sqlite3.Error, JournalWriteError) as exc:
        notes.append(f"could not record what was created in {memory_path()}: {exc}")


def recover_rows_in_flight(journal: RowJournal, settings: UploadSettings) -> list[str]:
    """Settle the rows a dead run left in flight; what to tell the person about it."""
    resend = settings.retry.retry_unsafe
    recovered = journal.recover_in_flight(resend=resend)
    if not recovered:
        return []
    one = recovered == 1
    fate = (
        "to send again (--retry-unsafe)"
        if resend
        else f"now unknown ({'it' if one else 'they'} may have been created)"
    )
    were = "was" if one else "were"
    return [f"{plural(recovered, 'row')} {were} being sent when the last run stopped: {fate}"]


def _announce(
    control: RunControl,
    journal: RowJournal,
    resumed: bool,
    notes: list[str],
    loading: BackgroundLoad | None = None,
) -> dict[Outcome, int]:
    """RowsLoaded and the notes; every row's outcome now (rows not yet loaded: pending)."""
    counts = journal.counts()
    if loading is not None:
        counts[Outcome.PENDING] += max(0, loading.total_rows - sum(counts.values()))
    path = Path(journal.input_name)
    to_send = counts[Outcome.PENDING]
    control.emit(RowsLoaded(path, to_send=to_send, counts=counts, resumed=resumed))
    for note in notes:
        control.emit(Notice(NoticeKind.NOTE, note))
    return counts


def refuse_overwriting_input(input_path: Path, results_path: Path) -> None:
    """The results file must never replace the lead file it reports on."""
    if input_path.resolve() == results_path.resolve() or (
        results_path.exists() and input_path.exists() and results_path.samefile(input_path)
    ):
        raise UsageError(f"{results_path}: the results file would overwrite the input file")
