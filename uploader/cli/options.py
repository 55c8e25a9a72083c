"""The command line's options, shared by its commands, and the settings they build."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from uploader.read.delimited import DELIMITER_NAMES, delimiter_from
from uploader.settings import (
    CONCURRENCY_LIMIT,
    DEFAULT_API_URL,
    MAX_CONCURRENCY,
    PARTNER_ENV,
    RATE_LIMIT,
    SECONDS_LIMIT,
    TIMEOUT_LIMIT,
    URL_ENV,
    Credentials,
    Limit,
    PingPolicy,
    PrepareOptions,
    RatePolicy,
    ReadOptions,
    RetryPolicy,
    UploadSettings,
    api_settings_from_env,
)


class LimitedNumber(click.ParamType):
    """A number within one of the settings' limits (the ones job files are checked against);
    unlike click's ranges it refuses `inf` and `nan`."""

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.name = "integer" if limit.integer else "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = value
        if isinstance(value, str):
            try:
                number = int(value) if self.limit.integer else float(value)
            except ValueError:
                self.fail(f"{value!r} is not {self.limit.describe()}", param, ctx)
        problem = self.limit.problem(number)
        if problem:
            self.fail(problem, param, ctx)
        return number

    def __repr__(self) -> str:
        return f"LimitedNumber({self.limit.describe()})"


_DELIMITER_WORDS = "/".join(name for name in DELIMITER_NAMES if name.isalpha())


def _options(*decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(func: Any) -> Any:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


read_options = _options(
    click.option(
        "--sheet", help="Excel sheet by name or 0-based index (default: first with data)."
    ),
    click.option("--encoding", help="File encoding (default: detected)."),
    click.option(
        "--delimiter",
        help=f"CSV delimiter: one character, or {_DELIMITER_WORDS} (default: detected).",
    ),
    click.option("--header-row", type=click.IntRange(min=1), help="Row number of the header."),
)

prepare_options = _options(
    click.option(
        "--mapping",
        "mapping_path",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        help="Mapping file (TOML) from `leadup mapping FILE`.",
    ),
    click.option(
        "--country",
        default="US",
        show_default=True,
        help="Default country for phones and postal codes (US, CA, ...).",
    ),
    click.option(
        "--require",
        multiple=True,
        metavar="FIELD",
        help="A field the source requires; rows without it are invalid. Repeatable.",
    ),
    click.option(
        "--keep-duplicates",
        is_flag=True,
        help="Send rows that repeat an earlier row's email or phone.",
    ),
    click.option("--test", "is_test", is_flag=True, help="Send is_test: true (test-mode sources)."),
)

network_options = _options(
    click.option("--api-url", help=f"API base URL (env {URL_ENV}; default {DEFAULT_API_URL})."),
    click.option("--partner-id", help=f"X-Partner-Id header (env {PARTNER_ENV})."),
    click.option(
        "--concurrency",
        type=LimitedNumber(CONCURRENCY_LIMIT),
        default=8,
        show_default=True,
        help=f"Requests in flight at once (1 to {MAX_CONCURRENCY}).",
    ),
    click.option(
        "--rate",
        type=LimitedNumber(RATE_LIMIT),
        default=10.0,
        show_default=True,
        help="Requests per second, paced evenly.",
    ),
    click.option(
        "--max-attempts",
        type=click.IntRange(min=1),
        default=5,
        show_default=True,
        help="Attempts per row for failures that are safe to retry.",
    ),
    click.option(
        "--timeout",
        "timeout_s",
        type=LimitedNumber(TIMEOUT_LIMIT),
        default=30.0,
        show_default=True,
        help="Seconds to wait for an answer once sent.",
    ),
    click.option(
        "--max-retry-after",
        "retry_after_max_s",
        type=LimitedNumber(SECONDS_LIMIT),
        default=120.0,
        show_default=True,
        help="Longest Retry-After honoured, in seconds; longer ones are clamped to it.",
    ),
    click.option(
        "--max-throttled",
        "rate_limited_max_s",
        type=LimitedNumber(SECONDS_LIMIT),
        default=600.0,
        show_default=True,
        help="Seconds a row may keep being answered 429 before it ends failed.",
    ),
    click.option(
        "--max-unknown",
        type=click.IntRange(min=1),
        default=20,
        show_default=True,
        help="Stop before more rows than this could end unknown (each needs a manual check).",
    ),
    click.option(
        "--retry-unsafe",
        is_flag=True,
        help="Also resend requests that may have been applied (same Idempotency-Key).",
    ),
    click.option(
        "--sandbox",
        is_flag=True,
        help="Send to an embedded fake of the API with throwaway credentials.",
    ),
    click.option("--quiet", "-q", is_flag=True, help="No progress display."),
)


def run_options(output_help: str) -> Callable[[Any], Any]:
    """--output and --restart, for the commands that keep a journal beside their results."""
    return _options(
        click.option(
            "--output",
            "-o",
            type=click.Path(path_type=Path, dir_okay=False),
            help=output_help,
        ),
        click.option(
            "--restart",
            is_flag=True,
            help="Start this file over (the earlier results are kept under a dated name).",
        ),
        click.option(
            "--resend-created",
            is_flag=True,
            help="With --restart: send again rows that were already created (asked on a terminal).",
        ),
    )


def _ping_fields(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    fields = tuple(dict.fromkeys(f.strip() for f in value.split(",") if f.strip()))
    if not fields:
        raise click.BadParameter("name at least one field, e.g. zip,state")
    return fields


ping_options = _options(
    click.option(
        "--ping-fields",
        default="zip,state",
        show_default=True,
        callback=_ping_fields,
        help="Comma-separated fields each ping sends (zip is always sent).",
    ),
    click.option(
        "--ping-rate",
        type=LimitedNumber(RATE_LIMIT),
        help="Pings per second, paced apart from posts (default: pings share --rate).",
    ),
)


# -- options -> settings ------------------------------------------------------------------


def read_options_from(opts: dict[str, Any]) -> ReadOptions:
    sheet = opts.get("sheet")
    if isinstance(sheet, str) and sheet.isdigit():
        sheet = int(sheet)
    delimiter = opts.get("delimiter")
    if delimiter is not None:
        try:
            delimiter = delimiter_from(delimiter)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--delimiter") from None
    return ReadOptions(
        encoding=opts.get("encoding"),
        delimiter=delimiter,
        header_row=opts.get("header_row"),
        sheet=sheet,
    )


def prepare_options_from(opts: dict[str, Any]) -> PrepareOptions:
    return PrepareOptions(
        country=opts["country"].upper(),
        require=tuple(opts["require"]),
        keep_duplicates=opts["keep_duplicates"],
        is_test=opts["is_test"],
    )


def settings_from(
    opts: dict[str, Any],
    credentials: Credentials | None = None,
    base_url: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> UploadSettings:
    """The settings of the command's options; the API's from `api_settings_from_env`.

    `settings_from(opts)` is the real API: --api-url/--partner-id, else JUICED_API_URL and
    JUICED_PARTNER_ID, and the credentials from the environment. An embedded sandbox passes
    its own credentials and URL.
    """
    api_settings = api_settings_from_env(
        env,
        base_url=base_url or opts.get("api_url"),
        partner_id=opts.get("partner_id"),
        credentials=credentials,
        timeout_s=opts["timeout_s"],
    )
    return UploadSettings(
        api=api_settings,
        ping=opts.get("ping_policy"),
        concurrency=opts["concurrency"],
        rate=RatePolicy(rate_per_s=opts["rate"]),
        retry=RetryPolicy(
            max_attempts=opts["max_attempts"],
            retry_unsafe=opts["retry_unsafe"],
            retry_after_max_s=opts["retry_after_max_s"],
            rate_limited_max_s=opts["rate_limited_max_s"],
            max_unknown=opts.get("max_unknown", 20),
        ),
    )


def ping_policy_from(opts: dict[str, Any], min_price: float, *, post: bool) -> PingPolicy:
    return PingPolicy(
        fields=opts["ping_fields"], min_price=min_price, post=post, rate_per_s=opts["ping_rate"]
    )
