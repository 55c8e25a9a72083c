"""Running jobs on their schedules: in the foreground (`serve`) or from cron (a crontab line).

`serve` is for hosts without cron (containers): it sleeps until the next job is due, runs it,
and on SIGINT/SIGTERM stops starting runs, lets running uploads stop gracefully (their files
resume next time) and exits 0; a second signal stops those uploads now (requests still out are
recorded unknown), a third leaves at once (exit 3), as everywhere (`uploader.run.signals`).
The clock and the sleep are injected, so the loop is tested against a fake clock without
waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobs.config import JobConfig, local_zone_name
from jobs.report import RunSummary
from jobs.runner import run_job, run_until_left
from jobs.schedule import next_run
from jobs.state import JobPaths, utc_now
from uploader.errors import ConfigError
from uploader.run import RunControl
from uploader.run.signals import Notices, Tell, stop_on_signals

JobRun = Callable[[JobConfig, RunControl], Coroutine[Any, Any, RunSummary]]
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """How `serve` waits."""

    max_sleep_s: float = 60.0  # re-read the clock at least this often (suspend, clock steps)


SERVE_NOTICES = Notices(
    stopping="stopping: no new runs; running jobs finish their requests in flight and resume"
    " next time (Ctrl-C again to stop them now)",
    aborting="stopping now: requests still out are recorded unknown (Ctrl-C again to leave at"
    " once)",
)


class Scheduler:
    """Starts each scheduled job when due; a job still running at its next tick is refused by
    its own lock (one log line), and missed ticks are not caught up.

    Each run gets a RunControl of its own. `stop()` (graceful: no new runs, running ones stop
    well) and `abort()` (running ones stop now) make it a `Stoppable` for the signal helper.
    """

    def __init__(
        self,
        jobs: Sequence[JobConfig],
        *,
        run: JobRun,
        clock: Clock = utc_now,
        sleep: Sleep | None = None,
        settings: ServeSettings = ServeSettings(),
        on_summary: Callable[[RunSummary], None] | None = None,
        on_error: Callable[[JobConfig, BaseException], None] | None = None,
    ) -> None:
        self.jobs = [job for job in jobs if job.schedule]
        if not self.jobs:
            raise ConfigError('no job has a schedule: add schedule = "<cron>" to a job')
        self.run, self.clock, self.settings = run, clock, settings
        self._sleep = sleep
        self.on_summary, self.on_error = on_summary, on_error
        self.running: dict[asyncio.Task[RunSummary], RunControl] = {}
        self.started = 0
        self.stopping = asyncio.Event()

    def __repr__(self) -> str:
        return (
            f"Scheduler(jobs={len(self.jobs)}, started={self.started}, running={len(self.running)})"
        )

    def stop(self) -> None:
        """Start no more runs; the running ones stop gracefully (their files resume later)."""
        self.stopping.set()
        for control in self.running.values():
            control.stop()

    def abort(self) -> None:
        """Stop the running ones now: their requests still out are recorded unknown."""
        self.stopping.set()
        for control in self.running.values():
            control.abort()

    async def serve(self) -> int:
        """Run until `stop()`, then wait for the running jobs; returns the exit code 0."""
        sleep = self._sleep or _interruptible_sleep(self.stopping)
        due = {job.name: self._next(job, self.clock()) for job in self.jobs}
        while not self.stopping.is_set():
            now = self.clock()
            for job in self.jobs:
                if due[job.name] <= now:
                    self._start(job)
                    due[job.name] = self._next(job, now)
            wait_s = (min(due.values()) - self.clock()).total_seconds()
            await sleep(min(max(wait_s, 0.0), self.settings.max_sleep_s))
        if self.running:
            await asyncio.gather(*self.running, return_exceptions=True)
        return 0

    @staticmethod
    def _next(job: JobConfig, after: datetime) -> datetime:
        # In UTC: instants in a DST fold compare oddly across zones (PEP 495).
        return next_run(after, job.schedule, job.tz).astimezone(UTC)

    def _start(self, job: JobConfig) -> None:
        control = RunControl()
        task = asyncio.create_task(self.run(job, control), name=f"leadup-job-{job.name}")
        self.started += 1
        self.running[task] = control
        task.add_done_callback(lambda t: self._done(job, t))

    def _done(self, job: JobConfig, task: asyncio.Task[RunSummary]) -> None:
        self.running.pop(task, None)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            if self.on_error is not None:
                self.on_error(job, error)
        elif self.on_summary is not None:
            self.on_summary(task.result())


def _interruptible_sleep(stop: asyncio.Event) -> Sleep:
    async def sleep(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)

    return sleep


def serve_blocking(
    jobs: Sequence[JobConfig],
    *,
    env: Mapping[str, str],
    on_summary: Callable[[RunSummary], None] | None = None,
    on_error: Callable[[JobConfig, BaseException], None] | None = None,
    on_ready: Callable[[], None] | None = None,
    tell: Tell | None = None,
) -> int:
    """`leadup jobs serve`: the scheduler with real time and signal handling.

    `on_ready` is called once the signal handlers are in place (a supervisor may signal from
    then on); `tell` hears what each signal does. A third signal raises StopRun (exit 3)."""

    async def one_run(job: JobConfig, control: RunControl) -> RunSummary:
        return await run_job(job, env=env, control=control)

    async def main() -> int:
        scheduler = Scheduler(jobs, run=one_run, on_summary=on_summary, on_error=on_error)
        with stop_on_signals(scheduler, tell=tell, notices=SERVE_NOTICES):
            if on_ready is not None:
                on_ready()
            return await scheduler.serve()

    return run_until_left(main, "stopped at once: the files being sent resume on their next run")


def crontab_entry(
    job: JobConfig, config_path: Path, command: Sequence[str], env: Mapping[str, str]
) -> list[str]:
    """The lines to paste into a crontab: comments, CRON_TZ when needed, then the entry."""
    if not job.schedule:
        raise ConfigError(f'[jobs.{job.name}] has no schedule: add schedule = "<cron>"')
    paths = JobPaths(job.state_dir)
    words = [*command, "jobs", "run", job.name, "--config", str(config_path.absolute())]
    line = " ".join(shlex.quote(w) for w in words)
    line += f" >> {shlex.quote(str(paths.cron_log))} 2>&1"
    lines = [
        f"# leadup job {job.name}: credentials come from ${job.token_env}, or ${job.key_env}"
        f" and ${job.secret_env}: set them above this line (NAME=value), never in the job file",
    ]
    if job.timezone_explicit and job.timezone != local_zone_name(env):
        lines.append(f"# times are {job.timezone}; CRON_TZ applies to the lines below it")
        lines.append(f"CRON_TZ={job.timezone}")
    # cron turns an unescaped % into a newline
    lines.append(f"{job.schedule} {line.replace('%', chr(92) + '%')}")
    return lines
