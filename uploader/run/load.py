"""Phase 1 of a run: read the file, map and prepare every row into the journal; and the run's
identity (mapping, options, ping settings) that a resume or a retry must share.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from uploader.errors import InputError, JournalError, StopRun
from uploader.events import FileRead
from uploader.journal import Journal, RowJournal
from uploader.journal.results import read_results
from uploader.model import Lead, Outcome, RowResult
from uploader.prepare.mapping import Mapping, auto_map, column_maps, load_mapping
from uploader.prepare.normalise import Preparer
from uploader.read import Table, open_table
from uploader.run.request import UploadRequest, journal_path_for
from uploader.settings import PingPolicy, PrepareOptions

EDITABLE = frozenset({Outcome.REJECTED, Outcome.INVALID})  # retry re-reads their fixed cells


async def read_and_map(
    request: UploadRequest, stopping: asyncio.Event | None = None
) -> tuple[Table, Mapping, FileRead]:
    """Open the file and map its columns; what was detected, as the FileRead event.

    A stop asked while the file is opened (its first pass hashes every byte) ends it at once.
    """
    async with halted_by(stopping) as halt:
        table = await asyncio.to_thread(open_table, request.input_path, request.read, halt=halt)
    mapping = map_columns(table, request.mapping_path)
    return table, mapping, file_read(table, mapping)


def file_read(table: Table, mapping: Mapping) -> FileRead:
    """What was detected in the file and where each column goes, as every face shows it."""
    d = table.detected
    return FileRead(
        path=table.path,
        format=d.format,
        encoding=d.encoding,
        delimiter=d.delimiter,
        sheet=d.sheet,
        header_row=d.header_row,
        columns=column_maps(mapping, table.columns),
        note=d.note,
    )


def map_columns(table: Table, mapping_path: Path | None) -> Mapping:
    """Where each column goes: the mapping file's word, else the automatic mapping (by headers
    and a sample of the values); checked."""
    sample = table.sample()  # columns are judged by their values too (one chunk is read)
    mapping = (
        load_mapping(mapping_path, table.columns, sample)
        if mapping_path
        else auto_map(table.columns, sample)
    )
    check_mapping(mapping, table)
    return mapping


def check_mapping(mapping: Mapping, table: Table) -> None:
    """A file where nothing maps to zip would be a file of invalid rows: say so instead."""
    if "zip" not in {*mapping.fields.values(), *mapping.constants, *mapping.parts}:
        headers = ", ".join(repr(c) for c in table.columns[:12])
        raise InputError(
            f"no column maps to zip (the API requires it); columns are {headers}. "
            "Write a mapping with `leadup mapping FILE > mapping.toml` and pass --mapping",
            path=table.path,
        )


def open_journal(request: UploadRequest, table: Table) -> Journal:
    """Open the run's journal (Journal.open starts over one that never finished loading)."""
    return Journal.open(
        journal_path_for(request.results_path),
        input_sha256=table.sha256,
        input_name=str(table.path),
        columns=table.columns,
        restart=request.restart,
    )


@contextlib.asynccontextmanager
async def halted_by(stopping: asyncio.Event | None) -> AsyncIterator[threading.Event]:
    """A thread's view of the run's stop request: set as soon as `stopping` is."""
    halt = threading.Event()
    if stopping is None:
        yield halt
        return
    if stopping.is_set():
        halt.set()
    watcher = asyncio.ensure_future(stopping.wait())
    watcher.add_done_callback(lambda _: halt.set())
    try:
        yield halt
    finally:
        watcher.cancel()


def scan_rows(table: Table, halt: threading.Event | None = None) -> int:
    """Read the whole file once (decode, split into rows and cells, check every row's shape)
    and count its data rows: a file broken anywhere, even at its last row, raises InputError
    here, before anything is sent. `halt` ends it within a block of the file (StopRun)."""
    rows = 0
    for chunk in table.chunks(halt):
        rows += len(chunk)
    _check_unchanged(table)
    return rows


def load_rows(
    journal: RowJournal,
    table: Table,
    mapping: Mapping,
    options: PrepareOptions,
    ping: PingPolicy | None,
    halt: threading.Event | None = None,
    *,
    after: int | None = None,
    on_chunk: Callable[[Counter[Outcome]], None] | None = None,
) -> None:
    """Every row into the journal, pending or already final, chunk by chunk. `halt` ends it
    at the next chunk (StopRun).

    `after`: the rows up to it are in the journal already (a load cut short after sending
    began): they are prepared again only so that duplicates of them are still found.
    `on_chunk(outcomes of the rows held back)` follows every chunk added.
    """
    # Keys are derived when rows are sent (Journal.pending): the load stays lean.
    preparer = Preparer(mapping, table.columns, options, table.sha256, with_keys=False)
    for chunk in table.chunks(halt):
        if halt is not None and halt.is_set():
            raise StopRun(f"stopped while reading {table.path}")
        _check_unchanged(table)  # before its rows are added: they may be the new content's
        if chunk.empty:
            continue
        entries = preparer.prepare(chunk)
        if after is not None:
            kept = [entry for entry in entries if entry[0].row > after]
            if not kept:
                continue
            entries = iter(kept)
        held: Counter[Outcome] = Counter()
        journal.add(_counting(entries, held))
        if on_chunk is not None:
            on_chunk(held)
    _check_unchanged(table)
    journal.mark_loaded(identity(mapping, options, ping))


def _counting(
    entries: Iterator[tuple[Lead | RowResult, list[str]]], held: Counter[Outcome]
) -> Iterator[tuple[Lead | RowResult, list[str]]]:
    """The entries as they are, counting the rows held back (invalid, skipped) by outcome."""
    for entry in entries:
        if type(entry[0]) is not Lead:
            held[entry[0].outcome] += 1  # type: ignore[union-attr]
        yield entry


def _check_unchanged(table: Table) -> None:
    if table.changed_since_opened():
        # Someone (a vendor's slow upload, an editor) rewrote the file while it was read.
        raise InputError("the file changed while it was being read; try again", path=table.path)


def identity(mapping: Mapping, options: PrepareOptions, ping: PingPolicy | None) -> dict[str, str]:
    """What a resume must share with the run it continues, as journal metadata."""
    return {
        "mapping": _json(mapping.identity()),
        "prepare": _json(_prepare_identity(options)),
        "ping": _json(None if ping is None else ping.identity()),
    }


def _prepare_identity(options: PrepareOptions) -> dict[str, Any]:
    """The options as a resume compares them; the issue-12 ones only when set, so an upload
    started before they existed resumes as it was."""
    data = asdict(options)
    for key in ("countries", "allow_no_contact"):
        if not data[key]:
            del data[key]
    return data


def check_same_run(
    journal: RowJournal, mapping: Mapping, options: PrepareOptions, ping: PingPolicy | None
) -> None:
    """A resume sends bodies prepared by the first run, priced the same way: refuse changes."""
    now = identity(mapping, options, ping)
    for key, what in (
        ("mapping", "column mapping"),
        ("prepare", "--country/--require/--test options"),
    ):
        before = journal.get_meta(key)
        if before is not None and json.loads(before) != json.loads(now[key]):
            raise JournalError(
                f"the {what} differ from those this upload started with; run the same "
                "command as before to resume, or add --restart to start over"
            )
    before_ping = json.loads(journal.get_meta("ping") or "null")
    now_ping = json.loads(now["ping"])
    if before_ping != now_ping:
        raise JournalError(
            f"this upload was started {_ping_words(before_ping)}, this run is "
            f"{_ping_words(now_ping)}; run the same command as before to resume, or write the "
            "results to another --output"
        )


def _ping_words(policy: dict[str, Any] | None) -> str:
    if policy is None:
        return "without --ping"
    if not policy["post"]:
        return "as a quote"
    return f"with --ping --min-price {policy['min_price']:g}"


def ping_of(journal: RowJournal, given: PingPolicy | None) -> PingPolicy | None:
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


def apply_fixes(journal: RowJournal, results_path: Any, include: frozenset[Outcome]) -> int:
    """Re-prepare rejected/invalid rows from the (possibly edited) results file."""
    editable = include & EDITABLE
    if not editable:
        return 0
    columns, lines = read_results(results_path)
    if tuple(columns) != tuple(journal.columns):
        raise JournalError(
            f"{results_path}: its columns differ from the file that was uploaded; "
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


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _json_meta(journal: RowJournal, key: str) -> dict[str, Any]:
    raw = journal.get_meta(key)
    if raw is None:
        raise JournalError(f"{journal.path}: the upload's record has no {key!r} entry")
    value: dict[str, Any] = json.loads(raw)
    if key == "prepare":
        value["require"] = tuple(value.get("require", ()))
        value["countries"] = tuple(value.get("countries", ()))
    return value


def _mapping_from_meta(journal: RowJournal) -> Mapping:
    return Mapping.from_identity(_json_meta(journal, "mapping"))
