"""What a job's summary says to do next: per file, the advice and a job command that runs as
printed (text, JSON lines, webhook, never a secret); `jobs reprocess`'s --include-* and --file;
the words of waiting files, counts and failures."""

from __future__ import annotations

import asyncio
import csv
import shlex
import socket
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jobs import reprocess, runner
from jobs.cli import jobs_group
from jobs.commands import file_steps
from jobs.config import JobConfig
from jobs.ledger import Ledger
from jobs.notify import NotifyError, post_text
from jobs.report import FileResult, FileStep, RunSummary, Waiting, summary_text
from jobs.reprocess import reprocess_job
from jobs.runner import run_job
from jobs.state import JobPaths, read_log
from tests.support.jobs import (
    emails,
    load_job,
    subprocess_env,
    webhook_receiver,
    write_job_file,
    write_leads,
)
from tests.support.leads import HEADER, lead_rows, results_of, write_csv
from uploader.errors import StopRun, UsageError
from uploader.model import Outcome
from uploader.report import NextStep
from uploader.sandbox import Sandbox, SandboxConfig, Scripted

TOKEN = {"JUICED_API_TOKEN": "tok_canary_never_printed"}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig()) as sb:
        yield sb


def job_with_trouble(tmp_path: Path, sandbox: Sandbox, **keys: Any) -> JobConfig:
    """A job whose a.csv (4 rows) ends with 1 row failed (429, max_throttled 0) and 1 unknown
    (a dropped connection), the others created."""
    job = load_job(
        write_job_file(
            tmp_path, api_url=sandbox.url, rate=500, concurrency=1, max_throttled=0, **keys
        )
    )
    write_leads(job.inbox / "a.csv", 0, 4)
    sandbox.push_script(Scripted(status=429, headers={"Retry-After": "0"}), Scripted(action="drop"))
    return job


async def run_printed(command: str, env: dict[str, str]) -> tuple[int, str]:
    """Run a printed command as a shell would split it; its exit code and output."""
    child = await asyncio.create_subprocess_exec(
        *shlex.split(command),
        env=subprocess_env(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode is not None
    return child.returncode, out.decode()


def sent(sandbox: Sandbox) -> Counter[str]:
    return Counter(lead.payload["email"] for lead in sandbox.state.leads)


async def test_the_summary_says_what_to_do_with_each_file(tmp_path: Path, sandbox: Sandbox) -> None:
    async with webhook_receiver() as hook:
        job = job_with_trouble(tmp_path, sandbox, notify=hook.url)
        summary = await run_job(job, env=sandbox.env(), program="leadup")
        [message] = hook.received
    config = job.config_path
    text = summary_text(summary)
    assert text.splitlines()[1:] == [
        "- a.csv: 4 rows, 2 created, 2 not created (failed 1, unknown 1), price"
        f" {summary.total_price:.2f}",
        f"  results file: {job.archive / 'a.results.csv'}",
        "  1 row failed: never reached the API, so they are safe to send again",
        f"    leadup jobs reprocess nightly --config {config} --file a.csv",
        "  1 row unknown: may have been created: check them on the platform first, then send"
        " the missing ones",
        f"    leadup jobs reprocess nightly --config {config} --file a.csv --include-unknown",
    ]
    assert message["text"] == text  # the webhook says the same
    lines = read_log(JobPaths(job.state_dir).log)
    file_line, run_line = (x for x in lines if x["event"] in ("file", "run"))
    assert [
        (s["outcome"], s["rows"], s["command"].split()[-1]) for s in file_line["next_steps"]
    ] == [
        ("failed", 1, "a.csv"),
        ("unknown", 1, "--include-unknown"),
    ]
    assert all(s["advice"] for s in file_line["next_steps"])
    assert run_line["next_steps"] == [{"file": "a.csv", **s} for s in file_line["next_steps"]]
    everything = text + JobPaths(job.state_dir).log.read_text()
    for secret in (sandbox.config.api_key, sandbox.config.api_secret, "T000/B000/token"):
        assert secret not in everything


async def test_the_printed_commands_run_as_printed(tmp_path: Path, sandbox: Sandbox) -> None:
    job = job_with_trouble(tmp_path, sandbox)
    summary = await run_job(job, env=sandbox.env())  # leadup as it is installed here
    failed, unknown = summary.files[0].next_steps
    assert (failed.outcome, unknown.outcome) == ("failed", "unknown")
    code, out = await run_printed(failed.command, sandbox.env())
    assert code == 1, out  # the unknown row is still there
    assert "a.csv: 4 rows, 3 created, 1 not created (unknown 1)" in out
    assert "--include-unknown" in out  # and the next step says how to send it
    code, out = await run_printed(unknown.command, sandbox.env())
    assert code == 0, out
    assert sent(sandbox) == Counter(emails(0, 4))  # the dropped row was never applied
    with Ledger.open(JobPaths(job.state_dir).ledger) as ledger:
        [entry] = ledger.entries()
        assert entry.counts == {"created": 4}
        assert [r.kind for r in ledger.runs()] == ["reprocess", "reprocess", "run"]


async def test_fixed_invalid_rows_are_resent_by_the_printed_command(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    rows = lead_rows(3)
    zip_at = HEADER.index("Zip Code")
    rows[1][zip_at] = "ABC"
    job = load_job(write_job_file(tmp_path, api_url=sandbox.url, rate=500))
    write_csv(job.inbox / "a.csv", rows)
    summary = await run_job(job, env=sandbox.env())
    [step] = summary.files[0].next_steps
    assert (step.outcome, step.rows) == ("invalid", 1)
    assert step.command.endswith("--file a.csv --include-invalid")
    results = job.archive / "a.results.csv"
    with results.open(newline="", encoding="utf-8-sig") as handle:
        table = list(csv.reader(handle))
    table[2][table[0].index("Zip Code")] = "02139"  # the person fixes the cell
    with results.open("w", newline="", encoding="utf-8-sig") as handle:
        csv.writer(handle).writerows(table)
    code, out = await run_printed(step.command, sandbox.env())
    assert code == 0, out
    assert [line["outcome"] for line in results_of(results)] == ["created"] * 3
    assert sent(sandbox) == Counter(emails(0, 3))


async def test_an_interrupted_file_says_how_to_resume_it(tmp_path: Path) -> None:
    async with Sandbox(SandboxConfig(error_500_ratio=1.0)) as sandbox:
        job = load_job(
            write_job_file(tmp_path, api_url=sandbox.url, rate=500, concurrency=1, max_unknown=1)
        )
        write_leads(job.inbox / "a.csv", 0, 3)
        summary = await run_job(job, env=sandbox.env(), program="leadup")
    [result] = summary.files
    assert result.status == "interrupted"
    # its unknown row is for later: the file is not finished, nor in the archive yet
    assert result.next_steps == (
        FileStep(
            "pending",
            2,
            "not sent yet: the next run resumes this file; to resume it now",
            f"leadup jobs run nightly --config {job.config_path}",
        ),
    )


@pytest.mark.parametrize(
    ("outcome", "finished", "command"),
    [
        (Outcome.FAILED, True, "reprocess nightly --config C --file a-2.csv"),
        (Outcome.UNKNOWN, True, "reprocess nightly --config C --file a-2.csv --include-unknown"),
        (Outcome.REJECTED, True, "reprocess nightly --config C --file a-2.csv --include-rejected"),
        (Outcome.INVALID, True, "reprocess nightly --config C --file a-2.csv --include-invalid"),
        (Outcome.HELD, True, "reprocess nightly --config C --file a-2.csv --include-held"),
        (Outcome.PENDING, False, "run nightly --config C"),
        (Outcome.UNKNOWN, False, None),  # said once the file has finished
        (Outcome.QUOTED, True, None),  # jobs do not quote
    ],
)
def test_file_steps_are_job_commands(
    tmp_path: Path, outcome: Outcome, finished: bool, command: str | None
) -> None:
    job = load_job(write_job_file(tmp_path))
    engine = NextStep(outcome, 2, "advice", f"leadup retry x.results.csv --{outcome.value}")
    steps = file_steps(
        job, [engine], file="a-2.csv", program="'/opt/lead up/leadup'", finished=finished
    )
    if command is None:
        assert steps == ()
        return
    [step] = steps
    expected = command.replace("C", str(job.config_path))
    assert step.command == f"'/opt/lead up/leadup' jobs {expected}"
    assert (step.outcome, step.rows) == (outcome.value, 2)


@pytest.mark.parametrize(
    ("flags", "include"),
    [
        ([], []),
        (["--include-unknown"], [Outcome.UNKNOWN]),
        (["--include-rejected", "--include-invalid"], [Outcome.REJECTED, Outcome.INVALID]),
        (["--include-held"], [Outcome.HELD]),
        (["--file", "a.csv", "--file", "b-2.results.csv"], []),
    ],
)
def test_reprocess_takes_retry_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], include: list[Outcome]
) -> None:
    calls: list[dict[str, Any]] = []

    def fake(job: JobConfig, **kwargs: Any) -> RunSummary:
        calls.append(kwargs)
        return RunSummary(job=job.name, kind="reprocess", status="finished", exit_code=0)

    monkeypatch.setattr(reprocess, "reprocess_job_blocking", fake)
    path = write_job_file(tmp_path)
    result = CliRunner().invoke(jobs_group, ["reprocess", "nightly", "--config", str(path), *flags])
    assert result.exit_code == 0, result.output
    [call] = calls
    assert sorted(call["include"]) == sorted(include)
    assert list(call["files"]) == [f for i, f in enumerate(flags) if i and flags[i - 1] == "--file"]


async def test_reprocess_file_limits_the_pass_to_that_file(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = load_job(write_job_file(tmp_path, api_url=sandbox.url, rate=500, concurrency=1))
    for name, start in (("a.csv", 0), ("b.csv", 10)):
        write_leads(job.inbox / name, start, 2)
        sandbox.push_script(Scripted(action="drop"))
        await run_job(job, env=sandbox.env(), program="leadup")
    with pytest.raises(
        UsageError, match=r"no finished file called c.csv .*\(finished files: a.csv, b.csv\)"
    ):
        await reprocess_job(job, env=sandbox.env(), include=[Outcome.UNKNOWN], files=["c.csv"])
    only_b = await reprocess_job(
        job, env=sandbox.env(), include=[Outcome.UNKNOWN], files=["b.results.csv"]
    )
    assert [(f.file_name, f.counts) for f in only_b.files] == [("b.csv", {"created": 2})]
    assert sent(sandbox)["person0@example.com"] + sent(sandbox)["person1@example.com"] == 1


async def test_cli_reprocess_of_a_file_the_job_does_not_have_exits_2(tmp_path: Path) -> None:
    path = write_job_file(tmp_path)
    done = await asyncio.to_thread(
        CliRunner().invoke,
        jobs_group,
        ["reprocess", "nightly", "--config", str(path), "--file", "x.csv"],
    )
    assert done.exit_code == 2
    assert "job nightly has no finished file called x.csv" in done.output


# -- words --------------------------------------------------------------------------------------


async def no_wait(seconds: float) -> None:
    """The run's wait for a second look, on a clock that does not move: still waiting."""


async def test_a_waiting_file_names_the_settle_time(tmp_path: Path) -> None:
    job = load_job(write_job_file(tmp_path, settle_s=30))
    fresh = write_leads(job.inbox / "slow.csv", 0, 2)
    mtime = fresh.stat().st_mtime
    summary = await run_job(
        job, env=TOKEN, now_s=lambda: mtime + 2.2, sleep=no_wait, program="leadup"
    )
    [waiting] = summary.waiting
    assert (waiting.name, waiting.changed_s_ago) == ("slow.csv", pytest.approx(2.2))
    assert summary_text(summary).splitlines()[-1] == (
        "- still being written, left for the next run: slow.csv (changed 2 s ago, first seen just"
        " now); a file is taken once it has been seen unchanged for 30 s (settle_s)"
    )
    [line] = read_log(JobPaths(job.state_dir).log)
    assert (line["waiting"], line["settle_s"]) == (["slow.csv"], 30.0)


@pytest.mark.parametrize(
    ("waiting", "words"),
    [
        (Waiting("a.csv", 0.3), "a.csv (changed less than 1 s ago)"),
        (Waiting("a.csv", 61), "a.csv (changed 61 s ago)"),
        (Waiting("a.csv", 61, 61), "a.csv (changed 61 s ago)"),
        (Waiting("a.csv", 3600, 0.2), "a.csv (changed 3600 s ago, first seen just now)"),
        (Waiting("a.csv", 3600, 20), "a.csv (changed 3600 s ago, first seen 20 s ago)"),
        (Waiting("a.csv"), "a.csv (changed while it was being read)"),
        (
            Waiting("a.csv", -40),
            "a.csv (its modification time is 40 s ahead of this computer's clock)",
        ),
    ],
)
def test_waiting_words(waiting: Waiting, words: str) -> None:
    assert waiting.describe() == words


def test_counts_have_their_plurals() -> None:
    one = FileResult("a.csv", "sha", "done", 0, {"created": 1}, 2.5)
    summary = RunSummary("nightly", "run", "finished", 0, files=(one,))
    assert summary_text(summary).splitlines() == [
        "leadup jobs run nightly: 1 file, 1 row, 1 created, 0 not created, total price 2.50"
        " (exit 0: every row created)",
        "- a.csv: 1 row, 1 created, 0 not created, price 2.50",
    ]
    two = RunSummary("nightly", "run", "finished", 0, files=(one, one))
    assert summary_text(two).startswith("leadup jobs run nightly: 2 files, 2 rows, 2 created")


async def test_an_internal_error_is_said_without_class_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: Any, **__: Any) -> None:
        raise KeyError("row")

    monkeypatch.setattr(runner, "upload", broken)
    job = load_job(write_job_file(tmp_path))
    write_leads(job.inbox / "a.csv", 0, 1)
    summary = await run_job(job, env=TOKEN, program="leadup")
    assert summary.files[0].error == "leadup hit an internal error (please report it): 'row'"
    assert "KeyError" not in summary_text(summary)


async def test_a_webhook_that_cannot_be_reached_is_said_in_words() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NotifyError) as caught:
        await post_text(f"http://127.0.0.1:{port}/hooks/secret-path", "hi", timeout_s=2)
    assert str(caught.value) == "webhook 127.0.0.1: could not connect"


async def test_a_summary_never_carries_a_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = TOKEN["JUICED_API_TOKEN"]

    async def careless(*_: Any, **__: Any) -> None:
        raise StopRun(f"401 Unauthorized for Bearer {token}")

    monkeypatch.setattr(runner, "upload", careless)
    job = load_job(write_job_file(tmp_path))
    write_leads(job.inbox / "a.csv", 0, 1)
    summary = await run_job(job, env=TOKEN, program="leadup")
    text = summary_text(summary)  # what `leadup jobs run` prints
    assert "a.csv: stopped before finishing" in text and "[redacted]" in text
    assert token not in text
    assert token not in JobPaths(job.state_dir).log.read_text()
