"""One run of one job: lock, pick the complete new files, upload each, archive, log, notify.

Exit codes (issue 5): 0 every file fully created, 1 some rows not created, 2 configuration
error, 3 a file could not be finished. An overlapping run of the same job writes one log
line ("another run is active") and exits 0 (DECISIONS.md: a slow job overlapping its next
tick is normal).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from jobs import commands
from jobs.config import JobConfig, build_settings, check_folders
from jobs.growth import (
    InterruptedPart,
    content_read,
    header_of,
    interrupted_part,
    not_an_append,
    prefix_size,
    remove_unloaded_journal,
    write_rest,
)
from jobs.inbox import (
    InboxFile,
    InboxScan,
    archive_name,
    file_sha256,
    move_into,
    scan_inbox,
    second_look_in,
    unchanged,
)
from jobs.ledger import DONE, ERROR, GROWN, STARTED, FileEntry, GrownEntry, Ledger
from jobs.notify import Notifier
from jobs.recorder import RunRecorder
from jobs.report import FileResult, FileStep, RunSummary, Waiting
from jobs.state import JobBusy, JobLock, JobPaths, JsonLog, utc_now
from uploader.errors import ConfigError, LeadupError, StopRun, UsageError
from uploader.run import (
    RunControl,
    UploadReport,
    UploadRequest,
    default_results_path,
    upload,
)
from uploader.run.signals import Notices, Tell, stop_on_signals
from uploader.settings import UploadSettings

T = TypeVar("T")

# What a person (or cron's log) hears at each signal during `jobs run` and `jobs reprocess`.
RUN_NOTICES = Notices(
    stopping="stopping: the file being sent finishes its requests in flight and resumes on"
    " the next run; later files wait (Ctrl-C again to quit now)",
    aborting="stopping now: requests still out are recorded unknown (Ctrl-C again to leave at"
    " once)",
)
LEFT_AT_ONCE = "stopped at once: the file being sent resumes on the next run"
# The longest a run waits to look again at files it saw for the first time; a longer
# settle_s spans runs (the first sighting is kept in the ledger).
SECOND_LOOK_MAX_S = 300.0


async def run_job(
    job: JobConfig,
    *,
    env: Mapping[str, str],
    control: RunControl | None = None,
    now_s: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    notifier: Notifier | None = None,
    program: str | None = None,
) -> RunSummary:
    """Run `job` once. Never raises for a job-level problem: the summary carries exit 2 or 3.

    `control.stop()` ends the run once the file being sent has stopped gracefully (it resumes
    on the next run; later files wait); `control.abort()` stops that file now. `program` is
    leadup as the next steps' commands start it (default: its absolute path, or `leadup` when
    PATH finds this installation). `now_s` and `sleep` (the wait for files' second look, at
    most `settle_s`; default: until then or a stop) are the clock tests replace.
    """
    paths = JobPaths(job.state_dir)
    paths.create()
    log = JsonLog(paths.log)
    lock = JobLock(paths.lock, job.name)
    try:
        lock.acquire()
    except JobBusy as busy:
        log.write(
            "run",
            job=job.name,
            status="busy",
            message="another run is active",
            pid=busy.holder,
            exit=0,
        )
        return RunSummary(job=job.name, kind="run", status="busy", exit_code=0)
    try:
        with Ledger.open(paths.ledger) as ledger:
            ledger.mark_died(utc_now())  # we hold the lock: a run still `running` was killed
            recorder = RunRecorder(job, ledger, log, "run", notifier, program)
            control = control or RunControl()
            return await _Run(job, env, recorder, control, now_s, sleep).execute()
    finally:
        lock.release()


class _Run:
    def __init__(
        self,
        job: JobConfig,
        env: Mapping[str, str],
        recorder: RunRecorder,
        control: RunControl,
        now_s: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] | None,
    ) -> None:
        self.job, self.env, self.recorder, self.now_s = job, env, recorder, now_s
        self.control = control
        self.ledger = recorder.ledger
        self.sleep = sleep or self._sleep_unless_stopped

    async def _sleep_unless_stopped(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.control.stopping.wait(), seconds)

    async def execute(self) -> RunSummary:
        waiting: list[Waiting] = []
        try:
            settings = build_settings(self.job, self.env)
            self.recorder.log.redact = settings.api.credentials.secrets()
            check_folders(self.job)
            now_s = self.now_s()
            scan = self._scan(now_s)
            delay = second_look_in(scan, self.job.settle_s, now_s, at_most_s=SECOND_LOOK_MAX_S)
            if delay is not None:
                # Files seen for the first time: look again once their window has passed, so
                # a nightly run takes a file dropped during the day tonight, not tomorrow.
                await self.sleep(delay)
                now_s = self.now_s()
                scan = self._scan(now_s)
            waiting = [
                Waiting(f.path.name, now_s - f.mtime_s, now_s - f.first_seen_s)
                for f in scan.waiting
            ]
            for seen in scan.ready:
                if self.control.stopping.is_set():
                    break
                result = await self._one_file(seen, settings)
                if result is None:
                    waiting.append(Waiting(seen.path.name))
                    continue
                self.recorder.file(result)
                if result.status == "interrupted":
                    break  # what stopped this file (signal, refused credentials) stops the rest
        except ConfigError as exc:
            return await self.recorder.finish(exit_code=2, error=str(exc), waiting=tuple(waiting))
        exit_code = max((f.exit_code for f in self.recorder.files), default=0)
        return await self.recorder.finish(exit_code=exit_code, waiting=tuple(waiting))

    def _scan(self, now_s: float) -> InboxScan:
        return scan_inbox(
            self.job.inbox,
            self.job.pattern,
            settle_s=self.job.settle_s,
            now_s=now_s,
            sightings=self.ledger.sightings,
        )

    async def _one_file(self, seen: InboxFile, settings: UploadSettings) -> FileResult | None:
        """Send one settled file; None when it changed under us (it is left for next time)."""
        t0 = time.monotonic()
        if not unchanged(seen):
            return None
        try:
            sha = file_sha256(seen.path)
        except OSError as exc:
            # Unreadable (permissions, gone): report it and go on with the other files.
            return FileResult(
                seen.path.name, "", "error", 3, error=f"cannot read: {exc.strerror or exc}"
            )
        if not unchanged(seen):
            return None
        name = seen.path.name
        entry = self.ledger.get(sha)
        if entry is not None and entry.status == DONE:
            target = _archive(seen.path, self._archive_slot(name))
            return FileResult(
                name, sha, "duplicate", 0, archived_path=target, duplicate_of=entry.file_name
            )
        if entry is None and (earlier := self.ledger.unfinished_named(name, sha)) is not None:
            # Interrupted, then the file changed: finish what that upload read, first.
            stopped = await self._finish_interrupted(seen, sha, earlier, settings)
            if stopped is not None:
                return stopped
        resumed = entry is not None and entry.status == STARTED
        source = seen.path  # what the engine reads: the file, or the rest of a grown one
        if entry is not None and resumed:
            archived, results = entry.archived_path, entry.results_path
            source = self.ledger.continuation_of(sha) or source
        else:
            grown = self.ledger.grown(name)
            archived = self._archive_slot(name)
            results = default_results_path(archived)
            if grown:
                rest = self._rest_of(seen, grown)
                if isinstance(rest, str):  # not an append: never send the sent rows twice
                    return FileResult(name, sha, "error", 3, error=rest)
                source = rest
                results = default_results_path(rest)
                if not grown[-1].archived_path.exists():  # the complete file beside the first part
                    archived = grown[-1].archived_path
            self.ledger.start_file(sha, name, archived, results, utc_now())
            if source != seen.path:
                header = grown[0].header
                self.ledger.record_grown(sha, name, -1, "", header, str(source))
        request = self._request(source, results, settings)

        def unfinished(
            error: str, counts: dict[str, int] | None = None, report: UploadReport | None = None
        ) -> FileResult:
            steps = () if report is None else self._steps(report, archived, finished=False)
            return FileResult(
                name,
                sha,
                "interrupted",
                3,
                counts or {},
                0.0,
                time.monotonic() - t0,
                archived,
                results,
                error,
                resumed=resumed,
                next_steps=steps,
            )

        try:
            report = await upload(request, control=self.control)
        except ConfigError:
            raise  # the job is misconfigured (mapping, settings): every file would fail alike
        except UsageError as exc:
            if not resumed and not unchanged(seen):
                # Still being written (the engine saw it change, or a half-written row broke
                # the read): nothing was sent, so no record; it goes when it is complete.
                self.ledger.forget(sha)
                remove_unloaded_journal(results)
                return None
            if resumed:
                # Rows of this file were sent before: keep its journal and results, retry later.
                return unfinished(str(exc))
            # Refused before anything was sent (unreadable file): set it aside, don't retry.
            target = _archive(seen.path, archived)
            self.ledger.finish_file(
                sha, status=ERROR, at=utc_now(), exit_code=3, error=str(exc), archived_path=target
            )
            return FileResult(
                name,
                sha,
                "error",
                3,
                duration_s=time.monotonic() - t0,
                archived_path=target,
                error=str(exc),
            )
        except LeadupError as exc:  # StopRun: refused credentials, circuit open, ...
            return unfinished(str(exc))
        except Exception as exc:  # a bug must not hide the file's state or skip the notify
            return unfinished(f"leadup hit an internal error (please report it): {exc!s}")
        counts = {outcome.value: n for outcome, n in report.counts.items() if n}
        if report.exit_code == 3:
            return unfinished(report.stopped or "rows still pending", counts, report)
        if not unchanged(seen):
            # The vendor wrote on while the rows read were sent: those are sent (once, their
            # journal and results stay where the ledger says); the file stays in the inbox and
            # its rest goes as a file of its own when it is complete (`_rest_of`).
            read = content_read(report.journal_path)  # what the uploader read and sent
            self.ledger.record_grown(
                sha, name, prefix_size(seen.path, read), read, header_of(source, self.job)
            )
            self.ledger.finish_file(
                sha,
                status=GROWN,
                at=utc_now(),
                counts=counts,
                total_price=report.total_price,
                exit_code=3,
            )
            return replace(
                unfinished(
                    "it changed while it was being sent: the rows read before the change are"
                    " sent, the rest goes once the file stops changing",
                    counts,
                    report,
                ),
                status="changed",
            )
        target = _archive(seen.path, archived)
        self.ledger.finish_file(
            sha,
            status=DONE,
            at=utc_now(),
            counts=counts,
            total_price=report.total_price,
            exit_code=report.exit_code,
            archived_path=target,
        )
        return FileResult(
            name,
            sha,
            "done",
            report.exit_code,
            counts,
            report.total_price,
            time.monotonic() - t0,
            target,
            report.results_path,
            resumed=resumed,
            next_steps=self._steps(report, target or archived, finished=True),
        )

    async def _finish_interrupted(
        self, seen: InboxFile, sha: str, earlier: FileEntry, settings: UploadSettings
    ) -> FileResult | None:
        """Finish the upload of an earlier version of this file, stopped before the file grew,
        from the bytes it read; it then counts as a part sent, and the grown path sends only
        what follows it (`_rest_of`). None when that is done or nothing of it was sent; else
        why this file is not sent now."""
        t0, name = time.monotonic(), seen.path.name
        part = interrupted_part(self.ledger, seen.path, earlier, self.job, self._archive_slot)
        if not isinstance(part, InterruptedPart):
            return None if part is None else FileResult(name, sha, "error", 3, error=part)
        results, name = earlier.results_path, part.path.name  # the rows it sends are that file's
        try:
            report = await upload(self._request(part.path, results, settings), control=self.control)
        except ConfigError:
            raise
        except Exception as exc:  # stopped again (signal, credentials), or a bug: next run
            error = str(exc) if isinstance(exc, LeadupError) else f"internal error: {exc!s}"
            return FileResult(name, earlier.sha256, "interrupted", 3, results_path=results,
                              error=error, resumed=True)  # fmt: skip
        counts = {outcome.value: n for outcome, n in report.counts.items() if n}
        finished = report.exit_code != 3
        result = FileResult(
            name,
            earlier.sha256,
            "done" if finished else "interrupted",
            report.exit_code,
            counts,
            report.total_price,
            time.monotonic() - t0,
            results_path=results,
            error="" if finished else report.stopped or "rows still pending",
            resumed=True,
            next_steps=self._steps(report, earlier.archived_path, finished=False),
        )
        if not finished:
            return result
        self.ledger.finish_file(
            earlier.sha256,
            status=GROWN,
            at=utc_now(),
            counts=counts,
            total_price=report.total_price,
            exit_code=report.exit_code,
        )
        self.recorder.file(result)
        return None

    def _request(self, source: Path, results: Path, settings: UploadSettings) -> UploadRequest:
        """An upload of `source` into `results`, read, mapped and prepared as the job says."""
        return UploadRequest(
            input_path=source,
            settings=settings,
            output_path=results,
            read=self.job.upload.read,
            prepare=self.job.upload.prepare,
            mapping_path=self.job.mapping,
        )

    def _steps(
        self, report: UploadReport, archived: Path, *, finished: bool
    ) -> tuple[FileStep, ...]:
        """The report's next steps as commands of this job, for the file archived as `archived`."""
        return commands.file_steps(
            self.job,
            report.next_steps,
            file=archived.name,
            program=self.recorder.program,
            finished=finished,
        )

    def _rest_of(self, seen: InboxFile, grown: list[GrownEntry]) -> Path | str:
        """The rest of a file that grew after some of it was sent, as a file of its own in the
        archive; or why it cannot be sent safely."""
        rest = self._archive_slot(f"{seen.path.stem}.rest{seen.path.suffix}")
        if write_rest(seen.path.read_bytes(), grown, rest):
            return rest
        return not_an_append(grown)

    def _archive_slot(self, name: str) -> Path:
        return archive_name(self.job.archive, name, self.ledger.reserved_names())


def _archive(source: Path, target: Path) -> Path | None:
    """Move a finished file into the archive; None if the vendor deleted it meanwhile."""
    try:
        return move_into(source, target)
    except FileNotFoundError:
        return None


def run_job_blocking(
    job: JobConfig, *, env: Mapping[str, str], tell: Tell | None = None
) -> RunSummary:
    """`leadup jobs run`: one run in a fresh event loop. SIGINT and SIGTERM mean what they
    mean everywhere (`uploader.run.signals`): stop gracefully, then stop now, then leave at
    once (StopRun, exit 3); `tell` hears what each one does."""

    async def main() -> RunSummary:
        control = RunControl()
        with stop_on_signals(control, tell=tell, notices=RUN_NOTICES):
            return await run_job(job, env=env, control=control)

    return run_until_left(main, LEFT_AT_ONCE)


def run_until_left(main: Callable[[], Coroutine[Any, Any, T]], message: str) -> T:
    """`asyncio.run(main())`, where a third signal's cancellation becomes StopRun (exit 3)."""
    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        raise StopRun(message) from None
