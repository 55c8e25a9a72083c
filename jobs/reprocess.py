"""`leadup jobs reprocess`: resend the failed rows of archived files (and, if asked, others).

It runs the uploader's retry over each archived results file that still has such rows, under
the job's lock, and records the pass in the job's history like a run. The outcomes it resends
are `leadup retry`'s: failed rows always; unknown, rejected, invalid and held ones on request.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence

from jobs import commands
from jobs.config import JobConfig
from jobs.ledger import DONE, FileEntry, Ledger
from jobs.notify import Notifier
from jobs.recorder import RunRecorder
from jobs.report import FileResult, RunSummary
from jobs.runner import RUN_NOTICES, build_settings, run_until_left
from jobs.state import JobLock, JobPaths, JsonLog, utc_now
from uploader.errors import ConfigError, LeadupError, StopRun, UsageError
from uploader.model import Outcome
from uploader.run import RunControl, retry
from uploader.run.signals import Tell, stop_on_signals
from uploader.settings import UploadSettings

# What `--include-*` may add to the failed rows (created rows are never resent).
INCLUDABLE = (Outcome.UNKNOWN, Outcome.REJECTED, Outcome.INVALID, Outcome.HELD)


def outcomes_to_resend(extra: Collection[Outcome] = ()) -> tuple[Outcome, ...]:
    """`failed` rows never reached the server; the others only on request (`extra`)."""
    unknown = [o for o in extra if o not in INCLUDABLE]
    if unknown:
        raise UsageError(f"cannot resend {', '.join(o.value for o in unknown)} rows")
    return (Outcome.FAILED, *(o for o in INCLUDABLE if o in extra))


async def reprocess_job(
    job: JobConfig,
    *,
    env: Mapping[str, str],
    include: Collection[Outcome] = (),
    files: Sequence[str] = (),
    control: RunControl | None = None,
    notifier: Notifier | None = None,
    program: str | None = None,
) -> RunSummary:
    """Retry the job's archived results files. Raises JobBusy when a run holds the job.

    `include` adds outcomes to the failed rows (INCLUDABLE); `files` limits the pass to the
    archived files of these names (or of these results files), UsageError naming the ones
    the job does not have. `control` stops (or aborts) the file being retried, as for
    `run_job`; later files wait.

    Unlike an overlapping `run` (normal under cron), a person asked for this one, so being
    refused is an error (exit 2), as for `leadup upload` on a held output.
    """
    wanted = outcomes_to_resend(include)
    paths = JobPaths(job.state_dir)
    paths.create()
    log = JsonLog(paths.log)
    control = control or RunControl()
    with JobLock(paths.lock, job.name), Ledger.open(paths.ledger) as ledger:
        ledger.mark_died(utc_now())  # we hold the lock: a run still `running` was killed
        entries = _chosen(job, ledger.entries(DONE), files)
        recorder = RunRecorder(job, ledger, log, "reprocess", notifier, program)
        try:
            settings = build_settings(job, env)
        except ConfigError as exc:
            return await recorder.finish(exit_code=2, error=str(exc))
        log.redact = settings.api.credentials.secrets()
        for entry in entries:
            if not any(entry.counts.get(o.value, 0) for o in wanted):
                continue
            if control.stopping.is_set():
                break
            result = await _retry_file(
                entry, settings, wanted, control, job=job, program=recorder.program
            )
            if result.status == "done":
                ledger.update_counts(entry.sha256, result.counts, result.total_price)
            recorder.file(result)
            if result.status == "interrupted":
                break
        exit_code = max((f.exit_code for f in recorder.files), default=0)
        return await recorder.finish(exit_code=exit_code)


def _chosen(job: JobConfig, entries: list[FileEntry], names: Sequence[str]) -> list[FileEntry]:
    """The entries `--file` names, by archived file or results file name (or path)."""
    if not names:
        return entries
    wanted = {name.rstrip("/").rsplit("/", 1)[-1] for name in names}
    chosen = [e for e in entries if {e.archived_path.name, e.results_path.name} & wanted]
    found = {e.archived_path.name for e in chosen} | {e.results_path.name for e in chosen}
    missing = sorted(wanted - found)
    if missing:
        known = ", ".join(sorted(e.archived_path.name for e in entries)) or "none yet"
        raise UsageError(
            f"job {job.name} has no finished file called {', '.join(missing)}"
            f" in its archive (finished files: {known})"
        )
    return chosen


async def _retry_file(
    entry: FileEntry,
    settings: UploadSettings,
    include: tuple[Outcome, ...],
    control: RunControl,
    *,
    job: JobConfig,
    program: str,
) -> FileResult:
    t0 = time.monotonic()
    name = entry.archived_path.name

    def failed(status: str, error: str) -> FileResult:
        return FileResult(
            name,
            entry.sha256,
            status,
            3,
            dict(entry.counts),
            entry.total_price,
            time.monotonic() - t0,
            entry.archived_path,
            entry.results_path,
            error,
        )

    if not entry.results_path.is_file():
        return failed("error", f"results file missing: {entry.results_path}")
    try:
        report = await retry(entry.results_path, settings, include=include, control=control)
    except ConfigError:
        raise
    except StopRun as exc:
        return failed("interrupted", str(exc))
    except LeadupError as exc:
        return failed("error", str(exc))
    counts = {outcome.value: n for outcome, n in report.counts.items() if n}
    status = "interrupted" if report.exit_code == 3 else "done"
    # A file stopped mid-pass resumes with this pass's own command.
    steps = commands.file_steps(
        job,
        report.next_steps,
        file=name,
        program=program,
        finished=status == "done",
        resume=("reprocess", commands.reprocess_options(include, [name])),
    )
    return FileResult(
        name,
        entry.sha256,
        status,
        report.exit_code,
        counts,
        report.total_price,
        time.monotonic() - t0,
        entry.archived_path,
        entry.results_path,
        report.stopped,
        next_steps=steps,
    )


def reprocess_job_blocking(
    job: JobConfig,
    *,
    env: Mapping[str, str],
    include: Collection[Outcome] = (),
    files: Sequence[str] = (),
    tell: Tell | None = None,
) -> RunSummary:
    """`leadup jobs reprocess`: one pass in a fresh event loop; signals as for `jobs run`."""

    async def main() -> RunSummary:
        control = RunControl()
        with stop_on_signals(control, tell=tell, notices=RUN_NOTICES):
            return await reprocess_job(job, env=env, include=include, files=files, control=control)

    return run_until_left(main, "stopped at once: run the reprocess again to finish")
