"""The job file (TOML): `[jobs.NAME]` tables read into frozen, checked JobConfig values.

Every mistake is a ConfigError (exit 2) that names the file, the job and the key, because the
person reading it is often looking at a cron log, not at the file.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobs.options import UPLOAD_KEYS, TableReader, UploadOptions, read_upload_options
from jobs.schedule import ScheduleError, check_expression
from uploader.errors import ConfigError
from uploader.settings import (
    CONCURRENCY_LIMIT,
    RATE_LIMIT,
    SECONDS_LIMIT,
    ApiSettings,
    Credentials,
    RatePolicy,
    UploadSettings,
    api_settings_from_env,
)

DEFAULT_CONFIG_NAME = "leadup-jobs.toml"
DEFAULT_PATTERNS: tuple[str, ...] = ("*.csv", "*.tsv", "*.txt", "*.xlsx", "*.xls")
STATE_FOLDER = ".leadup"

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Every key a job table may hold; anything else is a typo worth refusing.
# fmt: off
KNOWN_KEYS = UPLOAD_KEYS | frozenset({
    "inbox", "pattern", "archive", "mapping", "api_url", "rate", "concurrency", "partner_id",
    "schedule", "timezone", "notify", "key_env", "secret_env", "token_env",
    "settle_s", "state_dir",
})
# fmt: on


@dataclass(frozen=True, slots=True)
class JobConfig:
    """One job: where its files come from and go, how they are sent, when it runs."""

    name: str
    inbox: Path
    archive: Path
    state_dir: Path  # ledger, lock and logs of this job
    pattern: tuple[str, ...] = DEFAULT_PATTERNS
    mapping: Path | None = None
    api_url: str = ""  # "" means JUICED_API_URL from the environment, else leadup's default
    rate_per_s: float = 10.0
    concurrency: int = 8
    partner_id: str = ""  # "" means JUICED_PARTNER_ID from the environment, if set
    schedule: str = ""  # a five-field cron expression; "" means not scheduled
    timezone: str = "UTC"  # an IANA zone name; the schedule is read in this zone
    timezone_explicit: bool = False  # set in the file (not the host's default)
    notify_url: str = ""
    key_env: str = "JUICED_API_KEY"
    secret_env: str = "JUICED_API_SECRET"
    token_env: str = "JUICED_API_TOKEN"
    settle_s: float = 5.0  # a file is complete once unmodified for this long
    notify_timeout_s: float = 5.0
    upload: UploadOptions = field(default_factory=UploadOptions)  # ping-post, retries, reading
    config_path: Path | None = None  # the job file, for the commands a summary prints

    @property
    def tz(self) -> ZoneInfo:
        """The zone the schedule is read in."""
        return ZoneInfo(self.timezone)

    @property
    def test(self) -> bool:
        """Whether the job sends is_test: true."""
        return self.upload.prepare.is_test

    def __repr__(self) -> str:
        # The webhook URL may carry a token (Slack's do): keep it out of reprs and logs.
        return (
            f"JobConfig(name={self.name!r}, inbox={str(self.inbox)!r}, schedule={self.schedule!r})"
        )


@dataclass(frozen=True, slots=True)
class JobsFile:
    """A parsed job file: its absolute path and its jobs in file order."""

    path: Path
    jobs: dict[str, JobConfig]
    # The `[cluster]` table, read by uploader/cluster (leadup worker) and ignored here.
    cluster: Mapping[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> JobConfig:
        """The job called `name`, or a ConfigError listing the ones that exist."""
        try:
            return self.jobs[name]
        except KeyError:
            known = ", ".join(self.jobs) or "none"
            raise ConfigError(f"{self.path}: no job named {name!r} (jobs: {known})") from None


def load_jobs_file(path: Path, *, env: Mapping[str, str] | None = None) -> JobsFile:
    """Read and check a job file; relative paths in it resolve against its folder."""
    path = Path(path).expanduser().absolute()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"job file not found: {path} (pass --config PATH)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read job file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_jobs(data, path, env=os.environ if env is None else env)


def parse_jobs(data: Mapping[str, Any], path: Path, *, env: Mapping[str, str]) -> JobsFile:
    """Turn the TOML document of `path` into checked JobConfig values."""
    extra = sorted(set(data) - {"jobs", "cluster"})
    if extra:
        raise ConfigError(f"{path}: unknown top-level key(s) {', '.join(extra)}: use [jobs.NAME]")
    tables = data.get("jobs")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: no jobs: add a [jobs.NAME] table")
    jobs = {}
    for name, table in tables.items():
        if not _NAME.match(name):
            raise ConfigError(
                f"{path}: [jobs.{name}]: job names use letters, digits, '_', '.', '-'"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: jobs.{name} must be a table ([jobs.{name}])")
        jobs[name] = _parse_job(name, table, path, env)
    cluster = data.get("cluster", {})
    if not isinstance(cluster, dict):
        raise ConfigError(f"{path}: cluster must be a table ([cluster])")
    return JobsFile(path=path, jobs=jobs, cluster=cluster)


def _parse_job(name: str, table: dict[str, Any], path: Path, env: Mapping[str, str]) -> JobConfig:
    where = f"{path}: [jobs.{name}]"
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{where}: {_unknown_keys(unknown)}")
    get = _Reader(table, where, base=path.parent)
    inbox = get.required_path("inbox")
    archive = get.required_path("archive")
    if inbox == archive:
        raise ConfigError(f"{where}: archive must be a different folder from inbox")
    mapping = get.path("mapping")
    state_dir = get.path("state_dir") or path.parent / STATE_FOLDER / name
    api_url = get.text("api_url")
    if api_url:
        try:
            ApiSettings(credentials=Credentials(), base_url=api_url)
        except ConfigError as exc:
            raise ConfigError(f"{where}: api_url: {exc}") from None
    schedule = get.text("schedule")
    if schedule:
        try:
            schedule = check_expression(schedule)
        except ScheduleError as exc:
            raise ConfigError(f"{where}: schedule: {exc}") from None
    zone = get.text("timezone")
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where}: timezone: unknown time zone {zone!r}") from None
    notify = get.text("notify")
    if notify and not re.match(r"^https?://[^/\s]+", notify):
        raise ConfigError(f"{where}: notify: must be an http(s) webhook URL")
    return JobConfig(
        name=name,
        inbox=inbox,
        archive=archive,
        state_dir=state_dir,
        pattern=get.patterns("pattern"),
        mapping=mapping,
        api_url=api_url,
        rate_per_s=get.number("rate", 10.0, RATE_LIMIT),
        concurrency=int(get.number("concurrency", 8, CONCURRENCY_LIMIT)),
        partner_id=get.text("partner_id"),
        schedule=schedule,
        timezone=zone or local_zone_name(env),
        timezone_explicit=bool(zone),
        notify_url=notify,
        key_env=get.env_name("key_env", "JUICED_API_KEY"),
        secret_env=get.env_name("secret_env", "JUICED_API_SECRET"),
        token_env=get.env_name("token_env", "JUICED_API_TOKEN"),
        settle_s=get.number("settle_s", 5.0, SECONDS_LIMIT),
        upload=read_upload_options(get),
        config_path=path,
    )


def _unknown_keys(keys: list[str]) -> str:
    """The words for keys no job takes, each with the known key it is closest to, if any."""
    described = []
    for key in keys:
        close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1)
        described.append(f"{key} (did you mean {close[0]}?)" if close else key)
    return f"unknown key{'s' if len(keys) > 1 else ''} {', '.join(described)}"


class _Reader(TableReader):
    """TableReader with the job's own kinds of value: file-name globs, variable names."""

    def patterns(self, key: str) -> tuple[str, ...]:
        value = self.table.get(key)
        if value is None:
            return DEFAULT_PATTERNS
        items = value.split() if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not items:
            raise self.fail(key, 'a glob like "*.csv" or a list of globs')
        if not all(isinstance(p, str) and p.strip() and "/" not in p for p in items):
            raise self.fail(key, "file-name globs without '/'")
        return tuple(p.strip() for p in items)

    def env_name(self, key: str, default: str) -> str:
        value = self.text(key) or default
        if not _ENV_NAME.match(value):
            raise self.fail(key, "the NAME of an environment variable (not its value)")
        return value


def local_zone_name(env: Mapping[str, str]) -> str:
    """The host's IANA zone (what cron uses): $TZ, else /etc/localtime, else UTC."""
    candidates = [env.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        target = os.readlink("/etc/localtime")
        candidates.append(target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "")
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        if name and not name.startswith("/"):
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return name
    return "UTC"


def build_settings(job: JobConfig, env: Mapping[str, str]) -> UploadSettings:
    """The upload settings of a job (pace, retries, timeout, ping-post from the job file);
    the API's come from the environment at run time, read the way the command line reads
    them (`api_settings_from_env`), the job file's values first."""
    try:
        api = api_settings_from_env(
            env,
            base_url=job.api_url,
            partner_id=job.partner_id,
            key_env=job.key_env,
            secret_env=job.secret_env,
            token_env=job.token_env,
            timeout_s=job.upload.timeout_s,
        )
    except ConfigError as exc:
        raise ConfigError(f"job {job.name}: {exc}") from None
    return UploadSettings(
        api=api,
        concurrency=job.concurrency,
        rate=RatePolicy(rate_per_s=job.rate_per_s),
        retry=job.upload.retry,
        ping=job.upload.ping,
    )


def check_folders(job: JobConfig) -> None:
    """The inbox and mapping must exist when the job runs; the archive is created."""
    where = f"[jobs.{job.name}]"
    if not job.inbox.is_dir():
        raise ConfigError(f"{where} inbox: no such folder: {job.inbox}")
    if job.mapping is not None and not job.mapping.is_file():
        raise ConfigError(f"{where} mapping: no such file: {job.mapping}")
    try:
        job.archive.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{where} archive: cannot create {job.archive}: {exc.strerror}") from None
