"""The command line's options, shared by its commands, and the settings they build."""

from __future__ import annotations

import difflib
import os
import shlex
import stat
from collections.abc import Callable, Mapping, Sequence
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
    country_codes,
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


RAW_ARGS = "leadup.raw_args"  # ctx.meta: the command's arguments as typed (LeadupCommand)
PROGRAM = "leadup.program"  # ctx.meta: how leadup was run, for commands to print (cli())
_CLOSE_MATCHES = 3
_FOLDER_SCAN = 5000  # names looked at for close matches: a huge folder is not read whole
_LEAD_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".toml")


class LeadupCommand(click.Command):
    """A command that keeps its arguments as typed (in ctx.meta) before click parses them,
    so that ExistingFile can see the words a file name with spaces was split into."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[RAW_ARGS] = list(args)
        return super().parse_args(ctx, args)


class LeadupGroup(click.Group):
    """The `leadup` group: its commands are LeadupCommands."""

    command_class = LeadupCommand


class ExistingFile(click.ParamType):
    """A file that exists and can be read twice (hashed, then read): a regular file.

    For a missing one the message names the folder looked in, close matches there, and, when
    the words after it make an existing name with spaces, the command with the name quoted.
    Folders, named pipes, devices and sockets are refused. Exit 2, as any usage error.
    """

    name = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Path):
            value = str(value)
        path = Path(value)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            self.fail(_missing(value, ctx), param, ctx)
        except NotADirectoryError:
            self.fail(f"{value!r} does not exist: part of its path is a file", param, ctx)
        except OSError as exc:
            self.fail(f"cannot open {value!r}: {exc.strerror or exc}", param, ctx)
        if not stat.S_ISREG(mode):
            self.fail(_not_a_file(value, path, mode), param, ctx)
        if not os.access(path, os.R_OK):
            self.fail(f"{value!r} cannot be read (permission denied)", param, ctx)
        return path


def _missing(value: str, ctx: click.Context | None) -> str:
    path = Path(value)
    folder = path.parent
    where = os.path.abspath(folder)
    if not folder.is_dir():
        return f"{value!r} does not exist: there is no folder {where}"
    message = f"{value!r} does not exist in {where}"
    quoted = _quoted_command(value, ctx)
    if quoted:
        return f"{message}. A name with spaces must be quoted: {quoted}"
    close = _close_matches(path.name, folder)
    if close:
        shown = ", ".join(
            repr(str(folder / name)) if folder != Path(".") else repr(name) for name in close
        )
        message += f"; did you mean {shown}?"
    return message


def _quoted_command(value: str, ctx: click.Context | None) -> str:
    """The command again with `value` and the words after it quoted as one existing file name;
    "" when no run of words after it names a file."""
    if ctx is None:
        return ""
    raw: Sequence[str] = ctx.meta.get(RAW_ARGS, ())
    for start, word in enumerate(raw):
        if word != value:
            continue
        for end in range(start + 2, len(raw) + 1):
            if raw[end - 1].startswith("-"):
                break
            name = " ".join(raw[start:end])
            if Path(name).is_file():
                words = [*map(shlex.quote, raw[:start]), _quote(name), *map(shlex.quote, raw[end:])]
                program = ctx.meta.get(PROGRAM) or ctx.find_root().info_name or "leadup"
                return " ".join([program, *ctx.command_path.split()[1:], *words])
    return ""


def _quote(name: str) -> str:
    """A file name quoted for a shell, with double quotes when they are enough (they read as
    people write them), else shlex's single quotes."""
    if not any(c in name for c in '"$`\\!'):
        return f'"{name}"'
    return shlex.quote(name)


def _files_in(folder: Path) -> list[str]:
    """The names of the (first _FOLDER_SCAN) visible files in `folder`, sorted."""
    try:
        with os.scandir(folder) as entries:
            found = [e.name for _, e in zip(range(_FOLDER_SCAN), entries, strict=False)
                     if not e.name.startswith(".") and e.is_file()]  # fmt: skip
    except OSError:
        return []
    return sorted(found)


def _close_matches(name: str, folder: Path) -> list[str]:
    """Files in `folder` whose names start like `name` or are close to it (difflib)."""
    names = _files_in(folder)
    lowered = {n.lower(): n for n in names}
    found = [n for n in names if n.lower().startswith(name.lower())]
    close = difflib.get_close_matches(name.lower(), list(lowered), n=_CLOSE_MATCHES)
    return list(dict.fromkeys(found + [lowered[n] for n in close]))[:_CLOSE_MATCHES]


def _not_a_file(value: str, path: Path, mode: int) -> str:
    if stat.S_ISDIR(mode):
        inside = [n for n in _files_in(path) if n.lower().endswith(_LEAD_SUFFIXES)]
        hint = f" (lead files in it: {', '.join(map(repr, inside[:_CLOSE_MATCHES]))})"
        return f"{value!r} is a folder, not a file: name a file inside it{hint if inside else ''}"
    kinds = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))  # fmt: skip
    kind = next((kind for test, kind in kinds if test(mode)), "a special file")
    # leadup reads the file twice (its hash, then its rows) and checks it did not change.
    return f"{value!r} is {kind}, not a regular file: save the leads to a file and pass that"


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
        type=ExistingFile(),
        help="Mapping file (TOML) from `leadup mapping FILE`.",
    ),
    click.option(
        "--country",
        default="US",
        show_default=True,
        help="Default country for phones and postal codes (US, CA, ...).",
    ),
    click.option(
        "--countries",
        metavar="CC,CC",
        callback=lambda _ctx, _param, value: _countries(value),
        help="Countries the source takes: rows of others are invalid (default: --country).",
    ),
    click.option("--allow-no-contact", is_flag=True, help="Send rows with no email or phone."),
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

_api_options = _options(
    click.option("--api-url", help=f"API base URL (env {URL_ENV}; default {DEFAULT_API_URL})."),
    click.option("--partner-id", help=f"X-Partner-Id header (env {PARTNER_ENV})."),
)
_timeout_option = click.option(
    "--timeout",
    "timeout_s",
    type=LimitedNumber(TIMEOUT_LIMIT),
    default=30.0,
    show_default=True,
    help="Seconds to wait for an answer once sent.",
)
_sandbox_option = click.option(
    "--sandbox",
    is_flag=True,
    help="Send to an embedded fake of the API with throwaway credentials.",
)

network_options = _options(
    _api_options,
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
    _timeout_option,
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
    _sandbox_option,
    click.option("--quiet", "-q", is_flag=True, help="No progress display."),
)

# `leadup check`: where the API is and how long to wait for it; nothing about pacing.
check_options = _options(_api_options, _timeout_option, _sandbox_option)


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
        countries=opts.get("countries") or (),
        allow_no_contact=bool(opts.get("allow_no_contact")),
    )


def _countries(value: str | None) -> tuple[str, ...]:
    try:
        return country_codes(value or "")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--countries") from None


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
