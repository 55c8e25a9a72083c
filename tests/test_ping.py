"""Ping-post and quotes against the sandbox: the floor, both shapes, every message, expiry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import KEY, SECRET, env_for, leadup
from tests.support.leads import HEADER, results_of, write_csv
from tests.support.sandbox import fast_settings, running_sandbox, upload
from uploader.journal.results import read_results
from uploader.model import PING_COLUMNS, RESULT_COLUMNS, Outcome
from uploader.run import default_results_path, journal_path_for
from uploader.sandbox import SandboxConfig, Scripted, sandbox_in_thread
from uploader.sandbox.pings import ping_bids
from uploader.settings import PingPolicy

SEED = 7
STATES = ("MA", "NY", "CA", "TX", "FL")


def priced_rows(count: int, *, is_test_zip: str | None = None) -> list[list[str]]:
    """Leads with a zip (and so a price) of their own, and unique contacts."""
    return [
        [
            f"First{i}",
            f"Last{i}",
            f"buyer{i}@example.com",
            f"617-{300 + i // 10000:03d}-{i % 10000:04d}",
            f"{i} Main St",
            "Town",
            STATES[i % len(STATES)],
            is_test_zip or f"{10001 + i:05d}",
            "List",
        ]
        for i in range(count)
    ]


def best_bid(zip_code: str, state: str) -> float | None:
    """What the sandbox will bid for this zip and state at SEED (None: no match)."""
    return max(ping_bids(SEED, {"zip": zip_code, "state": state}), default=None)


def ping_results(path: Path) -> list[dict[str, str]]:
    """Results lines with their ping cells, read straight from the CSV."""
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


async def test_floor_sells_the_best_bid_at_or_above_it_and_holds_the_rest(tmp_path: Path):
    rows = priced_rows(60)
    path = write_csv(tmp_path / "leads.csv", rows)
    expected = {i + 2: best_bid(r[7], r[6]) for i, r in enumerate(rows)}
    # A floor equal to one lead's best bid: "at the floor" is sold.
    at_floor_row, floor = next((row, p) for row, p in expected.items() if p and p > 25)
    async with running_sandbox(seed=SEED) as sb:
        report = await upload(path, sb, concurrency=4, ping=PingPolicy(min_price=floor))
    lines = {int(line["row"]): line for line in ping_results(default_results_path(path))}
    sold = {lead.payload["zip"]: lead for lead in sb.state.leads}
    for row, price in expected.items():
        line = lines[row]
        if price is not None and price >= floor:
            assert line["outcome"] == "created", line
            lead = sold[rows[row - 2][7]]
            ping = sb.state.pings[lead.payload["ping_id"]]
            # The highest bid, not the first listed.
            assert lead.payload["bid_id"] == max(ping.bids, key=ping.bids.__getitem__)
            assert float(line["price"]) == price == ping.price
            assert line["ping_id"] == lead.payload["ping_id"]
            assert line["bid_id"] == lead.payload["bid_id"]
        elif price is None:
            assert line["outcome"] == "held" and line["error"] == "ping: No match found"
        else:
            assert line["outcome"] == "held"
            assert line["error"] == f"best bid {price:.2f} below floor {floor:.2f}"
            assert float(line["bid_price"]) == price
    assert lines[at_floor_row]["outcome"] == "created"
    assert len(sb.state.leads) == sum(1 for p in expected.values() if p and p >= floor)
    assert all("ping_id" in lead.payload for lead in sb.state.leads)
    assert len(sb.state.pings) == 60  # one ping per row, no post without one
    assert report.exit_code == 0  # held rows are what the floor asked for
    assert report.pings == 60


async def test_vendor_source_posts_with_the_ping_id_only(tmp_path: Path):
    rows = priced_rows(20)
    path = write_csv(tmp_path / "leads.csv", rows)
    async with running_sandbox(seed=SEED, source_type="vendor") as sb:
        await upload(path, sb, ping=PingPolicy(min_price=30))
    for lead in sb.state.leads:
        assert "bid_id" not in lead.payload
        ping = sb.state.pings[lead.payload["ping_id"]]
        assert ping.price >= 30 and lead.price == ping.price
    posted = {lead.payload["zip"] for lead in sb.state.leads}
    wanted = {r[7] for r in rows if (best_bid(r[7], r[6]) or 0) >= 30}
    assert posted == wanted


@pytest.mark.parametrize(
    ("zip_code", "outcome", "reason"),
    [
        ("00001", "created", ""),
        ("00002", "held", "ping: Duplicate"),
        ("00004", "held", "ping: No match found"),
    ],
)
async def test_test_mode_ping_messages(tmp_path: Path, zip_code: str, outcome: str, reason: str):
    from uploader.settings import PrepareOptions

    path = write_csv(tmp_path / "leads.csv", priced_rows(1, is_test_zip=zip_code))
    async with running_sandbox(seed=SEED) as sb:
        await upload(path, sb, ping=PingPolicy(), prepare=PrepareOptions(is_test=True))
    (line,) = ping_results(default_results_path(path))
    assert (line["outcome"], line["error"]) == (outcome, reason)
    assert line["ping_message"] == reason.removeprefix("ping: ") or outcome == "created"
    (ping,) = sb.state.pings.values()
    assert ping.is_test


async def test_rejected_ping_holds_the_lead(tmp_path: Path):
    path = write_csv(tmp_path / "leads.csv", priced_rows(3))
    async with running_sandbox(seed=SEED, monthly_limit=0) as sb:
        report = await upload(path, sb, ping=PingPolicy())
    lines = ping_results(default_results_path(path))
    assert {(line["outcome"], line["error"]) for line in lines} == {("held", "ping: Rejected")}
    assert sb.state.created_count == 0 and report.exit_code == 0


def _first_matching_row(count: int = 40) -> list[list[str]]:
    """One lead whose zip has a bid (so it is posted at floor 0)."""
    rows = [r for r in priced_rows(count) if best_bid(r[7], r[6]) is not None]
    return rows[:1]


async def test_expired_ping_is_priced_again_once_then_posted(tmp_path: Path):
    path = write_csv(tmp_path / "leads.csv", _first_matching_row())
    expired = Scripted(status=422, body={"error": "Ping ID has expired"})
    async with running_sandbox(seed=SEED, script=(expired,)) as sb:
        await upload(path, sb, ping=PingPolicy())
    (line,) = ping_results(default_results_path(path))
    assert line["outcome"] == "created"
    first, second = sb.state.pings  # pinged twice
    (lead,) = sb.state.leads
    assert lead.payload["ping_id"] == second != first
    assert line["ping_id"] == second and line["attempts"] == "2"


async def test_a_ping_that_keeps_expiring_ends_rejected_after_one_re_ping(tmp_path: Path):
    path = write_csv(tmp_path / "leads.csv", _first_matching_row())
    async with running_sandbox(seed=SEED, ping_ttl_s=0.0) as sb:
        await upload(path, sb, ping=PingPolicy())
    (line,) = ping_results(default_results_path(path))
    assert (line["outcome"], line["error"]) == ("rejected", "Ping ID has expired")
    assert len(sb.state.pings) == 2 and sb.state.created_count == 0


@pytest.mark.parametrize("error", ["Lead data does not match ping data", "Ping could not be found"])
async def test_mismatch_or_unknown_ping_is_rejected_without_a_re_ping(tmp_path: Path, error: str):
    path = write_csv(tmp_path / "leads.csv", _first_matching_row())
    async with running_sandbox(
        seed=SEED, script=(Scripted(status=422, body={"error": error}),)
    ) as sb:
        await upload(path, sb, ping=PingPolicy())
    (line,) = ping_results(default_results_path(path))
    assert (line["outcome"], line["error"]) == ("rejected", error)
    assert len(sb.state.pings) == 1 and sb.state.created_count == 0


async def test_pings_are_retried_on_any_transient_failure(tmp_path: Path):
    path = write_csv(tmp_path / "leads.csv", _first_matching_row())
    faults = (
        Scripted(path="/ping", action="drop"),
        Scripted(path="/ping", status=500),
        Scripted(path="/ping", action="lose_response"),  # answered, then the answer is lost
        Scripted(path="/ping", status=503, headers={"Retry-After": "0"}),
    )
    async with running_sandbox(seed=SEED, script=faults) as sb:
        await upload(path, sb, ping=PingPolicy(), retry=_quick_retry(max_attempts=5))
    (line,) = ping_results(default_results_path(path))
    assert line["outcome"] == "created", line
    assert sb.state.created_count == 1 and line["attempts"] == "1"  # one post


async def test_a_ping_refused_as_invalid_is_rejected_and_never_posted(tmp_path: Path):
    path = write_csv(tmp_path / "leads.csv", _first_matching_row())
    refusal = Scripted(path="/ping", status=422, body={"message": "x", "errors": {"zip": ["bad"]}})
    async with running_sandbox(seed=SEED, script=(refusal,)) as sb:
        await upload(path, sb, ping=PingPolicy())
    (line,) = ping_results(default_results_path(path))
    assert (line["outcome"], line["error"]) == ("rejected", "ping: zip: bad")
    assert sb.state.created_count == 0


def _quick_retry(**overrides: object):
    from uploader.settings import RetryPolicy

    return RetryPolicy(backoff_initial_s=0.01, backoff_max_s=0.05, **overrides)  # type: ignore[arg-type]


async def test_results_file_gains_ping_columns_only_in_ping_mode(tmp_path: Path):
    path = write_csv(tmp_path / "leads.csv", priced_rows(2))
    async with running_sandbox(seed=SEED) as sb:
        await upload(path, sb, ping=PingPolicy())
        plain = await upload(path, sb, output_path=tmp_path / "plain.csv", resend_created=True)
    header = default_results_path(path).read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.split(",")[: len(RESULT_COLUMNS) + len(PING_COLUMNS)] == [
        *RESULT_COLUMNS,
        *PING_COLUMNS,
    ]
    assert header.split(",")[len(RESULT_COLUMNS) + len(PING_COLUMNS)] == HEADER[0]
    plain_header = plain.results_path.read_text(encoding="utf-8-sig").splitlines()[0]
    assert "ping_id" not in plain_header
    # leadup's own reader (retry) takes both shapes.
    columns, _ = read_results(default_results_path(path))
    assert columns == HEADER


async def test_resume_refuses_a_different_floor(tmp_path: Path):
    from uploader.errors import JournalError

    path = write_csv(tmp_path / "leads.csv", priced_rows(3))
    async with running_sandbox(seed=SEED) as sb:
        await upload(path, sb, ping=PingPolicy(min_price=10))
        with pytest.raises(JournalError, match="--min-price 10"):
            await upload(path, sb, ping=PingPolicy(min_price=20))
        with pytest.raises(JournalError, match="without --ping"):
            await upload(path, sb)


async def test_retry_of_a_ping_results_file_prices_rows_again(tmp_path: Path):
    from uploader import run

    rows = _first_matching_row()
    path = write_csv(tmp_path / "leads.csv", rows)
    down = (Scripted(path="/ping", status=503, headers={"Retry-After": "0"}),)
    async with running_sandbox(seed=SEED, script=down) as sb:
        # A 503 is overload: with no time allowed for it, the row ends failed at once.
        retry = _quick_retry(max_attempts=2, rate_limited_max_s=0)
        await upload(path, sb, ping=PingPolicy(), retry=retry)
        (line,) = ping_results(default_results_path(path))
        assert line["outcome"] == "failed" and sb.state.created_count == 0
        # The retry is told nothing about pinging: the journal remembers.
        report = await run.retry(default_results_path(path), fast_settings(sb))
    (line,) = ping_results(default_results_path(path))
    assert line["outcome"] == "created" and report.pings == 1
    (lead,) = sb.state.leads
    assert lead.payload["ping_id"] == line["ping_id"]


async def test_quote_posts_nothing_and_its_totals_are_the_sandboxs_own_bids(tmp_path: Path):
    rows = priced_rows(80)
    path = write_csv(tmp_path / "leads.csv", rows)
    async with running_sandbox(seed=SEED) as sb:
        report = await upload(path, sb, ping=PingPolicy(min_price=30, post=False))
    assert sb.state.created_count == 0
    assert report.results_path == tmp_path / "leads.quote.csv"
    quote = report.quote
    assert quote is not None
    best = [p.price for p in sb.state.pings.values() if p.bids]
    assert quote.overall.matched == len(best)
    assert quote.overall.total == pytest.approx(sum(best), abs=0.005)
    cleared = [p for p in best if p >= 30]
    assert quote.overall.clearing == len(cleared)
    assert quote.overall.clearing_total == pytest.approx(sum(cleared), abs=0.005)
    by_state = {s: w.total for s, w in quote.by_state.items()}
    for state in STATES:
        mine = [p.price for p in sb.state.pings.values() if p.bids and p.state == state]
        assert by_state.get(state, 0.0) == pytest.approx(sum(mine), abs=0.005)
    assert quote.chart_path is not None
    assert quote.chart_path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert {line["outcome"] for line in ping_results(report.results_path)} == {"quoted"}
    assert report.exit_code == 0


def test_quote_command_prints_the_worth_and_saves_the_chart(tmp_path: Path):
    path = write_csv(tmp_path / "leads.csv", priced_rows(30))
    config = SandboxConfig(api_key=KEY, api_secret=SECRET, seed=SEED)
    with sandbox_in_thread(config) as sb:
        done = leadup("quote", str(path), "--min-price", "30", "--rate", "500", env=env_for(sb))
        assert sb.state.created_count == 0
        total = sum(p.price for p in sb.state.pings.values() if p.bids)
    assert done.returncode == 0, done.stderr
    assert f"total {total:,.2f}" in done.stdout
    assert "by state" in done.stdout
    assert (tmp_path / "leads.quote.png").stat().st_size > 1000


def test_min_price_implies_ping_on_the_command_line(tmp_path: Path):
    path = write_csv(tmp_path / "leads.csv", priced_rows(10))
    config = SandboxConfig(api_key=KEY, api_secret=SECRET, seed=SEED)
    with sandbox_in_thread(config) as sb:
        done = leadup("upload", str(path), "--min-price", "30", "--rate", "500", env=env_for(sb))
        assert all("ping_id" in lead.payload for lead in sb.state.leads)
        assert all(sb.state.pings[lead.payload["ping_id"]].price >= 30 for lead in sb.state.leads)
    assert done.returncode == 0, done.stderr
    assert "pings" in done.stdout


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_kill_9_mid_ping_post_then_resume_posts_nothing_twice_nor_re_pings_posted_rows(
    tmp_path: Path,
):
    count = 300
    rows = priced_rows(count)
    path = write_csv(tmp_path / "leads.csv", rows)
    config = SandboxConfig(
        api_key=KEY, api_secret=SECRET, seed=SEED, latency_s=0.05, latency_jitter_s=0.05
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JUICED_")}
    args = ["upload", str(path), "--min-price", "20", "--concurrency", "8", "--rate", "300"]
    with sandbox_in_thread(config) as sb:
        for wait_for in (60, 200):
            process = subprocess.Popen(
                [sys.executable, "-m", "uploader", *args],
                env=clean | env_for(sb),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            deadline = time.monotonic() + 30
            while sb.state.request_count < wait_for:
                assert time.monotonic() < deadline, "the upload never got going"
                time.sleep(0.01)
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=10)
        done = leadup(*args, "--rate", "1000", env=env_for(sb))
        assert done.returncode in (0, 1), done.stderr
        assert not sb.state.keys_created_twice(), "a lead was posted twice"
        ping_order = list(sb.state.pings)
        last_ping_of_zip = {sb.state.pings[p].zip: i for i, p in enumerate(ping_order)}
        for lead in sb.state.leads:
            # The ping a lead was sold on is the last one its row ever got.
            assert (
                ping_order.index(lead.payload["ping_id"]) == last_ping_of_zip[lead.payload["zip"]]
            )
        created = {lead.payload["zip"] for lead in sb.state.leads}
    lines = results_of(default_results_path(path))
    assert [int(line["row"]) for line in lines] == list(range(2, count + 2))
    for line in lines:
        wanted = best_bid(line["Zip Code"], line["State"])
        if line["outcome"] == "created":
            assert wanted is not None and wanted >= 20
        elif line["outcome"] == "held":
            assert wanted is None or wanted < 20
        else:
            assert line["outcome"] == "unknown", line  # in flight at a kill
    assert {line["Zip Code"] for line in lines if line["outcome"] == "created"} <= created
    assert journal_path_for(default_results_path(path)).exists()
    assert Outcome.PENDING.value not in {line["outcome"] for line in lines}
