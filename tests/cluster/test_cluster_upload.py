"""`leadup upload --cluster`, `leadup cluster init|status`: a worker sends a file queued from
another process; the URL's password never shows."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster.workers import (
    cluster_env,
    creations_per_email,
    done_rows,
    outcomes,
    upload_row,
    uploads_ended,
    wait_for,
    workers,
    write_cluster_job_file,
)
from tests.support.jobs import REPO, emails, write_leads
from tests.support.leads import results_of
from tests.support.postgres import PASSWORD
from uploader.sandbox import SandboxConfig
from uploader.sandbox.runner import sandbox_in_thread

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def leadup(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uploader", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_upload_on_the_cluster_is_sent_once_and_followed(database_url: str, tmp_path: Path):
    lead_file = write_leads(tmp_path / "shared" / "leads.csv", 0, 40)
    with sandbox_in_thread(SandboxConfig()) as sandbox:
        env = cluster_env(database_url, sandbox)
        init = leadup(env, "cluster", "init")
        assert init.returncode == 0, init.stderr
        assert "already set up" in init.stdout and PASSWORD not in init.stdout
        with workers(tmp_path, env) as group:
            done = leadup(env, "upload", str(lead_file), "--cluster", "--rate", "200")
            assert done.returncode == 0, done.stderr + group.logs()
            status = leadup(env, "cluster", "status")
            again = leadup(env, "upload", str(lead_file), "--cluster", "--rate", "200")
        assert status.returncode == 0, status.stderr
        assert again.returncode == 2, again.stderr
        assert "already uploaded" in again.stderr and "nothing was sent" in again.stderr
    assert "queued as cluster upload" in done.stderr
    assert "40/40 rows done (created 40)" in done.stderr
    assert "upload 1 leads.csv finished" in status.stdout
    results = results_of(tmp_path / "shared" / "leads.results.csv")
    assert [r["outcome"] for r in results] == ["created"] * 40
    assert sorted(creations_per_email(sandbox)) == sorted(emails(0, 40))
    assert set(creations_per_email(sandbox).values()) == {1}
    for text in (done.stdout, done.stderr, status.stdout, group.logs()):
        assert PASSWORD not in text
        assert sandbox.config.api_secret not in text


SLOW_CLUSTER = ("--cluster", "--rate", "25")  # 300 rows: 12 s, time to look from a second shell


def test_status_shows_a_live_upload_and_ctrl_c_stops_only_the_following(
    database_url: str, tmp_path: Path
):
    lead_file = write_leads(tmp_path / "shared" / "slow.csv", 0, 300)
    with sandbox_in_thread(SandboxConfig()) as sandbox:
        env = cluster_env(database_url, sandbox)
        with workers(tmp_path, env) as group:
            follower = subprocess.Popen(
                [sys.executable, "-m", "uploader", "upload", str(lead_file), *SLOW_CLUSTER],
                env=env,
                cwd=REPO,
                stderr=subprocess.PIPE,
                text=True,
            )
            wait_for(lambda: done_rows(database_url, 1) >= 20, 60, "20 rows", logs=group)
            status = leadup(env, "cluster", "status")  # a second shell, mid-run
            follower.send_signal(signal.SIGINT)
            _, followed = follower.communicate(timeout=30)
            assert done_rows(database_url, 1) < 300, "the upload ended before the test looked"
            ended = lambda: upload_row(database_url, 1)["finished_at"]  # noqa: E731
            wait_for(ended, 60, "the upload to go on to its end", logs=group)
    assert "upload 1 slow.csv running on " in status.stdout
    assert "leadup.upload upload 1 on worker" in status.stdout
    assert follower.returncode == 0
    assert "stopped following; upload 1 goes on" in followed
    assert outcomes(database_url, 1) == {"created": 300}
    assert set(creations_per_email(sandbox).values()) == {1}


def test_jobs_run_cluster_queues_one_run_that_a_worker_does(database_url: str, tmp_path: Path):
    config = write_cluster_job_file(tmp_path)  # no schedule: it runs only when asked
    write_leads(tmp_path / "inbox" / "acme.csv", 0, 10)
    with sandbox_in_thread(SandboxConfig()) as sandbox:
        env = cluster_env(database_url, sandbox)
        with workers(tmp_path, env, config) as group:
            queued = leadup(env, "jobs", "run", "nightly", "--cluster", "--config", str(config))
            assert queued.returncode == 0, queued.stderr
            wait_for(lambda: uploads_ended(database_url, 1), 30, "the upload", logs=group)
    assert "job nightly queued on the cluster" in queued.stdout
    assert set(creations_per_email(sandbox).values()) == {1}
    assert len(creations_per_email(sandbox)) == 10
    lines = results_of(tmp_path / "archive" / "acme.results.csv")
    assert [line["outcome"] for line in lines] == ["created"] * 10
    assert not (tmp_path / "inbox" / "acme.csv").exists()


def test_upload_cluster_refuses_what_only_a_local_run_can_do(tmp_path: Path):
    lead_file = write_leads(tmp_path / "leads.csv", 0, 1)
    env = {k: v for k, v in cluster_env("postgresql://h/d", _NoSandbox()).items()}
    done = leadup(env, "upload", str(lead_file), "--cluster", "--sandbox")
    assert done.returncode == 2
    assert "--sandbox: not with --cluster" in done.stderr


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path):
    url = f"postgresql://leadup:{PASSWORD}@127.0.0.1:1/leadup"
    env = cluster_env(url, _NoSandbox())
    status = leadup(env, "cluster", "status")
    assert status.returncode == 2
    assert "cannot reach the cluster database postgresql://leadup:[redacted]@127.0.0.1:1" in (
        status.stderr
    )
    assert PASSWORD not in status.stderr + status.stdout


def test_without_a_database_url_the_commands_say_what_to_set(tmp_path: Path):
    env = {k: v for k, v in cluster_env("x", _NoSandbox()).items() if k != "LEADUP_DATABASE_URL"}
    status = leadup(env, "cluster", "status")
    assert status.returncode == 2
    assert "LEADUP_DATABASE_URL" in status.stderr


class _NoSandbox:
    def env(self) -> dict[str, str]:
        return {}
