"""Sending from the first seconds (issue 13): the whole file is scanned first, then loaded
chunk by chunk while the pool sends; a broken file still sends nothing, a kill while the
file is still streaming in resumes without sending a row twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.cli import KEY, SECRET
from tests.support.leads import lead_rows, results_of, write_csv
from tests.support.sandbox import running_sandbox, upload
from uploader import events, run
from uploader.errors import InputError, UsageError
from uploader.model import Outcome
from uploader.run import default_results_path, journal_path_for
from uploader.sandbox import SandboxConfig, sandbox_in_thread
from uploader.settings import ReadOptions

SMALL_CHUNKS = ReadOptions(chunk_rows=20)  # a 300-row file streams in 15 chunks


@pytest.mark.parametrize("broken", ["ragged", "undecodable", "open quote"])
async def test_a_file_broken_at_its_last_row_sends_nothing(tmp_path: Path, broken: str) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(300))
    last = {
        "ragged": b"Zed,Last,zed@example.com,617-555-0100,1 Main St,Cambridge,MA,02139,x,extra\n",
        "undecodable": b"Zed,Last,zed@example.com,617-555-0100,1 Main St,Cambridge,MA,02139,\xff\n",
        "open quote": b'Zed,Last,"zed@example.com,617-555-0100,1 Main St,Cambridge,MA,02139,x\n',
    }[broken]
    with path.open("ab") as f:
        f.write(last)
    # An encoding given (not guessed): the bad byte is found only when the last row is read.
    read = ReadOptions(chunk_rows=20, encoding="utf-8")
    async with running_sandbox() as sb:
        with pytest.raises(InputError) as refused:
            await upload(path, sb, read=read)
        assert sb.state.request_count == 0
    assert refused.value.row is None or refused.value.row >= 300
    assert not journal_path_for(default_results_path(path)).exists() or not _sending_began(path)


async def test_streamed_rows_are_sent_once_with_duplicates_found_across_chunks(
    tmp_path: Path,
) -> None:
    rows = lead_rows(300)
    rows[250][2] = rows[5][2]  # the same email in chunk 1 and chunk 13: a duplicate
    path = write_csv(tmp_path / "leads.csv", rows)
    seen: list[events.Event] = []
    async with running_sandbox() as sb:
        report = await upload(path, sb, read=SMALL_CHUNKS, control=run.RunControl([seen.append]))
        assert not sb.state.keys_created_twice() and len(sb.state.leads) == 299
    lines = results_of(default_results_path(path))
    assert [int(line["row"]) for line in lines] == list(range(2, 302))
    assert Counter(line["outcome"] for line in lines) == {"created": 299, "skipped": 1}
    assert lines[250]["outcome"] == "skipped" and "row 7" in lines[250]["error"]
    assert report.counts[Outcome.CREATED] == 299 and report.counts[Outcome.SKIPPED] == 1
    (loaded,) = [e for e in seen if isinstance(e, events.RowsLoaded)]
    assert sum(loaded.counts.values()) == 300  # rows not yet loaded count as to send
    final = [e for e in seen if isinstance(e, events.Progress)][-1]
    assert final.counts == {Outcome.CREATED: 299, Outcome.SKIPPED: 1}


CHILD = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from uploader import run
    from uploader.journal import store
    from uploader.settings import ApiSettings, Credentials, RatePolicy, ReadOptions, UploadSettings

    real_add = store.Journal.add
    def slow_add(self, entries):  # a slow disk: the load outlasts the first requests
        real_add(self, entries)
        time.sleep(0.05)
    store.Journal.add = slow_add

    url, key, secret, path = sys.argv[1:5]
    api = ApiSettings(Credentials(api_key=key, api_secret=secret), base_url=url)
    settings = UploadSettings(api=api, concurrency=4, rate=RatePolicy(rate_per_s=500))
    request = run.UploadRequest(
        input_path=Path(path), settings=settings, read=ReadOptions(chunk_rows=50)
    )
    asyncio.run(run.upload(request))
    time.sleep(60)  # a slow parent still finds it alive to kill
    """
)


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_kill_9_while_the_file_is_still_streaming_in_then_resume(tmp_path: Path) -> None:
    count = 3000  # 60 chunks of 50, each 50 ms or more to add: seconds of loading
    path = write_csv(tmp_path / "leads.csv", lead_rows(count))
    config = SandboxConfig(api_key=KEY, api_secret=SECRET, latency_s=0.02)
    with sandbox_in_thread(config) as sb:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, sb.url, KEY, SECRET, str(path)],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while sb.state.request_count < 20:
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the upload never got going"
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=10)
        sent_before = sb.state.request_count
        journal = journal_path_for(default_results_path(path))
        with sqlite3.connect(journal) as db:
            meta = dict(db.execute("SELECT key, value FROM meta"))
            rows_in = db.execute("SELECT count(*) FROM rows").fetchone()[0]
        assert meta["loaded"] == "0" and meta["sending"] == "1"  # killed mid-stream
        assert rows_in < count
        assert sent_before < count

        report = await _resume(path, sb.url)
        assert not sb.state.keys_created_twice(), "a lead was posted twice"
        created_keys = {lead.idempotency_key for lead in sb.state.leads}
    lines = results_of(default_results_path(path))
    assert [int(line["row"]) for line in lines] == list(range(2, count + 2))
    outcomes = Counter(line["outcome"] for line in lines)
    assert set(outcomes) <= {"created", "unknown"}
    assert outcomes["unknown"] <= 2 * 4  # 2 x --concurrency (DECISIONS: Outages and crashes)
    assert outcomes["created"] + outcomes["unknown"] == count
    assert len(created_keys) >= outcomes["created"]
    assert report.exit_code in (0, 1)


async def _resume(path: Path, url: str) -> run.UploadReport:
    from uploader.settings import ApiSettings, Credentials, RatePolicy, UploadSettings

    api = ApiSettings(Credentials(api_key=KEY, api_secret=SECRET), base_url=url)
    settings = UploadSettings(api=api, concurrency=4, rate=RatePolicy(rate_per_s=2000))
    request = run.UploadRequest(input_path=path, settings=settings, read=ReadOptions(chunk_rows=50))
    return await run.upload(request)


def _sending_began(path: Path) -> bool:
    with sqlite3.connect(journal_path_for(default_results_path(path))) as db:
        return bool(db.execute("SELECT 1 FROM meta WHERE key = 'sending'").fetchall())


async def test_a_stop_while_the_file_streams_in_remembers_what_was_created(
    tmp_path: Path,
) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(3000))
    control = run.RunControl()

    def stop_once_created(event: events.Event) -> None:
        if isinstance(event, events.RowsFinished) and any(
            r.outcome is Outcome.CREATED for r in event.results
        ):
            control.stop()

    control.subscribe(stop_once_created)
    async with running_sandbox() as sb:
        first = await upload(path, sb, read=ReadOptions(chunk_rows=5), control=control)
        assert first.stopped and sb.state.leads
        with sqlite3.connect(journal_path_for(default_results_path(path))) as db:
            loaded = db.execute("SELECT value FROM meta WHERE key = 'loaded'").fetchone()
        assert loaded == ("0",)  # stopped while the file was still streaming in
        # The same content to another results file: refused, it would pay twice.
        with pytest.raises(UsageError, match="already created"):
            await upload(path, sb, output_path=tmp_path / "other.csv")
        # The same command resumes: the load goes on after its last row.
        done = await upload(path, sb, read=ReadOptions(chunk_rows=5))
        assert not sb.state.keys_created_twice()
    lines = results_of(default_results_path(path))
    assert [int(line["row"]) for line in lines] == list(range(2, 3002))
    assert {line["outcome"] for line in lines} == {"created"} and done.exit_code == 0
