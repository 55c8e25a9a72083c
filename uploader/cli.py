"""The `leadup` command: parse options, build settings, call the library, map to an exit code.

Exit codes: 0 every row created (or, for validate, every row would be sent); 1 finished but
some rows not created (validate: some rows invalid or skipped); 2 bad usage, configuration or
input, nothing sent; 3 stopped before finishing (resume by running the same command again);
4 an internal error (a bug: please report it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from uploader import __version__, api
from uploader.errors import LeadupError
from uploader.model import Outcome
from uploader.progress import BarProgress, LineProgress, render_summary
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

EXIT_INTERNAL = 4
# Not a terminal: lines are not wrapped at 80 columns, so logs keep one fact per line.
_err = Console(stderr=True, highlight=False, soft_wrap=not sys.stderr.isatty())
_out = Console(highlight=False, soft_wrap=not sys.stdout.isatty())


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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="leadup")
def cli() -> None:
    """Upload CSV and Excel lead lists to the Juiced lead API, one results line per row.

    Credentials come from the environment only: JUICED_API_TOKEN (Bearer), or
    JUICED_API_KEY and JUICED_API_SECRET (Basic).
    """


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Results file (default: <input stem>.results.csv beside the input).",
)
@click.option("--restart", is_flag=True, help="Discard this output's journal and start over.")
@click.option(
    "--ping",
    is_flag=True,
    help="Ping-post: price each lead with POST /ping first; post it with that ping's id.",
)
@click.option(
    "--min-price",
    type=click.FloatRange(min=0),
    help="With --ping: hold back leads whose best bid is below this price (implies --ping).",
)
@ping_options
@read_options
@prepare_options
@network_options
def upload(
    file: Path,
    output: Path | None,
    restart: bool,
    ping: bool,
    min_price: float | None,
    **opts: Any,
) -> None:
    """Upload FILE (CSV, TSV, XLSX, XLS); running it again resumes where it stopped."""
    read, prepare = _read_options(opts), _prepare_options(opts)
    mapping_path = opts["mapping_path"]
    if ping or min_price is not None:
        opts["ping_policy"] = _ping_policy(opts, min_price or 0.0, post=True)

    async def call(
        settings: UploadSettings,
        sink: api.ProgressSink | None,
        stop: asyncio.Event,
        abort: asyncio.Event,
    ) -> api.UploadReport:
        request = api.UploadRequest(
            input_path=file,
            settings=settings,
            output_path=output,
            read=read,
            prepare=prepare,
            mapping_path=mapping_path,
            restart=restart,
        )
        return await api.upload(request, on_progress=sink, stop=stop, abort=abort)

    _finish(_execute(call, opts))


@cli.command()
@click.argument("results", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--include-unknown",
    is_flag=True,
    help="Also resend rows that may have been created (check first!).",
)
@click.option("--include-rejected", is_flag=True, help="Also resend rejected rows (after fixing).")
@click.option("--include-invalid", is_flag=True, help="Also resend invalid rows (after fixing).")
@click.option("--include-held", is_flag=True, help="Ping-post: price held rows again.")
@network_options
def retry(
    results: Path,
    include_unknown: bool,
    include_rejected: bool,
    include_invalid: bool,
    include_held: bool,
    **opts: Any,
) -> None:
    """Resend the failed rows of a RESULTS file, updating it in place; never a created row.

    A ping-post results file is retried in ping-post mode, with the floor it was run with.
    """
    include = {Outcome.FAILED}
    if include_held:
        include.add(Outcome.HELD)
    if include_unknown:
        include.add(Outcome.UNKNOWN)
    if include_rejected:
        include.add(Outcome.REJECTED)
    if include_invalid:
        include.add(Outcome.INVALID)

    async def call(
        settings: UploadSettings,
        sink: api.ProgressSink | None,
        stop: asyncio.Event,
        abort: asyncio.Event,
    ) -> api.UploadReport:
        return await api.retry(
            results, settings, include=include, on_progress=sink, stop=stop, abort=abort
        )

    _finish(_execute(call, opts))


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Results file with invalid and skipped rows filled in.",
)
@click.option(
    "--samples",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="How many normalised leads to show.",
)
@read_options
@prepare_options
def validate(file: Path, output: Path | None, samples: int, **opts: Any) -> None:
    """Check FILE and preview what would be sent; sends nothing."""
    from uploader.preview import preview, render_preview

    with _errors_to_exit_codes():
        result = preview(
            file,
            read=_read_options(opts),
            prepare=_prepare_options(opts),
            mapping_path=opts["mapping_path"],
            output=output,
            samples=samples,
        )
        render_preview(result, _out)
    sys.exit(result.exit_code)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Results file (default: <input stem>.quote.csv; the chart goes beside it as .png).",
)
@click.option("--restart", is_flag=True, help="Discard this output's journal and start over.")
@click.option(
    "--min-price",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="The floor to report against: how many leads clear it, and for how much.",
)
@ping_options
@read_options
@prepare_options
@network_options
def quote(file: Path, output: Path | None, restart: bool, min_price: float, **opts: Any) -> None:
    """Ping every valid row of FILE and say what the list is worth; posts nothing."""
    read, prepare = _read_options(opts), _prepare_options(opts)
    opts["ping_policy"] = _ping_policy(opts, min_price, post=False)

    async def call(
        settings: UploadSettings,
        sink: api.ProgressSink | None,
        stop: asyncio.Event,
        abort: asyncio.Event,
    ) -> api.UploadReport:
        request = api.UploadRequest(
            input_path=file,
            settings=settings,
            output_path=output,
            read=read,
            prepare=prepare,
            mapping_path=opts["mapping_path"],
            restart=restart,
        )
        return await api.upload(request, on_progress=sink, stop=stop, abort=abort)

    _finish(_execute(call, opts))


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@read_options
def mapping(file: Path, **opts: Any) -> None:
    """Print the automatic column mapping of FILE as TOML, a starting point to edit."""
    from uploader.preview import mapping_toml

    with _errors_to_exit_codes():
        click.echo(mapping_toml(file, _read_options(opts)), nl=False)


def _register_subcommands() -> None:
    """The sandbox and the jobs group live in their own packages."""
    from jobs.cli import jobs_group
    from uploader.sandbox.command import sandbox_command

    cli.add_command(sandbox_command, name="sandbox")
    cli.add_command(jobs_group, name="jobs")


def main() -> None:
    """Console-script entry point."""
    _register_subcommands()
    cli(prog_name="leadup")


# -- helpers ---------------------------------------------------------------------------------

Call = Callable[
    [UploadSettings, "api.ProgressSink | None", asyncio.Event, asyncio.Event],
    Awaitable[api.UploadReport],
]


def _read_options(opts: dict[str, Any]) -> ReadOptions:
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


def _prepare_options(opts: dict[str, Any]) -> PrepareOptions:
    return PrepareOptions(
        country=opts["country"].upper(),
        require=tuple(opts["require"]),
        keep_duplicates=opts["keep_duplicates"],
        is_test=opts["is_test"],
    )


def _settings(opts: dict[str, Any], credentials: Credentials, base_url: str) -> UploadSettings:
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
        ),
    )


def _ping_policy(opts: dict[str, Any], min_price: float, *, post: bool) -> PingPolicy:
    return PingPolicy(
        fields=opts["ping_fields"], min_price=min_price, post=post, rate_per_s=opts["ping_rate"]
    )


@contextlib.asynccontextmanager
async def _target(opts: dict[str, Any]) -> AsyncIterator[UploadSettings]:
    """Settings for the real API from the environment, or for an embedded sandbox."""
    if opts["sandbox"]:
        from uploader.sandbox import Sandbox, SandboxConfig

        async with Sandbox(SandboxConfig()) as sandbox:
            yield _settings(opts, sandbox.credentials, sandbox.url)
        return
    base_url = opts.get("api_url") or os.environ.get("JUICED_API_URL") or DEFAULT_API_URL
    yield _settings(opts, Credentials.from_env(), base_url)


def _execute(call: Call, opts: dict[str, Any]) -> api.UploadReport:
    """Run one upload or retry with signal handling: one Ctrl-C stops well, two stop now."""
    sink: Any = None
    if not opts["quiet"]:
        sink = BarProgress(_err) if sys.stderr.isatty() else LineProgress(sys.stderr)

    async def runner() -> api.UploadReport:
        stop, abort = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()
        main_task = asyncio.current_task()
        presses = 0

        def on_signal() -> None:
            nonlocal presses
            presses += 1
            if presses == 1:
                stop.set()
                _tell(sink, "stopping: finishing requests in flight (Ctrl-C again to quit now)")
            elif presses == 2:
                abort.set()
                _tell(sink, "stopping now: requests still out are recorded unknown")
            elif main_task is not None:
                main_task.cancel()  # a third press: leave whatever is happening

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        try:
            async with _target(opts) as settings:
                return await call(settings, sink, stop, abort)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            if sink is not None:
                sink.close()

    with _errors_to_exit_codes():
        try:
            report = asyncio.run(runner())
        except asyncio.CancelledError:
            _err.print("leadup: stopped at once; run the same command again to resume")
            sys.exit(3)
    # Credentials are never on the command line, so the command itself is safe to show.
    return replace(report, resume_hint=" ".join(shlex.quote(a) for a in ["leadup", *sys.argv[1:]]))


def _tell(sink: api.ProgressSink | None, message: str) -> None:
    if sink is not None:
        sink.notice(message)
    else:
        _err.print(f"leadup: {message}")


def _finish(report: api.UploadReport) -> None:
    render_summary(report, _out)
    sys.exit(report.exit_code)


@contextlib.contextmanager
def _errors_to_exit_codes() -> Any:
    """Our errors become one clear line and their exit code; a bug becomes exit 4."""
    try:
        yield
    except LeadupError as exc:
        _err.print(f"leadup: error: {exc}", markup=False)
        sys.exit(exc.exit_code)
    except click.ClickException:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        if os.environ.get("LEADUP_DEBUG"):
            raise
        _err.print(
            f"leadup: internal error: {type(exc).__name__}: {exc} "
            "(set LEADUP_DEBUG=1 to see the traceback, and please report it)",
            markup=False,
        )
        sys.exit(EXIT_INTERNAL)
