"""A job file's upload options: read and checked like the command line's, and each one reaching
the engine (the request and settings the runner builds, then the sandbox's answers)."""

from __future__ import annotations

import csv
import statistics
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from jobs import runner
from jobs.config import load_jobs_file
from jobs.runner import build_settings, run_job
from tests.support.jobs import load_job, write_job_file, write_leads
from tests.support.leads import HEADER, lead_rows, results_of, write_csv
from uploader.errors import ConfigError
from uploader.model import Outcome
from uploader.report import UploadReport
from uploader.run import UploadRequest, journal_path_for
from uploader.sandbox import Sandbox, SandboxConfig, Scripted, ping_bids
from uploader.settings import PingPolicy, UploadSettings

ENV = {"JUICED_API_TOKEN": "tok"}


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "leadup-jobs.toml"
    path.write_text(f'[jobs.nightly]\ninbox = "i"\narchive = "a"\n{body}\n', encoding="utf-8")
    return path


# -- reading and checking ---------------------------------------------------------------------


def test_no_upload_keys_means_upload_defaults(tmp_path: Path) -> None:
    job = load_jobs_file(write(tmp_path, ""), env={}).get("nightly")
    settings = build_settings(job, ENV)
    assert settings.ping is None
    assert settings.retry == UploadSettings(api=settings.api).retry
    assert settings.api.timeout_s == 30.0
    assert (job.upload.prepare.country, job.upload.prepare.require) == ("US", ())
    assert job.upload.read.sheet is job.upload.read.encoding is job.upload.read.delimiter is None


def test_every_upload_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
min_price = 12.5
ping_fields = ["zip", "state", "city"]
ping_rate = 4
require = ["state", "city"]
keep_duplicates = true
country = "ca"
test = true
max_attempts = 3
max_unknown = 7
max_throttled = 90
max_retry_after = 15
timeout = 12.5
sheet = "Scans"
encoding = "cp1252"
delimiter = "semicolon"
header_row = 3
""",
    )
    job = load_jobs_file(path, env={}).get("nightly")
    upload = job.upload
    assert upload.ping == PingPolicy(
        fields=("zip", "state", "city"), min_price=12.5, post=True, rate_per_s=4.0
    )
    assert (upload.prepare.require, upload.prepare.keep_duplicates) == (("state", "city"), True)
    assert (upload.prepare.country, upload.prepare.is_test, job.test) == ("CA", True, True)
    retry = upload.retry
    assert (retry.max_attempts, retry.max_unknown) == (3, 7)
    assert (retry.rate_limited_max_s, retry.retry_after_max_s) == (90.0, 15.0)
    assert upload.timeout_s == 12.5
    read = upload.read
    assert (read.sheet, read.encoding, read.delimiter, read.header_row) == (
        "Scans",
        "cp1252",
        ";",
        3,
    )


@pytest.mark.parametrize(
    ("body", "ping"),
    [
        ("ping = true", PingPolicy()),  # the floor 0 and zip,state: as `upload --ping`
        ("min_price = 3", PingPolicy(min_price=3.0)),  # a floor implies ping-post
        ('ping = true\nping_fields = "state"', PingPolicy(fields=("zip", "state"))),  # zip added
        ('ping = true\nping_fields = "zip, city"', PingPolicy(fields=("zip", "city"))),
        ("ping = false", None),
    ],
)
def test_ping_post(tmp_path: Path, body: str, ping: PingPolicy | None) -> None:
    assert load_jobs_file(write(tmp_path, body), env={}).get("nightly").upload.ping == ping


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("min_price = -1", "min_price: expected a number of at least 0"),
        ("min_price = inf", "min_price: expected a finite number"),
        ("min_price = nan", "min_price: expected a finite number"),
        ('min_price = "5"', "min_price: expected a number"),
        ("ping = false\nmin_price = 5", "min_price: a floor needs ping-post"),
        ("ping = 1", "ping: expected true or false"),
        ('ping_fields = ["zip"]', "ping_fields: only used with ping = true or min_price"),
        ("ping_rate = 2", "ping_rate: only used with ping = true or min_price"),
        ("ping = true\nping_fields = []", "ping_fields: expected at least one field"),
        ('ping = true\nping_fields = ["zip code"]', "ping_fields: expected a list of field"),
        ("ping = true\nping_rate = 0", "ping_rate: expected a number greater than 0"),
        ("ping = true\nping_rate = inf", "ping_rate: expected a finite number"),
        ("require = 3", "require: expected a list of field names"),
        ('require = ["state", 4]', "require: expected a list of field names"),
        ('keep_duplicates = "yes"', "keep_duplicates: expected true or false"),
        ('country = "USA"', "country: expected a two-letter country code"),
        ("country = 1", "country: expected a string"),
        ('countries = ["USA"]', "countries: expected two-letter country codes"),
        ("max_attempts = 0", "max_attempts: expected a whole number of at least 1"),
        ("max_attempts = 2.5", "max_attempts: expected a whole number"),
        ("max_unknown = 0", "max_unknown: expected a whole number of at least 1"),
        ("max_unknown = inf", "max_unknown: expected a finite number"),
        ("max_throttled = -1", "max_throttled: expected a number of at least 0"),
        ("max_throttled = nan", "max_throttled: expected a finite number"),
        ("max_retry_after = -0.5", "max_retry_after: expected a number of at least 0"),
        ("timeout = 0", "timeout: expected a number greater than 0"),
        ("timeout = inf", "timeout: expected a finite number"),
        ('timeout = "30s"', "timeout: expected a number greater than 0"),
        ("sheet = -1", "sheet: expected a sheet name"),
        ("sheet = true", "sheet: expected a sheet name"),
        ('sheet = ""', "sheet: expected a sheet name"),
        ('encoding = "klingon"', "encoding: expected an encoding name"),
        ('delimiter = "::"', "delimiter: must be one character"),
        ("delimiter = 9", "delimiter: expected one character"),
        ("header_row = 0", "header_row: expected a whole number of at least 1"),
        ("header_row = 1.5", "header_row: expected a whole number"),
        ("max_attempt = 3", r"unknown key max_attempt \(did you mean max_attempts\?\)"),
        ("min_prise = 3\npings = true", "unknown keys min_prise .*, pings"),
    ],
)
def test_a_bad_upload_key_is_named_with_file_and_job(tmp_path: Path, body: str, names: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError, match=names) as caught:
        load_jobs_file(path, env={})
    assert str(caught.value).startswith(f"{path}: [jobs.nightly]: ")
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("body", "delimiter"),
    [('delimiter = "tab"', "\t"), ('delimiter = "\\t"', "\t"), ('delimiter = "|"', "|")],
)
def test_delimiter_words_as_on_the_command_line(tmp_path: Path, body: str, delimiter: str) -> None:
    assert load_jobs_file(write(tmp_path, body), env={}).get("nightly").upload.read.delimiter == (
        delimiter
    )


def test_a_sheet_by_position(tmp_path: Path) -> None:
    assert (
        load_jobs_file(write(tmp_path, "sheet = 1"), env={}).get("nightly").upload.read.sheet == 1
    )


# -- each key reaches the request and settings the runner builds --------------------------------


class CaptureUpload:
    """Stands in for upload(): keeps the request, reports every row created."""

    def __init__(self) -> None:
        self.requests: list[UploadRequest] = []

    async def __call__(self, request: UploadRequest, **_: Any) -> UploadReport:
        self.requests.append(request)
        request.results_path.write_text("row,outcome\n", encoding="utf-8")
        return UploadReport(
            input_path=request.input_path,
            results_path=request.results_path,
            journal_path=journal_path_for(request.results_path),
            counts={Outcome.CREATED: 1},
            status_counts={},
            total_price=0.0,
            duration_s=0.0,
        )


Seen = Callable[[UploadRequest], object]


@pytest.mark.parametrize(
    ("keys", "seen", "expected"),
    [
        ({"ping": True}, lambda r: r.settings.ping, PingPolicy()),
        ({"min_price": 7.5}, lambda r: r.settings.ping.min_price, 7.5),
        ({"ping": True, "ping_fields": ["zip"]}, lambda r: r.settings.ping.fields, ("zip",)),
        ({"ping": True, "ping_rate": 3}, lambda r: r.settings.ping.rate_per_s, 3.0),
        ({"require": ["city"]}, lambda r: r.prepare.require, ("city",)),
        ({"keep_duplicates": True}, lambda r: r.prepare.keep_duplicates, True),
        ({"country": "CA"}, lambda r: r.prepare.country, "CA"),
        ({"countries": ["us", "CA"]}, lambda r: r.prepare.countries, ("US", "CA")),
        ({"allow_no_contact": True}, lambda r: r.prepare.allow_no_contact, True),
        ({"test": True}, lambda r: r.prepare.is_test, True),
        ({"max_attempts": 2}, lambda r: r.settings.retry.max_attempts, 2),
        ({"max_unknown": 4}, lambda r: r.settings.retry.max_unknown, 4),
        ({"max_throttled": 60}, lambda r: r.settings.retry.rate_limited_max_s, 60.0),
        ({"max_retry_after": 5}, lambda r: r.settings.retry.retry_after_max_s, 5.0),
        ({"timeout": 2.5}, lambda r: r.settings.api.timeout_s, 2.5),
        ({"sheet": "Scans"}, lambda r: r.read.sheet, "Scans"),
        ({"encoding": "latin-1"}, lambda r: r.read.encoding, "latin-1"),
        ({"delimiter": "pipe"}, lambda r: r.read.delimiter, "|"),
        ({"header_row": 4}, lambda r: r.read.header_row, 4),
    ],
)
async def test_each_key_reaches_the_request(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    keys: dict[str, Any],
    seen: Seen,
    expected: object,
) -> None:
    capture = CaptureUpload()
    monkeypatch.setattr(runner, "upload", capture)
    job = load_job(write_job_file(tmp_path, **keys))
    write_leads(job.inbox / "a.csv", 0, 1)
    assert (await run_job(job, env=ENV, program="leadup")).exit_code == 0
    [request] = capture.requests
    assert seen(request) == expected


# -- against the sandbox ----------------------------------------------------------------------


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig()) as sb:
        yield sb


def outcomes(path: Path) -> dict[str, str]:
    """Email -> outcome, from a results file."""
    return {line["Email"]: line["outcome"] for line in results_of(path)}


def priced_rows(count: int) -> tuple[list[list[str]], list[float]]:
    """Leads with a zip each, and the best bid the sandbox (seed 0) gives each one's ping."""
    rows = lead_rows(count)
    zip_at = HEADER.index("Zip Code")
    best = []
    for i, row in enumerate(rows):
        row[zip_at] = f"{10001 + i:05d}"
        best.append(max(ping_bids(0, {"zip": row[zip_at], "state": "MA"}), default=0.0))
    return rows, best


async def test_a_min_price_job_holds_the_rows_under_its_floor(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    rows, best = priced_rows(12)
    floor = statistics.median(b for b in best if b)
    job = load_job(write_job_file(tmp_path, api_url=sandbox.url, rate=500, min_price=floor))
    write_csv(job.inbox / "priced.csv", rows)
    summary = await run_job(job, env=sandbox.env(), program="leadup")
    assert summary.exit_code == 0  # held on purpose is settled
    seen = outcomes(job.archive / "priced.results.csv")
    expected = {
        row[HEADER.index("Email")]: "created" if price >= floor else "held"
        for row, price in zip(rows, best, strict=True)
    }
    assert seen == expected
    assert "held" in seen.values() and "created" in seen.values()
    sold = {lead.payload["email"] for lead in sandbox.state.leads}
    assert sold == {email for email, outcome in expected.items() if outcome == "created"}
    assert all(lead.payload.get("ping_id") for lead in sandbox.state.leads)


async def test_ping_fields_choose_what_a_ping_sends(tmp_path: Path, sandbox: Sandbox) -> None:
    job = load_job(
        write_job_file(tmp_path, api_url=sandbox.url, rate=500, ping=True, ping_fields=["zip"])
    )
    write_csv(job.inbox / "a.csv", lead_rows(3))
    await run_job(job, env=sandbox.env(), program="leadup")
    pings = list(sandbox.state.pings.values())
    assert len(pings) == 3
    assert {p.state for p in pings} == {""}  # the rows have a state; the pings did not send it


async def test_require_makes_rows_without_the_field_invalid(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    rows = lead_rows(4)
    rows[1][HEADER.index("City")] = ""
    job = load_job(write_job_file(tmp_path, api_url=sandbox.url, rate=500, require=["city"]))
    write_csv(job.inbox / "a.csv", rows)
    summary = await run_job(job, env=sandbox.env(), program="leadup")
    assert summary.exit_code == 1
    assert summary.files[0].counts == {"created": 3, "invalid": 1}
    assert outcomes(job.archive / "a.results.csv")["person1@example.com"] == "invalid"
    assert len(sandbox.state.leads) == 3


@pytest.mark.parametrize(("keep", "counts"), [(False, {"created": 3, "skipped": 1}), (True, None)])
async def test_keep_duplicates(
    tmp_path: Path, sandbox: Sandbox, keep: bool, counts: dict[str, int] | None
) -> None:
    rows = lead_rows(3)
    rows.append(list(rows[0]))  # the same person twice
    job = load_job(
        write_job_file(tmp_path, api_url=sandbox.url, rate=500, keep_duplicates=keep or None)
    )
    write_csv(job.inbox / "a.csv", rows)
    summary = await run_job(job, env=sandbox.env(), program="leadup")
    assert summary.files[0].rows == 4
    assert len(sandbox.state.leads) == (4 if keep else 3)
    if counts is not None:
        assert summary.files[0].counts == counts


async def test_max_unknown_stops_a_job_whose_api_fails(tmp_path: Path) -> None:
    async with Sandbox(SandboxConfig(error_500_ratio=1.0)) as sandbox:
        job = load_job(
            write_job_file(tmp_path, api_url=sandbox.url, rate=500, concurrency=1, max_unknown=2)
        )
        write_leads(job.inbox / "a.csv", 0, 10)
        summary = await run_job(job, env=sandbox.env(), program="leadup")
        requests = len(sandbox.state.requests)
    assert summary.exit_code == 3
    [result] = summary.files
    assert result.status == "interrupted"
    assert result.counts["unknown"] == 2 and result.counts["pending"] == 8
    assert requests == 2  # stopped before a third row could end unknown
    assert (job.inbox / "a.csv").exists()  # the next run resumes it


async def test_timeout_bounds_each_request(tmp_path: Path, sandbox: Sandbox) -> None:
    job = load_job(
        write_job_file(tmp_path, api_url=sandbox.url, rate=500, concurrency=1, timeout=0.2)
    )
    write_leads(job.inbox / "a.csv", 0, 2)
    sandbox.push_script(Scripted(action="process", delay_s=1.0))  # a slow answer
    summary = await run_job(job, env=sandbox.env(), program="leadup")
    assert summary.files[0].counts == {"created": 1, "unknown": 1}  # sent, then no answer


async def test_max_throttled_zero_fails_a_row_answered_429(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    job = load_job(
        write_job_file(tmp_path, api_url=sandbox.url, rate=500, concurrency=1, max_throttled=0)
    )
    write_leads(job.inbox / "a.csv", 0, 3)
    sandbox.push_script(Scripted(status=429, headers={"Retry-After": "0"}))
    summary = await run_job(job, env=sandbox.env(), program="leadup")
    assert summary.files[0].counts == {"created": 2, "failed": 1}


async def test_read_options_of_a_semicolon_cp1252_file_under_a_title(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    job = load_job(
        write_job_file(
            tmp_path,
            api_url=sandbox.url,
            rate=500,
            encoding="cp1252",
            delimiter="semicolon",
            header_row=3,
        )
    )
    path = job.inbox / "export.csv"
    with path.open("w", newline="", encoding="cp1252") as handle:
        handle.write("Leads from the Boston expo;\n;\n")  # a title block over the header
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        rows = lead_rows(3)
        rows[0][0] = "Ren\u00e9e"
        writer.writerows(rows)
    summary = await run_job(job, env=sandbox.env(), program="leadup")
    assert summary.files[0].counts == {"created": 3}
    assert {lead.payload["first_name"] for lead in sandbox.state.leads} >= {"Ren\u00e9e"}


async def test_sheet_picks_the_sheet_of_a_workbook(tmp_path: Path, sandbox: Sandbox) -> None:
    job = load_job(write_job_file(tmp_path, api_url=sandbox.url, rate=500, sheet="Scans"))
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, start in (("Last year", 0), ("Scans", 50)):
        sheet = workbook.create_sheet(name)
        sheet.append(HEADER)
        for row in lead_rows(2, start=start):
            sheet.append(row)
    workbook.save(job.inbox / "expo.xlsx")
    summary = await run_job(job, env=sandbox.env(), program="leadup")
    assert summary.files[0].counts == {"created": 2}
    emails = sorted(lead.payload["email"] for lead in sandbox.state.leads)
    assert emails == ["person50@example.com", "person51@example.com"]
