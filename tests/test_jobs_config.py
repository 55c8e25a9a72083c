"""The job file: defaults, relative paths, and errors that name the key (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from jobs.cli import jobs_group
from jobs.config import DEFAULT_PATTERNS, load_jobs_file
from uploader.errors import ConfigError

ENV = {"TZ": "Europe/Paris"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "leadup-jobs.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_job_gets_documented_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, '[jobs.nightly]\ninbox = "in"\narchive = "done"\n')
    job = load_jobs_file(path, env=ENV).get("nightly")
    assert job.inbox == tmp_path / "in"  # relative to the job file's folder, not the cwd
    assert job.archive == tmp_path / "done"
    assert job.state_dir == tmp_path / ".leadup" / "nightly"
    assert job.pattern == DEFAULT_PATTERNS
    assert (job.key_env, job.secret_env, job.token_env) == (
        "JUICED_API_KEY",
        "JUICED_API_SECRET",
        "JUICED_API_TOKEN",
    )
    assert job.timezone == "Europe/Paris"  # the host's zone (like cron) when not set
    assert not job.timezone_explicit
    assert (job.rate_per_s, job.concurrency, job.settle_s, job.test) == (10.0, 8, 5.0, False)


def test_full_job(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[jobs.vendor-a]
inbox = "/srv/a/in"
archive = "archive"
pattern = "*.csv *.xlsx"
mapping = "maps/a.toml"
api_url = "https://leads.example.com/api"
rate = 2.5
concurrency = 4
partner_id = "partner_x"
test = true
schedule = "*/10  6-22 * * MON-FRI"
timezone = "America/Chicago"
notify = "https://hooks.slack.com/services/T/B/secret"
key_env = "VENDOR_A_KEY"
secret_env = "VENDOR_A_SECRET"
token_env = "VENDOR_A_TOKEN"
settle_s = 0.5
state_dir = "state/a"

[jobs.vendor_b]
inbox = "b/in"
archive = "b/archive"
pattern = ["*.TXT"]
""",
    )
    jobs = load_jobs_file(path, env=ENV).jobs
    assert list(jobs) == ["vendor-a", "vendor_b"]
    a = jobs["vendor-a"]
    assert a.inbox == Path("/srv/a/in")
    assert a.mapping == tmp_path / "maps/a.toml"
    assert a.pattern == ("*.csv", "*.xlsx")
    assert (a.rate_per_s, a.concurrency, a.test, a.settle_s) == (2.5, 4, True, 0.5)
    assert a.schedule == "*/10 6-22 * * MON-FRI"
    assert (a.timezone, a.timezone_explicit) == ("America/Chicago", True)
    assert a.key_env == "VENDOR_A_KEY"
    assert a.state_dir == tmp_path / "state/a"
    assert "secret" not in repr(a)  # a Slack webhook URL is itself a secret
    assert jobs["vendor_b"].pattern == ("*.TXT",)


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ('inbox = "i"\narchive = "a"\nrates = 3', "rates"),
        ('inbox = "i"\narchive = "a"\napi_key = "x"', "api_key"),
        ('archive = "a"', "missing required key inbox"),
        ('inbox = "i"', "missing required key archive"),
        ('inbox = "i"\narchive = "i"', "archive must be a different folder"),
        ('inbox = 3\narchive = "a"', "inbox: expected a string"),
        ('inbox = "i"\narchive = "a"\nrate = "fast"', "rate: expected a number"),
        ('inbox = "i"\narchive = "a"\nrate = 0', "rate: expected a number greater than 0"),
        ('inbox = "i"\narchive = "a"\nconcurrency = 2.5', "concurrency: expected a whole"),
        # the command line's caps (uploader.settings limits), and TOML's inf and nan refused
        (
            'inbox = "i"\narchive = "a"\nconcurrency = 0',
            "concurrency: expected a whole number from 1 to 256",
        ),
        (
            'inbox = "i"\narchive = "a"\nconcurrency = 257',
            "concurrency: expected a whole number from 1 to 256",
        ),
        ('inbox = "i"\narchive = "a"\nconcurrency = true', "concurrency: expected a whole"),
        ('inbox = "i"\narchive = "a"\nrate = inf', "rate: expected a finite number"),
        ('inbox = "i"\narchive = "a"\nrate = nan', "rate: expected a finite number"),
        ('inbox = "i"\narchive = "a"\nrate = -2', "rate: expected a number greater than 0"),
        ('inbox = "i"\narchive = "a"\nsettle_s = inf', "settle_s: expected a finite number"),
        ('inbox = "i"\narchive = "a"\nsettle_s = nan', "settle_s: expected a finite number"),
        ('inbox = "i"\narchive = "a"\ntest = "yes"', "test: expected true or false"),
        ('inbox = "i"\narchive = "a"\nsettle_s = -1', "settle_s: expected a number of at least"),
        ('inbox = "i"\narchive = "a"\npattern = []', "pattern: expected"),
        ('inbox = "i"\narchive = "a"\npattern = "sub/*.csv"', "pattern: expected"),
        ('inbox = "i"\narchive = "a"\nschedule = "every day"', "schedule:"),
        ('inbox = "i"\narchive = "a"\nschedule = "0 0 L * *"', "schedule:"),
        ('inbox = "i"\narchive = "a"\ntimezone = "Mars/Olympus"', "timezone: unknown"),
        ('inbox = "i"\narchive = "a"\nnotify = "slack"', "notify: must be an http"),
        ('inbox = "i"\narchive = "a"\napi_url = "ftp://x"', "api_url:"),
        ('inbox = "i"\narchive = "a"\napi_url = "http://example.com"', "api_url: refusing"),
        ('inbox = "i"\narchive = "a"\nkey_env = "sk_live_123 456"', "key_env: expected the NAME"),
    ],
)
def test_bad_job_names_the_key(tmp_path: Path, body: str, names: str) -> None:
    path = write(tmp_path, f"[jobs.nightly]\n{body}\n")
    with pytest.raises(ConfigError, match=names) as caught:
        load_jobs_file(path, env=ENV)
    assert str(path) in str(caught.value)
    assert "[jobs.nightly]" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[jobs.nightly\n", "not valid TOML"),
        ("", "no jobs"),
        ('[job.nightly]\ninbox = "i"\n', "unknown top-level key"),
        ("jobs = 3\n", "no jobs"),
        ("[jobs]\nnightly = 3\n", "must be a table"),
        ('[jobs."bad name"]\ninbox = "i"\narchive = "a"\n', "job names use"),
    ],
)
def test_bad_file(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_jobs_file(write(tmp_path, text), env=ENV)


def test_missing_file_and_unknown_job(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="job file not found"):
        load_jobs_file(tmp_path / "nope.toml", env=ENV)
    path = write(tmp_path, '[jobs.a]\ninbox = "i"\narchive = "o"\n')
    with pytest.raises(ConfigError, match=r"no job named 'b' \(jobs: a\)"):
        load_jobs_file(path, env=ENV).get("b")


@pytest.mark.parametrize("command", ["run", "history", "reprocess", "schedule"])
def test_cli_bad_job_file_exits_2_naming_the_key(tmp_path: Path, command: str) -> None:
    path = write(tmp_path, '[jobs.nightly]\ninbox = "i"\narchive = "a"\nconcurency = 4\n')
    result = CliRunner().invoke(jobs_group, [command, "nightly", "--config", str(path)])
    assert result.exit_code == 2
    assert "unknown key concurency (did you mean concurrency?)" in result.output
    assert "Traceback" not in result.output


def test_cli_default_config_is_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(jobs_group, ["list"])
    assert result.exit_code == 2
    assert f"job file not found: {tmp_path / 'leadup-jobs.toml'}" in result.output
    write(tmp_path, '[jobs.a]\ninbox = "i"\narchive = "o"\nschedule = "0 3 * * *"\n')
    result = CliRunner().invoke(jobs_group, ["list"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].split()[:3] == ["a", "0", "3"]
