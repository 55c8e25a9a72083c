"""The cluster's commands: `leadup cluster init|status`, `leadup worker`, and the `--cluster`
ways of `leadup upload` and `leadup jobs run`. Plain lines, no rich: logs read them.

The database URL comes from the environment only and is shown only redacted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from uploader.cluster.config import ClusterConfig, read_cluster_table
from uploader.cluster.database import DATABASE_ENV, database_url, redact_url
from uploader.errors import ClusterError, LeadupError
from uploader.run import UploadRequest
from uploader.text import inert

EXIT_STOPPED = 3  # as a local upload that stopped: run the same command again to resume
_OPTIONAL = (
    "the cluster needs the optional extra: pip install 'leadup[cluster]'"
    " (procrastinate and psycopg)"
)


def _fail(exc: LeadupError) -> None:
    click.echo(f"leadup: error: {inert(exc, lines=True)}", err=True)
    sys.exit(exc.exit_code)


def _require_extra() -> None:
    try:
        import procrastinate  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError:
        _fail(ClusterError(_OPTIONAL))


def _config(config_path: Path | None) -> tuple[ClusterConfig, Any]:
    """The `[cluster]` table and the jobs of the job file, if one is given."""
    if config_path is None:
        return ClusterConfig(), None
    from jobs.config import load_jobs_file

    jobs_file = load_jobs_file(config_path)
    return read_cluster_table(jobs_file.cluster, str(jobs_file.path)), jobs_file


def _url(config: ClusterConfig) -> str:
    return database_url(os.environ, config.database_env)


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The job file: its jobs become periodic tasks; its [cluster] table is read.",
)


@click.group("cluster")
def cluster_group() -> None:
    """Several machines sharing one PostgreSQL (LEADUP_DATABASE_URL): set up, look."""


@cluster_group.command("init")
@config_option
def init_command(config_path: Path | None) -> None:
    """Create procrastinate's schema and leadup's tables (running it again is harmless)."""
    _require_extra()
    from uploader.cluster.control import init_cluster

    try:
        config, _ = _config(config_path)
        url = _url(config)
        created = init_cluster(url)
    except LeadupError as exc:
        _fail(exc)
    what = "set up" if created else "already set up"
    click.echo(f"leadup: cluster database {redact_url(url)} {what}")


@cluster_group.command("status")
@config_option
def status_command(config_path: Path | None) -> None:
    """Workers, queued and running jobs, and each upload's progress by outcome."""
    _require_extra()
    from uploader.cluster.control import cluster_status

    try:
        config, _ = _config(config_path)
        status = cluster_status(_url(config))
    except LeadupError as exc:
        _fail(exc)
    click.echo(f"workers: {len(status.workers)}")
    for worker_id, silent_s in status.workers:
        click.echo(f"  worker {worker_id}: last heartbeat {silent_s:.1f} s ago")
    click.echo(f"jobs: {status.jobs.get('doing', 0)} running, {status.jobs.get('todo', 0)} queued")
    for job in status.running:
        click.echo(f"  {inert(job)}")
    click.echo(f"uploads: {len(status.uploads)}")
    for upload in status.uploads:
        click.echo("  " + progress_line(upload))


def progress_line(upload: Any) -> str:
    """One upload in one line: where, who, and its rows by outcome."""
    counts = ", ".join(f"{k} {v}" for k, v in sorted(upload.counts.items())) or "no rows yet"
    done = upload.total - upload.counts.get("pending", 0)
    who = f" on {upload.worker} (attempt {upload.attempt})" if upload.worker else ""
    error = f": {upload.error}" if upload.error else ""
    name = inert(Path(upload.input_path).name)
    return (
        f"upload {upload.upload_id} {name} {upload.state}{who}:"
        f" {done}/{upload.total} rows done ({counts}){inert(error)}"
    )


@click.command("worker")
@config_option
def worker_command(config_path: Path | None) -> None:
    """Run a worker: the job file's scheduled jobs as periodic tasks, and queued uploads.

    SIGINT or SIGTERM: take no new job, stop the running uploads well and queue them again
    for another worker, leave."""
    _require_extra()
    from uploader.cluster.worker import ClusterWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    try:
        config, jobs_file = _config(config_path)
        url = _url(config)
        worker = ClusterWorker(url, config, jobs_file, os.environ)
        click.echo(f"leadup: worker {worker.name} on {redact_url(url)}", err=True)
        asyncio.run(worker.run())
    except LeadupError as exc:
        _fail(exc)


def upload_on_cluster(request: UploadRequest, *, follow: bool = True) -> None:
    """Queue `request` on the cluster; follow its progress until it ends (Ctrl-C stops the
    following, not the upload). Exit code as a local upload's."""
    _require_extra()
    from uploader.cluster.control import submit_upload, upload_state

    try:
        url = _url(ClusterConfig())
        upload_id, how = submit_upload(url, request)
    except LeadupError as exc:
        _fail(exc)
    said = {"queued": "queued as", "resumed": "resuming", "following": "already queued:"}
    click.echo(f"leadup: {said[how]} cluster upload {upload_id}", err=True)
    if not follow:
        return
    shown = ""
    try:
        while True:
            state = upload_state(url, upload_id)
            line = progress_line(state)
            if line != shown:
                click.echo(line, err=True)
                shown = line
            if state.state in ("finished", "stopped", "failed"):
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo(
            f"leadup: stopped following; upload {upload_id} goes on (see `leadup cluster status`)",
            err=True,
        )
        sys.exit(0)
    except LeadupError as exc:
        _fail(exc)
    click.echo(f"leadup: results in {inert(state.results_path)}")
    if state.state != "finished":
        sys.exit(EXIT_STOPPED)
    created = state.counts.get("created", 0)
    sys.exit(0 if created == state.total else 1)


def with_cluster_option(jobs_group: click.Group) -> click.Group:
    """Give `leadup jobs run` a --cluster flag that queues the run on the cluster instead.

    The jobs package sits below the cluster in the layers, so the flag is added from here.
    """
    command = jobs_group.commands["run"]
    if any(p.name == "cluster" for p in command.params):
        return jobs_group
    original: Callable[..., Any] = command.callback  # type: ignore[assignment]

    def run(cluster: bool, **kwargs: Any) -> Any:
        if not cluster:
            return original(**kwargs)
        _require_extra()
        from uploader.cluster.control import submit_tick

        try:
            config, jobs_file = _config(kwargs["config_path"])
            jobs_file.get(kwargs["name"])
            job_id = submit_tick(_url(config), kwargs["name"])
        except LeadupError as exc:
            _fail(exc)
        click.echo(f"leadup: job {kwargs['name']} queued on the cluster (job {job_id})")
        sys.exit(0)

    command.params.append(
        click.Option(
            ["--cluster"], is_flag=True, help=f"Queue the run on the cluster ({DATABASE_ENV})."
        )
    )
    command.callback = run
    return jobs_group
