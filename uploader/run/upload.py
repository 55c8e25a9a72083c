"""The three phases of an upload (load, dispatch, render) for a new run, a resume and a retry."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import asdict, replace
from itertools import islice
from pathlib import Path

import pandas as pd

from uploader.errors import InputError, JournalError, StopRun, UsageError
from uploader.journal import Journal, JournalWriter
from uploader.journal.results import read_results, write_results
from uploader.model import Lead, Outcome
from uploader.prepare.mapping import Mapping, auto_map, load_mapping
from uploader.prepare.normalise import Preparer
from uploader.read import Table, open_table
from uploader.report import QuoteSummary, UploadReport
from uploader.run.lock import OutputLock
from uploader.run.quote import chart_path_for, save_chart, summarise
from uploader.run.request import ProgressSink, UploadRequest, journal_path_for
from uploader.send.pacer import Pacer
from uploader.send.pool import LeadPool, PoolStats
from uploader.send.transport import HttpTransport
from uploader.settings import PingPolicy, PrepareOptions, UploadSettings

_FETCH_BATCH = 500  # pending rows read from the journal at a time
_EDITABLE = frozenset({Outcome.REJECTED, Outcome.INVALID})  # retry re-reads their fixed cells


async def upload(
    request: UploadRequest,
    *,
    on_progress: ProgressSink | None = None,
    stop: asyncio.Event | None = None,
    abort: asyncio.Event | None = None,
) -> UploadReport:
    """Upload one file (or resume its upload) and render its results file.

    `stop` stops taking rows and lets requests that are out finish for a grace period;
    `abort` cancels those at once (they end unknown). Either way the report says so.

    Raises UsageError (exit 2) before anything is sent when the file, mapping or options are
    wrong; otherwise returns a report, also when the run stopped early.
    """
    started = time.monotonic()
    results_path = request.results_path
    refuse_overwriting_input(request.input_path, results_path)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    with OutputLock(results_path):
        table = await asyncio.to_thread(open_table, request.input_path, request.read)
        mapping = (
            load_mapping(request.mapping_path, table.columns)
            if request.mapping_path
            else auto_map(table.columns)
        )
        check_mapping(mapping, table)
        journal = _open_journal(request, table)
        try:
            if journal.loaded:
                _check_same_options(journal, mapping, request.prepare)
                _check_same_ping(journal, request.settings.ping)
                recovered = journal.recover_in_flight(resend=request.settings.retry.retry_unsafe)
                notes.append(f"resumed {journal.path.name}")
                if recovered:
                    fate = "to resend" if request.settings.retry.retry_unsafe else "as unknown"
                    notes.append(
                        f"{recovered} rows were in flight when the last run stopped: {fate}"
                    )
            else:
                await _load_unless_stopped(journal, table, mapping, request.prepare, stop)
                journal.set_meta("ping", _ping_json(request.settings.ping))
                if on_progress is not None:
                    on_progress.notice(_loaded_line(table, journal))
            return await _dispatch_and_render(
                journal, request.settings, results_path, started, notes, on_progress, stop, abort
            )
        finally:
            journal.close()


async def retry(
    results_path: Path,
    settings: UploadSettings,
    *,
    include: Collection[Outcome] = (Outcome.FAILED,),
    on_progress: ProgressSink | None = None,
    stop: asyncio.Event | None = None,
    abort: asyncio.Event | None = None,
) -> UploadReport:
    """Resend the rows of a results file whose outcome is in `include`; never a created one."""
    include = frozenset(include)
    if Outcome.CREATED in include:
        raise UsageError("created rows are never resent")
    started = time.monotonic()
    journal_path = journal_path_for(results_path)
    if not journal_path.exists():
        raise JournalError(
            f"{results_path}: no journal beside it ({journal_path.name}); "
            "leadup retry needs the journal that leadup upload wrote next to the results"
        )
    notes: list[str] = []
    with OutputLock(results_path):
        journal = Journal.open_existing(journal_path)
        try:
            recovered = journal.recover_in_flight(resend=settings.retry.retry_unsafe)
            if recovered:
                notes.append(f"{recovered} rows were in flight when the last run stopped")
            fixed = await asyncio.to_thread(_apply_fixes, journal, results_path, include)
            if fixed:
                notes.append(f"{fixed} rows re-read from the edited results file")
            settings = replace(settings, ping=_ping_of(journal, settings.ping))
            requeued = journal.requeue(include - _EDITABLE)
            notes.append(f"{requeued + fixed} rows to resend")
            return await _dispatch_and_render(
                journal, settings, results_path, started, notes, on_progress, stop, abort
            )
        finally:
            journal.close()


def check_mapping(mapping: Mapping, table: Table) -> None:
    """A file where nothing maps to zip would be a file of invalid rows: say so instead."""
    if "zip" not in mapping.fields.values() and "zip" not in mapping.constants:
        headers = ", ".join(repr(c) for c in table.columns[:12])
        raise InputError(
            f"no column maps to zip (the API requires it); columns are {headers}. "
            "Write a mapping with `leadup mapping FILE > mapping.toml` and pass --mapping",
            path=table.path,
        )


def _open_journal(request: UploadRequest, table: Table) -> Journal:
    """Open the run's journal (Journal.open starts over one that never finished loading)."""
    return Journal.open(
        journal_path_for(request.results_path),
        input_sha256=table.sha256,
        input_name=str(table.path),
        columns=table.columns,
        restart=request.restart,
    )


async def _load_unless_stopped(
    journal: Journal,
    table: Table,
    mapping: Mapping,
    options: PrepareOptions,
    stop: asyncio.Event | None,
) -> None:
    """Run phase 1 on a thread; a stop asked meanwhile ends it at the next chunk."""
    halt = threading.Event()
    watcher = asyncio.ensure_future(stop.wait()) if stop is not None else None
    if watcher is not None:
        watcher.add_done_callback(lambda _: halt.set())
    try:
        await asyncio.to_thread(_load, journal, table, mapping, options, halt)
    finally:
        if watcher is not None:
            watcher.cancel()


def _load(
    journal: Journal,
    table: Table,
    mapping: Mapping,
    options: PrepareOptions,
    halt: threading.Event,
) -> None:
    """Phase 1: every row into the journal, pending or already final. Nothing is sent."""
    # Keys are derived when rows are sent (Journal.pending): the load stays lean.
    preparer = Preparer(mapping, table.columns, options, table.sha256, with_keys=False)
    for chunk in table.chunks():
        if halt.is_set():
            raise StopRun(f"stopped while reading {table.path}; nothing was sent")
        journal.add(preparer.prepare(chunk))
    if _sha256_of(table.path) != table.sha256:
        # Someone (a vendor's slow upload, an editor) rewrote the file while it was read.
        raise InputError("the file changed while it was being read; try again", path=table.path)
    journal.set_meta("mapping", _options_json(mapping))
    journal.set_meta("prepare", _options_json(options))
    journal.mark_loaded()


def _loaded_line(table: Table, journal: Journal) -> str:
    """What was understood, before anything is sent: the person can still Ctrl-C."""
    d = table.detected
    how = ", ".join(
        part
        for part in (
            d.format,
            d.encoding or "",
            f"delimiter {d.delimiter!r}" if d.delimiter else "",
            f"sheet {d.sheet!r}" if d.sheet else "",
            f"header row {d.header_row}",
        )
        if part
    )
    counts = journal.counts()
    to_send = counts.get(Outcome.PENDING, 0)
    held = ", ".join(
        f"{counts[o]} {o.value}" for o in (Outcome.INVALID, Outcome.SKIPPED) if counts.get(o)
    )
    return f"{table.path.name} ({how}): {to_send} rows to send" + (f"; {held}" if held else "")


def _options_json(options: Mapping | PrepareOptions) -> str:
    return json.dumps(asdict(options), sort_keys=True)


def _check_same_options(journal: Journal, mapping: Mapping, options: PrepareOptions) -> None:
    """A resume sends bodies prepared by the first run: refuse options that would differ."""
    for key, now in (("mapping", mapping), ("prepare", options)):
        before = journal.get_meta(key)
        if before is not None and json.loads(before) != json.loads(_options_json(now)):
            what = "column mapping" if key == "mapping" else "--country/--require/--test options"
            raise JournalError(
                f"the {what} differ from the run this journal started with; run the same "
                "command as before to resume, or add --restart to start over"
            )


def _ping_json(ping: PingPolicy | None) -> str:
    return json.dumps(None if ping is None else ping.identity(), sort_keys=True)


def _check_same_ping(journal: Journal, ping: PingPolicy | None) -> None:
    """A resume prices and sells rows as the run it continues did: same floor, same fields."""
    before = json.loads(journal.get_meta("ping") or "null")
    now = json.loads(_ping_json(ping))
    if before != now:

        def say(policy: dict | None) -> str:
            if policy is None:
                return "without --ping"
            if not policy["post"]:
                return "as a quote"
            return f"with --ping --min-price {policy['min_price']:g}"

        raise JournalError(
            f"this journal's run was started {say(before)}, this one is {say(now)}; run the "
            "same command as before to resume, or write the results to another --output"
        )


def _ping_of(journal: Journal, given: PingPolicy | None) -> PingPolicy | None:
    """The ping-post policy a journal's run used (a retry prices rows the same way)."""
    recorded = json.loads(journal.get_meta("ping") or "null")
    if recorded is None:
        return None
    rate = given.rate_per_s if given is not None else None
    return PingPolicy(
        fields=tuple(recorded["fields"]),
        min_price=recorded["min_price"],
        post=recorded["post"],
        rate_per_s=rate,
    )


def _sha256_of(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", path=path) from None


def refuse_overwriting_input(input_path: Path, results_path: Path) -> None:
    """The results file must never replace the lead file it reports on."""
    if input_path.resolve() == results_path.resolve() or (
        results_path.exists() and input_path.exists() and results_path.samefile(input_path)
    ):
        raise UsageError(f"{results_path}: the results file would overwrite the input file")


async def _dispatch_and_render(
    journal: Journal,
    settings: UploadSettings,
    results_path: Path,
    started: float,
    notes: list[str],
    on_progress: ProgressSink | None,
    stop: asyncio.Event | None,
    abort: asyncio.Event | None,
) -> UploadReport:
    """Phase 2 and 3: send what is pending, then render the results file, also on a stop."""
    if on_progress is not None:
        counts = journal.counts()
        on_progress.start(sum(counts.values()), counts)
    stats = PoolStats()
    try:
        if journal.pending_count():
            await _dispatch(journal, settings, stats, on_progress, stop, abort)
    except JournalError as exc:
        # Rows were sent: this is not "bad input, nothing sent" but a run to resume.
        raise StopRun(f"could not record progress in {journal.path}: {exc}") from exc
    finally:
        # Also when cancelled from outside: the results file always reflects the journal.
        await asyncio.to_thread(
            write_results,
            results_path,
            journal.columns,
            journal.results(),
            ping=settings.ping is not None,
        )
    quote = None
    if settings.ping is not None and not settings.ping.post:
        quote = await asyncio.to_thread(_quote_of, journal, settings.ping, results_path)
    return UploadReport(
        input_path=Path(journal.input_name),
        results_path=results_path,
        journal_path=journal.path,
        counts=journal.counts(),
        status_counts=journal.status_counts(),
        total_price=journal.total_price(),
        duration_s=time.monotonic() - started,
        requests=stats.requests,
        retries=stats.retries,
        rate_limited=stats.rate_limited,
        pings=stats.pings,
        quote=quote,
        sent_this_run=stats.finished,
        stopped=stats.stopped,
        notes=notes,
    )


def _quote_of(journal: Journal, ping: PingPolicy, results_path: Path) -> QuoteSummary:
    """The quote's figures from the journal, and its chart beside the results."""
    results = (result for result, _ in journal.results())
    summary = summarise(results, journal.field_values("state"), ping.min_price)
    chart = save_chart(summary, chart_path_for(results_path))
    return replace(summary, chart_path=chart)


async def _dispatch(
    journal: Journal,
    settings: UploadSettings,
    stats: PoolStats,
    on_progress: ProgressSink | None,
    stop: asyncio.Event | None,
    abort: asyncio.Event | None,
) -> None:
    on_result = on_progress.advance if on_progress is not None else None
    on_notice = on_progress.notice if on_progress is not None else None
    async with (
        HttpTransport(settings.api, pool_size=settings.concurrency) as transport,
        JournalWriter(journal) as writer,
    ):
        pool = LeadPool(
            transport,
            Pacer(settings.rate),
            writer,
            settings,
            on_result=on_result,
            on_notice=on_notice,
            stats=stats,
        )
        await pool.run(_pending(journal), stop, abort)


async def _pending(journal: Journal) -> AsyncIterator[Lead]:
    """Stream pending rows from the journal without blocking the event loop."""
    rows = journal.pending(_FETCH_BATCH)
    while batch := await asyncio.to_thread(lambda: list(islice(rows, _FETCH_BATCH))):
        for lead in batch:
            yield lead


def _apply_fixes(journal: Journal, results_path: Path, include: frozenset[Outcome]) -> int:
    """Re-prepare rejected/invalid rows from the (possibly edited) results file."""
    editable = include & _EDITABLE
    if not editable:
        return 0
    columns, lines = read_results(results_path)
    if tuple(columns) != tuple(journal.columns):
        raise JournalError(
            f"{results_path}: its input columns differ from the journal's; "
            "edit cell values only, not the header"
        )
    mapping = _mapping_from_meta(journal)
    options = PrepareOptions(**_json_meta(journal, "prepare"))
    recorded = {r.row: cells for r, cells in journal.results() if r.outcome in editable}
    count = 0
    for leading, cells in lines:
        row = int(leading["row"])
        if row not in recorded:
            continue
        # An edited row is a new request and gets a key of its own; an unedited one keeps its.
        seed = journal.input_sha256
        if list(cells) != list(recorded[row]):
            seed = hashlib.sha256((seed + json.dumps(cells)).encode()).hexdigest()
        preparer = Preparer(mapping, columns, options, seed)
        frame = pd.DataFrame([cells], index=[row], columns=range(len(cells)), dtype=object)
        ((prepared, _),) = list(preparer.prepare(frame))
        if isinstance(prepared, Lead):
            journal.update_row(
                row,
                cells=cells,
                payload=prepared.payload,
                idempotency_key=prepared.idempotency_key,
                result=None,
            )
            count += 1
        else:
            journal.update_row(
                row, cells=cells, payload=None, idempotency_key=None, result=prepared
            )
    return count


def _json_meta(journal: Journal, key: str) -> dict:
    raw = journal.get_meta(key)
    if raw is None:
        raise JournalError(f"{journal.path}: the journal has no {key!r} record")
    value = json.loads(raw)
    if key == "prepare":
        value["require"] = tuple(value.get("require", ()))
    return value


def _mapping_from_meta(journal: Journal) -> Mapping:
    raw = _json_meta(journal, "mapping")
    return Mapping(
        fields={int(k): v for k, v in raw["fields"].items()},
        extras={int(k): v for k, v in raw["extras"].items()},
        constants=dict(raw["constants"]),
        ignored=tuple(raw["ignored"]),
        full_name=raw["full_name"],
    )
