"""The `[cluster]` table of a job file, and its defaults for `leadup worker` without one.

    [cluster]
    database_env = "LEADUP_DATABASE_URL"  # the NAME of the variable holding the URL
    stall_timeout_s = 30     # a worker silent this long is presumed dead; its uploads move
    heartbeat_s = 5          # how often each worker says it is alive
    concurrency = 4          # jobs one worker runs at once (uploads, ticks)

    [cluster.schedule]       # optional: a job's schedule on the cluster, with seconds
    nightly = "* * * * * */2"   # six fields; the sixth is seconds

Without `[cluster.schedule]` a job's own five-field `schedule` is used, read in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from uploader.cluster.database import DATABASE_ENV
from uploader.errors import ConfigError

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYS = frozenset(
    {"database_env", "stall_timeout_s", "heartbeat_s", "concurrency", "poll_s", "schedule"}
)


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """How the workers of one cluster find their database and each other's health."""

    database_env: str = DATABASE_ENV
    stall_timeout_s: float = 30.0
    heartbeat_s: float = 5.0
    poll_s: float = 2.0  # the most a queued job waits when a notification is missed
    concurrency: int = 4
    schedules: Mapping[str, str] = field(default_factory=dict)


def read_cluster_table(table: Mapping[str, Any], where: str) -> ClusterConfig:
    """Check the `[cluster]` table (ConfigError naming the key), with defaults for the rest."""
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: [cluster] has unknown key(s) {', '.join(unknown)}")
    env = table.get("database_env", DATABASE_ENV)
    if not isinstance(env, str) or not _ENV_NAME.match(env):
        raise ConfigError(
            f"{where}: [cluster] database_env must be the NAME of an environment variable"
            " (the URL itself never goes in a file)"
        )
    numbers: dict[str, float] = {}
    for key, default in (("stall_timeout_s", 30.0), ("heartbeat_s", 5.0), ("poll_s", 2.0)):
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ConfigError(f"{where}: [cluster] {key} must be a number of seconds above 0")
        numbers[key] = float(value)
    if numbers["heartbeat_s"] * 2 > numbers["stall_timeout_s"]:
        raise ConfigError(f"{where}: [cluster] stall_timeout_s must be at least 2 x heartbeat_s")
    concurrency = table.get("concurrency", 4)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"{where}: [cluster] concurrency must be a whole number above 0")
    schedules = table.get("schedule", {})
    if not isinstance(schedules, dict) or not all(
        isinstance(v, str) and len(v.split()) in (5, 6) for v in schedules.values()
    ):
        raise ConfigError(
            f"{where}: [cluster.schedule] maps job names to cron expressions of 5 or 6 fields"
        )
    return ClusterConfig(
        database_env=env,
        stall_timeout_s=numbers["stall_timeout_s"],
        heartbeat_s=numbers["heartbeat_s"],
        poll_s=numbers["poll_s"],
        concurrency=concurrency,
        schedules=dict(schedules),
    )
