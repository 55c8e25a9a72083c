"""The upload options a job table may set, read into the engine's own policies.

A job runs unattended, so it takes the options of `leadup upload` that decide what is sent and
how (ping-post, required fields, duplicates, country, retries, timeouts, how files are read),
each checked against the limit its command-line option is checked against. `TableReader` is
the typed access every job key goes through, so each mistake names its key.
"""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uploader.errors import ConfigError
from uploader.read.delimited import delimiter_from
from uploader.settings import (
    RATE_LIMIT,
    SECONDS_LIMIT,
    TIMEOUT_LIMIT,
    Limit,
    PingPolicy,
    PrepareOptions,
    ReadOptions,
    RetryPolicy,
)

# What `leadup upload` accepts for the options that have no shared limit in uploader.settings
# (click.IntRange(min=1) for --max-attempts, --max-unknown and --header-row, FloatRange(min=0)
# for --min-price), written as limits so that a job file also refuses inf and nan.
AT_LEAST_ONE = Limit(1, integer=True)
PRICE_LIMIT = Limit(0)
SHEET_INDEX = Limit(0, integer=True)  # --sheet 0 is the first sheet

# The keys this module reads; `jobs.config` adds the job's own (inbox, schedule, ...).
# fmt: off
UPLOAD_KEYS = frozenset({
    "test", "country", "require", "keep_duplicates", "countries", "allow_no_contact",
    "ping", "min_price", "ping_fields", "ping_rate",
    "max_attempts", "max_unknown", "max_throttled", "max_retry_after", "timeout",
    "sheet", "encoding", "delimiter", "header_row",
})
# fmt: on
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_FIELD = re.compile(r"^[^\s,]+$")
_DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class UploadOptions:
    """What a job's uploads are asked to do besides the API's address and pace."""

    read: ReadOptions = field(default_factory=ReadOptions)
    prepare: PrepareOptions = field(default_factory=PrepareOptions)
    ping: PingPolicy | None = None  # ping-post; None posts every lead directly
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_s: float = 30.0  # one request, from the moment it is sent (--timeout)


class TableReader:
    """Typed access to one job table; each error names the file, the job and the key."""

    def __init__(self, table: dict[str, Any], where: str, *, base: Path) -> None:
        self.table, self.where, self.base = table, where, base

    def fail(self, key: str, expected: str) -> ConfigError:
        """The error for a key whose value is not what it should be."""
        return ConfigError(f"{self.where}: {key}: expected {expected}, got {self.table[key]!r}")

    def text(self, key: str) -> str:
        """A string, stripped; "" when absent."""
        value = self.table.get(key, "")
        if not isinstance(value, str):
            raise self.fail(key, "a string")
        return value.strip()

    def required_path(self, key: str) -> Path:
        """A path that must be there."""
        found = self.path(key)
        if found is None:
            raise ConfigError(f"{self.where}: missing required key {key}")
        return found

    def path(self, key: str) -> Path | None:
        """A path, relative to the job file's folder; None when absent."""
        if key not in self.table:
            return None
        value = self.text(key)
        if not value:
            raise self.fail(key, "a folder or file path")
        return (self.base / Path(value).expanduser()).absolute()

    def number(self, key: str, default: float, limit: Limit) -> float:
        """A number within `limit`: the one the command line's option is checked against."""
        value = self.table.get(key, default)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(key, "a finite number")  # TOML can write inf and nan
        if not limit.allows(value):
            raise self.fail(key, limit.describe())
        return float(value)

    def whole(self, key: str, default: int, limit: Limit) -> int:
        """A whole number within `limit`."""
        return int(self.number(key, default, limit))

    def flag(self, key: str) -> bool:
        """true or false; false when absent."""
        value = self.table.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value

    def words(self, key: str, what: str) -> tuple[str, ...]:
        """A list of names, or one string of names separated by commas or spaces."""
        value = self.table.get(key, ())
        items = re.split(r"[,\s]+", value.strip()) if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise self.fail(key, f"a list of {what}")
        names = [item.strip() if isinstance(item, str) else item for item in items]
        if not all(isinstance(n, str) and _FIELD.match(n) for n in names):
            raise self.fail(key, f"a list of {what}, each without spaces or commas")
        return tuple(dict.fromkeys(names))


def read_upload_options(get: TableReader) -> UploadOptions:
    """The upload options of one job table (absent keys keep `leadup upload`'s defaults)."""
    return UploadOptions(
        read=_read_options(get),
        prepare=_prepare_options(get),
        ping=_ping_policy(get),
        retry=RetryPolicy(
            max_attempts=get.whole("max_attempts", _DEFAULT_RETRY.max_attempts, AT_LEAST_ONE),
            max_unknown=get.whole("max_unknown", _DEFAULT_RETRY.max_unknown, AT_LEAST_ONE),
            rate_limited_max_s=get.number(
                "max_throttled", _DEFAULT_RETRY.rate_limited_max_s, SECONDS_LIMIT
            ),
            retry_after_max_s=get.number(
                "max_retry_after", _DEFAULT_RETRY.retry_after_max_s, SECONDS_LIMIT
            ),
        ),
        timeout_s=get.number("timeout", 30.0, TIMEOUT_LIMIT),
    )


def _prepare_options(get: TableReader) -> PrepareOptions:
    country = get.text("country") or "US"
    if not _COUNTRY.match(country):
        raise get.fail("country", 'a two-letter country code, like "US" or "CA"')
    return PrepareOptions(
        country=country.upper(),
        require=get.words("require", "field names"),
        keep_duplicates=get.flag("keep_duplicates"),
        countries=_countries(get),
        allow_no_contact=get.flag("allow_no_contact"),
        is_test=get.flag("test"),
    )


def _countries(get: TableReader) -> tuple[str, ...]:
    """`countries`, as `--countries` takes them: two-letter codes."""
    codes = get.words("countries", "country codes")
    if not all(_COUNTRY.match(code) for code in codes):
        raise get.fail("countries", 'two-letter country codes, like ["US", "CA"]')
    return tuple(code.upper() for code in codes)


def _ping_policy(get: TableReader) -> PingPolicy | None:
    """Ping-post when `ping = true` or a `min_price` is set (as --min-price implies --ping)."""
    table = get.table
    priced = "min_price" in table
    if "ping" in table and not get.flag("ping") and priced:
        raise ConfigError(
            f"{get.where}: min_price: a floor needs ping-post; remove ping = false or min_price"
        )
    if not (get.flag("ping") or priced):
        for key in ("ping_fields", "ping_rate"):
            if key in table:
                raise ConfigError(f"{get.where}: {key}: only used with ping = true or min_price")
        return None
    fields = get.words("ping_fields", "field names") if "ping_fields" in table else None
    if fields == ():
        raise get.fail("ping_fields", 'at least one field, like ["zip", "state"]')
    rate = get.number("ping_rate", 1.0, RATE_LIMIT) if "ping_rate" in table else None
    return PingPolicy(
        fields=fields or PingPolicy().fields,
        min_price=get.number("min_price", 0.0, PRICE_LIMIT),
        post=True,
        rate_per_s=rate,
    )


def _read_options(get: TableReader) -> ReadOptions:
    encoding = get.text("encoding") or None
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise get.fail("encoding", 'an encoding name, like "utf-8" or "cp1252"') from None
    delimiter = get.table.get("delimiter")  # not stripped: "\t" and " " are delimiters
    if delimiter is not None:
        if not isinstance(delimiter, str):
            raise get.fail("delimiter", 'one character, or "comma", "semicolon", "tab", "pipe"')
        try:
            delimiter = delimiter_from(delimiter)
        except ValueError as exc:
            raise ConfigError(f"{get.where}: delimiter: {exc}") from None
    header_row = get.whole("header_row", 1, AT_LEAST_ONE) if "header_row" in get.table else None
    return ReadOptions(
        encoding=encoding,
        delimiter=delimiter,
        header_row=header_row,
        sheet=_sheet(get),
    )


def _sheet(get: TableReader) -> str | int | None:
    """A sheet by name (a string) or by 0-based position (a whole number)."""
    if "sheet" not in get.table:
        return None
    value = get.table["sheet"]
    if isinstance(value, str) and value.strip():
        return value.strip()
    if SHEET_INDEX.allows(value):
        return int(value)
    raise get.fail("sheet", 'a sheet name, like "Leads", or its position from 0')
