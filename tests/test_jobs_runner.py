"""The runner's decisions for each kind of upload result, with a scripted stand-in for upload().

The sandbox scenarios (test_jobs_scenarios.py) run the real uploader; here a stand-in returns
each report shape on demand (an unreadable file, a stop, a refused credential) so every exit
code and every file placement is checked exactly and fast.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest

from jobs import runner
from jobs.ledger import DONE, ERROR, STARTED, Ledger
from jobs.runner import run_job
from jobs.state import JobLock, JobPaths, read_log
from tests.support.jobs import (
    JOBS_CLI,
    load_job,
    subprocess_env,
    webhook_receiver,
    write_job_file,
    write_leads,
)
from uploader.errors import ConfigError, InputError, StopRun
from uploader.model import Outcome
from uploader.report import UploadReport
from uploader.run import UploadRequest, journal_path_for

SECRET = "sk_live_do_not_print_me"
ENV = {"JUICED_API_KEY": "key_123", "JUICED_API_SECRET": SECRET}


class FakeUpload:
    """Plays upload(): per input name, a behaviour; writes a results file like the real one."""

    def __init__(self) -> None:
        self.behaviour: dict[str, str] = {}
        self.requests: list[UploadRequest] = []

    async def __call__(self, request: UploadRequest, **_: Any) -> UploadReport:
        self.requests.append(request)
        rows = len(request.input_path.read_text().splitlines()) - 1
        how = self.behaviour.get(request.input_path.name, "created")
        if how == "unreadable":
            raise InputError("not a table", path=request.input_path)
        if how == "bad_mapping":
            raise ConfigError("mapping.toml: unknown field 'emial'")
        if how == "auth":
            raise StopRun(f"401 Unauthorized for key_123:{SECRET}")  # a careless message
        counts = {Outcome.CREATED: rows}
        stopped = ""
        if how == "some_failed":
            counts = {Outcome.CREATED: rows - 1, Outcome.FAILED: 1}
        elif how == "stopped":
            counts = {Outcome.CREATED: rows // 2, Outcome.PENDING: rows - rows // 2}
            stopped = "stopped by Ctrl-C"
        results = request.results_path
        results.write_text("row,outcome\n", encoding="utf-8")
        return UploadReport(
            input_path=request.input_path,
            results_path=results,
            journal_path=journal_path_for(results),
            counts=counts,
            status_counts={},
            total_price=1.25 * counts[Outcome.CREATED],
            duration_s=0.01,
            stopped=stopped,
        )


@pytest.fixture
def fake_upload(monkeypatch: pytest.MonkeyPatch) -> FakeUpload:
    fake = FakeUpload()
    monkeypatch.setattr(runner, "upload", fake)
    return fake


@pytest.mark.parametrize(
    ("behaviour", "exit_code", "status", "stays_in_inbox", "ledger_status"),
    [
        ("created", 0, "done", False, DONE),
        ("some_failed", 1, "done", False, DONE),
        ("stopped", 3, "interrupted", True, STARTED),
        ("auth", 3, "interrupted", True, STARTED),
        ("unreadable", 3, "error", False, ERROR),
    ],
)
async def test_exit_code_and_placement_per_outcome(
    tmp_path: Path,
    fake_upload: FakeUpload,
    behaviour: str,
    exit_code: int,
    status: str,
    stays_in_inbox: bool,
    ledger_status: str,
) -> None:
    job = load_job(write_job_file(tmp_path))
    write_leads(job.inbox / "a.csv", 0, 4)
    fake_upload.behaviour["a.csv"] = behaviour
    summary = await run_job(job, env=ENV)
    assert summary.exit_code == exit_code
    [result] = summary.files
    assert result.status == status
    assert (job.inbox / "a.csv").exists() is stays_in_inbox
    assert (job.archive / "a.csv").exists() is not stays_in_inbox
    # the results file is written straight into the archive, beside where the file goes
    assert fake_upload.requests[0].output_path == job.archive / "a.results.csv"
    with Ledger.open(JobPaths(job.state_dir).ledger) as ledger:
        assert ledger.get(result.sha256).status == ledger_status  # type: ignore[union-attr]
    lines = read_log(JobPaths(job.state_dir).log)
    assert [line["event"] for line in lines] == ["file", "run"]
    assert lines[0]["file"] == "a.csv" and lines[0]["exit"] == exit_code
    assert lines[1]["exit"] == exit_code
    assert SECRET not in JobPaths(job.state_dir).log.read_text()


async def test_killed_or_stopped_file_resumes_into_the_same_results(
    tmp_path: Path, fake_upload: FakeUpload
) -> None:
    job = load_job(write_job_file(tmp_path))
    job.archive.mkdir()
    (job.archive / "a.csv").write_text("an older a.csv")  # the next a.csv becomes a-2.csv
    write_leads(job.inbox / "a.csv", 0, 4)
    fake_upload.behaviour["a.csv"] = "stopped"
    assert (await run_job(job, env=ENV)).exit_code == 3
    fake_upload.behaviour["a.csv"] = "created"
    summary = await run_job(job, env=ENV)
    assert summary.exit_code == 0
    first, second = fake_upload.requests
    assert first.output_path == second.output_path == job.archive / "a-2.results.csv"
    assert summary.files[0].resumed
    assert (job.archive / "a-2.csv").exists() and not (job.inbox / "a.csv").exists()
    assert (job.archive / "a.csv").read_text() == "an older a.csv"


async def test_a_resumed_file_refused_by_the_uploader_is_kept_not_set_aside(
    tmp_path: Path, fake_upload: FakeUpload
) -> None:
    """Rows of it were sent already: moving it away would let a re-drop start it afresh."""
    job = load_job(write_job_file(tmp_path))
    write_leads(job.inbox / "a.csv", 0, 4)
    fake_upload.behaviour["a.csv"] = "stopped"
    await run_job(job, env=ENV)
    fake_upload.behaviour["a.csv"] = "unreadable"
    summary = await run_job(job, env=ENV)
    assert (summary.exit_code, summary.files[0].status) == (3, "interrupted")
    assert (job.inbox / "a.csv").exists()
    with Ledger.open(JobPaths(job.state_dir).ledger) as ledger:
        assert [e.status for e in ledger.entries()] == [STARTED]


async def test_a_stop_ends_the_run_and_later_files_wait(
    tmp_path: Path, fake_upload: FakeUpload
) -> None:
    job = load_job(write_job_file(tmp_path))
    write_leads(job.inbox / "a.csv", 0, 4)
    write_leads(job.inbox / "b.csv", 10, 4)
    fake_upload.behaviour["a.csv"] = "auth"
    summary = await run_job(job, env=ENV)
    assert summary.exit_code == 3
    assert [f.file_name for f in summary.files] == ["a.csv"]
    assert [r.input_path.name for r in fake_upload.requests] == ["a.csv"]
    assert (job.inbox / "b.csv").exists()


async def test_worst_file_sets_the_exit_code(tmp_path: Path, fake_upload: FakeUpload) -> None:
    job = load_job(write_job_file(tmp_path))
    write_leads(job.inbox / "a.csv", 0, 4)
    write_leads(job.inbox / "b.csv", 10, 4)
    fake_upload.behaviour["b.csv"] = "some_failed"
    summary = await run_job(job, env=ENV)
    assert summary.exit_code == 1
    assert (summary.rows, summary.created, summary.not_created) == (8, 7, 1)
    assert summary.total_price == pytest.approx(7 * 1.25)


async def test_same_content_under_a_new_name_is_not_sent(
    tmp_path: Path, fake_upload: FakeUpload
) -> None:
    job = load_job(write_job_file(tmp_path))
    write_leads(job.inbox / "a.csv", 0, 4)
    await run_job(job, env=ENV)
    (job.inbox / "a (copy).csv").write_bytes((job.archive / "a.csv").read_bytes())
    summary = await run_job(job, env=ENV)
    assert summary.exit_code == 0
    [dup] = summary.files
    assert (dup.status, dup.duplicate_of) == ("duplicate", "a.csv")
    assert len(fake_upload.requests) == 1
    assert (job.archive / "a (copy).csv").exists()  # out of the inbox, kept as evidence


async def test_unreadable_file_is_set_aside_and_retried_when_dropped_again(
    tmp_path: Path, fake_upload: FakeUpload
) -> None:
    job = load_job(write_job_file(tmp_path))
    write_leads(job.inbox / "a.csv", 0, 4)
    fake_upload.behaviour["a.csv"] = "unreadable"
    summary = await run_job(job, env=ENV)
    assert "not a table" in summary.files[0].error
    assert (await run_job(job, env=ENV)).files == ()  # not retried on every tick
    (job.inbox / "a.csv").write_bytes((job.archive / "a.csv").read_bytes())
    fake_upload.behaviour["a.csv"] = "created"
    summary = await run_job(job, env=ENV)
    assert (summary.exit_code, summary.files[0].status) == (0, "done")
    assert (job.archive / "a-2.csv").exists()


async def test_job_level_config_errors_exit_2_and_leave_files(
    tmp_path: Path, fake_upload: FakeUpload
) -> None:
    job = load_job(write_job_file(tmp_path))
    write_leads(job.inbox / "a.csv", 0, 4)
    fake_upload.behaviour["a.csv"] = "bad_mapping"
    summary = await run_job(job, env=ENV)
    assert (summary.exit_code, summary.status) == (2, "error")
    assert "emial" in summary.error
    assert (job.inbox / "a.csv").exists()
    no_creds = await run_job(job, env={})
    assert no_creds.exit_code == 2
    assert "JUICED_API_TOKEN" in no_creds.error  # names the variables to set
    (job.inbox / "a.csv").unlink()
    job.inbox.rmdir()
    no_inbox = await run_job(job, env=ENV)
    assert no_inbox.exit_code == 2
    assert "[jobs.nightly] inbox: no such folder" in no_inbox.error


async def test_each_job_reads_its_own_credential_variables(
    tmp_path: Path, fake_upload: FakeUpload
) -> None:
    names = {"key_env": "B_KEY", "secret_env": "B_SECRET", "token_env": "B_TOKEN"}
    job = load_job(write_job_file(tmp_path, **names))
    write_leads(job.inbox / "a.csv", 0, 2)
    assert (await run_job(job, env=ENV)).exit_code == 2  # JUICED_* are not this job's
    assert (await run_job(job, env={"B_TOKEN": "tok"})).exit_code == 0
    credentials = fake_upload.requests[0].settings.api.credentials
    assert credentials.token == "tok"


async def test_webhook_gets_the_summary_and_never_a_secret(
    tmp_path: Path, fake_upload: FakeUpload
) -> None:
    async with webhook_receiver() as hook:
        job = load_job(write_job_file(tmp_path, notify=hook.url))
        write_leads(job.inbox / "a.csv", 0, 4)
        write_leads(job.inbox / "b.csv", 10, 3)
        fake_upload.behaviour["b.csv"] = "auth"
        summary = await run_job(job, env=ENV)
        assert summary.exit_code == 3
        [message] = hook.received
        text = message["text"]
        assert text.startswith("leadup jobs run nightly: 2 files, 4 rows, 4 created")
        assert "a.csv: 4 rows, 4 created" in text
        assert "b.csv: stopped before finishing" in text
        assert SECRET not in text and "key_123" not in text
        assert await run_job(job, env=ENV)  # b.csv again, fails again: notified again
        assert len(hook.received) == 2
        (job.inbox / "b.csv").unlink()
        await run_job(job, env=ENV)  # nothing to do: quiet
        assert len(hook.received) == 2
        await run_job(job, env={})  # a configuration error is worth a message too
        assert "FAILED (exit 2, configuration error)" in hook.received[-1]["text"]
    log = JobPaths(job.state_dir).log.read_text()
    assert "T000/B000/token" not in log  # the webhook URL is a secret too: host only


async def test_a_dead_webhook_is_logged_not_fatal(tmp_path: Path, fake_upload: FakeUpload) -> None:
    async with webhook_receiver(status=500) as hook:
        job = load_job(write_job_file(tmp_path, notify=hook.url))
        write_leads(job.inbox / "a.csv", 0, 2)
        summary = await run_job(job, env=ENV)
    assert summary.exit_code == 0
    notify = [x for x in read_log(JobPaths(job.state_dir).log) if x["event"] == "notify"]
    assert notify == [notify[0]] and notify[0]["ok"] is False
    assert "answered 500" in notify[0]["error"]


async def test_overlapping_run_in_process_is_refused_with_exit_0(
    tmp_path: Path, fake_upload: FakeUpload
) -> None:
    job = load_job(write_job_file(tmp_path))
    write_leads(job.inbox / "a.csv", 0, 2)
    JobPaths(job.state_dir).create()
    with JobLock(JobPaths(job.state_dir).lock, job.name):
        summary = await run_job(job, env=ENV)
    assert (summary.status, summary.exit_code) == ("busy", 0)
    assert fake_upload.requests == []
    [line] = read_log(JobPaths(job.state_dir).log)
    assert line["message"] == "another run is active"


async def test_overlapping_cli_run_exits_0_with_one_line(tmp_path: Path) -> None:
    path = write_job_file(tmp_path)
    job = load_job(path)
    JobPaths(job.state_dir).create()
    with JobLock(JobPaths(job.state_dir).lock, job.name):
        done = await asyncio.to_thread(
            subprocess.run,
            [*JOBS_CLI, "run", "nightly", "--config", str(path)],
            env=subprocess_env(ENV),
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "leadup jobs run nightly: another run is active"
    assert [x["message"] for x in read_log(JobPaths(job.state_dir).log)] == [
        "another run is active"
    ]
