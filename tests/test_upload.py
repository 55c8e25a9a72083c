"""The spine end to end: a file through the pool to the sandbox and back into a results file."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.support.leads import lead_rows, results_of, write_csv
from tests.support.sandbox import fast_settings, running_sandbox, upload
from uploader.model import RESULT_COLUMNS, Outcome, idempotency_key
from uploader.run import default_results_path, journal_path_for
from uploader.sandbox import Scripted
from uploader.settings import Credentials, RatePolicy, RetryPolicy


async def test_every_row_lands_once_in_order(lead_file) -> None:
    path = lead_file(40)
    async with running_sandbox() as sb:
        report = await upload(path, sb, concurrency=8)
    lines = results_of(default_results_path(path))
    assert [int(line["row"]) for line in lines] == list(range(2, 42))
    assert {line["outcome"] for line in lines} == {"created"}
    assert [line["Email"] for line in lines] == [f"person{i}@example.com" for i in range(40)]
    assert sb.state.created_count == 40 and not sb.state.keys_created_twice()
    issued = {lead.lead_public_id for lead in sb.state.leads}
    assert {line["lead_public_id"] for line in lines} == issued
    assert report.exit_code == 0 and report.created == 40


async def test_results_columns_lead_then_input(lead_file) -> None:
    path = lead_file(3)
    async with running_sandbox() as sb:
        await upload(path, sb)
    header = default_results_path(path).read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.split(",")[: len(RESULT_COLUMNS)] == list(RESULT_COLUMNS)
    assert header.split(",")[len(RESULT_COLUMNS) :][:2] == ["First Name", "Last Name"]


async def test_request_headers_and_body(lead_file) -> None:
    path = lead_file(1)
    async with running_sandbox() as sb:
        await upload(path, sb)
    (lead,) = sb.state.leads
    headers = {k.lower(): v for k, v in lead.headers.items()}
    assert headers["accept"] == "application/json"
    assert headers["content-type"].startswith("application/json")
    assert headers["user-agent"].startswith("leadup/")
    assert headers["authorization"] == "REDACTED"
    assert lead.payload["email"] == "person0@example.com"
    assert lead.payload["zip"] == "02139"
    assert lead.payload["lead_source"] == "Trade show"


async def test_idempotency_key_is_stable_across_attempts_and_runs(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(3))
    script = [Scripted(status=503, headers={"Retry-After": "0"})]
    async with running_sandbox(script=tuple(script)) as sb:
        await upload(path, sb, concurrency=1)
        keys_first = [r.idempotency_key for r in sb.state.requests]
    # The first row was tried twice with the same key.
    assert keys_first[0] == keys_first[1]
    # A second, independent run of the same content computes the same keys.
    other = write_csv(tmp_path / "copy.csv", lead_rows(3))
    async with running_sandbox() as sb2:
        await upload(other, sb2, concurrency=1, resend_created=True)  # on purpose
    assert sorted({*keys_first}) == sorted(r.idempotency_key for r in sb2.state.requests)
    sha = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    assert keys_first[0] == idempotency_key(sha, 2)


@pytest.mark.parametrize(
    ("scripted", "outcome", "http_status", "error_part"),
    [
        (
            Scripted(
                status=422,
                body={
                    "message": "The given data was invalid.",
                    "errors": {"email": ["The email field must be a valid email address."]},
                },
            ),
            "rejected",
            "422",
            "email: The email field must be a valid email address.",
        ),
        (
            Scripted(status=422, body={"error": "Ping ID has expired"}),
            "rejected",
            "422",
            "Ping ID has expired",
        ),
        (Scripted(status=500), "unknown", "500", "may have been created"),
        (Scripted(status=502), "unknown", "502", "may have been created"),
        (Scripted(action="drop"), "unknown", "", "may have been created"),
        (Scripted(action="lose_response"), "unknown", "", "may have been created"),
    ],
)
async def test_outcome_per_answer(lead_file, scripted, outcome, http_status, error_part) -> None:
    path = lead_file(1)
    async with running_sandbox(script=(scripted,)) as sb:
        report = await upload(path, sb)
    (line,) = results_of(default_results_path(path))
    assert (line["outcome"], line["http_status"]) == (outcome, http_status)
    assert error_part in line["error"]
    assert line["attempts"] == "1"  # never resent: it may have been applied, or was refused
    assert report.exit_code == 1


async def test_lost_response_is_not_resent_but_lead_exists(lead_file) -> None:
    path = lead_file(1)
    async with running_sandbox(script=(Scripted(action="lose_response"),)) as sb:
        await upload(path, sb)
    assert sb.state.created_count == 1  # the server did create it: resending would sell twice
    assert sb.state.request_count == 1


async def test_retry_unsafe_resends_with_same_key(lead_file) -> None:
    path = lead_file(1)
    async with running_sandbox(script=(Scripted(status=500),)) as sb:
        await upload(path, sb, retry=RetryPolicy(backoff_initial_s=0.01, retry_unsafe=True))
    (line,) = results_of(default_results_path(path))
    assert line["outcome"] == "created" and line["attempts"] == "2"
    keys = [r.idempotency_key for r in sb.state.requests]
    assert len(keys) == 2 and keys[0] == keys[1]


async def test_503_is_retried_until_created(lead_file) -> None:
    path = lead_file(1)
    script = (Scripted(status=503), Scripted(status=503))
    async with running_sandbox(script=script) as sb:
        await upload(path, sb)
    (line,) = results_of(default_results_path(path))
    assert (line["outcome"], line["attempts"], line["http_status"]) == ("created", "3", "201")


async def test_503s_do_not_use_up_attempts(lead_file) -> None:
    """DECISIONS (Outages): a 503 is overload, safe to retry; it slows the pace, it does not
    count against --max-attempts."""
    path = lead_file(1)
    script = tuple(Scripted(status=503, headers={"Retry-After": "0"}) for _ in range(3))
    async with running_sandbox(script=script) as sb:
        report = await upload(path, sb, retry=RetryPolicy(max_attempts=2, backoff_initial_s=0.01))
    (line,) = results_of(default_results_path(path))
    assert (line["outcome"], line["attempts"]) == ("created", "4")
    assert report.overloaded == 3 and report.exit_code == 0


async def test_503_for_longer_than_max_throttled_ends_failed(lead_file) -> None:
    path = lead_file(1)
    script = tuple(Scripted(status=503, headers={"Retry-After": "0"}) for _ in range(50))
    async with running_sandbox(script=script) as sb:
        retry = RetryPolicy(backoff_initial_s=0.05, backoff_max_s=0.05, rate_limited_max_s=0.3)
        await upload(path, sb, retry=retry)
        assert sb.state.created_count == 0
    (line,) = results_of(default_results_path(path))
    assert line["outcome"] == "failed" and line["http_status"] == "503"
    assert "safe to send again" in line["error"]


async def test_connection_refused_ends_failed(lead_file, tmp_path) -> None:
    path = lead_file(2)
    async with running_sandbox() as sb:
        credentials, url = sb.credentials, sb.url
    # The sandbox is gone: nothing listens there any more, so nothing was ever sent.
    from uploader import run
    from uploader.settings import ApiSettings, UploadSettings

    settings = UploadSettings(
        api=ApiSettings(credentials=credentials, base_url=url, connect_timeout_s=1),
        retry=RetryPolicy(max_attempts=2, backoff_initial_s=0.01),
        rate=RatePolicy(rate_per_s=1000),
    )
    report = await run.upload(run.UploadRequest(input_path=path, settings=settings))
    lines = results_of(default_results_path(path))
    assert [line["outcome"] for line in lines] == ["failed", "failed"]
    assert all(line["attempts"] == "2" for line in lines)
    assert report.exit_code == 1


@pytest.mark.parametrize("as_date", [False, True])
async def test_429_pauses_everyone_and_does_not_use_an_attempt(lead_file, as_date) -> None:
    path = lead_file(4)
    wait = "1"
    if as_date:
        wait = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    script = (Scripted(status=429, headers={"Retry-After": wait}),)
    async with running_sandbox(script=script) as sb:
        started = time.monotonic()
        report = await upload(path, sb, concurrency=1, retry=RetryPolicy(max_attempts=1))
        elapsed = time.monotonic() - started
    lines = results_of(default_results_path(path))
    assert [line["outcome"] for line in lines] == ["created"] * 4
    assert lines[0]["attempts"] == "2"  # the 429 and the success; max_attempts=1 was not used up
    assert report.rate_limited == 1
    assert elapsed >= 0.9  # everyone waited out the Retry-After
    assert sb.state.created_count == 4


async def test_first_401_stops_the_run_and_keeps_rows_pending(lead_file) -> None:
    path = lead_file(30)
    async with running_sandbox() as sb:
        wrong = Credentials(api_key="nobody", api_secret="wrong-secret-value")
        report = await upload(path, sb, credentials=wrong, concurrency=4)
    assert report.exit_code == 3
    assert "401" in report.stopped and "credentials" in report.stopped
    assert sb.state.count(401) <= 4  # it did not burn through the file
    lines = results_of(default_results_path(path))
    assert len(lines) == 30
    assert {line["outcome"] for line in lines} == {"pending"}


async def test_401_mid_run_then_resume_with_good_credentials(lead_file) -> None:
    path = lead_file(30)
    async with running_sandbox(revoke_after=10) as sb:
        report = await upload(path, sb, concurrency=2, rate=RatePolicy(rate_per_s=200))
        assert report.exit_code == 3
        assert report.counts[Outcome.CREATED] == 10
        sb.restore()
        second = await upload(path, sb, concurrency=2)
    assert second.exit_code == 0
    assert sb.state.created_count == 30 and not sb.state.keys_created_twice()


@pytest.mark.slow
async def test_pacing_40_per_s_against_44_gets_no_429(lead_file) -> None:
    path = lead_file(120)
    async with running_sandbox(rate_limit_per_s=44) as sb:
        started = time.monotonic()
        report = await upload(path, sb, concurrency=8, rate=RatePolicy(rate_per_s=40))
        elapsed = time.monotonic() - started
    assert sb.state.count(429) == 0
    assert report.created == 120
    # 120 requests at 40/s, the first at once: about 3 s; close to 40/s.
    assert 119 / 40 * 0.95 <= elapsed <= 119 / 40 + 1.5


async def test_stop_event_leaves_rows_pending_and_resume_completes(lead_file) -> None:
    path = lead_file(60)
    stop = asyncio.Event()
    async with running_sandbox(latency_s=0.02) as sb:
        task = asyncio.create_task(
            upload(path, sb, concurrency=4, rate=RatePolicy(rate_per_s=50), stop=stop)
        )
        await asyncio.sleep(0.3)
        stop.set()
        report = await task
        assert report.exit_code == 3
        assert 0 < report.counts[Outcome.PENDING] < 60
        resumed = await upload(path, sb, concurrency=4)
    assert resumed.exit_code == 0
    assert sb.state.created_count == 60 and not sb.state.keys_created_twice()


async def test_second_run_resumes_and_sends_nothing(lead_file) -> None:
    path = lead_file(10)
    async with running_sandbox() as sb:
        await upload(path, sb)
        report = await upload(path, sb)
    assert sb.state.request_count == 10
    assert report.requests == 0 and report.exit_code == 0
    assert journal_path_for(default_results_path(path)).exists()


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_2000_rows_through_a_faulty_server(tmp_path: Path) -> None:
    """Issue 2's bar: 5% 500s, 5% 503s, 3% dropped connections."""
    path = write_csv(tmp_path / "big.csv", lead_rows(2000))
    async with running_sandbox(
        error_500_ratio=0.05, error_503_ratio=0.05, drop_ratio=0.03, seed=7
    ) as sb:
        report = await upload(
            path,
            sb,
            concurrency=16,
            rate=RatePolicy(rate_per_s=4000),
            retry=RetryPolicy(backoff_initial_s=0.01, max_unknown=2000),  # every row's fate
        )
    lines = results_of(default_results_path(path))
    assert len(lines) == 2000
    assert [int(line["row"]) for line in lines] == list(range(2, 2002))
    assert not sb.state.keys_created_twice()
    issued = {lead.lead_public_id for lead in sb.state.leads}
    created = [line for line in lines if line["outcome"] == "created"]
    assert all(line["lead_public_id"] in issued for line in created)
    outcomes = {line["outcome"] for line in lines}
    assert "failed" not in outcomes  # 503s were retried until they got through
    unknown = sum(line["outcome"] == "unknown" for line in lines)
    assert unknown == sb.state.count(500) + sb.state.dropped_count
    assert len(created) + unknown == 2000
    assert report.rows == 2000


async def test_events_see_every_row_and_the_429_pause(lead_file) -> None:
    from uploader import events, run

    path = lead_file(5)
    seen: list[events.Event] = []
    script = (Scripted(status=429, headers={"Retry-After": "1"}),)
    async with running_sandbox(script=script) as sb:
        request = run.UploadRequest(input_path=path, settings=fast_settings(sb, concurrency=1))
        report = await run.upload(request, run.RunControl([seen.append]))
    kinds = [type(e).__name__ for e in seen]
    assert kinds[:3] == ["FileRead", "RowsLoaded", "Progress"] and kinds[-1] == "RunFinished"
    read, loaded = seen[0], seen[1]
    assert isinstance(read, events.FileRead) and isinstance(loaded, events.RowsLoaded)
    assert read.describe() == "csv, utf-8, delimiter ',', header row 1"
    assert loaded.to_send == 5 and not loaded.resumed
    finished = [r for e in seen if isinstance(e, events.RowsFinished) for r in e.results]
    assert sorted(r.row for r in finished) == [2, 3, 4, 5, 6]
    assert {r.outcome for r in finished} == {Outcome.CREATED}
    (paused,) = [e for e in seen if isinstance(e, events.Notice)]
    assert paused.kind is events.NoticeKind.PAUSED and "429" in paused.message
    assert paused.seconds == 1
    last = [e for e in seen if isinstance(e, events.Progress)][-1]
    assert last.done == last.total == 5 and last.counts == {Outcome.CREATED: 5}
    assert seen[-1] == events.RunFinished(report)


async def test_timeout_after_sending_is_unknown_and_not_resent(lead_file) -> None:
    path = lead_file(1)
    async with running_sandbox(script=(Scripted(action="process", delay_s=3),)) as sb:
        started = time.monotonic()
        await upload(path, sb, timeout_s=0.5)
        elapsed = time.monotonic() - started
    (line,) = results_of(default_results_path(path))
    assert line["outcome"] == "unknown" and "0.5s" in line["error"]
    assert elapsed < 2.5
    assert sb.state.request_count <= 1  # never resent


async def test_retry_unsafe_remembers_an_earlier_lost_answer(lead_file) -> None:
    """A created-but-lost lead followed by 503s must end unknown, never failed (safe)."""
    path = lead_file(1)
    script = (
        Scripted(action="lose_response"),
        *tuple(Scripted(status=503, headers={"Retry-After": "0"}) for _ in range(40)),
    )
    async with running_sandbox(script=script) as sb:
        retry = RetryPolicy(backoff_initial_s=0.01, retry_unsafe=True, rate_limited_max_s=0.1)
        await upload(path, sb, retry=retry)
        assert sb.state.created_count == 1
        from uploader import run

        report = await run.retry(default_results_path(path), fast_settings(sb))
        assert report.requests == 0  # a plain retry leaves the unknown row alone
    (line,) = results_of(default_results_path(path))
    assert line["outcome"] == "unknown"
    assert not sb.state.keys_created_twice()


async def test_retry_unsafe_then_401_leaves_the_row_unknown_not_pending(lead_file) -> None:
    path = lead_file(1)
    script = (Scripted(action="lose_response"), Scripted(status=401))
    async with running_sandbox(script=script) as sb:
        report = await upload(
            path, sb, retry=RetryPolicy(backoff_initial_s=0.01, retry_unsafe=True)
        )
        assert report.exit_code == 3
        resumed = await upload(path, sb)
    (line,) = results_of(default_results_path(path))
    assert line["outcome"] == "unknown" and resumed.requests == 0
    assert not sb.state.keys_created_twice()


async def test_abort_cancels_requests_that_are_out(lead_file) -> None:
    path = lead_file(20)
    async with running_sandbox(latency_s=5) as sb:
        from uploader import run

        control = run.RunControl()
        request = run.UploadRequest(input_path=path, settings=fast_settings(sb, concurrency=3))
        task = asyncio.create_task(run.upload(request, control))
        await asyncio.sleep(0.5)
        control.abort()
        started = time.monotonic()
        report = await task
        assert time.monotonic() - started < 1.5
    assert report.counts[Outcome.UNKNOWN] == 3 and report.counts[Outcome.PENDING] == 17
    assert report.requests == 3 and report.exit_code == 3


async def test_a_journal_that_cannot_be_written_stops_the_run(lead_file, monkeypatch) -> None:
    """A full disk cannot be had for real here: the journal's commit is made to fail."""
    from uploader.errors import JournalWriteError
    from uploader.journal import Journal

    real_commit = Journal.commit
    calls = 0

    def failing_commit(self, in_flight, results):
        nonlocal calls
        calls += 1
        if calls >= 5:
            raise JournalWriteError("database or disk is full")
        return real_commit(self, in_flight, results)

    monkeypatch.setattr(Journal, "commit", failing_commit)
    path = lead_file(200)
    async with running_sandbox() as sb:
        with pytest.raises(JournalWriteError, match="disk is full"):
            await asyncio.wait_for(upload(path, sb, concurrency=4), timeout=20)
