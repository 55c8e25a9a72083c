"""Cluster uploads: queued in one transaction with their procrastinate job, run by a worker
through the same engine phases as `leadup upload`, with the journal in PostgreSQL.

    queue_upload (any host)          one transaction: leadup_uploads row + procrastinate job,
                                     locked by the credential (one sender per credential)
    run_upload (the worker that      take over (new run attempt, fences the older), read and
    fetched the job)                 map, load or recover in-flight rows, dispatch, render the
                                     results file from the database, mark the upload finished
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uploader.cluster.journal import PgJournal
from uploader.cluster.requests import credential_lock, rebuild_request
from uploader.errors import FencedOut, InputError, LeadupError, StopRun
from uploader.model import Outcome
from uploader.report import UploadReport
from uploader.run import RunControl
from uploader.run.dispatch import dispatch_and_render
from uploader.run.load import check_same_run, halted_by, read_and_map
from uploader.run.streaming import start_loading
from uploader.text import inert

UPLOAD_TASK = "leadup.upload"
TICK_TASK = "leadup.tick"
QUEUE = "leadup"
log = logging.getLogger("leadup.cluster")

_DEFER = """
SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[
    ROW(%s, %s, 0, %s, NULL, %s::jsonb, NULL)::procrastinate_job_to_defer_v1
]))
"""


def queue_upload(
    db: Any,
    document: Mapping[str, Any],
    *,
    input_sha256: str,
    job: str = "",
    source_path: str = "",
) -> int:
    """Record an upload and defer its job, in the caller's open transaction; its id.

    `source_path` is where the file is until the upload moves it to `input_path` (an inbox
    file archived by the worker that runs it).
    """
    (salt,) = db.execute("SELECT lock_salt FROM leadup_cluster").fetchone()
    doc = dict(document, source_path=source_path)
    (upload_id,) = db.execute(
        "INSERT INTO leadup_uploads (job, input_path, input_sha256, results_path, request)"
        " VALUES (%s, %s, %s, %s, %s::jsonb) RETURNING id",
        (job, doc["input_path"], input_sha256, doc["results_path"], json.dumps(doc)),
    ).fetchone()
    _defer(db, upload_id, credential_lock(doc, salt))
    return int(upload_id)


def requeue_upload(db: Any, upload_id: int) -> None:
    """Queue an upload that stopped again (in the caller's transaction): the next worker
    resumes it from its journal, as running `leadup upload` again does on one host."""
    found = db.execute(
        "UPDATE leadup_uploads SET state = 'queued', finished_at = NULL, error = ''"
        " WHERE id = %s RETURNING request",
        (upload_id,),
    ).fetchone()
    (salt,) = db.execute("SELECT lock_salt FROM leadup_cluster").fetchone()
    _defer(db, upload_id, credential_lock(found[0], salt))


def _defer(db: Any, upload_id: int, lock: str) -> None:
    """The procrastinate job that runs the upload, locked by its credential."""
    args = json.dumps({"upload_id": upload_id})
    (job_id,) = db.execute(_DEFER, (QUEUE, UPLOAD_TASK, lock, args)).fetchone()
    db.execute(
        "UPDATE leadup_uploads SET procrastinate_job = %s WHERE id = %s", (job_id, upload_id)
    )


async def run_upload(
    url: str, upload_id: int, worker: str, env: Mapping[str, str], control: RunControl
) -> UploadReport | None:
    """Run (or take over) one upload to its end; None when it was already finished.

    `control.stop()` (the worker is shutting down) stops the upload well and queues it
    again, for another worker to resume. Raises FencedOut when another worker took it over
    meanwhile: the caller must then stop at once, writing nothing.
    """
    journal = await asyncio.to_thread(PgJournal.take_over, url, upload_id, worker)
    try:
        document = await asyncio.to_thread(_document, journal)
        if document is None:
            return None
        try:
            return await _run(journal, document, env, control)
        except FencedOut:
            raise
        except LeadupError as exc:
            # A run that stopped (the journal unwritable for minutes, say) resumes later;
            # one that cannot run (the file unreadable, the options wrong) waits for a person.
            if isinstance(exc, StopRun) and control.stopping.is_set():
                await asyncio.to_thread(_hand_over, journal)  # stopped while reading
                return None
            state = "stopped" if isinstance(exc, StopRun) else "failed"
            await asyncio.to_thread(_finish, journal, state, str(exc))
            log.error("upload %s %s: %s", upload_id, state, inert(exc, lines=True))
            return None
    finally:
        journal.close()


async def _run(
    journal: PgJournal, document: dict[str, Any], env: Mapping[str, str], control: RunControl
) -> UploadReport:
    started = time.monotonic()
    request = rebuild_request(document, env)
    _bring_in(Path(document.get("source_path") or request.input_path), request.input_path)
    table, mapping, _ = await read_and_map(request, control.stopping)
    if table.sha256 != journal.input_sha256:
        raise InputError(
            "changed on the shared storage since it was queued"
            f" (content {journal.input_sha256[:12]}, now {table.sha256[:12]})",
            path=request.input_path,
        )
    notes: list[str] = []
    if journal.sending_began:  # loaded, or cut short while loading after sending began
        check_same_run(journal, mapping, request.prepare, request.settings.ping)
        resend = request.settings.retry.retry_unsafe
        recovered = await asyncio.to_thread(journal.recover_in_flight, resend=resend)
        if recovered:
            notes.append(f"{recovered} rows were in flight on a worker that stopped: now unknown")
    else:
        await asyncio.to_thread(journal.begin_load, table.columns)
    request.results_path.parent.mkdir(parents=True, exist_ok=True)
    async with halted_by(control.stopping) as halt:
        loading = None
        if not journal.loaded:  # scan it whole, then load while sending
            loading = await start_loading(journal, table, mapping, request, halt)
        counts = await asyncio.to_thread(journal.counts)
        if loading is not None:  # rows not yet loaded are pending
            counts[Outcome.PENDING] += max(0, loading.total_rows - sum(counts.values()))
        report = await dispatch_and_render(
            journal,
            request.settings,
            request.results_path,
            control,
            started=started,
            notes=notes,
            loading=loading,
            counts=counts,
        )
    if report.stopped and control.stopping.is_set():
        await asyncio.to_thread(_hand_over, journal)
    else:
        state = "stopped" if report.stopped else "finished"
        await asyncio.to_thread(_finish, journal, state, report.stopped)
    return report


def _bring_in(source: Path, target: Path) -> None:
    """An inbox file is moved into the archive by the worker that runs it (once: a takeover
    finds it there already)."""
    if source == target or target.exists() or not source.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
        os.unlink(source)
    except OSError:
        shutil.move(os.fspath(source), os.fspath(target))


def _hand_over(journal: PgJournal) -> None:
    """The worker is shutting down: queue the upload again for another (fenced: only while
    this attempt still holds it)."""
    journal.write(lambda db: requeue_upload(db, journal.upload_id))
    log.info("upload %s stopped with its worker: queued again", journal.upload_id)


def _document(journal: PgJournal) -> dict[str, Any] | None:
    """The upload's request, or None when it already ended (a job retried after its end)."""
    found = journal.query(
        "SELECT request, finished_at IS NOT NULL FROM leadup_uploads WHERE id = %s",
        (journal.upload_id,),
    )
    request, ended = found[0]
    return None if ended else dict(request)


def _finish(journal: PgJournal, state: str, error: str) -> None:
    """The upload's end, with its counts, written by the attempt that holds it."""
    counts = {outcome.value: n for outcome, n in journal.counts().items() if n}

    def finish(db: Any) -> None:
        db.execute(
            "UPDATE leadup_uploads SET state = %s, error = %s, counts = %s::jsonb,"
            " finished_at = now() WHERE id = %s",
            (state, error, json.dumps(counts), journal.upload_id),
        )

    journal.write(finish)
