"""The job file's `[cluster]` table: checked like the rest of the job file, and a URL never
accepted in place of a variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w

from jobs.config import load_jobs_file
from uploader.cluster.config import ClusterConfig, read_cluster_table
from uploader.errors import ConfigError


def test_the_defaults_and_a_table_that_sets_everything():
    assert read_cluster_table({}, "f") == ClusterConfig()
    table = {
        "database_env": "PG_URL",
        "stall_timeout_s": 12,
        "heartbeat_s": 2,
        "poll_s": 1,
        "concurrency": 2,
        "schedule": {"nightly": "* * * * * */5"},
    }
    config = read_cluster_table(table, "f")
    assert (config.database_env, config.stall_timeout_s, config.concurrency) == ("PG_URL", 12, 2)
    assert config.schedules == {"nightly": "* * * * * */5"}


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"database_url": "x"}, "unknown key(s) database_url"),
        ({"database_env": "postgresql://u:p@h/d"}, "NAME of an environment variable"),
        ({"stall_timeout_s": 0}, "stall_timeout_s must be a number of seconds above 0"),
        ({"stall_timeout_s": 5, "heartbeat_s": 4}, "at least 2 x heartbeat_s"),
        ({"concurrency": 0}, "concurrency must be a whole number above 0"),
        ({"schedule": {"nightly": "*/2"}}, "cron expressions of 5 or 6 fields"),
    ],
)
def test_mistakes_are_named(table: dict, words: str):
    with pytest.raises(ConfigError, match="f: ") as caught:
        read_cluster_table(table, "f")
    assert words in str(caught.value)
    assert "p@h" not in str(caught.value)


def test_a_job_file_may_hold_a_cluster_table(tmp_path: Path):
    path = tmp_path / "leadup-jobs.toml"
    jobs = {"nightly": {"inbox": "in", "archive": "out"}}
    path.write_text(tomli_w.dumps({"cluster": {"heartbeat_s": 1}, "jobs": jobs}), "utf-8")
    loaded = load_jobs_file(path, env={"TZ": "UTC"})
    assert loaded.cluster == {"heartbeat_s": 1}
    assert list(loaded.jobs) == ["nightly"]
