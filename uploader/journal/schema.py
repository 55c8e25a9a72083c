"""The journal's SQLite file: schema, connection settings, and how rows are encoded.

Kept apart from `uploader.journal` (which owns the row-state rules) so that each stays
short; only `uploader.journal` and its tests use it.
"""

from __future__ import annotations

import json
import json.encoder
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from uploader.model import Outcome, RowResult
from uploader.private_files import (
    create_private_file,
    sqlite_side_files,
    tighten_sqlite_modes,
)

SCHEMA_VERSION = "1"
RECOVERED_ERROR = "in flight when the previous run stopped; may have been created"
IN_FLIGHT_NOTE = "in flight when this file was written"


def _make_encode() -> Callable[[Any], str]:
    """Compact JSON, as fast as the stdlib allows: phase 1 encodes two values per row.

    `JSONEncoder.encode` builds a new C encoder on every call, half its cost for small
    values; reusing one C encoder (a stable, if undocumented, part of `json.encoder`)
    makes loading a million rows seconds faster. Falls back when it is not there.
    """
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    make = getattr(json.encoder, "c_make_encoder", None)
    try:
        c_encode = make(  # type: ignore[misc]
            None,
            encoder.default,
            json.encoder.encode_basestring,
            None,
            ":",
            ",",
            False,
            False,
            True,
        )
    except TypeError:  # not there, or a different signature in a later Python
        return encoder.encode

    def encode(value: Any) -> str:
        return "".join(c_encode(value, 0))

    return encode


encode = _make_encode()
_raw_decode = json.JSONDecoder().raw_decode


def decode(text: str) -> Any:
    """JSON that `encode` wrote (no surrounding space), without `json.loads`'s checks."""
    return _raw_decode(text)[0]


SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """
CREATE TABLE rows (
    row            INTEGER PRIMARY KEY,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'final')),
    cells          TEXT NOT NULL,
    payload        TEXT,
    idem_key       TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_attempt   INTEGER,
    outcome        TEXT,
    lead_status    TEXT NOT NULL DEFAULT '',
    price          REAL,
    lead_public_id TEXT NOT NULL DEFAULT '',
    http_status    INTEGER,
    error          TEXT NOT NULL DEFAULT '',
    extra          TEXT,
    updated_at     REAL NOT NULL,
    CHECK ((state = 'final') = (outcome IS NOT NULL)),
    CHECK (state = 'final' OR payload IS NOT NULL)
)""",
)

# Attempt 0 reserves a row in flight before its first attempt (the pool marks rows a
# batch at a time) and counts no attempt; a later mark of attempt n (a ping's figures with
# it) counts one. A crash counts the reserved attempt when it settles the row (below).
MARK = """
UPDATE rows SET state = 'in_flight', last_attempt = :attempt, updated_at = :now,
    extra = coalesce(:extra, extra),
    attempts = attempts + (:attempt > 0)
WHERE row = :row AND state <> 'final'
"""
# A `created` row never changes again; a PENDING result never reopens a final row.
RECORD = """
UPDATE rows SET state = CASE WHEN :outcome IS NULL THEN 'pending' ELSE 'final' END,
    outcome = :outcome, lead_status = :lead_status, price = :price,
    lead_public_id = :lead_public_id, http_status = :http_status,
    attempts = max(attempts, :attempts), error = :error, extra = :extra, updated_at = :now
WHERE row = :row AND CASE WHEN :outcome IS NULL THEN state <> 'final'
                          ELSE outcome IS NOT 'created' END
"""
INSERT_PENDING = (
    "INSERT INTO rows (row, cells, payload, idem_key, state, updated_at)"
    " VALUES (?, ?, ?, ?, 'pending', {now!r})"
)
INSERT_FINAL = (
    "INSERT INTO rows (cells, outcome, lead_status, price, lead_public_id, http_status,"
    " attempts, error, extra, updated_at, row, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
    " 'final')"
)
RECOVER_AS_UNKNOWN = (
    "UPDATE rows SET state = 'final', outcome = 'unknown', updated_at = :now,"
    " attempts = attempts + (coalesce(last_attempt, 0) = 0),"
    f" error = '{RECOVERED_ERROR}' WHERE state = 'in_flight'"
)
RECOVER_TO_RESEND = "UPDATE rows SET state = 'pending', updated_at = :now WHERE state = 'in_flight'"
PENDING_PAGE = (
    "SELECT row, payload, idem_key FROM rows WHERE row > ? AND state = 'pending'"
    " ORDER BY row LIMIT ?"
)
# Back to pending: keeps key and attempts, forgets the old outcome.
REOPEN = (
    "UPDATE rows SET state = 'pending', outcome = NULL, lead_status = '', price = NULL,"
    " lead_public_id = '', http_status = NULL, error = '', extra = NULL, updated_at = ?"
)
RESULT_FIELDS = (
    "row, state, outcome, lead_status, price, lead_public_id, http_status, attempts, error, extra"
)


def result_params(result: RowResult, now: float) -> dict[str, Any]:
    """The named parameters of RECORD (their order is also the phase-1 insert's)."""
    pending = result.outcome is Outcome.PENDING
    return {
        "outcome": None if pending else result.outcome.value,
        "lead_status": result.lead_status,
        "price": result.price,
        "lead_public_id": result.lead_public_id,
        "http_status": result.http_status,
        "attempts": result.attempts,
        "error": result.error,
        "extra": encode(result.extra) if result.extra else None,
        "now": now,
        "row": result.row,
    }


def row_result(record: tuple[Any, ...]) -> RowResult:
    """A row selected as RESULT_FIELDS as its results line; not final reads as PENDING."""
    row, state, outcome, status, price, public_id, http, attempts, error, extra = record[:10]
    if state != "final":
        note = IN_FLIGHT_NOTE if state == "in_flight" else error
        return RowResult(row, Outcome.PENDING, attempts=attempts, error=note)
    return RowResult(
        row,
        Outcome(outcome),
        lead_status=status,
        price=price,
        lead_public_id=public_id,
        http_status=http,
        attempts=attempts,
        error=error,
        extra=json.loads(extra) if extra else {},
    )


def added_twice(db: sqlite3.Connection, rows: list[int]) -> str:
    """Why a phase-1 insert failed: rows already there, or twice in the batch."""
    twice = {r for r, n in Counter(rows).items() if n > 1}
    sql = "SELECT 1 FROM rows WHERE row = ?"
    twice.update(r for r in rows if db.execute(sql, (r,)).fetchone())
    return f"rows added twice: {sorted(twice)[:10]}" if twice else "a row could not be added"


def refusal(
    db: sqlite3.Connection, in_flight: Sequence[tuple[Any, ...]], results: Sequence[RowResult]
) -> str:
    """Name the rows a refused commit was about, with their state, which it left intact."""
    bad = []
    checks = [(mark[0], True) for mark in in_flight] + [
        (r.row, r.outcome is Outcome.PENDING) for r in results
    ]
    for row, reopening in checks:
        sql = "SELECT state, outcome FROM rows WHERE row = ?"
        state, outcome = db.execute(sql, (row,)).fetchone() or ("missing", None)
        if state == "missing" or outcome == "created" or (reopening and state == "final"):
            bad.append(f"{row} ({outcome or state})")
    rows = ", ".join(sorted(set(bad))[:10]) or "the same row twice"
    return f"commit refused: it would post a row again or lose a result (rows {rows})"


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """A connection in WAL mode with FULL sync, usable from any thread (callers lock)."""
    # mode=rw: never let SQLite create an empty database where a journal should have been.
    uri = f"file:{quote(str(path.resolve()))}?mode={'rwc' if create else 'rw'}"
    db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA busy_timeout = 5000")
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
            raise sqlite3.OperationalError("WAL mode is not available for this file")
        db.execute("PRAGMA synchronous = FULL")  # a returned commit survives power loss
        db.execute("PRAGMA journal_size_limit = 67108864")  # WAL shrinks back after bursts
    except BaseException:
        db.close()
        raise
    return db


def create_file(path: Path) -> None:
    """Make the empty file 0600 before SQLite sees it: SQLite gives -wal and -shm its mode."""
    create_private_file(path)


def is_blank(db: sqlite3.Connection) -> bool:
    """No tables at all: a creation killed before its first commit."""
    return db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def tighten_modes(path: Path) -> None:
    """A journal made by an older version, or copied, may be readable by others: fix it."""
    tighten_sqlite_modes(path)


def move_journal(path: Path, to: Path) -> None:
    """Rename a journal and its WAL side files together (never while it is open)."""
    to.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for file, target in zip(
        (path, *sqlite_side_files(path)), (to, *sqlite_side_files(to)), strict=True
    ):
        if file.exists():
            file.rename(target)


def remove_journal(path: Path) -> None:
    """Delete a journal and its WAL side files (for --restart)."""
    for file in (path, *sqlite_side_files(path)):
        file.unlink(missing_ok=True)


# SQLite's primary result codes that name an environment fault (sqlite.org/rescode.html).
_TROUBLES = {
    8: "it cannot be written: its folder or disk is read-only",  # SQLITE_READONLY
    10: "the disk failed to read or write it",  # SQLITE_IOERR
    11: "it is damaged (a page of it is unreadable)",  # SQLITE_CORRUPT
    13: "it cannot be written: the disk is full",  # SQLITE_FULL
    26: "it is damaged (it is not a database any more)",  # SQLITE_NOTADB
}


def trouble(exc: sqlite3.Error) -> str:
    """What went wrong with the journal file, in words, with SQLite's own after it."""
    code = getattr(exc, "sqlite_errorcode", None)
    what = _TROUBLES.get(code & 0xFF, "") if isinstance(code, int) else ""
    return f"{what or 'the journal could not be written'} ({exc})"
