"""The command line's options, shared by its commands, and the settings they build."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from uploader.settings import (
    DEFAULT_API_URL,
    ApiSettings,
    Credentials,
    PingPolicy,
    PrepareOptions,
    RatePolicy,
    ReadOptions,
    RetryPolicy,
    UploadSettings,
)


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
    click.option("--delimiter", help="CSV delimiter, e.g. ';' or 'tab' (default: detected)."),
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
    click.option(
        "--api-url", help=f"API base URL (env JUICED_API_URL; default {DEFAULT_API_URL})."
    ),
    click.option("--partner-id", help="X-Partner-Id header (env JUICED_PARTNER_ID)."),
    click.option(
        "--concurrency",
        type=click.IntRange(min=1, max=256),
        default=8,
        show_default=True,
        help="Requests in flight at once.",
    ),
    click.option(
        "--rate",
        type=click.FloatRange(min=0, min_open=True),
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
        type=click.FloatRange(min=0, min_open=True),
        default=30.0,
        show_default=True,
        help="Seconds to wait for an answer once sent.",
    ),
    click.option(
        "--max-retry-after",
        "retry_after_max_s",
        type=click.FloatRange(min=0),
        default=120.0,
        show_default=True,
        help="Longest Retry-After honoured, in seconds; longer ones are clamped to it.",
    ),
    click.option(
        "--max-throttled",
        "rate_limited_max_s",
        type=click.FloatRange(min=0),
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
            "--restart", is_flag=True, help="Discard this output's journal and start over."
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
        type=click.FloatRange(min=0, min_open=True),
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
        delimiter = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}.get(
            delimiter.lower(), delimiter
        )
        if len(delimiter) != 1:
            raise click.BadParameter(
                "must be one character, or tab/comma/semicolon/pipe", param_hint="--delimiter"
            )
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


def settings_from(opts: dict[str, Any], credentials: Credentials, base_url: str) -> UploadSettings:
    env = os.environ
    api_settings = ApiSettings(
        credentials=credentials,
        base_url=base_url,
        partner_id=opts.get("partner_id") or env.get("JUICED_PARTNER_ID", ""),
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
