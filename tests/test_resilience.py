"""Never lose a row, never post one twice: kill -9, Ctrl-C, retry, safe output, circuit breaker."""

from __future__ import annotations

import csv
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import KEY, SECRET, env_for, leadup
from tests.support.leads import lead_rows, results_of, write_csv
from tests.support.sandbox import fast_settings, running_sandbox, upload
from uploader.errors import ResendNeedsConfirmation, UsageError
from uploader.model import Outcome
from uploader.run import default_results_path, journal_path_for
from uploader.sandbox import Sandbox, SandboxConfig, Scripted, sandbox_in_thread
from uploader.settings import CircuitPolicy, RatePolicy, RetryPolicy


def start_upload(path: Path, sb: Sandbox, *args: str) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JUICED_")}
    return subprocess.Popen(
        [sys.executable, "-m", "uploader", "upload", str(path), *args],
        env=clean | env_for(sb),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_requests(sb: Sandbox, count: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while sb.state.request_count < count:
        assert time.monotonic() < deadline, "the upload never got going"
        time.sleep(0.01)


def assert_invariants(path: Path, rows: int, sb: Sandbox) -> list[dict[str, str]]:
    lines = results_of(default_results_path(path))
    assert [int(line["row"]) for line in lines] == list(range(2, rows + 2))
    assert not sb.state.keys_created_twice(), "a lead was created twice"
    issued = {lead.lead_public_id for lead in sb.state.leads}
    for line in lines:
        if line["outcome"] == "created":
            assert line["lead_public_id"] in issued
    with sqlite3.connect(journal_path_for(default_results_path(path))) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    return lines


@pytest.fixture
def slow_sandbox() -> Iterator[Sandbox]:
    config = SandboxConfig(api_key=KEY, api_secret=SECRET, latency_s=0.15, latency_jitter_s=0.1)
    with sandbox_in_thread(config) as sb:
        yield sb


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_killed_twice_then_resumed(tmp_path: Path, slow_sandbox: Sandbox) -> None:
    rows = 400
    path = write_csv(tmp_path / "leads.csv", lead_rows(rows))
    chooser = random.Random(4)
    for _kill in range(2):
        before = slow_sandbox.state.request_count
        process = start_upload(path, slow_sandbox, "--concurrency", "16", "--rate", "200")
        wait_for_requests(slow_sandbox, before + chooser.randint(20, 80))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
    done = leadup(
        "upload", str(path), "--concurrency", "16", "--rate", "400", env=env_for(slow_sandbox)
    )
    assert done.returncode in (0, 1), done.stderr
    lines = assert_invariants(path, rows, slow_sandbox)
    unknown = [line for line in lines if line["outcome"] == "unknown"]
    # At most 2 x --concurrency rows per kill: reserved in flight, or answered but not yet
    # durable (DECISIONS, "Outages and crashes").
    assert len(unknown) <= 2 * (2 * 16)
    assert all(line["outcome"] in ("created", "unknown") for line in lines)
    assert "in flight when the previous run stopped" in unknown[0]["error"] if unknown else True
    created_on_server = {lead.idempotency_key for lead in slow_sandbox.state.leads}
    assert len(created_on_server) >= rows - len(unknown)


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_ctrl_c_stops_within_3_seconds_and_next_run_completes(
    tmp_path: Path, slow_sandbox: Sandbox
) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(300))
    process = start_upload(path, slow_sandbox, "--concurrency", "8", "--rate", "40")
    wait_for_requests(slow_sandbox, 10)
    asked = time.monotonic()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=10)
    assert time.monotonic() - asked < 3
    assert process.returncode == 3, stderr
    assert "run the same command again" in stdout and "Traceback" not in stderr
    lines = results_of(default_results_path(path))
    assert {line["outcome"] for line in lines} <= {"created", "pending"}
    done = leadup("upload", str(path), "--rate", "400", env=env_for(slow_sandbox))
    assert done.returncode == 0, done.stderr
    lines = assert_invariants(path, 300, slow_sandbox)
    assert {line["outcome"] for line in lines} == {"created"}


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_second_ctrl_c_stops_at_once_in_flight_unknown(tmp_path: Path) -> None:
    config = SandboxConfig(api_key=KEY, api_secret=SECRET, latency_s=5)
    with sandbox_in_thread(config) as sb:
        path = write_csv(tmp_path / "leads.csv", lead_rows(50))
        process = start_upload(path, sb, "--concurrency", "4", "--rate", "100", "--timeout", "30")
        wait_for_requests(sb, 4)
        time.sleep(0.2)
        asked = time.monotonic()
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
        assert time.monotonic() - asked < 3
        assert process.returncode == 3, stderr
        lines = results_of(default_results_path(path))
        counts = Counter(line["outcome"] for line in lines)
        # The sandbox logs a request when it answers: 4 were answered (created), the next 4
        # were out when the second Ctrl-C came, and the rest were never taken.
        assert counts == {"created": 4, "unknown": 4, "pending": 42}, counts


async def test_retry_resends_exactly_the_failed_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(6))
    # Rows 2 and 3 (the first two requests) meet a 503 with no time allowed for overload.
    script = tuple(Scripted(status=503, headers={"Retry-After": "0"}) for _ in range(2))
    async with running_sandbox(script=script) as sb:
        first = await upload(
            path,
            sb,
            concurrency=1,
            retry=RetryPolicy(backoff_initial_s=0.01, rate_limited_max_s=0),
        )
        assert first.counts[Outcome.FAILED] == 2
        before = sb.state.request_count
        from uploader import run

        report = await run.retry(default_results_path(path), fast_settings(sb))
        assert sb.state.request_count - before == 2  # exactly the failed rows
    assert report.exit_code == 0
    lines = results_of(default_results_path(path))
    assert [line["outcome"] for line in lines] == ["created"] * 6
    assert sb.state.created_count == 6 and not sb.state.keys_created_twice()


async def test_retry_include_unknown_and_never_created(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(3))
    async with running_sandbox(script=(Scripted(status=500),)) as sb:
        await upload(path, sb, concurrency=1)
        from uploader import run

        plain = await run.retry(default_results_path(path), fast_settings(sb))
        assert plain.requests == 0  # unknown is not resent without being asked
        report = await run.retry(
            default_results_path(path), fast_settings(sb), include={Outcome.FAILED, Outcome.UNKNOWN}
        )
        assert report.requests == 1
        with pytest.raises(Exception, match="never resent"):
            await run.retry(
                default_results_path(path), fast_settings(sb), include={Outcome.CREATED}
            )
    assert [line["outcome"] for line in results_of(default_results_path(path))] == ["created"] * 3


async def test_retry_rejected_row_after_fixing_it_in_the_results_file(tmp_path: Path) -> None:
    rows = lead_rows(2)
    path = write_csv(tmp_path / "leads.csv", rows)
    reject = Scripted(status=422, body={"message": "x", "errors": {"email": ["bad email"]}})
    async with running_sandbox(script=(reject,)) as sb:
        await upload(path, sb, concurrency=1)
        results = default_results_path(path)
        text = results.read_text(encoding="utf-8-sig")
        assert "bad email" in text
        results.write_text(
            text.replace("person0@example.com", "fixed0@example.com"), encoding="utf-8-sig"
        )
        from uploader import run

        report = await run.retry(
            results, fast_settings(sb), include={Outcome.FAILED, Outcome.REJECTED}
        )
    assert report.exit_code == 0
    (lead,) = [lead for lead in sb.state.leads if lead.payload["email"] == "fixed0@example.com"]
    assert lead.payload["first_name"] == "First0"
    lines = results_of(results)
    assert lines[0]["outcome"] == "created" and lines[0]["Email"] == "fixed0@example.com"


async def test_formula_cells_reach_the_api_unchanged_and_are_neutralised(tmp_path: Path) -> None:
    rows = lead_rows(2)
    rows[0][8] = '=HYPERLINK("http://example.com","click")'
    rows[1][8] = "+1 (555) promo"
    path = write_csv(tmp_path / "leads.csv", rows)
    async with running_sandbox() as sb:
        await upload(path, sb)
    sent = sorted(lead.payload["lead_source"] for lead in sb.state.leads)
    assert sent == sorted([rows[0][8], rows[1][8]])
    results = default_results_path(path)
    raw = list(csv.reader(results.read_text(encoding="utf-8-sig").splitlines()))
    assert raw[1][-1] == "'" + rows[0][8] and raw[2][-1] == "'" + rows[1][8]
    assert [line["Lead Source"] for line in results_of(results)] == [rows[0][8], rows[1][8]]


async def test_results_and_journal_are_private(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(2))
    async with running_sandbox() as sb:
        await upload(path, sb)
    for made in (default_results_path(path), journal_path_for(default_results_path(path))):
        assert stat.S_IMODE(made.stat().st_mode) == 0o600


async def test_circuit_breaker_stops_when_the_api_is_down(tmp_path: Path) -> None:
    """Every answer a 500: the circuit opens, its probes fail, the run stops (exit 3)."""
    path = write_csv(tmp_path / "leads.csv", lead_rows(200))
    async with running_sandbox(error_500_ratio=1.0) as sb:
        report = await upload(
            path,
            sb,
            concurrency=4,
            retry=RetryPolicy(max_unknown=1000),  # the breaker, not the budget, stops it
            circuit=CircuitPolicy(window=10, pause_s=0.05, max_pauses=2),
        )
        requests = sb.state.request_count
    assert report.exit_code == 3
    assert "the API is down: 2 test requests in a row failed" in report.stopped
    # The window (10) filled once, plus what was in flight, then two probes.
    assert report.counts[Outcome.UNKNOWN] == requests <= 10 + 4 + 2
    assert report.counts[Outcome.PENDING] == 200 - requests


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_a_storm_of_503s_slows_down_but_never_stops_the_run(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(12))
    async with running_sandbox(error_503_ratio=1.0) as sb:
        report = await upload(
            path,
            sb,
            concurrency=4,
            retry=RetryPolicy(backoff_initial_s=0.001, backoff_max_s=0.002, rate_limited_max_s=0.2),
            circuit=CircuitPolicy(window=10, pause_s=0.05, max_pauses=2),
        )
    assert report.exit_code == 1 and not report.stopped
    assert report.counts[Outcome.FAILED] == 12 and sb.state.created_count == 0


@pytest.mark.slow
async def test_adaptive_rate_backs_off_and_stays_mostly_clear_of_429(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(150))
    async with running_sandbox(rate_limit_per_s=40) as sb:
        report = await upload(path, sb, concurrency=8, rate=RatePolicy(rate_per_s=100))
    assert report.created == 150
    assert report.rate_limited <= 0.1 * report.requests
    assert not sb.state.keys_created_twice()


@pytest.mark.slow
def test_second_run_on_a_held_output_is_refused(tmp_path: Path, slow_sandbox: Sandbox) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(100))
    first = start_upload(path, slow_sandbox, "--rate", "20")
    try:
        wait_for_requests(slow_sandbox, 2)
        second = leadup("upload", str(path), env=env_for(slow_sandbox))
        assert second.returncode == 2
        assert f"pid {first.pid}" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=15)


async def test_changed_input_is_refused_unless_restart(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(3))
    async with running_sandbox() as sb:
        await upload(path, sb)
        write_csv(path, lead_rows(4))
        with pytest.raises(UsageError, match=r"changed since its upload.*--output.*--restart"):
            await upload(path, sb)
        with pytest.raises(ResendNeedsConfirmation, match="3 rows were already created"):
            await upload(path, sb, restart=True)
        report = await upload(path, sb, restart=True, resend_created=True)
    assert report.rows == 4
    kept = [p.name for p in tmp_path.glob("leads.results.*.csv")]
    assert len(kept) == 1 and len(results_of(tmp_path / kept[0])) == 3  # the earlier results
    assert "the earlier results are kept as" in report.notes[0]


async def test_resume_with_different_options_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(3))
    from uploader.settings import PrepareOptions

    async with running_sandbox() as sb:
        await upload(path, sb)
        with pytest.raises(Exception, match="differ from those this upload started with"):
            await upload(path, sb, prepare=PrepareOptions(is_test=True))
        report = await upload(
            path, sb, prepare=PrepareOptions(is_test=True), restart=True, resend_created=True
        )
    assert report.rows == 3


def test_results_never_overwrite_the_input(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(2))
    before = path.read_bytes()
    done = leadup("upload", str(path), "--sandbox", "--output", str(path))
    assert done.returncode == 2 and "overwrite the input" in done.stderr
    assert path.read_bytes() == before


def test_api_url_with_a_password_is_refused_without_echo(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(1))
    done = leadup(
        "upload",
        str(path),
        "--api-url",
        "https://u:hunter2@127.0.0.1/api",
        env={"JUICED_API_TOKEN": "t"},
    )
    assert done.returncode == 2 and "hunter2" not in done.stdout + done.stderr
