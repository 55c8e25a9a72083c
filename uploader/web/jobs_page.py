"""The jobs page (`leadup web --jobs FILE`): each job's schedule, last and next run, its
history, and "Run now" / "Reprocess", which run the job as `leadup jobs run` /
`leadup jobs reprocess` would, on the server's loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from aiohttp import web

from jobs.config import JobConfig, load_jobs_file
from jobs.ledger import Ledger
from jobs.report import RunSummary, local_time, summary_text
from jobs.reprocess import reprocess_job
from jobs.runner import run_job
from jobs.schedule import next_run
from jobs.state import JobPaths, utc_now
from uploader.errors import LeadupError
from uploader.run.control import RunControl
from uploader.text import inert
from uploader.web.pages import page
from uploader.web.state import STATE, WebState

HISTORY_SHOWN = 5


def _job_view(state: WebState, job: JobConfig) -> dict[str, Any]:
    runs = []
    ledger = Ledger.open_existing(JobPaths(job.state_dir).ledger)
    if ledger is not None:
        try:
            runs = ledger.runs(limit=HISTORY_SHOWN)
        finally:
            ledger.close()
    upcoming = next_run(utc_now(), job.schedule, job.tz).isoformat() if job.schedule else ""
    active = state.job_runs.get(job.name, (None, None))[0]
    return {
        "name": job.name,
        "schedule": job.schedule or "not scheduled",
        "timezone": job.timezone,
        "last": local_time(runs[0].started_at, job.tz) if runs else "never",
        "next": local_time(upcoming, job.tz) if upcoming else "-",
        "running": active is not None and not active.done(),
        "summary": state.job_summaries.get(job.name, ""),
        "history": [
            {
                "kind": r.kind,
                "started": local_time(r.started_at, job.tz),
                "files": ", ".join(r.file_names) or "-",
                "rows": r.rows,
                "created": r.created,
                "not_created": r.not_created,
                "price": f"{r.total_price:.2f}",
                "exit": "-" if r.exit_code is None else str(r.exit_code),
            }
            for r in runs
        ],
    }


async def jobs(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if state.config.jobs_file is None:
        return page(
            request, "error.html", http_status=404, message="Start leadup web with --jobs FILE."
        )
    try:
        jobs_file = await asyncio.to_thread(load_jobs_file, state.config.jobs_file, env=os.environ)
        views = [_job_view(state, job) for job in jobs_file.jobs.values()]
    except LeadupError as exc:
        return page(request, "error.html", http_status=400, message=inert(exc))
    return page(request, "jobs.html", job_views=views)


async def act(request: web.Request) -> web.StreamResponse:
    """Run a job now, or reprocess its failed rows, in the background; back to the list."""
    state = request.app[STATE]
    if state.config.jobs_file is None:
        raise web.HTTPNotFound()
    try:
        job = load_jobs_file(state.config.jobs_file, env=os.environ).get(request.match_info["name"])
    except LeadupError as exc:
        return page(request, "error.html", http_status=400, message=inert(exc))
    task = state.job_runs.get(job.name, (None, None))[0]
    if task is not None and not task.done():
        raise web.HTTPSeeOther("/jobs")
    control = RunControl()
    if request.match_info["action"] == "run":
        coro = run_job(job, env=os.environ, control=control)
    else:
        coro = reprocess_job(job, env=os.environ, control=control)
    task = asyncio.get_running_loop().create_task(coro)

    def remember(done: asyncio.Task[RunSummary]) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            exc = done.exception()
            text = inert(exc) if exc else summary_text(done.result())
            state.job_summaries[job.name] = state.api.credentials.redact(text)

    task.add_done_callback(remember)
    state.job_runs[job.name] = (task, control)
    raise web.HTTPSeeOther("/jobs")


async def stop_jobs(state: WebState) -> None:
    """Stop the job runs this server started, gracefully."""
    tasks = [task for task, _ in state.job_runs.values() if not task.done()]
    for _, control in state.job_runs.values():
        control.stop()
    if tasks:
        await asyncio.wait(tasks, timeout=state.config.grace_s + 10)
