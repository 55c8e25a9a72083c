"""The job ledger (SQLite): which file contents were sent, where they went, and every run.

Files are keyed by the sha256 of their content, not their name, so a file re-dropped or
renamed by the vendor is recognised and not sent twice. A file is `started` (committed before
its first row is sent), then `done` or `error`; a run killed mid-file leaves it `started`, and
the next run resumes it into the same results file, whose journal knows which rows were sent.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from jobs.sightings import Sightings
from uploader.private_files import create_private_file, tighten_sqlite_modes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    sha256 TEXT PRIMARY KEY,
    file_name TEXT NOT NULL,        -- the name it had in the inbox
    archived_path TEXT NOT NULL,    -- where it was (or will be) moved
    results_path TEXT NOT NULL,
    status TEXT NOT NULL,           -- started | done | error
    started_at TEXT NOT NULL,
    finished_at TEXT,
    counts TEXT NOT NULL DEFAULT '{}',
    total_price REAL NOT NULL DEFAULT 0,
    exit_code INTEGER,
    error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS grown (
    sha256 TEXT PRIMARY KEY,        -- content sent (or being sent) while the file grew on
    file_name TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,    -- that content's length: the grown file's rest is after it
    content_sha256 TEXT NOT NULL,   -- of those bytes, as the uploader read them
    header BLOB NOT NULL,           -- its header line(s), put before the rest
    continuation TEXT NOT NULL DEFAULT ''  -- for a rest: the file sent in its place
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,             -- run | reprocess
    started_at TEXT NOT NULL,
    finished_at TEXT,
    exit_code INTEGER,
    error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS run_files (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    sha256 TEXT NOT NULL,
    file_name TEXT NOT NULL,
    status TEXT NOT NULL,           -- done | duplicate | error | interrupted
    counts TEXT NOT NULL DEFAULT '{}',
    total_price REAL NOT NULL DEFAULT 0,
    exit_code INTEGER NOT NULL,
    duration_s REAL NOT NULL DEFAULT 0
);
"""

STARTED, DONE, ERROR = "started", "done", "error"
# A content that the file outgrew while it was being read or sent: its rows are sent (once),
# the rest goes as a file of its own once the file is complete.
GROWN = "grown"
# The error of a run found unfinished by a later run: it was killed before it could say so.
DIED = "died: the run ended without finishing (killed, or the machine stopped)"


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file content the job has taken."""

    sha256: str
    file_name: str
    archived_path: Path
    results_path: Path
    status: str
    started_at: str
    finished_at: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    total_price: float = 0.0
    exit_code: int | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class GrownEntry:
    """A content sent while its file grew on: the rest of the file goes after it."""

    sha256: str  # of the bytes sent, the first `size_bytes` of the file
    size_bytes: int
    header: bytes
    results_path: Path
    archived_path: Path  # where the complete file goes, beside the part's results


@dataclass(frozen=True, slots=True)
class Growth:
    """The `grown` row of one content: how much of its inbox file it covers, and the file
    sent in its place (a rest, or the part an interrupted upload read)."""

    size_bytes: int  # -1 until known
    content_sha256: str  # of those first bytes
    header: bytes
    continuation: str


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One past run (or reprocess) with its totals over the files it handled."""

    id: int
    kind: str
    started_at: str
    finished_at: str | None
    exit_code: int | None
    error: str
    file_names: tuple[str, ...]
    rows: int
    created: int
    total_price: float

    @property
    def not_created(self) -> int:
        """Rows that ended any other way than created."""
        return self.rows - self.created


class Ledger:
    """The ledger of one job. Every write commits at once: a SIGKILL loses nothing recorded."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self.sightings = Sightings(connection)  # the settle window's first looks

    @classmethod
    def open(cls, path: Path) -> Ledger:
        """Open (creating if needed) the ledger at `path`.

        It names files of personal data, so it is private from its first byte: made 0600
        before SQLite opens it (SQLite gives its -wal and -shm files the same mode), never
        chmodded after the fact; one left readable by an older version is tightened.
        """
        try:
            create_private_file(path)
        except FileExistsError:
            tighten_sqlite_modes(path)
        # mode=rw: SQLite must never create the file itself (it would use the umask).
        uri = f"file:{quote(str(path.absolute()))}?mode=rw"
        db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # `list`/`history` read while a run writes
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        return cls(db)

    @classmethod
    def open_existing(cls, path: Path) -> Ledger | None:
        """The ledger if the job has ever run, else None (reading never creates state)."""
        return cls.open(path) if path.exists() else None

    def close(self) -> None:
        """Close the connection (everything is already committed)."""
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # files

    def get(self, sha256: str) -> FileEntry | None:
        """The entry for this content, if the job has ever taken it."""
        row = self._db.execute("SELECT * FROM files WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else _entry(row)

    def entries(self, status: str | None = None) -> list[FileEntry]:
        """Entries in the order they were started, optionally of one status."""
        sql, args = "SELECT * FROM files", tuple[str, ...]()
        if status is not None:
            sql, args = sql + " WHERE status = ?", (status,)
        return [_entry(r) for r in self._db.execute(sql + " ORDER BY started_at, rowid", args)]

    def reserved_names(self) -> set[str]:
        """Archive names held by unfinished files, so a new file does not take them."""
        names: set[str] = set()
        for entry in self.entries(STARTED):
            names.update((entry.archived_path.name, entry.results_path.name))
        return names

    def start_file(
        self, sha256: str, file_name: str, archived_path: Path, results_path: Path, at: datetime
    ) -> FileEntry:
        """Record that this content is being sent, before its first row leaves."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO files (sha256, file_name, archived_path, results_path,"
                " status, started_at) VALUES (?, ?, ?, ?, ?, ?)",
                (sha256, file_name, str(archived_path), str(results_path), STARTED, _iso(at)),
            )
        entry = self.get(sha256)
        assert entry is not None
        return entry

    def finish_file(
        self,
        sha256: str,
        *,
        status: str,
        at: datetime,
        counts: Mapping[str, int] | None = None,
        total_price: float = 0.0,
        exit_code: int,
        error: str = "",
        archived_path: Path | None = None,
    ) -> None:
        """Record the end of a file: done (moved to the archive) or error (nothing sent)."""
        with self._tx() as db:
            db.execute(
                "UPDATE files SET status = ?, finished_at = ?, counts = ?, total_price = ?,"
                " exit_code = ?, error = ?, archived_path = COALESCE(?, archived_path)"
                " WHERE sha256 = ?",
                (
                    status,
                    _iso(at),
                    json.dumps(dict(counts or {})),
                    total_price,
                    exit_code,
                    error,
                    None if archived_path is None else str(archived_path),
                    sha256,
                ),
            )

    def update_counts(self, sha256: str, counts: Mapping[str, int], total_price: float) -> None:
        """After a reprocess: the file's results now say this."""
        with self._tx() as db:
            db.execute(
                "UPDATE files SET counts = ?, total_price = ? WHERE sha256 = ?",
                (json.dumps(dict(counts)), total_price, sha256),
            )

    def record_grown(
        self,
        sha256: str,
        file_name: str,
        size_bytes: int,
        content_sha256: str,
        header: bytes,
        continuation: str = "",
    ) -> None:
        """This content's file outgrew it (or, with `continuation`, it is the rest of one)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO grown (sha256, file_name, size_bytes, content_sha256,"
                " header, continuation) VALUES (?, ?, ?, ?, ?, ?)",
                (sha256, file_name, size_bytes, content_sha256, header, continuation),
            )

    def grown(self, file_name: str) -> list[GrownEntry]:
        """Contents of an inbox file of this name that it outgrew, the largest first."""
        rows = self._db.execute(
            "SELECT g.content_sha256, g.size_bytes, g.header, f.results_path, f.archived_path"
            " FROM grown g"
            " JOIN files f ON f.sha256 = g.sha256 WHERE g.file_name = ? AND f.status = ?"
            " ORDER BY g.size_bytes DESC",
            (file_name, GROWN),
        )
        return [
            GrownEntry(sha, n, bytes(head), Path(res), Path(arc)) for sha, n, head, res, arc in rows
        ]

    def unfinished_named(self, file_name: str, other_than: str) -> FileEntry | None:
        """The latest content of an inbox file of this name, not `other_than`, whose upload
        started and never finished (interrupted, then the file changed)."""
        row = self._db.execute(
            "SELECT * FROM files WHERE file_name = ? AND status = ? AND sha256 != ?"
            " ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (file_name, STARTED, other_than),
        ).fetchone()
        return None if row is None else _entry(row)

    def growth_of(self, sha256: str) -> Growth | None:
        """This content's `grown` row, if it has one."""
        row = self._db.execute(
            "SELECT size_bytes, content_sha256, header, continuation FROM grown WHERE sha256 = ?",
            (sha256,),
        ).fetchone()
        return None if row is None else Growth(row[0], row[1], bytes(row[2]), row[3])

    def continuation_of(self, sha256: str) -> Path | None:
        """The file sent in place of this content (its rest), if it is one."""
        row = self._db.execute(
            "SELECT continuation FROM grown WHERE sha256 = ? AND continuation != ''", (sha256,)
        ).fetchone()
        return None if row is None else Path(row[0])

    def forget(self, sha256: str) -> None:
        """Nothing of this content was sent (it changed while being read): no record."""
        with self._tx() as db:
            db.execute("DELETE FROM files WHERE sha256 = ?", (sha256,))
            db.execute("DELETE FROM grown WHERE sha256 = ?", (sha256,))

    # runs

    def begin_run(self, kind: str, at: datetime) -> int:
        """Record the start of a run (or reprocess); returns its id."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO runs (kind, started_at) VALUES (?, ?)", (kind, _iso(at))
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def add_run_file(
        self,
        run_id: int,
        *,
        sha256: str,
        file_name: str,
        status: str,
        counts: Mapping[str, int],
        total_price: float,
        exit_code: int,
        duration_s: float,
    ) -> None:
        """Record what one run did with one file (history shows these per run)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO run_files (run_id, sha256, file_name, status, counts, total_price,"
                " exit_code, duration_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    sha256,
                    file_name,
                    status,
                    json.dumps(dict(counts)),
                    total_price,
                    exit_code,
                    duration_s,
                ),
            )

    def end_run(self, run_id: int, *, at: datetime, exit_code: int, error: str = "") -> None:
        """Record how a run ended; a run never ended was killed."""
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, exit_code = ?, error = ? WHERE id = ?",
                (_iso(at), exit_code, error, run_id),
            )

    def mark_died(self, at: datetime) -> int:
        """Runs that never ended died (kill -9, a power cut): say so. Call it holding the
        job's lock, when no run of the job can be alive. Returns how many were marked."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE runs SET finished_at = ?, error = ? WHERE finished_at IS NULL",
                (_iso(at), DIED),
            )
        return cursor.rowcount

    def runs(self, *, limit: int = 20, kind: str | None = None) -> list[RunRecord]:
        """The most recent runs first."""
        sql, args = "SELECT * FROM runs", tuple[str, ...]()
        if kind is not None:
            sql, args = sql + " WHERE kind = ?", (kind,)
        rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [self._run(row) for row in rows]

    def _run(self, row: sqlite3.Row | tuple) -> RunRecord:
        run_id, kind, started_at, finished_at, exit_code, error = row
        names, rows, created, price = [], 0, 0, 0.0
        for name, status, counts_text, total in self._db.execute(
            "SELECT file_name, status, counts, total_price FROM run_files WHERE run_id = ?"
            " ORDER BY rowid",
            (run_id,),
        ):
            names.append(name)
            if status == "duplicate":
                continue  # a duplicate sends nothing: its rows belong to an earlier run
            counts = json.loads(counts_text)
            rows += sum(counts.values())
            created += counts.get("created", 0)
            price += total
        return RunRecord(
            run_id,
            kind,
            started_at,
            finished_at,
            exit_code,
            error,
            tuple(names),
            rows,
            created,
            price,
        )


def _entry(row: tuple) -> FileEntry:
    (sha, name, archived, results, status, started, finished, counts, price, code, error) = row
    return FileEntry(
        sha,
        name,
        Path(archived),
        Path(results),
        status,
        started,
        finished,
        json.loads(counts),
        price,
        code,
        error,
    )


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")
