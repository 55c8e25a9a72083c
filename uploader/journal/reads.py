"""Reading a SQLite journal, and the lock and transaction every write goes through.

The base of `Journal` (uploader/journal/store.py), kept apart so that each module stays short.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from uploader.errors import JournalWriteError
from uploader.journal import schema as jdb
from uploader.model import Outcome, RowResult

FIRST_ROW = -(2**63)  # below every row number: where keyset pages start
_READ_BATCH = 2_000  # rows per keyset page when streaming results


class SqliteRows:
    """Queries over the rows table, under the one lock of the connection."""

    path: Path
    _db: sqlite3.Connection
    _lock: threading.RLock

    # -- reading -------------------------------------------------------------------------

    def counts(self) -> dict[Outcome, int]:
        """Rows per outcome, every outcome present; pending and in-flight rows are PENDING."""
        counts = dict.fromkeys(Outcome, 0)
        for outcome, n in self._query("SELECT outcome, count(*) FROM rows GROUP BY outcome"):
            counts[Outcome(outcome) if outcome else Outcome.PENDING] += n
        return counts

    def status_counts(self) -> dict[str, int]:
        """The API's lead_status of created rows, and how many of each."""
        sql = (
            "SELECT lead_status, count(*) FROM rows WHERE outcome = 'created'"
            " GROUP BY lead_status ORDER BY lead_status"
        )
        return dict(self._query(sql))

    def total_price(self) -> float:
        """What the created rows cost."""
        return float(self._query("SELECT total(price) FROM rows WHERE outcome = 'created'")[0][0])

    def results(self) -> Iterator[tuple[RowResult, list[str]]]:
        """Every row in row order with its cells, streamed; rows not final are PENDING."""
        last = FIRST_ROW
        sql = f"SELECT {jdb.RESULT_FIELDS}, cells FROM rows WHERE row > ? ORDER BY row LIMIT ?"
        while True:
            page = self._query(sql, (last, _READ_BATCH))
            if not page:
                return
            for record in page:
                yield jdb.row_result(record), jdb.decode(record[-1])
            last = page[-1][0]

    def field_values(self, key: str) -> dict[int, str]:
        """One field of every prepared row's body, by row (e.g. `state`, for a quote)."""
        found = self._query(
            "SELECT row, json_extract(payload, '$.' || ?) FROM rows WHERE payload IS NOT NULL",
            (key,),
        )
        return {row: str(value) for row, value in found if value is not None}

    def result_of(self, row: int) -> RowResult:
        """One row's results line (KeyError if there is no such row)."""
        found = self._query(f"SELECT {jdb.RESULT_FIELDS} FROM rows WHERE row = ?", (row,))
        if not found:
            raise KeyError(row)
        return jdb.row_result(found[0])

    def integrity_ok(self) -> bool:
        """SQLite's own full check of the file."""
        return self._query("PRAGMA integrity_check") == [("ok",)]

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:  # a damaged page, an I/O error
                raise JournalWriteError(f"{self.path}: {jdb.trouble(exc)}") from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; SQLite failures surface as JournalError naming the file."""
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except BaseException as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                    raise JournalWriteError(f"{self.path}: {jdb.trouble(exc)}") from exc
                raise
