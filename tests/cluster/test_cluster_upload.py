"""`leadup upload --cluster`, `leadup cluster init|status`: a worker sends a file queued from
another process; the URL's password never shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster.workers import cluster_env, creations_per_email, workers
from tests.support.jobs import REPO, emails, write_leads
from tests.support.leads import results_of
from tests.support.postgres import PASSWORD
from uploader.sandbox import SandboxConfig
from uploader.sandbox.runner import sandbox_in_thread

pytestmark = pytest.mark.slow


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
        assert status.returncode == 0, status.stderr
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


def test_without_a_database_url_the_commands_say_what_to_set(tmp_path: Path):
    env = {k: v for k, v in cluster_env("x", _NoSandbox()).items() if k != "LEADUP_DATABASE_URL"}
    status = leadup(env, "cluster", "status")
    assert status.returncode == 2
    assert "LEADUP_DATABASE_URL" in status.stderr


class _NoSandbox:
    def env(self) -> dict[str, str]:
        return {}
