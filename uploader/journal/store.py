"""The journal: each row's state (pending, in flight, final), durable across crashes.

One SQLite file in WAL mode beside the results file. A row is `pending` until a worker is
about to post it, `in_flight` from just before its request leaves (committed durably first,
so a crash can never hide a request that may have been applied), then `final` with everything
its results line needs. Every commit is `synchronous=FULL`: a commit that returned survives a
power cut, which is what "recorded before the request leaves" has to mean. The cost is one
fsync per commit, which the group commit of `JournalWriter` spreads over many rows.

    rows.state   pending ──mark──▶ in_flight ──result──▶ final
                    ▲                  │ (PENDING result: never sent)
                    └──────────────────┘
    final ──requeue / update_row──▶ pending        (never a `created` row)
    in_flight ──recover_in_flight──▶ final unknown, or pending (resend, same key)
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from uploader.errors import JournalError, JournalMismatch, JournalWriteError
from uploader.journal import schema as jdb
from uploader.journal.interface import Mark
from uploader.journal.reads import FIRST_ROW, SqliteRows
from uploader.model import JsonBody, Lead, Outcome, RowResult, idempotency_key

__all__ = ["Journal"]

_ADD_BATCH = 20_000  # rows per phase-1 transaction: few fsyncs, bounded WAL growth
_RESTART_HINT = "run again with --restart to start over"


class _Refused(Exception):
    """A commit would break a rule that protects against posting a lead twice."""


class Journal(SqliteRows):
    """One upload's durable row states. Thread-safe by one lock; see the module docstring."""

    path: Path
    columns: tuple[str, ...]
    input_sha256: str
    input_name: str

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        """Use `open` or `open_existing`."""
        self.path = path
        self._db = db
        self._lock = threading.RLock()
        meta = dict(db.execute("SELECT key, value FROM meta"))
        if meta.get("schema_version") != jdb.SCHEMA_VERSION:
            raise JournalError(
                f"{path} is not a leadup journal of this version "
                f"(schema {meta.get('schema_version')!r}); run again with --restart"
            )
        self.input_sha256 = meta["input_sha256"]
        self.input_name = meta["input_name"]
        self.columns = tuple(json.loads(meta["columns"]))
        self._loaded = meta.get("loaded") == "1"
        self._sending_began = self._loaded or meta.get("sending") == "1"

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        input_sha256: str,
        input_name: str,
        columns: Sequence[str],
        restart: bool = False,
    ) -> Journal:
        """Create the journal, or reopen it to resume, refusing one made from other input.

        A journal whose load never finished and whose sending never began is made afresh:
        nothing was sent from it, so there is nothing to keep, whatever input it was made
        from. One cut short after sending began is kept, as a loaded one is, to resume.
        """
        if path.exists() and not restart:
            journal = cls._open_file(path, hint=_RESTART_HINT)
            if journal is not None and (journal.loaded or journal.sending_began):
                try:
                    journal._check_fits(input_sha256, input_name, tuple(columns))
                except BaseException:
                    journal.close()
                    raise
                return journal
            if journal is not None:
                journal._check_nothing_sent()
                journal.close()
        jdb.remove_journal(path)
        return cls._create(path, input_sha256, input_name, tuple(columns))

    @classmethod
    def open_existing(cls, path: Path) -> Journal:
        """Reopen a journal that must exist (for `leadup retry`)."""
        hint = "it cannot be used to retry"
        journal = cls._open_file(path, hint=hint) if path.is_file() else None
        if journal is None:
            raise JournalError(f"no journal at {path}: it is made by `leadup upload`")
        return journal

    @classmethod
    def _create(cls, path: Path, sha: str, name: str, columns: tuple[str, ...]) -> Journal:
        jdb.create_file(path)
        try:
            db = jdb.connect(path, create=True)
            meta = {
                "schema_version": jdb.SCHEMA_VERSION,
                "input_sha256": sha,
                "input_name": name,
                "columns": jdb.encode(list(columns)),
                "created_at": str(time.time()),
                "loaded": "0",
            }
            db.execute("BEGIN IMMEDIATE")  # schema and meta at once: never half a journal
            for statement in jdb.SCHEMA:
                db.execute(statement)
            db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            db.execute("COMMIT")
            return cls(path, db)
        except BaseException:
            jdb.remove_journal(path)
            raise

    @classmethod
    def _open_file(cls, path: Path, *, hint: str) -> Journal | None:
        """The journal in this file; None for a file a killed creation left without tables."""
        jdb.tighten_modes(path)
        try:
            db = jdb.connect(path, create=False)
        except sqlite3.Error as exc:
            raise JournalError(f"{path} cannot be opened ({exc}); {hint}") from exc
        try:
            if jdb.is_blank(db):
                db.close()
                return None
            return cls(path, db)
        except (sqlite3.Error, KeyError, ValueError) as exc:
            db.close()
            raise JournalError(f"{path} is not a readable leadup journal ({exc}); {hint}") from exc
        except BaseException:
            db.close()
            raise

    def _check_fits(self, sha: str, name: str, columns: tuple[str, ...]) -> None:
        if sha != self.input_sha256:
            other = Path(name).resolve() != Path(self.input_name).resolve()
            what = f"was made from {self.input_name}" if other else f"{name} changed since"
            raise JournalMismatch(
                f"{self.path} {what} (content {self.input_sha256[:12]}, now {sha[:12]})",
                journal_input=self.input_name,
                other_file=other,
            )
        if columns != self.columns:
            raise JournalError(
                f"{name} is read with different columns than when this journal was started"
                f" ({len(self.columns)} then, {len(columns)} now: header row or options changed);"
                f" {_RESTART_HINT}"
            )
        if name != self.input_name:
            self.set_meta("input_name", name)
            self.input_name = name

    def _check_nothing_sent(self) -> None:
        """Dispatch starts after the load: a row sent from an unloaded journal is a bug."""
        ((sent,),) = self._query(
            "SELECT count(*) FROM rows WHERE attempts > 0 OR state = 'in_flight'"
        )
        if sent:
            self.close()
            raise JournalError(f"{self.path} was never fully loaded, yet {sent} rows were sent")

    # -- metadata ------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Phase 1 finished: every input row is in the journal."""
        return self._loaded

    def get_meta(self, key: str) -> str | None:
        """A value the pipeline stored with `set_meta` (or the journal's own)."""
        found = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(found[0][0]) if found else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a value durably (e.g. a fingerprint of the settings that shaped payloads)."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def save_identity(self, identity: dict[str, str]) -> None:
        """Store the run's identity before its first row is sent (the load may still be
        running): a resume of a journal cut short while loading must share it."""
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", [*identity.items(), ("sending", "1")]
            )
        self._sending_began = True

    @property
    def sending_began(self) -> bool:
        """The run's identity is saved: rows may have been sent, loaded or not."""
        return self._sending_began

    def mark_loaded(self, identity: dict[str, str] | None = None) -> None:
        """Record that phase 1 finished, with the run's identity (mapping, options, ping
        settings) in the same transaction: a resume skips phase 1 and finds all of it or none.
        """
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [*(identity or {}).items(), ("loaded", "1")],
            )
        self._loaded = self._sending_began = True

    # -- phase 1 -------------------------------------------------------------------------

    def add(self, entries: Iterable[tuple[Lead | RowResult, Sequence[str]]]) -> None:
        """Insert rows with their cells: a Lead is pending, a RowResult final already.

        Entries are encoded as they arrive and only the encoded text is held per batch, so
        memory and garbage-collector work stay flat however long the file.
        """
        encode, now = jdb.encode, time.time()
        leads: list[tuple[int, str, str, str | None]] = []
        finals: list[tuple[Any, ...]] = []
        for item, cells in entries:
            encoded = encode(cells if type(cells) in (list, tuple) else list(cells))
            if type(item) is Lead:
                # No key stored: `pending` derives the row's own (see idempotency_key).
                key = item.idempotency_key or None
                leads.append((item.row, encoded, encode(item.payload), key))
            elif isinstance(item, RowResult) and item.outcome is not Outcome.PENDING:
                # result_params is ordered as INSERT_FINAL's columns.
                finals.append((encoded, *jdb.result_params(item, now).values()))
            else:
                raise ValueError(f"row {item.row}: a pending row is added as a Lead")
            if len(leads) + len(finals) >= _ADD_BATCH:
                self._insert(leads, finals)
                leads, finals, now = [], [], time.time()
        self._insert(leads, finals)

    def _insert(
        self, leads: list[tuple[int, str, str, str | None]], finals: list[tuple[Any, ...]]
    ) -> None:
        try:
            with self._tx() as db:
                db.executemany(jdb.INSERT_PENDING.format(now=time.time()), leads)
                db.executemany(jdb.INSERT_FINAL, finals)
        except sqlite3.IntegrityError as exc:
            rows = [r[0] for r in leads] + [r[-1] for r in finals]
            with self._lock:
                why = jdb.added_twice(self._db, rows)
            raise JournalError(f"{self.path}: {why}") from exc

    def last_row(self) -> int | None:
        """The highest row added so far: a load cut short continues after it."""
        found = self._query("SELECT max(row) FROM rows")[0][0]
        return None if found is None else int(found)

    # -- phase 2 -------------------------------------------------------------------------

    def recover_in_flight(self, *, resend: bool) -> int:
        """Settle rows a dead run left in flight: `unknown`, or pending to resend (same key)."""
        with self._tx() as db:
            sql = jdb.RECOVER_TO_RESEND if resend else jdb.RECOVER_AS_UNKNOWN
            return db.execute(sql, {"now": time.time()}).rowcount

    def requeue(self, outcomes: Collection[Outcome]) -> int:
        """Return final rows with these outcomes to pending, keeping their key and attempts.

        Rows that were never prepared (invalid, skipped) have no body to send: fix their
        cells and use `update_row`.
        """
        if Outcome.CREATED in outcomes:
            raise ValueError("a created row is never sent again")
        values = [Outcome(o).value for o in outcomes if o is not Outcome.PENDING]
        if not values:
            return 0
        marks = ", ".join("?" * len(values))
        with self._tx() as db:
            where = f"state = 'final' AND outcome IN ({marks}) AND payload IS NOT NULL"
            sql = f"{jdb.REOPEN} WHERE {where}"
            return db.execute(sql, (time.time(), *values)).rowcount

    def pending(self, batch_size: int = 1000, *, after: int | None = None) -> Iterator[Lead]:
        """Pending rows in row order (after row `after`), a page at a time; other writes may
        run between pages."""
        last = FIRST_ROW if after is None else after
        while True:
            page = self._query(jdb.PENDING_PAGE, (last, batch_size))
            if not page:
                return
            sha = self.input_sha256
            for row, payload, key in page:
                body = JsonBody(jdb.decode(payload))
                body.encoded = payload.encode()  # sent as it was stored: encoded once
                yield Lead(row, body, key or idempotency_key(sha, row))
            last = page[-1][0]

    def pending_count(self) -> int:
        """How many rows `pending()` would yield now."""
        return int(self._query("SELECT count(*) FROM rows WHERE state = 'pending'")[0][0])

    def update_row(
        self,
        row: int,
        *,
        cells: Sequence[str],
        payload: dict[str, Any] | None,
        idempotency_key: str | None,
        result: RowResult | None,
    ) -> None:
        """Replace a row's cells (fixed by the user) and either resend it or finalise it."""
        if (payload is None) != (idempotency_key is None) or (payload is None) == (result is None):
            raise ValueError("give either a payload with its idempotency key, or a result")
        if result is not None and (result.row != row or result.outcome is Outcome.PENDING):
            raise ValueError(f"row {row}: the result must be a final one for the same row")
        with self._tx() as db:
            found = db.execute("SELECT state, outcome FROM rows WHERE row = ?", (row,)).fetchone()
            if found is None:
                raise KeyError(row)
            if found[0] == "in_flight" or found[1] == Outcome.CREATED.value:
                raise ValueError(f"row {row} is {found[1] or found[0]}: it cannot be changed")
            now = time.time()
            change = (
                "UPDATE rows SET cells = ?, payload = ?, idem_key = ? WHERE row = ?",
                (
                    jdb.encode(list(cells)),
                    None if payload is None else jdb.encode(payload),
                    idempotency_key,
                    row,
                ),
            )
            # Ordered so that a row that is not final always has a payload (a CHECK).
            if result is None:
                db.execute(*change)
                db.execute(f"{jdb.REOPEN} WHERE row = ?", (now, row))
            else:
                db.execute(jdb.RECORD, jdb.result_params(result, now))
                db.execute(*change)

    def commit(
        self,
        in_flight: Sequence[Mark],
        results: Sequence[RowResult],
    ) -> None:
        """In one transaction: mark (row, attempt[, extra]) in flight, then record results.

        A mark's `extra` (a ping's figures) is kept with the row, so a row that dies in
        flight still shows what it was priced at.

        Refuses (and commits nothing) if a final row would be marked in flight, a created
        row would change, or a PENDING result would reopen a final row: each would risk a
        second post of the same lead.
        """
        now = time.time()
        marks = [
            {
                "row": mark[0],
                "attempt": mark[1],
                "extra": jdb.encode(mark[2]) if len(mark) > 2 and mark[2] else None,
                "now": now,
            }
            for mark in in_flight
        ]
        params = [jdb.result_params(r, now) for r in results]
        try:
            with self._tx() as db:
                if db.executemany(jdb.MARK, marks).rowcount != len(marks):
                    raise _Refused
                if db.executemany(jdb.RECORD, params).rowcount != len(params):
                    raise _Refused
        except _Refused:
            with self._lock:
                why = jdb.refusal(self._db, in_flight, results)
            raise JournalWriteError(f"{self.path}: refused to record: {why}") from None

    def close(self) -> None:
        """Close the connection; SQLite checkpoints and removes the WAL when it is the last."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, input={self.input_name!r}, loaded={self.loaded})"
