"""The `leadup jobs` command group: parse, call the jobs library, map the result to an exit code."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from jobs.config import DEFAULT_CONFIG_NAME, JobConfig, JobsFile, load_jobs_file
from jobs.ledger import Ledger
from jobs.report import RunSummary, history_table, local_time, summary_text, table
from jobs.runner import run_job_blocking
from jobs.schedule import next_run
from jobs.state import JobPaths, utc_now
from uploader.errors import LeadupError
from uploader.model import Outcome
from uploader.text import inert

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_CONFIG_NAME,
    show_default=True,
    help="The job file (TOML, one [jobs.NAME] table per job).",
)


def exits(func: F) -> F:
    """Turn leadup's errors into a one-line message and their documented exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            code = func(*args, **kwargs)
        except LeadupError as exc:
            click.echo(inert(f"error: {exc}", lines=True), err=True)
            ctx.exit(exc.exit_code)
        ctx.exit(code or 0)

    return wrapper  # type: ignore[return-value]


def _load(config_path: Path) -> JobsFile:
    return load_jobs_file(config_path, env=os.environ)


def _tell(message: str) -> None:
    """What a signal did, on stderr (cron's log)."""
    click.echo(inert(f"leadup: {message}", lines=True), err=True)


def _report(summary: RunSummary) -> int:
    text = summary_text(summary)
    click.echo(text, err=summary.status != "finished")
    return summary.exit_code


@click.group("jobs")
def jobs_group() -> None:
    """Scheduled imports: pick up lead files dropped in an inbox folder, send each once."""


@jobs_group.command("run")
@click.argument("name")
@config_option
@exits
def run_command(name: str, config_path: Path) -> int:
    """Run job NAME once (for cron). Exit 0 all created, 1 some rows not created, 2 bad
    configuration, 3 a file could not be finished; 0 with a note when a run is active.

    Ctrl-C or SIGTERM: the file being sent stops well and resumes next run; a second stops
    it now (requests out are recorded unknown); a third leaves at once."""
    job = _load(config_path).get(name)
    return _report(run_job_blocking(job, env=os.environ, tell=_tell))


@jobs_group.command("list")
@config_option
@exits
def list_command(config_path: Path) -> int:
    """The jobs, their schedules, last and next run."""
    jobs_file = _load(config_path)
    now = utc_now()
    rows = []
    for job in jobs_file.jobs.values():
        last = None
        with _ledger(job.state_dir) as ledger:
            if ledger is not None:
                last = next(iter(ledger.runs(limit=1, kind="run")), None)
        upcoming = next_run(now, job.schedule, job.tz).isoformat() if job.schedule else ""
        rows.append(
            (
                job.name,
                job.schedule or "-",
                job.timezone,
                local_time(last.started_at, job.tz) if last else "never",
                "-" if last is None or last.exit_code is None else str(last.exit_code),
                local_time(upcoming, job.tz) if upcoming else "-",
            )
        )
    header = ("job", "schedule", "timezone", "last run", "exit", "next run")
    click.echo(table(header, rows))
    return 0


@jobs_group.command("history")
@click.argument("name")
@config_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@exits
def history_command(name: str, config_path: Path, limit: int) -> int:
    """Past runs of job NAME, newest first: files, rows, created, not created, price."""
    job = _load(config_path).get(name)
    with _ledger(job.state_dir) as ledger:
        runs = [] if ledger is None else ledger.runs(limit=limit)
    click.echo(history_table(runs, job.tz))
    return 0


@jobs_group.command("reprocess")
@click.argument("name")
@config_option
@click.option(
    "--file",
    "files",
    multiple=True,
    metavar="NAME",
    help="Only this archived file (its name in the archive, or its results file). Repeatable.",
)
@click.option(
    "--include-unknown",
    is_flag=True,
    help="Also resend rows that may have been created (check them on the platform first!).",
)
@click.option("--include-rejected", is_flag=True, help="Also resend rejected rows (after fixing).")
@click.option("--include-invalid", is_flag=True, help="Also resend invalid rows (after fixing).")
@click.option("--include-held", is_flag=True, help="Ping-post: price held rows again.")
@exits
def reprocess_command(
    name: str,
    config_path: Path,
    files: tuple[str, ...],
    include_unknown: bool,
    include_rejected: bool,
    include_invalid: bool,
    include_held: bool,
) -> int:
    """Resend the failed rows of job NAME's archived results files, updating them in place;
    never a created row. Rejected and invalid rows are resent once fixed in the results file."""
    from jobs.reprocess import reprocess_job_blocking

    job = _load(config_path).get(name)
    asked = {
        Outcome.UNKNOWN: include_unknown,
        Outcome.REJECTED: include_rejected,
        Outcome.INVALID: include_invalid,
        Outcome.HELD: include_held,
    }
    summary = reprocess_job_blocking(
        job,
        env=os.environ,
        include=[outcome for outcome, wanted in asked.items() if wanted],
        files=files,
        tell=_tell,
    )
    return _report(summary)


@jobs_group.command("schedule")
@click.argument("name")
@config_option
@exits
def schedule_command(name: str, config_path: Path) -> int:
    """Print the crontab line that runs job NAME on its schedule."""
    from jobs.commands import leadup_command
    from jobs.serve import crontab_entry

    jobs_file = _load(config_path)
    job = jobs_file.get(name)
    lines = crontab_entry(job, jobs_file.path, leadup_command(), os.environ)
    JobPaths(job.state_dir).create()  # the line's log redirect needs the folder to exist
    click.echo("\n".join(lines))
    return 0


@jobs_group.command("serve")
@config_option
@exits
def serve_command(config_path: Path) -> int:
    """Run every scheduled job in the foreground (for hosts without cron); Ctrl-C stops.

    Ctrl-C or SIGTERM: no new runs, running ones stop well, exit 0; a second stops them now;
    a third leaves at once (exit 3)."""
    from jobs.serve import serve_blocking

    jobs_file = _load(config_path)
    names = ", ".join(j.name for j in jobs_file.jobs.values() if j.schedule)

    def on_ready() -> None:
        click.echo(f"serving {names} from {jobs_file.path}; Ctrl-C stops", err=True)

    def on_summary(summary: RunSummary) -> None:
        _report(summary)

    def on_error(job: JobConfig, error: BaseException) -> None:
        click.echo(
            f"{datetime.now():%H:%M:%S} job {job.name} stopped on an internal error"
            f" (please report it): {error}",
            err=True,
        )

    jobs = list(jobs_file.jobs.values())
    return serve_blocking(
        jobs,
        env=os.environ,
        on_summary=on_summary,
        on_error=on_error,
        on_ready=on_ready,
        tell=_tell,
    )


@contextlib.contextmanager
def _ledger(state_dir: Path) -> Iterator[Ledger | None]:
    """The job's ledger for reading, or None when the job never ran."""
    ledger = Ledger.open_existing(JobPaths(state_dir).ledger)
    try:
        yield ledger
    finally:
        if ledger is not None:
            ledger.close()
