"""The `leadup` command as a person or cron runs it: a real subprocess, exit codes, output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import KEY, SECRET, assert_no_secret, env_for, leadup
from tests.support.leads import lead_rows, write_csv
from uploader.sandbox import Sandbox, SandboxConfig, sandbox_in_thread


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with sandbox_in_thread(SandboxConfig(api_key=KEY, api_secret=SECRET)) as sb:
        yield sb


def test_upload_all_created_exits_0(tmp_path: Path, sandbox: Sandbox) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(12))
    done = leadup("upload", str(path), "--rate", "200", env=env_for(sandbox))
    assert done.returncode == 0, done.stderr
    assert "created" in done.stdout and "leads.results.csv" in done.stdout
    assert "Traceback" not in done.stderr
    assert sandbox.state.created_count == 12
    results = (tmp_path / "leads.results.csv").read_text(encoding="utf-8-sig")
    journal = (tmp_path / ".leadup" / "leads.results.csv.journal").read_bytes().decode("latin-1")
    assert_no_secret(done.stdout, done.stderr, results, journal)
    assert len(results.splitlines()) == 13


def test_some_rows_not_created_exits_1(tmp_path: Path, sandbox: Sandbox) -> None:
    rows = lead_rows(3)
    rows[1][7] = ""  # no zip: invalid, never sent
    path = write_csv(tmp_path / "leads.csv", rows)
    done = leadup("upload", str(path), "--rate", "200", env=env_for(sandbox))
    assert done.returncode == 1, done.stderr
    assert sandbox.state.created_count == 2


def test_refused_credentials_exit_3_without_leaking(tmp_path: Path, sandbox: Sandbox) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(20))
    env = env_for(sandbox, JUICED_API_SECRET=SECRET + "-wrong")
    done = leadup("upload", str(path), "--rate", "200", env=env)
    assert done.returncode == 3, done.stderr
    assert "credentials" in done.stdout + done.stderr
    assert sandbox.state.count(401) <= 8
    results = (tmp_path / "leads.results.csv").read_text(encoding="utf-8-sig")
    assert_no_secret(done.stdout, done.stderr, results)
    assert "run the same command again" in done.stdout


def test_bearer_token_works(tmp_path: Path, sandbox: Sandbox) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(2))
    env = {"JUICED_API_URL": sandbox.url, "JUICED_API_TOKEN": sandbox.config.token}
    done = leadup("upload", str(path), env=env)
    assert done.returncode == 0, done.stderr
    assert sandbox.config.token not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["upload", "{file}"], {}, "no credentials"),
        (["upload", "{file}"], {"JUICED_API_KEY": KEY}, "JUICED_API_SECRET is not set"),
        (
            ["upload", "{file}", "--api-url", "http://example.com/api"],
            {"JUICED_API_TOKEN": SECRET},
            "plain http",
        ),
        (["upload", "{file}", "--api-url", "ftp://x"], {"JUICED_API_TOKEN": SECRET}, "http(s)"),
        (["upload", "{dir}/missing.csv"], {"JUICED_API_TOKEN": SECRET}, "does not exist"),
        (["upload", "{file}", "--rate", "0"], {"JUICED_API_TOKEN": SECRET}, "--rate"),
        (["upload", "{file}", "--concurrency", "0"], {"JUICED_API_TOKEN": SECRET}, "--concurrency"),
        (["retry", "{file}"], {"JUICED_API_TOKEN": SECRET}, "no record of the upload"),
    ],
)
def test_bad_usage_exits_2_with_a_clear_message(tmp_path: Path, args, env, message) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(2))
    argv = [a.format(file=path, dir=tmp_path) for a in args]
    done = leadup(*argv, env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert_no_secret(done.stdout, done.stderr)
    assert not (tmp_path / "leads.results.csv").exists() or args[0] == "retry"


def test_file_that_cannot_be_read_exits_2_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a spreadsheet")
    done = leadup("upload", str(path), env={"JUICED_API_TOKEN": SECRET})
    assert done.returncode == 2
    assert "broken.xlsx" in done.stderr and "Traceback" not in done.stderr


def test_no_zip_column_exits_2_before_sending(tmp_path: Path, sandbox: Sandbox) -> None:
    path = write_csv(tmp_path / "leads.csv", [["a@example.com"]], header=["Email"])
    done = leadup("upload", str(path), env=env_for(sandbox))
    assert done.returncode == 2
    assert "zip" in done.stderr
    assert sandbox.state.request_count == 0


def test_embedded_sandbox_needs_no_credentials(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(5))
    done = leadup("upload", str(path), "--sandbox", "--rate", "100")
    assert done.returncode == 0, done.stderr
    assert "created" in done.stdout


def test_plain_progress_lines_when_not_a_terminal(tmp_path: Path, sandbox: Sandbox) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(5))
    done = leadup("upload", str(path), "--rate", "100", env=env_for(sandbox))
    assert "leadup: 5/5 rows (100%)" in done.stderr


def test_version_and_help() -> None:
    assert leadup("--version").stdout.startswith("leadup, version")
    help_text = leadup("--help").stdout
    for command in ("upload", "validate", "retry", "sandbox", "mapping"):
        assert command in help_text
