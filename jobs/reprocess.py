"""`leadup jobs reprocess`: resend the failed (and, if asked, unknown) rows of archived files.

It runs the uploader's retry over each archived results file that still has such rows, under
the job's lock, and records the pass in the job's history like a run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from jobs.config import JobConfig
from jobs.ledger import DONE, FileEntry, Ledger
from jobs.notify import Notifier
from jobs.report import FileResult, RunSummary
from jobs.runner import RUN_NOTICES, RunRecorder, build_settings, run_until_left
from jobs.state import JobLock, JobPaths, JsonLog
from uploader.errors import ConfigError, LeadupError, StopRun
from uploader.model import Outcome
from uploader.run import RunControl, retry
from uploader.run.signals import Tell, stop_on_signals
from uploader.settings import UploadSettings


def outcomes_to_resend(include_unknown: bool) -> tuple[Outcome, ...]:
    """`failed` rows never reached the server; `unknown` ones may have (resent only on request)."""
    return (Outcome.FAILED, Outcome.UNKNOWN) if include_unknown else (Outcome.FAILED,)


async def reprocess_job(
    job: JobConfig,
    *,
    env: Mapping[str, str],
    include_unknown: bool = False,
    control: RunControl | None = None,
    notifier: Notifier | None = None,
) -> RunSummary:
    """Retry the job's archived results files. Raises JobBusy when a run holds the job.

    `control` stops (or aborts) the file being retried, as for `run_job`; later files wait.

    Unlike an overlapping `run` (normal under cron), a person asked for this one, so being
    refused is an error (exit 2), as for `leadup upload` on a held output.
    """
    paths = JobPaths(job.state_dir)
    paths.create()
    log = JsonLog(paths.log)
    include = outcomes_to_resend(include_unknown)
    control = control or RunControl()
    with JobLock(paths.lock, job.name), Ledger.open(paths.ledger) as ledger:
        recorder = RunRecorder(job, ledger, log, "reprocess", notifier)
        try:
            settings = build_settings(job, env)
        except ConfigError as exc:
            return await recorder.finish(exit_code=2, error=str(exc))
        log.redact = settings.api.credentials.secrets()
        for entry in ledger.entries(DONE):
            if not any(entry.counts.get(o.value, 0) for o in include):
                continue
            if control.stopping.is_set():
                break
            result = await _retry_file(entry, settings, include, control)
            if result.status == "done":
                ledger.update_counts(entry.sha256, result.counts, result.total_price)
            recorder.file(result)
            if result.status == "interrupted":
                break
        exit_code = max((f.exit_code for f in recorder.files), default=0)
        return await recorder.finish(exit_code=exit_code)


async def _retry_file(
    entry: FileEntry,
    settings: UploadSettings,
    include: tuple[Outcome, ...],
    control: RunControl,
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
    )


def reprocess_job_blocking(
    job: JobConfig, *, env: Mapping[str, str], include_unknown: bool, tell: Tell | None = None
) -> RunSummary:
    """`leadup jobs reprocess`: one pass in a fresh event loop; signals as for `jobs run`."""

    async def main() -> RunSummary:
        control = RunControl()
        with stop_on_signals(control, tell=tell, notices=RUN_NOTICES):
            return await reprocess_job(
                job, env=env, include_unknown=include_unknown, control=control
            )

    return run_until_left(main, "stopped at once: run the reprocess again to finish")
