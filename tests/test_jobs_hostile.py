"""Issue 16 in jobs: hostile files and names, runs that died, a 401 naming the job's variables.

Each test reproduces a defect found by the probe, against the sandbox on loopback and the real
uploader where the engine is involved.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from jobs.ledger import ERROR, Ledger
from jobs.report import history_table
from jobs.runner import run_job
from jobs.state import JobPaths
from tests.support.jobs import emails, load_job, write_job_file, write_leads
from uploader.sandbox import Sandbox, SandboxConfig

# What must never reach the operator's terminal raw: ESC (OSC titles, CSI clears), BEL, C1
# CSI, bidi overrides.
RAW = re.compile("[\x1b\x07\x9b\u202e\u2066-\u2069]")


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig()) as sb:
        yield sb


def far_cell_workbook(path: Path) -> Path:
    """A 5 KB xlsx with one cell at XFD1048576: the reader once asked for 512 GB (SIGABRT)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["First Name", "Email", "Zip"])
    ws.append(["Ann", "ann@x.com", "02139"])
    ws["XFD1048576"] = "x"
    wb.save(path)
    assert zipfile.is_zipfile(path) and path.stat().st_size < 10_000
    return path


async def test_a_hostile_xlsx_is_set_aside_and_the_other_files_still_go(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    job = load_job(write_job_file(tmp_path, api_url=sandbox.url, rate=500, pattern="*.csv *.xlsx"))
    far_cell_workbook(job.inbox / "a-huge.xlsx")
    write_leads(job.inbox / "b.csv", 0, 3)
    summary = await run_job(job, env=sandbox.env())
    by_name = {f.file_name: f for f in summary.files}
    assert by_name["a-huge.xlsx"].status == "error"
    assert "2,000 columns" in by_name["a-huge.xlsx"].error
    assert by_name["b.csv"].status == "done"
    assert sorted(lead.payload["email"] for lead in sandbox.state.leads) == emails(0, 3)
    assert summary.exit_code == 3
    assert (job.archive / "a-huge.xlsx").exists()  # set aside, with its reason in the ledger
    with Ledger.open(JobPaths(job.state_dir).ledger) as ledger:
        assert [e.file_name for e in ledger.entries(ERROR)] == ["a-huge.xlsx"]
    again = await run_job(job, env=sandbox.env())
    assert (again.exit_code, again.files) == (0, ())  # never tried again on every tick


async def test_a_run_that_died_is_marked_so_on_the_next_start(tmp_path: Path) -> None:
    job = load_job(write_job_file(tmp_path))
    paths = JobPaths(job.state_dir)
    paths.create()
    with Ledger.open(paths.ledger) as ledger:
        # What a kill -9 leaves: every ledger write commits at once, the run never ended.
        ledger.begin_run("run", datetime(2026, 12, 1, 2, 30, tzinfo=UTC))
        assert "running" in history_table(ledger.runs(), job.tz)
    summary = await run_job(job, env={"JUICED_API_TOKEN": "tok"})
    assert summary.exit_code == 0
    with Ledger.open(paths.ledger) as ledger:
        killed, latest = ledger.runs()[1], ledger.runs()[0]
        assert killed.finished_at is not None and killed.exit_code is None
        assert killed.error.startswith("died")
        assert latest.exit_code == 0
        text = history_table(ledger.runs(), job.tz)
    assert "died" in text and "running" not in text


async def test_a_401_names_the_jobs_own_variables(tmp_path: Path, sandbox: Sandbox) -> None:
    names = {"key_env": "GLOBEX_KEY", "secret_env": "GLOBEX_SECRET", "token_env": "GLOBEX_TOKEN"}
    job = load_job(write_job_file(tmp_path, api_url=sandbox.url, **names))
    write_leads(job.inbox / "a.csv", 0, 2)
    basic = await run_job(job, env={"GLOBEX_KEY": "wrong", "GLOBEX_SECRET": "wrong"})
    assert basic.exit_code == 3
    error = basic.files[0].error
    assert "(HTTP 401): check GLOBEX_KEY and GLOBEX_SECRET" in error
    assert "JUICED_API" not in error and "GLOBEX_TOKEN" not in error
    # the variables the credentials came from, named by the engine itself (no string swap)
    bearer = await run_job(job, env={"GLOBEX_TOKEN": "wrong"})
    assert bearer.files[0].error.endswith("(HTTP 401): check GLOBEX_TOKEN")


HOSTILE_NAME = "\x1b]0;owned\x07leads\x1b[2J\u202etxt.csv"


async def test_vendor_names_and_headers_are_shown_escaped(tmp_path: Path, sandbox: Sandbox) -> None:
    job = load_job(write_job_file(tmp_path, api_url=sandbox.url, rate=500))
    # A file whose headers map nothing to zip (the error quotes them) under a hostile name.
    (job.inbox / HOSTILE_NAME).write_text("\x1b[31mName\u202e,Mail\x9b\nA,a@x.com\n")
    write_leads(job.inbox / "\u2066ok\u2069.csv", 0, 1)
    from jobs.report import summary_text

    summary = await run_job(job, env=sandbox.env())
    text = summary_text(summary)
    assert not RAW.search(text), text
    assert "\\e]0;owned\\x07leads\\e[2J\\u202etxt.csv" in text
    with Ledger.open(JobPaths(job.state_dir).ledger) as ledger:
        history = history_table(ledger.runs(), job.tz)
    assert not RAW.search(history), history
    log = JobPaths(job.state_dir).log.read_text(encoding="utf-8")
    assert not RAW.search(log)
    lines = [json.loads(line) for line in log.splitlines()]
    assert HOSTILE_NAME in [line.get("file") for line in lines]  # the log reads back exact
