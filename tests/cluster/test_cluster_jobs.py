"""Scheduled jobs on three workers: one run per tick, each inbox file sent once whatever its
name, and one credential's rate respected by all workers together."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from pathlib import Path

import pytest

from tests.cluster.workers import (
    cluster_env,
    creations_per_email,
    query,
    uploads_ended,
    wait_for,
    workers,
    write_cluster_job_file,
)
from tests.support.jobs import emails, write_leads
from tests.support.leads import results_of
from uploader.sandbox import SandboxConfig
from uploader.sandbox.runner import sandbox_in_thread

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
EVERY_SECOND = {"schedule": {"nightly": "* * * * * *"}}


def drop(inbox: Path, name: str, start: int, count: int) -> Path:
    """A lead file that appears in the inbox whole (written beside it, then renamed in)."""
    staged = write_leads(inbox.parent / "staging" / name, start, count)
    target = inbox / name
    os.rename(staged, target)
    return target


def test_three_workers_run_a_job_once_per_tick(database_url: str, tmp_path: Path):
    config = write_cluster_job_file(tmp_path, {"schedule": {"nightly": "* * * * * */2"}})
    with (
        sandbox_in_thread(SandboxConfig()) as sandbox,
        workers(tmp_path, cluster_env(database_url, sandbox), config, count=3) as group,
    ):
        ticks = lambda: query(database_url, "SELECT tick FROM leadup_ticks")  # noqa: E731
        wait_for(lambda: len(ticks()) >= 10, 40, "ten ticks", logs=group)
        rows = ticks()
        live = query(database_url, "SELECT count(*) FROM procrastinate_workers")[0][0]
    per_tick = Counter(tick for (tick,) in rows)
    assert set(per_tick.values()) == {1}, f"a tick ran twice: {per_tick}"
    runs = sorted(per_tick)
    assert runs == list(range(runs[0], runs[-1] + 1, 2)), "a tick was skipped"
    assert live == 3, "three workers were deferring the same ticks"


def test_five_files_dropped_at_once_are_each_sent_once(database_url: str, tmp_path: Path):
    config = write_cluster_job_file(tmp_path, EVERY_SECOND)
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    with (
        sandbox_in_thread(SandboxConfig()) as sandbox,
        workers(tmp_path, cluster_env(database_url, sandbox), config, count=3) as group,
    ):
        for index in range(5):
            drop(inbox, f"vendor-{index}.csv", index * 30, 30)
        wait_for(lambda: uploads_ended(database_url, 5), 60, "five uploads", logs=group)
        # The same content again under another name: claimed already, never sent.
        drop(inbox, "vendor-0-again.csv", 0, 30)
        seen = lambda: query(database_url, "SELECT count(*) FROM leadup_ticks")[0][0]  # noqa: E731
        after = seen()
        wait_for(lambda: seen() >= after + 3, 20, "three more ticks", logs=group)
    per_email = creations_per_email(sandbox)
    assert sorted(per_email) == sorted(emails(0, 150))
    assert set(per_email.values()) == {1}, "a row was sent twice"
    uploads = query(database_url, "SELECT state, input_path FROM leadup_uploads")
    assert len(uploads) == 5 and {state for state, _ in uploads} == {"finished"}
    for index in range(5):
        lines = results_of(archive / f"vendor-{index}.results.csv")
        assert [line["outcome"] for line in lines] == ["created"] * 30
        assert (archive / f"vendor-{index}.csv").is_file()
    assert list(inbox.iterdir()) == []
    assert (archive / "vendor-0-again.csv").is_file()  # set aside, never sent


def test_workers_sharing_one_credential_respect_its_rate_together(
    database_url: str, tmp_path: Path
):
    config = write_cluster_job_file(tmp_path, EVERY_SECOND, rate=18, concurrency=4)
    inbox = tmp_path / "inbox"
    with (
        sandbox_in_thread(SandboxConfig(rate_limit_per_s=20)) as sandbox,
        workers(tmp_path, cluster_env(database_url, sandbox), config, count=3) as group,
    ):
        for index in range(3):
            drop(inbox, f"part-{index}.csv", index * 40, 40)
        wait_for(lambda: uploads_ended(database_url, 3), 60, "three uploads", logs=group)
    requests = sorted(r.at for r in sandbox.state.requests if r.path.endswith("/leads"))
    assert len(requests) >= 120
    busiest = max(
        sum(1 for t in requests[i:] if t - start < 1.0) for i, start in enumerate(requests)
    )
    assert busiest <= 20, f"{busiest} requests in one second"
    assert sandbox.state.count(429) <= 2, "a 429 storm"
    assert set(creations_per_email(sandbox).values()) == {1}
    spans = query(
        database_url, "SELECT started_at, finished_at FROM leadup_uploads ORDER BY started_at"
    )
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, "two uploads with one credential ran at once"
