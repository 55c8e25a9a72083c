"""The `leadup` command: parse options, build settings, call the library, map to an exit code.

Exit codes: 0 every row created, or held/quoted as asked (validate: every row would be
sent); 1 finished but some rows not created (validate: some rows invalid or skipped); 2 bad
usage, configuration or input, nothing sent; 3 stopped before finishing (resume by running
the same command again); 4 an internal error (a bug: please report it).

Modules: options (the shared options and the settings they build), running (signals, the
target API, errors to exit codes), check (`leadup check`'s API and output); the commands are
here.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from uploader import __version__, run
from uploader.cli.options import (
    PROGRAM,
    ExistingFile,
    LeadupGroup,
    check_options,
    network_options,
    ping_options,
    ping_policy_from,
    prepare_options,
    prepare_options_from,
    read_options,
    read_options_from,
    run_options,
)
from uploader.cli.running import (
    err_console,
    errors_to_exit_codes,
    execute,
    finish,
    out_console,
    program,
    this_command,
)
from uploader.errors import ResendNeedsConfirmation
from uploader.model import Outcome
from uploader.report import UploadReport
from uploader.run.control import RunControl
from uploader.settings import UploadSettings
from uploader.text import inert


class InertGroup(LeadupGroup):
    """click's own messages repeat what was typed (an extra argument, an option's value, a
    file name): they are shown through `inert`, like every line leadup prints (issue 16)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        with _inert_click_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with _inert_click_errors():
            return super().invoke(ctx)


@contextlib.contextmanager
def _inert_click_errors() -> Iterator[None]:
    try:
        yield
    except click.ClickException as exc:
        message = exc.format_message()
        shown = inert(message, lines=True)
        if shown == message:
            raise  # nothing to escape (and click's own kinds, like help for no arguments, stay)
        if isinstance(exc, click.UsageError):
            raise click.UsageError(shown, exc.ctx) from None
        raise click.ClickException(shown) from None  # exit 1, as click's other kinds


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    cls=InertGroup,
)
@click.version_option(__version__, prog_name="leadup")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Upload CSV and Excel lead lists to the Juiced lead API, one results line per row.

    Credentials come from the environment only: JUICED_API_TOKEN (Bearer), or
    JUICED_API_KEY and JUICED_API_SECRET (Basic).
    """
    ctx.meta[PROGRAM] = program()  # for the commands a message suggests


@cli.command()
@click.argument("file", type=ExistingFile())
@run_options("Results file (default: <input stem>.results.csv beside the input).")
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
    if ping or min_price is not None:
        opts["ping_policy"] = ping_policy_from(opts, min_price or 0.0, post=True)
    _run_file(file, output, restart, opts)


@cli.command()
@click.argument("results", type=ExistingFile())
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

    async def call(settings: UploadSettings, control: RunControl) -> UploadReport:
        return await run.retry(
            results,
            settings,
            include=include,
            control=control,
            program=program(),
            command=this_command(),
        )

    finish(execute(call, opts))


@cli.command()
@click.argument("file", type=ExistingFile())
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
    from uploader.cli.validate import render_preview
    from uploader.run.preview import preview

    with errors_to_exit_codes():
        result = preview(
            file,
            read=read_options_from(opts),
            prepare=prepare_options_from(opts),
            mapping_path=opts["mapping_path"],
            output=output,
            samples=samples,
        )
        render_preview(result, out_console)
    sys.exit(result.exit_code)


@cli.command()
@click.argument("file", type=ExistingFile())
@run_options("Results file (default: <input stem>.quote.csv; the chart goes beside it as .png).")
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
    opts["ping_policy"] = ping_policy_from(opts, min_price, post=False)
    _run_file(file, output, restart, opts)


def _run_file(file: Path, output: Path | None, restart: bool, opts: dict[str, Any]) -> None:
    """Upload FILE, or quote it when the ping policy posts nothing; exit with its code."""
    read, prepare = read_options_from(opts), prepare_options_from(opts)

    async def call(settings: UploadSettings, control: RunControl) -> UploadReport:
        request = run.UploadRequest(
            input_path=file,
            settings=settings,
            output_path=output,
            read=read,
            prepare=prepare,
            mapping_path=opts["mapping_path"],
            restart=restart,
            resend_created=opts["resend_created"],
            program=program(),
            command=this_command(),
        )
        try:
            return await run.upload(request, control)
        except ResendNeedsConfirmation as exc:
            if not (sys.stdin.isatty() and sys.stderr.isatty()):
                raise
            asked = f"{exc} Start over and send them again?"
            if not await asyncio.to_thread(click.confirm, asked, default=False, err=True):
                raise
            return await run.upload(replace(request, resend_created=True), control)

    finish(execute(call, opts))


@cli.command()
@click.argument("file", type=ExistingFile())
@read_options
def mapping(file: Path, **opts: Any) -> None:
    """Print the automatic column mapping of FILE as TOML, a starting point to edit."""
    from uploader.run.preview import mapping_toml

    with errors_to_exit_codes():
        click.echo(mapping_toml(file, read_options_from(opts)), nl=False)


@cli.command()
@check_options
def check(**opts: Any) -> None:
    """Check the credentials with one test ping, which creates no lead: say which API answered
    and whether it accepted them (exit 0), refused them or could not be reached (exit 3)."""
    from uploader.cli.check import render_check, run_check

    with errors_to_exit_codes():
        report = run_check(opts)
    render_check(report, out_console, err_console)
    sys.exit(report.exit_code)


def _register_subcommands() -> None:
    """The sandbox, the jobs group and the web page live in their own packages."""
    from jobs.cli import jobs_group
    from uploader.sandbox.command import sandbox_command
    from uploader.web.command import web_command

    cli.add_command(sandbox_command, name="sandbox")
    cli.add_command(jobs_group, name="jobs")
    cli.add_command(web_command, name="web")


def main() -> None:
    """Console-script entry point."""
    _register_subcommands()
    cli(prog_name="leadup")
