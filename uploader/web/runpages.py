"""The pages of a run: start an upload or a quote, watch it (server-sent events), stop,
resume, retry its failed rows, read and download its results, sell above a quote's floor."""

from __future__ import annotations

import asyncio
import csv
import json
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp_sse import sse_response

from uploader import run
from uploader.errors import LeadupError
from uploader.model import Outcome
from uploader.run.control import RunControl
from uploader.run.quote import chart_path_for, states_path_for
from uploader.text import inert
from uploader.web.checking import UploadOptions
from uploader.web.pages import checked, chosen_columns, page, results_lines
from uploader.web.runs import FINISHED, QUOTE_SLOT, RUNNING, UPLOAD_SLOT
from uploader.web.state import STATE, WebState
from uploader.web.workspace import Upload, tighten

NOT_CREATED_SHOWN = 1000
STATES_SHOWN = 15
OUTCOMES_NOT_CREATED = tuple(o.value for o in Outcome if o is not Outcome.CREATED)


def _request(
    state: WebState, upload: Upload, options: UploadOptions, *, quote: bool = False
) -> run.UploadRequest:
    results = upload.quote_path if quote else upload.results_path
    mapping = upload.mapping_path if upload.mapping_path.exists() else None
    verb = "quote" if quote else "upload"
    return run.UploadRequest(
        input_path=upload.input_path,
        settings=state.settings(options, quote_floor=options.min_price if quote else None),
        output_path=results,
        prepare=options.prepare(),
        mapping_path=mapping,
        # A new quote of a quoted file starts over (the old one is kept); a stopped one resumes.
        restart=quote and state.runs.state(upload, QUOTE_SLOT) == FINISHED,
        program="leadup",
        command=shlex.join(
            [
                "leadup",
                verb,
                str(upload.input_path),
                "-o",
                str(results),
                *cli_flags(options, mapping, quote=quote),
            ]
        ),
    )


def cli_flags(options: UploadOptions, mapping: Path | None, *, quote: bool) -> list[str]:
    """The command-line flags that do what the page's options do (for the commands the
    summary's next steps print)."""
    flags = ["--rate", f"{options.rate_per_s:g}", "--concurrency", str(options.concurrency)]
    if mapping is not None:
        flags += ["--mapping", str(mapping)]
    if options.is_test:
        flags.append("--test")
    for field in options.require:
        flags += ["--require", field]
    if options.keep_duplicates:
        flags.append("--keep-duplicates")
    if quote or options.ping:
        flags += ["--min-price", f"{options.min_price:g}"]
    return flags


async def start(request: web.Request) -> web.StreamResponse:
    """The "Upload N leads" and "Quote first" buttons: the check once more, then the run."""
    state = request.app[STATE]
    upload = state.upload_of(request)
    quote = request.match_info["what"] == "quote"
    form = await request.post()
    try:
        options = UploadOptions.from_form(form)
        check = await checked(request, upload, chosen_columns(form), options)
    except LeadupError as exc:
        return page(request, "error.html", http_status=400, message=inert(exc))
    if check.error:
        return page(request, "error.html", http_status=400, message=check.error)
    if quote:
        options = replace(options, ping=False)
    _launch(state, upload, QUOTE_SLOT if quote else UPLOAD_SLOT, options, quote=quote)
    raise web.HTTPSeeOther(f"/u/{upload.id}/{'quote' if quote else 'run'}")


def _launch(
    state: WebState, upload: Upload, slot: str, options: UploadOptions, *, quote: bool = False
) -> None:
    upload_request = _request(state, upload, options, quote=quote)

    async def call(control: RunControl) -> run.UploadReport:
        try:
            return await run.upload(upload_request, control)
        finally:
            if quote:
                tighten(chart_path_for(upload.quote_path), states_path_for(upload.quote_path))

    kind = "quote" if quote else ("ping-post upload" if options.ping else "upload")
    try:
        state.runs.start(upload, slot, kind, call, options=options.to_json())
    except LeadupError as exc:
        raise web.HTTPConflict(text=inert(exc)) from None


async def resume(request: web.Request) -> web.StreamResponse:
    """A stopped upload goes on where it stopped, with the options it started with."""
    state = request.app[STATE]
    upload = state.upload_of(request)
    record = upload.meta.get(UPLOAD_SLOT) or {}
    _launch(state, upload, UPLOAD_SLOT, UploadOptions.from_json(record.get("options")))
    raise web.HTTPSeeOther(f"/u/{upload.id}/run")


async def retry(request: web.Request) -> web.StreamResponse:
    """Send the failed rows again (and the unknown ones, when the person said so)."""
    state = request.app[STATE]
    upload = state.upload_of(request)
    form = await request.post()
    include = {Outcome.FAILED}
    if form.get("include_unknown") == "on":
        include.add(Outcome.UNKNOWN)
    record = upload.meta.get(UPLOAD_SLOT) or {}
    options = UploadOptions.from_json(record.get("options"))
    settings = state.settings(options)

    async def call(control: RunControl) -> run.UploadReport:
        return await run.retry(
            upload.results_path,
            settings,
            include=include,
            control=control,
            command=f"leadup retry {shlex.quote(str(upload.results_path))}",
        )

    try:
        state.runs.start(upload, UPLOAD_SLOT, "retry", call, options=options.to_json())
    except LeadupError as exc:
        raise web.HTTPConflict(text=inert(exc)) from None
    raise web.HTTPSeeOther(f"/u/{upload.id}/run")


async def sell(request: web.Request) -> web.StreamResponse:
    """From a quote: the ping-post upload that sells the leads whose best bid clears the floor."""
    state = request.app[STATE]
    upload = state.upload_of(request)
    form = await request.post()
    record = upload.meta.get(QUOTE_SLOT) or {}
    try:
        floor = UploadOptions.from_form({"min_price": form.get("min_price", "")}).min_price
    except LeadupError as exc:
        return page(request, "error.html", http_status=400, message=inert(exc))
    options = replace(UploadOptions.from_json(record.get("options")), ping=True, min_price=floor)
    _launch(state, upload, UPLOAD_SLOT, options)
    raise web.HTTPSeeOther(f"/u/{upload.id}/run")


async def stop(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    upload = state.upload_of(request)
    slot = request.match_info["slot"]
    state.runs.stop(upload, slot)
    raise web.HTTPSeeOther(f"/u/{upload.id}/{slot}")


def _run_context(state: WebState, upload: Upload, slot: str) -> dict[str, Any]:
    record = upload.meta.get(slot) or {}
    live = state.runs.live(upload, slot)
    summary = record.get("summary") or {}
    snapshot = dict(live.snapshot) if live else {}
    counts = snapshot.get("counts") or summary.get("counts") or {}
    return {
        "upload": upload,
        "slot": slot,
        "record": record,
        "status": state.runs.state(upload, slot),
        "summary": summary,
        "snapshot": snapshot,
        "counts": counts,
        "outcomes": [o.value for o in Outcome],
        "total": snapshot.get("total") or summary.get("rows") or 0,
        "done": snapshot.get("done", sum(counts.values()) - counts.get("pending", 0)),
    }


async def run_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    upload = state.upload_of(request)
    context = _run_context(state, upload, UPLOAD_SLOT)
    wanted = request.query.get("outcome", "")
    outcomes = {wanted} if wanted in OUTCOMES_NOT_CREATED else set(OUTCOMES_NOT_CREATED)
    rows: list[dict[str, Any]] = []
    columns: list[str] = []
    total = 0
    if context["status"] != RUNNING and upload.results_path.exists():
        try:
            columns, rows, total = await asyncio.to_thread(
                results_lines, upload, outcomes, NOT_CREATED_SHOWN, upload.results_path
            )
        except LeadupError as exc:
            context["record"] = {**context["record"], "error": inert(exc)}
    return page(
        request,
        "run.html",
        **context,
        rows=rows,
        columns=columns,
        rows_total=total,
        outcome_filter=wanted if wanted in OUTCOMES_NOT_CREATED else "",
        filters=OUTCOMES_NOT_CREATED,
    )


async def quote_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    upload = state.upload_of(request)
    context = _run_context(state, upload, QUOTE_SLOT)
    states: list[list[str]] = []
    header: list[str] = []
    states_path = states_path_for(upload.quote_path)
    if context["status"] != RUNNING and states_path.exists():
        with states_path.open(encoding="utf-8-sig", newline="") as file:
            header, *states = list(csv.reader(file))
    record = context["record"]
    floor = (record.get("options") or {}).get("min_price", 0.0)
    chart = chart_path_for(upload.quote_path)
    return page(
        request,
        "quote.html",
        **context,
        states_header=header,
        states=states[:STATES_SHOWN] + states[-1:] if len(states) > STATES_SHOWN else states,
        states_left_out=max(0, len(states) - STATES_SHOWN - 1),
        chart=chart.exists() and context["status"] != RUNNING,
        floor=floor,
    )


async def events(request: web.Request) -> web.StreamResponse:
    """The run's state as server-sent events: one now, then one per change, until it ends."""
    state = request.app[STATE]
    upload = state.upload_of(request)
    slot = request.match_info["slot"]
    live = state.runs.live(upload, slot)
    secrets = state.api.credentials
    async with sse_response(request) as response:
        if live is None:
            await response.send(json.dumps({"state": state.runs.state(upload, slot)}))
            return response
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1)
        live.listeners.add(queue)
        try:
            snapshot = dict(live.snapshot)
            while True:
                await response.send(secrets.redact(json.dumps(snapshot)))
                if snapshot.get("state") != RUNNING:
                    break
                snapshot = await queue.get()
        finally:
            live.listeners.discard(queue)
    return response


async def download(request: web.Request) -> web.StreamResponse:
    """The results file of the upload or the quote, or the quote's chart."""
    state = request.app[STATE]
    upload = state.upload_of(request)
    what = request.match_info["file"]
    paths = {
        "results.csv": upload.results_path,
        "quote.csv": upload.quote_path,
        "quote.png": chart_path_for(upload.quote_path),
        "quote.states.csv": states_path_for(upload.quote_path),
    }
    path = paths.get(what)
    if path is None or not path.is_file():
        raise web.HTTPNotFound(text="no such file yet")
    headers = {"Cache-Control": "no-store"}
    if what != "quote.png":
        name = path.name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return web.FileResponse(path, headers=headers)
