"""A worker killed, a worker paused, PostgreSQL restarted: another worker finishes the upload,
nothing is sent twice, at most 2 x concurrency rows end unknown (DECISIONS: Outages)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.cluster.workers import (
    cluster_env,
    creations_per_email,
    done_rows,
    outcomes,
    pid_of,
    query,
    submit,
    upload_row,
    wait_for,
    workers,
    write_cluster_job_file,
)
from tests.support.jobs import write_leads
from tests.support.leads import results_of
from uploader.cluster.control import cluster_status
from uploader.sandbox import SandboxConfig
from uploader.sandbox.runner import sandbox_in_thread

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
CONCURRENCY = 8


def holder(url: str, upload_id: int) -> str:
    return str(upload_row(url, upload_id)["worker"])


def test_a_killed_worker_s_upload_is_finished_by_another(database_url: str, tmp_path: Path):
    lead_file = write_leads(tmp_path / "shared" / "big.csv", 0, 3000)
    with (
        sandbox_in_thread(SandboxConfig()) as sandbox,
        workers(tmp_path, cluster_env(database_url, sandbox), count=2) as group,
    ):
        upload_id = submit(database_url, lead_file, sandbox, rate=600, concurrency=CONCURRENCY)
        wait_for(lambda: done_rows(database_url, upload_id) >= 600, 40, "600 rows", logs=group)
        live = cluster_status(database_url)  # what `leadup cluster status` shows, mid-run
        victim = holder(database_url, upload_id)
        os.kill(pid_of(victim), signal.SIGKILL)
        killed_at = time.monotonic()
        ended = lambda: upload_row(database_url, upload_id)["finished_at"]  # noqa: E731
        wait_for(ended, 60, "the upload to finish elsewhere", logs=group)
        took = time.monotonic() - killed_at
    (running,) = live.uploads
    assert (running.state, running.worker) == ("running", victim)
    assert 600 <= running.total - running.counts.get("pending", 0) < 3000
    assert running.total == 3000 and len(live.workers) == 2 and live.jobs == {"doing": 1}
    (job,) = live.running
    assert job.startswith(f"leadup.upload upload {upload_id} on worker ")
    row = upload_row(database_url, upload_id)
    assert row["state"] == "finished" and row["attempt"] == 2
    assert row["worker"] != victim
    counts = outcomes(database_url, upload_id)
    assert set(counts) <= {"created", "unknown"}
    assert sum(counts.values()) == 3000
    assert counts["unknown"] <= 2 * CONCURRENCY
    per_email = creations_per_email(sandbox)
    assert max(per_email.values()) == 1, "an email was created twice"
    assert counts["created"] <= len(per_email) <= counts["created"] + counts["unknown"]
    lines = results_of(tmp_path / "shared" / "big.results.csv")
    assert len(lines) == 3000
    assert sum(line["outcome"] == "created" for line in lines) == counts["created"]
    print(f"taken over and finished {took:.1f} s after the kill; {counts['unknown']} unknown")


def test_a_worker_asked_to_stop_hands_its_upload_over(database_url: str, tmp_path: Path):
    lead_file = write_leads(tmp_path / "shared" / "handover.csv", 0, 1000)
    with (
        sandbox_in_thread(SandboxConfig()) as sandbox,
        workers(tmp_path, cluster_env(database_url, sandbox), count=2) as group,
    ):
        upload_id = submit(database_url, lead_file, sandbox, rate=300, concurrency=CONCURRENCY)
        wait_for(lambda: done_rows(database_url, upload_id) >= 300, 40, "300 rows", logs=group)
        leaving = holder(database_url, upload_id)
        process = next(p for p in group.processes if p.pid == pid_of(leaving))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, group.logs()[-3000:]
        ended = lambda: upload_row(database_url, upload_id)["finished_at"]  # noqa: E731
        wait_for(ended, 60, "the upload to finish elsewhere", logs=group)
    row = upload_row(database_url, upload_id)
    assert row["state"] == "finished" and row["attempt"] == 2 and row["worker"] != leaving
    assert outcomes(database_url, upload_id) == {"created": 1000}  # stopped well: no unknown
    assert set(creations_per_email(sandbox).values()) == {1}
    assert len(creations_per_email(sandbox)) == 1000


def test_a_paused_worker_that_wakes_after_a_takeover_writes_nothing(
    database_url: str, tmp_path: Path
):
    lead_file = write_leads(tmp_path / "shared" / "paused.csv", 0, 1000)
    results = tmp_path / "shared" / "paused.results.csv"
    with (
        sandbox_in_thread(SandboxConfig()) as sandbox,
        workers(tmp_path, cluster_env(database_url, sandbox), count=2) as group,
    ):
        upload_id = submit(database_url, lead_file, sandbox, rate=200, concurrency=CONCURRENCY)
        wait_for(lambda: done_rows(database_url, upload_id) >= 300, 40, "300 rows", logs=group)
        paused = holder(database_url, upload_id)
        os.kill(pid_of(paused), signal.SIGSTOP)
        ended = lambda: upload_row(database_url, upload_id)["finished_at"]  # noqa: E731
        wait_for(ended, 60, "the upload to finish elsewhere", logs=group)
        before = query(database_url, "SELECT * FROM leadup_rows ORDER BY row")
        upload_before = upload_row(database_url, upload_id)
        results_before = results.read_bytes()
        leads_before = len(sandbox.state.leads)
        os.kill(pid_of(paused), signal.SIGCONT)
        process = next(p for p in group.processes if p.pid == pid_of(paused))
        exit_code = process.wait(timeout=30)
        after = query(database_url, "SELECT * FROM leadup_rows ORDER BY row")
    assert exit_code == 75, group.logs()[-3000:]
    assert after == before, "the paused worker changed the journal after the takeover"
    assert upload_row(database_url, upload_id) == upload_before
    assert results.read_bytes() == results_before
    assert upload_before["attempt"] == 2 and upload_before["worker"] != paused
    # Only requests already out when it was paused may still arrive; their rows are unknown.
    counts = outcomes(database_url, upload_id)
    assert len(sandbox.state.leads) - leads_before <= counts["unknown"] <= 2 * CONCURRENCY
    assert max(creations_per_email(sandbox).values()) == 1


def test_postgresql_restarted_mid_run_the_run_finishes_without_duplicates(
    database_url: str, tmp_path: Path, postgres_server
):
    lead_file = write_leads(tmp_path / "shared" / "outage.csv", 0, 1000)
    with sandbox_in_thread(SandboxConfig()) as sandbox:
        env = cluster_env(database_url, sandbox)
        # A stall timeout well above the outage: nobody is presumed dead for it.
        config = write_cluster_job_file(tmp_path / "config", {"stall_timeout_s": 10.0})
        with workers(tmp_path, env, config, count=2) as group:
            upload_id = submit(database_url, lead_file, sandbox, rate=200, concurrency=CONCURRENCY)
            wait_for(lambda: done_rows(database_url, upload_id) >= 300, 40, "300 rows", logs=group)
            postgres_server.stop()
            time.sleep(2)
            postgres_server.start()
            ended = lambda: upload_row(database_url, upload_id)["finished_at"]  # noqa: E731
            wait_for(ended, 60, "the upload to finish", logs=group)
            assert all(p.poll() is None for p in group.processes), group.logs()[-3000:]
            logs = group.logs()
    assert "reconnecting" in logs  # the worker sending lost PostgreSQL, and carried on:
    row = upload_row(database_url, upload_id)
    assert row["state"] == "finished" and row["attempt"] == 1
    counts = outcomes(database_url, upload_id)
    assert set(counts) <= {"created", "unknown"} and sum(counts.values()) == 1000
    assert counts["unknown"] <= 2 * CONCURRENCY
    assert max(creations_per_email(sandbox).values()) == 1
