"""The pages before a run: home (drop a file, recent runs), check (mapping, preview,
options), the held-back rows, and the mapping file download."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp_jinja2
from aiohttp import BodyPartReader, web

from uploader.errors import LeadupError
from uploader.journal.results import read_results
from uploader.text import inert
from uploader.web.checking import (
    Check,
    UploadOptions,
    detected_line,
    mapping_download,
    problems,
    run_check,
    select_options,
)
from uploader.web.runs import QUOTE_SLOT, UPLOAD_SLOT
from uploader.web.state import STATE, WebState
from uploader.web.workspace import Upload

HELD_ROWS_SHOWN = 1000
COLUMN_FIELD = "col:"  # form fields `col:<column ref>` carry each column's select


def page(
    request: web.Request, template: str, http_status: int = 200, **context: Any
) -> web.Response:
    state = request.app[STATE]
    context.setdefault("destination", state.destination())
    context.setdefault("jobs", state.config.jobs_file is not None)
    return aiohttp_jinja2.render_template(template, request, context, status=http_status)


async def home(request: web.Request) -> web.Response:
    state = request.app[STATE]
    recent = [_recent(state, upload) for upload in state.workspace.uploads()]
    return page(request, "home.html", recent=recent, max_mb=f"{state.config.max_upload_mb:g}")


def _recent(state: WebState, upload: Upload) -> dict[str, Any]:
    meta = upload.meta
    record = meta.get(UPLOAD_SLOT) or meta.get(QUOTE_SLOT) or {}
    slot = UPLOAD_SLOT if meta.get(UPLOAD_SLOT) else QUOTE_SLOT
    summary = record.get("summary") or {}
    live = state.runs.live(upload, slot)
    if live is not None:  # a run going: its latest counts
        summary = {"counts": live.snapshot["counts"], "rows": live.snapshot["total"]}
    counts = summary.get("counts") or {}
    rows = summary.get("rows")
    created = counts.get("created", 0)
    return {
        "id": upload.id,
        "name": upload.name,
        "uploaded": meta.get("uploaded", ""),
        "started": record.get("started", ""),
        "rows": rows,
        "created": created if rows is not None else None,
        "not_created": (rows - created) if rows is not None else None,
        "price": summary.get("total_price"),
        "state": state.runs.state(upload, slot) if record else "checked",
        "link": f"/u/{upload.id}/{'run' if slot == UPLOAD_SLOT else 'quote'}"
        if record
        else f"/u/{upload.id}/check",
    }


async def receive_file(request: web.Request) -> web.StreamResponse:
    """A dropped file: stored in the workspace, then its check page."""
    state = request.app[STATE]
    limit = state.config.max_upload_bytes
    if (request.content_length or 0) > limit + 64 * 1024:
        await _drain(request)
        return _too_large(request, state)
    try:
        reader = await request.multipart()
        part = await reader.next()
        while part is not None and not (
            isinstance(part, BodyPartReader) and part.name == "file" and part.filename
        ):
            part = await reader.next()
    except (ValueError, AssertionError):
        part = None
    if not isinstance(part, BodyPartReader) or not part.filename:
        return page(request, "error.html", http_status=400, message="Choose a lead file to upload.")
    try:
        upload = await state.workspace.receive(part.filename, _chunks(part), limit)
    except LeadupError as exc:
        await _drain(request)
        return page(request, "error.html", http_status=400, message=inert(exc))
    if upload is None:
        return _too_large(request, state)
    raise web.HTTPSeeOther(f"/u/{upload.id}/check")


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(256 * 1024):
        yield chunk


async def _drain(request: web.Request) -> None:
    """Read what the browser still sends, so that it reads our answer."""
    while await request.content.readany():
        pass


def _too_large(request: web.Request, state: WebState) -> web.Response:
    return page(
        request,
        "error.html",
        http_status=413,
        title="File too large",
        message=f"The file is over the {state.config.max_upload_mb:g} MB limit of this "
        "server. Split it, or start `leadup web` with a larger --max-upload-mb.",
    )


async def check_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    upload = state.upload_of(request)
    meta = upload.meta
    options = UploadOptions.from_json(meta.get("options"))
    check = await checked(request, upload, dict(meta.get("choices") or {}), options)
    return page(request, "check.html", **_check_context(upload, check))


async def recheck(request: web.Request) -> web.Response:
    """The check again for the choices and options of the form, without a page reload."""
    state = request.app[STATE]
    upload = state.upload_of(request)
    form = await request.post()
    try:
        options = UploadOptions.from_form(form)
    except LeadupError as exc:
        return web.json_response({"error": inert(exc)})
    check = await checked(request, upload, chosen_columns(form), options)
    context = _check_context(upload, check)
    results = aiohttp_jinja2.render_string("check_results.html", request, context)
    return web.json_response(
        {
            "error": check.error,
            "would_send": check.would_send,
            "results_html": results,
            "columns": [
                {
                    "ref": c.ref,
                    "target": c.target,
                    "label": dict(select_options(c))[c.target],
                    "evidence": c.evidence,
                }
                for c in check.columns
            ],
        }
    )


def chosen_columns(form: Any) -> dict[str, str]:
    """The selects a person changed (the form's `touched` list): the others show what the
    mapping made of the person's choices, and are not choices themselves."""
    try:
        touched = set(json.loads(str(form.get("touched") or "[]")))
    except ValueError:
        touched = set()
    return {
        ref: str(value)
        for key, value in form.items()
        if key.startswith(COLUMN_FIELD) and (ref := key[len(COLUMN_FIELD) :]) in touched
    }


async def checked(
    request: web.Request, upload: Upload, chosen: dict[str, str], options: UploadOptions
) -> Check:
    """The check of `upload` for these choices, one at a time per upload (each writes the
    mapping and check files); the choices and options are kept for the upload."""
    async with request.app[STATE].check_lock(upload):
        try:
            check = await asyncio.to_thread(run_check, upload, chosen, options)
        except LeadupError as exc:
            return Check(error=inert(exc), options=options)
    upload.update(choices=check.choices, options=options.to_json())
    return check


def _check_context(upload: Upload, check: Check) -> dict[str, Any]:
    preview = check.preview
    shown, rest_rows, rest_reasons = problems(check)
    counts: dict[str, int] = {o.value: n for o, n in preview.counts.items()} if preview else {}
    sample_keys: list[str] = []
    for sample in preview.samples if preview else []:
        sample_keys += [k for k in sample if k not in sample_keys]
    return {
        "upload": upload,
        "touched": json.dumps(sorted(upload.meta.get("choices") or {})),
        "check": check,
        "options": check.options,
        "detected": detected_line(check),
        "note": check.detected.note if check.detected else None,
        "columns": [(c, select_options(c)) for c in check.columns],
        "would_send": check.would_send,
        "invalid": counts.get("invalid", 0),
        "skipped": counts.get("skipped", 0),
        "problems": shown,
        "rest_rows": rest_rows,
        "rest_reasons": rest_reasons,
        "samples": preview.samples if preview else [],
        "sample_keys": sample_keys,
    }


async def held_rows(request: web.Request) -> web.Response:
    """Every row the check holds back (invalid, skipped) with its reason and cells."""
    upload = request.app[STATE].upload_of(request)
    if not upload.check_path.exists():
        raise web.HTTPSeeOther(f"/u/{upload.id}/check")
    columns, lines, total = await asyncio.to_thread(
        results_lines, upload, {"invalid", "skipped"}, HELD_ROWS_SHOWN
    )
    return page(request, "held.html", upload=upload, columns=columns, lines=lines, total=total)


def results_lines(
    upload: Upload, outcomes: set[str], limit: int, path: Any = None
) -> tuple[list[str], list[dict[str, Any]], int]:
    """Lines of a results file whose outcome is in `outcomes` (the first `limit`), and how
    many there are in all."""
    columns, lines = read_results(path or upload.check_path)
    shown: list[dict[str, Any]] = []
    total = 0
    for leading, cells in lines:
        if leading.get("outcome") not in outcomes:
            continue
        total += 1
        if len(shown) < limit:
            shown.append({**leading, "cells": cells})
    return columns, shown, total


async def mapping_file(request: web.Request) -> web.Response:
    upload = request.app[STATE].upload_of(request)
    try:
        text = await asyncio.to_thread(mapping_download, upload)
    except LeadupError as exc:
        return page(request, "error.html", http_status=400, message=inert(exc))
    stem = upload.input_path.stem
    return web.Response(
        text=text,
        content_type="application/toml",
        headers={"Content-Disposition": f'attachment; filename="{_ascii(stem)}.mapping.toml"'},
    )


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
