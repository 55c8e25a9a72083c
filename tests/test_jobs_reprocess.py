"""`leadup jobs reprocess` against the sandbox, and `history`/`list` showing what happened."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from jobs import reprocess, runner
from jobs.cli import jobs_group
from jobs.config import JobConfig
from jobs.ledger import Ledger
from jobs.reprocess import reprocess_job
from jobs.runner import run_job
from jobs.state import JobBusy, JobLock, JobPaths, read_log
from tests.support.jobs import emails, load_job, write_job_file, write_leads
from uploader.model import Outcome
from uploader.sandbox import Sandbox, SandboxConfig, Scripted
from uploader.settings import RetryPolicy, UploadSettings


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig()) as sb:
        yield sb


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The job file has no retry knobs; shorten the uploader's backoff so failures are fast,
    and let a row answered "too busy" end failed at once (503s use up no attempts)."""
    real = runner.build_settings

    def build(job: JobConfig, env: Mapping[str, str]) -> UploadSettings:
        retry = RetryPolicy(
            max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02, rate_limited_max_s=0.0
        )
        return dataclasses.replace(real(job, env), retry=retry)

    monkeypatch.setattr(runner, "build_settings", build)
    monkeypatch.setattr(reprocess, "build_settings", build)


def busy_503() -> Scripted:
    return Scripted(status=503, headers={"Retry-After": "0"})


async def test_reprocess_resends_failed_rows_and_records_it(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    path = write_job_file(tmp_path, api_url=sandbox.url, rate=500, concurrency=1)
    job = load_job(path)
    write_leads(job.inbox / "a.csv", 0, 4)
    sandbox.push_script(busy_503())  # the first row: failed, not created, safe to resend
    first = await run_job(job, env=sandbox.env())
    assert first.exit_code == 1
    assert first.files[0].counts == {"created": 3, "failed": 1}
    again = await reprocess_job(job, env=sandbox.env())
    assert again.exit_code == 0
    [result] = again.files
    assert result.counts == {"created": 4}
    assert Counter(lead.payload["email"] for lead in sandbox.state.leads) == Counter(emails(0, 4))
    with Ledger.open(JobPaths(job.state_dir).ledger) as ledger:
        [entry] = ledger.entries()
        assert entry.counts == {"created": 4}
        assert [r.kind for r in ledger.runs()] == ["reprocess", "run"]
    nothing = await reprocess_job(job, env=sandbox.env())
    assert (nothing.exit_code, nothing.files) == (0, ())
    events = [x["event"] for x in read_log(JobPaths(job.state_dir).log)]
    assert events == ["file", "run", "reprocess_file", "reprocess", "reprocess"]

    history = CliRunner().invoke(jobs_group, ["history", "nightly", "--config", str(path)])
    assert history.exit_code == 0, history.output
    header, *rows = history.output.splitlines()
    assert header.split() == [
        "started",
        "kind",
        "files",
        "rows",
        "created",
        "not",
        "created",
        "price",
        "exit",
    ]
    cells = [r.split()[3:] for r in rows]  # after the date, time and zone
    assert [c[:5] + c[6:] for c in cells] == [  # the price is the sandbox's to choose
        ["reprocess", "-", "0", "0", "0", "0"],
        ["reprocess", "a.csv", "4", "4", "0", "0"],
        ["run", "a.csv", "4", "3", "1", "1"],
    ]
    assert float(cells[1][5]) == pytest.approx(result.total_price, abs=0.01)
    listed = CliRunner().invoke(jobs_group, ["list", "--config", str(path)])
    assert listed.exit_code == 0
    assert listed.output.splitlines()[1].split()[0:2] == ["nightly", "-"]


async def test_unknown_rows_are_resent_only_when_asked(tmp_path: Path, sandbox: Sandbox) -> None:
    job = load_job(write_job_file(tmp_path, api_url=sandbox.url, rate=500, concurrency=1))
    write_leads(job.inbox / "a.csv", 0, 3)
    sandbox.push_script(Scripted(action="drop"))  # the client cannot know it was not applied
    first = await run_job(job, env=sandbox.env())
    assert first.files[0].counts == {"created": 2, "unknown": 1}
    plain = await reprocess_job(job, env=sandbox.env())
    assert plain.files == ()  # may have been created: not resent without the flag
    asked = await reprocess_job(job, env=sandbox.env(), include=[Outcome.UNKNOWN])
    assert asked.files[0].counts == {"created": 3}
    assert Counter(lead.payload["email"] for lead in sandbox.state.leads) == Counter(emails(0, 3))


async def test_reprocess_is_refused_while_a_run_holds_the_job(tmp_path: Path) -> None:
    job = load_job(write_job_file(tmp_path))
    JobPaths(job.state_dir).create()
    with JobLock(JobPaths(job.state_dir).lock, job.name), pytest.raises(JobBusy):
        await reprocess_job(job, env={"JUICED_API_TOKEN": "tok"})


def test_cli_reprocess_while_held_exits_2(tmp_path: Path) -> None:
    """A person asked for it: being refused is an error, unlike an overlapping cron run."""
    path = write_job_file(tmp_path)
    job = load_job(path)
    JobPaths(job.state_dir).create()
    with JobLock(JobPaths(job.state_dir).lock, job.name):
        result = CliRunner().invoke(jobs_group, ["reprocess", "nightly", "--config", str(path)])
    assert result.exit_code == 2
    assert "another run is active" in result.output
