"""`leadup web`: serve the page on this machine and print the link that logs a browser in."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import webbrowser
from pathlib import Path

import click

from uploader.errors import LeadupError
from uploader.settings import api_settings_from_env, is_loopback
from uploader.text import inert
from uploader.web.app import WebServer, serve
from uploader.web.config import DEFAULT_MAX_UPLOAD_MB, DEFAULT_PORT, WebConfig, default_workspace


@click.command("web")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback lets other machines reach the page.",
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="Send to an embedded fake of the API with throwaway credentials (try it all out).",
)
@click.option(
    "--workspace",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for dropped files and their results (default: under the user's data folder).",
)
@click.option(
    "--jobs",
    "jobs_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A job file: the page shows its jobs, and runs or reprocesses them.",
)
@click.option("--no-browser", is_flag=True, help="Print the link only; do not open a browser.")
@click.option(
    "--max-upload-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_MAX_UPLOAD_MB,
    show_default=True,
    help="Largest file the page accepts.",
)
@click.option("--api-url", help="API base URL (env JUICED_API_URL).")
@click.option("--partner-id", help="X-Partner-Id header (env JUICED_PARTNER_ID).")
def web_command(
    port: int,
    host: str,
    sandbox: bool,
    workspace: Path | None,
    jobs_file: Path | None,
    no_browser: bool,
    max_upload_mb: float,
    api_url: str | None,
    partner_id: str | None,
) -> None:
    """A web page to upload lead files: drop a file, fix its columns, watch it go.

    Credentials come from the environment, as for `upload`; the page never sees them.
    """
    try:
        api = None if sandbox else api_settings_from_env(base_url=api_url, partner_id=partner_id)
    except LeadupError as exc:
        click.echo(f"leadup: error: {inert(exc)}", err=True)
        sys.exit(exc.exit_code)
    if not is_loopback(host):
        click.echo(
            f"leadup: warning: listening on {inert(host)}: other machines can reach the page "
            "(they still need the link's one-time token)",
            err=True,
        )
    config = WebConfig(
        api=api,
        sandbox=sandbox,
        host=host,
        port=port,
        workspace=workspace or default_workspace(),
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        jobs_file=jobs_file.resolve() if jobs_file else None,
    )

    def ready(server: WebServer) -> None:
        url = server.login_url()
        where = "the embedded sandbox" if sandbox else inert(server.state.api.base_url)
        click.echo(f"leadup web: leads go to {where}; workspace {inert(config.workspace)}")
        click.echo(f"leadup web: open {url}  (the link works once; Ctrl-C stops the server)")
        if not no_browser:
            _open_browser(url)

    try:
        asyncio.run(serve(config, ready))
    except OSError as exc:
        click.echo(
            f"leadup: error: cannot listen on {inert(host)}:{port}: {exc.strerror}", err=True
        )
        sys.exit(2)


def _open_browser(url: str) -> None:
    """Open the link in the person's browser, on a thread (some browsers' launchers wait);
    not at all without a graphical session, where Python would start a text browser in this
    very terminal."""
    graphical = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not graphical:
        return
    threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
