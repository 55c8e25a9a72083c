"""Running a command: the target API, signals (one Ctrl-C stops well, two stop now), exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import click
from rich.console import Console

from uploader.cli.options import settings_from
from uploader.cli.progress import BarView, LineView
from uploader.cli.summary import render_summary
from uploader.errors import LeadupError, StopRun
from uploader.report import UploadReport
from uploader.run.control import RunControl
from uploader.run.signals import stop_on_signals
from uploader.settings import UploadSettings
from uploader.text import inert

EXIT_INTERNAL = 4
# Not a terminal: lines are not wrapped at 80 columns, so logs keep one fact per line.
err_console = Console(stderr=True, highlight=False, soft_wrap=not sys.stderr.isatty())
out_console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())

Call = Callable[[UploadSettings, RunControl], Awaitable[UploadReport]]


@contextlib.asynccontextmanager
async def target(opts: dict[str, Any]) -> AsyncIterator[UploadSettings]:
    """Settings for the real API from the environment, or for an embedded sandbox."""
    if opts["sandbox"]:
        from uploader.sandbox import Sandbox, SandboxConfig

        async with Sandbox(SandboxConfig()) as sandbox:
            yield settings_from(opts, sandbox.credentials, sandbox.url)
        return
    yield settings_from(opts)


def execute(call: Call, opts: dict[str, Any]) -> UploadReport:
    """Run one upload or retry with signal handling: one Ctrl-C stops well, two stop now."""
    view: BarView | LineView | None = None
    if not opts["quiet"]:
        view = BarView(err_console) if sys.stderr.isatty() else LineView(sys.stderr)

    async def runner() -> UploadReport:
        control = RunControl([view] if view is not None else [])
        try:
            with stop_on_signals(control, tell=_tell):
                async with target(opts) as settings:
                    return await call(settings, control)
        finally:
            if view is not None:
                view.close()

    with errors_to_exit_codes():
        try:
            report = asyncio.run(runner())
        except asyncio.CancelledError:
            err_console.print("leadup: stopped at once; run the same command again to resume")
            sys.exit(3)
    return replace(report, resume_hint=this_command())


def program() -> str:
    """How the person ran leadup, ready for a shell: `leadup` when that is what PATH finds,
    else the path they typed (`.venv/bin/leadup`), or `python -m uploader`."""
    argv0 = sys.argv[0] if sys.argv else "leadup"
    if argv0.endswith("__main__.py") or argv0 == "-m":
        return f"{shlex.quote(sys.executable)} -m uploader"
    found = shutil.which("leadup")
    if found and os.path.realpath(found) == os.path.realpath(shutil.which(argv0) or argv0):
        return "leadup"
    return shlex.quote(argv0)


def this_command() -> str:
    """This very command, ready to run again (credentials are never on the command line)."""
    return " ".join([program(), *(shlex.quote(a) for a in sys.argv[1:])])


def _tell(message: str) -> None:
    err_console.print(f"leadup: {message}", markup=False)


def finish(report: UploadReport) -> None:
    render_summary(report, out_console)
    sys.exit(report.exit_code)


@contextlib.contextmanager
def errors_to_exit_codes() -> Any:
    """Our errors become one clear line and their exit code; a bug becomes exit 4."""
    try:
        yield
    except LeadupError as exc:
        err_console.print(f"leadup: error: {inert(exc, lines=True)}", markup=False)
        for note in getattr(exc, "__notes__", ()):  # where the results are, what else failed
            err_console.print(f"leadup: {inert(note, lines=True)}", markup=False)
        if isinstance(exc, StopRun):
            err_console.print(
                f"leadup: once that is fixed, run the same command again to resume: "
                f"{inert(this_command())}",
                markup=False,
            )
        sys.exit(exc.exit_code)
    except click.ClickException:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        if os.environ.get("LEADUP_DEBUG"):
            raise
        err_console.print(
            f"leadup: internal error: {type(exc).__name__}: {exc} "
            "(set LEADUP_DEBUG=1 to see the traceback, and please report it)",
            markup=False,
        )
        sys.exit(EXIT_INTERNAL)
