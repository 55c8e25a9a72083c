"""`serve` on a fake clock, graceful shutdown, and the crontab line run the way cron runs it."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jobs.cli import jobs_group
from jobs.config import JobConfig
from jobs.report import RunSummary
from jobs.serve import JobRun, Scheduler, crontab_entry
from jobs.state import JobPaths, read_log
from tests.support.jobs import (
    JOBS_CLI,
    REPO,
    emails,
    load_job,
    subprocess_env,
    write_job_file,
    write_leads,
)
from uploader.errors import ConfigError
from uploader.run import RunControl
from uploader.sandbox import Sandbox, SandboxConfig


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def job(name: str, schedule: str, zone: str = "UTC", **kw: object) -> JobConfig:
    folder = Path("/nonexistent")
    return JobConfig(
        name=name,
        inbox=folder / "in",
        archive=folder / "archive",
        state_dir=folder / ".leadup" / name,
        schedule=schedule,
        timezone=zone,
        **kw,  # type: ignore[arg-type]
    )


class FakeTime:
    """A clock that only moves when the scheduler sleeps; stops the scheduler at `end`."""

    def __init__(self, start: str, end: str) -> None:
        self.now, self.end = utc(start), utc(end)
        self.sleeps: list[float] = []
        self.scheduler: Scheduler | None = None

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)  # let the runs just started see the time they started at
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)
        if self.now >= self.end and self.scheduler is not None:
            self.scheduler.stop()

    def scheduler_for(self, jobs: list[JobConfig], run: JobRun, **kw: Any) -> Scheduler:
        self.scheduler = Scheduler(jobs, run=run, clock=self.clock, sleep=self.sleep, **kw)
        return self.scheduler


async def test_scheduler_runs_each_job_when_due() -> None:
    fake = FakeTime("2026-03-08 06:58:30", "2026-03-08 07:05")
    started: list[tuple[str, str]] = []

    async def run(job: JobConfig, _: RunControl) -> RunSummary:
        started.append((job.name, fake.now.strftime("%H:%M:%S")))
        return RunSummary(job.name, "run", "finished", 0)

    jobs = [
        job("every2", "*/2 * * * *"),
        job("hourly", "0 * * * *", "America/New_York"),  # 03:00 EDT: the day clocks jump
        job("manual", ""),  # no schedule: only run by hand
    ]
    summaries: list[RunSummary] = []
    scheduler = fake.scheduler_for(jobs, run, on_summary=summaries.append)
    assert await scheduler.serve() == 0
    assert started == [
        ("every2", "07:00:00"),
        ("hourly", "07:00:00"),
        ("every2", "07:02:00"),
        ("every2", "07:04:00"),
    ]
    assert len(summaries) == 4
    assert max(fake.sleeps) <= 60  # wakes at least every minute to re-read the clock
    assert "started=4" in repr(scheduler)


async def test_a_crashing_run_is_reported_and_serving_goes_on() -> None:
    fake = FakeTime("2026-01-01 00:00:30", "2026-01-01 00:03:30")
    errors: list[str] = []

    async def run(job: JobConfig, _: RunControl) -> RunSummary:
        raise RuntimeError(f"boom at {fake.now:%H:%M}")

    scheduler = fake.scheduler_for(
        [job("j", "* * * * *")], run, on_error=lambda j, e: errors.append(str(e))
    )
    await scheduler.serve()
    assert errors == ["boom at 00:01", "boom at 00:02", "boom at 00:03"]


async def test_stop_waits_for_running_jobs_to_finish_gracefully() -> None:
    fake = FakeTime("2026-01-01 00:00:59", "2026-01-01 00:01:30")
    seen: list[tuple[bool, bool]] = []

    async def run(job: JobConfig, control: RunControl) -> RunSummary:
        await control.stopping.wait()  # an upload stops taking rows, finishes in-flight ones
        seen.append((control.stopping.is_set(), control.aborting.is_set()))
        return RunSummary(job.name, "run", "finished", 3)

    scheduler = fake.scheduler_for([job("j", "* * * * *")], run)
    assert await scheduler.serve() == 0
    assert seen == [(True, False)]  # stopped well, not aborted
    assert not scheduler.running


async def test_abort_stops_every_running_job_now() -> None:
    aborted: list[str] = []
    now = utc("2026-01-01 00:00:59")

    async def sleep(seconds: float) -> None:
        nonlocal now
        now += timedelta(seconds=seconds)
        if now > utc("2026-01-01 00:01:00"):  # both jobs started: wait like the real sleep
            await scheduler.stopping.wait()

    async def run(job: JobConfig, control: RunControl) -> RunSummary:
        await control.aborting.wait()
        aborted.append(job.name)
        return RunSummary(job.name, "run", "finished", 3)

    jobs = [job("a", "* * * * *"), job("b", "* * * * *")]
    scheduler = Scheduler(jobs, run=run, clock=lambda: now, sleep=sleep)
    serving = asyncio.create_task(scheduler.serve())
    while len(scheduler.running) < 2:
        await asyncio.sleep(0)
    scheduler.stop()
    await asyncio.sleep(0.01)
    assert not serving.done()  # the runs were asked to stop well; they have not yet
    scheduler.abort()
    assert await asyncio.wait_for(serving, 5) == 0
    assert sorted(aborted) == ["a", "b"]
    assert scheduler.started == 2  # none started after the stop


def test_no_scheduled_job_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no job has a schedule"):
        Scheduler([job("j", "")], run=None)  # type: ignore[arg-type]


def test_crontab_entry_shape(tmp_path: Path) -> None:
    folder = tmp_path / "my jobs"
    path = write_job_file(folder, schedule="15 2 * * *")
    lines = crontab_entry(load_job(path), path, ["/opt/leadup 100%/bin/leadup"], {"TZ": "UTC"})
    assert lines[0].startswith("# leadup job nightly: credentials come from $JUICED_API_TOKEN")
    assert len(lines) == 2
    log = folder / ".leadup" / "nightly" / "cron.log"
    assert lines[1] == (
        f"15 2 * * * '/opt/leadup 100\\%/bin/leadup' jobs run nightly"
        f" --config '{path}' >> '{log}' 2>&1"
    )


def test_crontab_entry_sets_cron_tz_only_for_another_zone(tmp_path: Path) -> None:
    path = write_job_file(tmp_path, schedule="0 6 * * *", timezone="Asia/Tokyo")
    lines = crontab_entry(load_job(path), path, ["/usr/bin/leadup"], {"TZ": "Europe/Paris"})
    assert "CRON_TZ=Asia/Tokyo" in lines
    assert "CRON_TZ=Asia/Tokyo" not in crontab_entry(
        load_job(path), path, ["/usr/bin/leadup"], {"TZ": "Asia/Tokyo"}
    )
    bare = write_job_file(tmp_path / "b")
    with pytest.raises(ConfigError, match="has no schedule"):
        crontab_entry(load_job(bare), bare, ["/usr/bin/leadup"], {})


def cron_command(line: str) -> str:
    """What cron hands to /bin/sh -c: the part after the five time fields, `\\%` unescaped."""
    return line.split(None, 5)[5].replace("\\%", "%")


def cron_env(home: Path, **extra: str) -> dict[str, str]:
    """Roughly the environment cron gives a job: almost nothing, plus the crontab's NAME=value."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "SHELL": "/bin/sh", **extra}


def test_printed_crontab_line_runs_the_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The line `schedule` prints, run by sh from / with cron's bare environment, runs the job.

    The executable is a console-script-like stub named `leadup` (the real script is checked in
    the next test once `leadup jobs` is wired into the leadup group).
    """
    stub = tmp_path / "bin with space" / "leadup"
    stub.parent.mkdir()
    stub.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(REPO)!r})\n"
        "from jobs.cli import jobs_group\nassert sys.argv[1] == 'jobs'\n"
        "jobs_group(sys.argv[2:], 'leadup jobs')\n"
    )
    stub.chmod(0o755)
    path = write_job_file(tmp_path / "site", schedule="*/5 * * * *")
    monkeypatch.setattr(sys, "argv", [str(stub), "jobs", "schedule"])
    monkeypatch.chdir(tmp_path / "site")
    printed = CliRunner().invoke(jobs_group, ["schedule", "nightly"])  # default --config
    assert printed.exit_code == 0, printed.output
    line = printed.output.splitlines()[-1]
    assert line.startswith("*/5 * * * * ")
    assert str(stub) in line and f"--config {path}" in line.replace("'", "")
    done = subprocess.run(
        ["/bin/sh", "-c", cron_command(line)],
        cwd="/",
        env=cron_env(tmp_path, JUICED_API_TOKEN="tok"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0
    assert done.stdout == done.stderr == ""  # all of it went to the log
    paths = JobPaths(load_job(path).state_dir)
    assert "leadup jobs run nightly: no new files (exit 0)" in paths.cron_log.read_text()
    assert [x["exit"] for x in read_log(paths.log) if x["event"] == "run"] == [0]


def _leadup_jobs_wired() -> str | None:
    script = shutil.which("leadup", path=str(Path(sys.executable).parent))
    if script is None:
        return None
    probe = subprocess.run([script, "jobs", "--help"], capture_output=True, timeout=60)
    return script if probe.returncode == 0 else None


@pytest.mark.slow
async def test_real_leadup_crontab_line_sends_a_dropped_file(tmp_path: Path) -> None:
    script = await asyncio.to_thread(_leadup_jobs_wired)
    if script is None:
        pytest.skip("no `leadup` console script with `jobs` in this venv (make test installs it)")
    async with Sandbox(SandboxConfig()) as sb:
        path = write_job_file(tmp_path, schedule="0 * * * *", api_url=sb.url, rate=200)
        write_leads(tmp_path / "inbox" / "vendor.csv", 0, 5)
        schedule = await asyncio.create_subprocess_exec(
            script,
            "jobs",
            "schedule",
            "nightly",
            "--config",
            str(path),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await schedule.communicate()
        line = out.decode().splitlines()[-1]
        assert line.startswith(f"0 * * * * {Path(script).resolve()} jobs run nightly")
        env = cron_env(
            tmp_path, JUICED_API_KEY=sb.config.api_key, JUICED_API_SECRET=sb.config.api_secret
        )
        cron = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", cron_command(line), cwd="/", env=env
        )
        assert await asyncio.wait_for(cron.wait(), 60) == 0
        assert sorted(lead.payload["email"] for lead in sb.state.leads) == emails(0, 5)
    assert (tmp_path / "archive" / "vendor.csv").exists()


def test_serve_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    path = write_job_file(tmp_path, schedule="* * * * *")
    with subprocess.Popen(
        [*JOBS_CLI, "serve", "--config", str(path)],
        env=subprocess_env({"JUICED_API_TOKEN": "tok"}),
        stderr=subprocess.PIPE,
        text=True,
    ) as serve:
        assert serve.stderr is not None
        assert serve.stderr.readline().startswith("serving nightly from ")
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=10) == 0
