"""The journal of a cluster upload, in PostgreSQL: the SQLite Journal's methods and rules,
plus a fencing token.

Rows move as in `uploader.journal.store` (pending -> in_flight -> final; a created row never
changes; an in-flight mark is committed before its request leaves). What PostgreSQL adds:

- the run attempt. A worker takes an upload over with `take_over`, which raises the
  upload's attempt under an exclusive row lock; every later write takes a share lock on the
  same row and checks the attempt it was given. A worker that was paused (SIGSTOP, a long
  GC, a partition) and wakes after another took over is refused every write (FencedOut):
  it cannot mark a row, record a result, or render the results file.
- reconnecting: a write that finds PostgreSQL gone reconnects and replays its transaction
  (each is written so that a replay after a lost COMMIT changes nothing; see schema.RECORD).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from uploader.cluster import schema as sql
from uploader.cluster.database import connect, retrying
from uploader.errors import FencedOut, JournalError, JournalWriteError
from uploader.journal.interface import RowJournal
from uploader.journal.schema import decode, encode, result_params, row_result
from uploader.model import JsonBody, Lead, Outcome, RowResult, idempotency_key

_ADD_BATCH = 5_000
_READ_BATCH = 2_000
_FIRST_ROW = -(2**63)
_THIS_ROW = " WHERE upload_id = %(upload)s AND row = %(row)s"
T = TypeVar("T")


class PgJournal:
    """One cluster upload's rows, written only by the run attempt that holds it."""

    def __init__(self, url: str, upload_id: int, fence: int, record: dict[str, Any]) -> None:
        """Use `take_over`."""
        self._url = url
        self._db = connect(url)
        self._lock = threading.RLock()
        self.upload_id = upload_id
        self.fence = fence
        self.path = Path(f"cluster-upload-{upload_id}")
        self.input_sha256 = str(record["input_sha256"])
        self.input_name = str(record["input_path"])
        self.columns: tuple[str, ...] = tuple(record["columns"] or ())
        self._loaded = bool(record["loaded"])
        self._meta: dict[str, str] = dict(record["meta"] or {})

    @classmethod
    def take_over(cls, url: str, upload_id: int, worker: str) -> PgJournal:
        """Become the upload's one writer: a new run attempt, which fences out the older."""
        db = connect(url)
        try:
            with db.transaction():
                found = db.execute(
                    "UPDATE leadup_uploads SET attempt = attempt + 1, worker = %s,"
                    " state = 'running', started_at = coalesce(started_at, now())"
                    " WHERE id = %s RETURNING attempt, input_sha256, input_path, columns,"
                    " loaded, meta, state",
                    (worker, upload_id),
                ).fetchone()
        finally:
            db.close()
        if found is None:
            raise JournalError(f"cluster upload {upload_id} does not exist")
        attempt, sha, path, columns, loaded, meta, _ = found
        record = {
            "input_sha256": sha,
            "input_path": path,
            "columns": columns,
            "loaded": loaded,
            "meta": meta,
        }
        return cls(url, upload_id, attempt, record)

    # -- the journal interface ------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Phase 1 finished: every input row is in the journal."""
        return self._loaded

    @property
    def sending_began(self) -> bool:
        """The run's identity is saved: rows may have been sent, loaded or not."""
        return self._loaded or self._meta.get("sending") == "1"

    def save_identity(self, identity: dict[str, str]) -> None:
        """Store the run's identity before its first row is sent (the load may still run)."""
        self._store_meta({**identity, "sending": "1"})

    def last_row(self) -> int | None:
        """The highest row added so far: a load cut short continues after it."""
        query = "SELECT max(row) FROM leadup_rows WHERE upload_id = %s"
        found = self.query(query, (self.upload_id,))[0][0]
        return None if found is None else int(found)

    def begin_load(self, columns: Sequence[str]) -> None:
        """Start phase 1 afresh: an earlier attempt's half load is dropped (nothing of it was
        sent: rows are sent only once the load is marked finished)."""

        def start(db: Any) -> None:
            sent = db.execute(
                "SELECT count(*) FROM leadup_rows WHERE upload_id = %s"
                " AND (attempts > 0 OR state = 'in_flight')",
                (self.upload_id,),
            ).fetchone()[0]
            if sent:
                raise JournalError(f"{self.path} was never fully loaded, yet {sent} rows were sent")
            db.execute("DELETE FROM leadup_rows WHERE upload_id = %s", (self.upload_id,))
            db.execute(
                "UPDATE leadup_uploads SET columns = %s WHERE id = %s",
                (json.dumps(list(columns)), self.upload_id),
            )

        self.write(start)
        self.columns = tuple(columns)

    def get_meta(self, key: str) -> str | None:
        """A value stored with `set_meta` or `mark_loaded`."""
        return self._meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        """Store a value durably with the upload."""
        self._store_meta({key: value})

    def mark_loaded(self, identity: dict[str, str] | None = None) -> None:
        """Phase 1 finished, with the run's identity, in one transaction."""
        self._store_meta(identity or {}, loaded=True)
        self._loaded = True

    def _store_meta(self, values: dict[str, str], *, loaded: bool = False) -> None:
        def store(db: Any) -> None:
            db.execute(
                "UPDATE leadup_uploads SET meta = meta || %s::jsonb, loaded = loaded OR %s"
                " WHERE id = %s",
                (json.dumps(values), loaded, self.upload_id),
            )

        self.write(store)
        self._meta.update(values)

    def add(self, entries: Iterable[tuple[Lead | RowResult, Sequence[str]]]) -> None:
        """Insert rows with their cells: a Lead is pending, a RowResult final already."""
        leads: list[tuple[Any, ...]] = []
        finals: list[tuple[Any, ...]] = []
        up, fence = self.upload_id, self.fence
        for item, cells in entries:
            encoded = encode(list(cells))
            now = time.time()
            if type(item) is Lead:
                key = item.idempotency_key or None
                leads.append((up, item.row, encoded, encode(item.payload), key, now, fence))
            elif isinstance(item, RowResult) and item.outcome is not Outcome.PENDING:
                finals.append((up, encoded, *result_params(item, now).values(), fence))
            else:
                raise ValueError(f"row {item.row}: a pending row is added as a Lead")
            if len(leads) + len(finals) >= _ADD_BATCH:
                self._insert(leads, finals)
                leads, finals = [], []
        self._insert(leads, finals)

    def _insert(self, leads: list[tuple[Any, ...]], finals: list[tuple[Any, ...]]) -> None:
        def insert(db: Any) -> None:
            with db.cursor() as cursor:
                if leads:
                    cursor.executemany(sql.INSERT_PENDING, leads)
                if finals:
                    cursor.executemany(sql.INSERT_FINAL, finals)

        if leads or finals:
            self.write(insert)

    def recover_in_flight(self, *, resend: bool) -> int:
        """Settle rows a dead attempt left in flight: `unknown`, or pending (same key)."""
        query = sql.RECOVER_TO_RESEND if resend else sql.RECOVER_AS_UNKNOWN
        params = {"now": time.time(), "fence": self.fence, "upload": self.upload_id}
        return self.write(lambda db: db.execute(query, params).rowcount)

    def requeue(self, outcomes: Collection[Outcome]) -> int:
        """Return final rows with these outcomes to pending; never a created row."""
        if Outcome.CREATED in outcomes:
            raise ValueError("a created row is never sent again")
        values = [Outcome(o).value for o in outcomes if o is not Outcome.PENDING]
        if not values:
            return 0
        params = {
            "now": time.time(),
            "fence": self.fence,
            "upload": self.upload_id,
            "outcomes": values,
        }
        where = (
            " WHERE upload_id = %(upload)s AND state = 'final' AND outcome = ANY(%(outcomes)s)"
            " AND payload IS NOT NULL"
        )
        return self.write(lambda db: db.execute(sql.REOPEN + where, params).rowcount)

    def pending(self, batch_size: int = 1000, *, after: int | None = None) -> Iterator[Lead]:
        """Pending rows in row order (after row `after`), a page at a time."""
        last = _FIRST_ROW if after is None else after
        query = (
            "SELECT row, payload, idem_key FROM leadup_rows WHERE upload_id = %s AND row > %s"
            " AND state = 'pending' ORDER BY row LIMIT %s"
        )
        while page := self.query(query, (self.upload_id, last, batch_size)):
            for row, payload, key in page:
                body = JsonBody(decode(payload))
                body.encoded = payload.encode()  # sent as it was stored: encoded once
                yield Lead(row, body, key or idempotency_key(self.input_sha256, row))
            last = page[-1][0]

    def pending_count(self) -> int:
        """How many rows `pending()` would yield now."""
        query = "SELECT count(*) FROM leadup_rows WHERE upload_id = %s AND state = 'pending'"
        return int(self.query(query, (self.upload_id,))[0][0])

    def update_row(
        self,
        row: int,
        *,
        cells: Sequence[str],
        payload: dict[str, Any] | None,
        idempotency_key: str | None,
        result: RowResult | None,
    ) -> None:
        """Replace a row's cells (fixed by the user) and either resend it or finalise it;
        never an in-flight or created row."""
        if (payload is None) != (idempotency_key is None) or (payload is None) == (result is None):
            raise ValueError("give either a payload with its idempotency key, or a result")
        if result is not None and (result.row != row or result.outcome is Outcome.PENDING):
            raise ValueError(f"row {row}: the result must be a final one for the same row")
        now, base = time.time(), {"fence": self.fence, "upload": self.upload_id, "row": row}

        def update(db: Any) -> None:
            found = db.execute(
                "SELECT state, outcome FROM leadup_rows WHERE upload_id = %(upload)s"
                " AND row = %(row)s FOR UPDATE",
                base,
            ).fetchone()
            if found is None:
                raise KeyError(row)
            if found[0] == "in_flight" or found[1] == Outcome.CREATED.value:
                raise ValueError(f"row {row} is {found[1] or found[0]}: it cannot be changed")
            change = {
                **base,
                "cells": encode(list(cells)),
                "payload": None if payload is None else encode(payload),
                "key": idempotency_key,
            }
            set_cells = (
                "UPDATE leadup_rows SET cells = %(cells)s, payload = %(payload)s,"
                " idem_key = %(key)s WHERE upload_id = %(upload)s AND row = %(row)s"
            )
            # Ordered so that a row that is not final always has a payload (a CHECK).
            if result is None:
                db.execute(set_cells, change)
                db.execute(sql.REOPEN + _THIS_ROW, {**base, "now": now})
            else:
                db.execute(sql.RECORD, {**result_params(result, now), **base})
                db.execute(set_cells, change)

        self.write(update)

    def commit(
        self,
        in_flight: Sequence[tuple[int, int] | tuple[int, int, dict[str, Any] | None]],
        results: Sequence[RowResult],
    ) -> None:
        """In one fenced transaction: mark (row, attempt[, extra]) in flight, then record
        results. Refuses (commits nothing) what the SQLite journal refuses."""
        now, base = time.time(), {"fence": self.fence, "upload": self.upload_id}
        marks = [
            {
                **base,
                "row": mark[0],
                "attempt": mark[1],
                "extra": encode(mark[2]) if len(mark) > 2 and mark[2] else None,
                "now": now,
            }
            for mark in in_flight
        ]
        params = [{**result_params(r, now), **base} for r in results]

        def write(db: Any) -> None:
            with db.cursor() as cursor:
                for query, batch in ((sql.MARK, marks), (sql.RECORD, params)):
                    if not batch:
                        continue
                    cursor.executemany(query, batch)  # rowcount: the sum over the batch
                    if cursor.rowcount != len(batch):
                        rows = ", ".join(str(p["row"]) for p in batch[:10])
                        raise JournalWriteError(
                            f"{self.path}: refused to record: it would post a row again"
                            f" or lose a result (rows {rows}); nothing of it was recorded"
                        )

        self.write(write)

    def counts(self) -> dict[Outcome, int]:
        """Rows per outcome, every outcome present; pending and in-flight rows are PENDING."""
        counts = dict.fromkeys(Outcome, 0)
        query = "SELECT outcome, count(*) FROM leadup_rows WHERE upload_id = %s GROUP BY outcome"
        for outcome, n in self.query(query, (self.upload_id,)):
            counts[Outcome(outcome) if outcome else Outcome.PENDING] += n
        return counts

    def status_counts(self) -> dict[str, int]:
        """The API's lead_status of created rows, and how many of each."""
        query = (
            "SELECT lead_status, count(*) FROM leadup_rows WHERE upload_id = %s"
            " AND outcome = 'created' GROUP BY lead_status ORDER BY lead_status"
        )
        return dict(self.query(query, (self.upload_id,)))

    def total_price(self) -> float:
        """What the created rows cost."""
        query = (
            "SELECT coalesce(sum(price), 0) FROM leadup_rows WHERE upload_id = %s"
            " AND outcome = 'created'"
        )
        return float(self.query(query, (self.upload_id,))[0][0])

    def results(self) -> Iterator[tuple[RowResult, list[str]]]:
        """Every row in row order with its cells; refused to a fenced-out attempt, so that
        it never renders a results file over the new attempt's."""
        self.write(lambda db: None)
        last = _FIRST_ROW
        query = (
            f"SELECT {sql.RESULT_FIELDS}, cells FROM leadup_rows WHERE upload_id = %s"
            " AND row > %s ORDER BY row LIMIT %s"
        )
        while page := self.query(query, (self.upload_id, last, _READ_BATCH)):
            for record in page:
                yield row_result(tuple(record)), decode(record[-1])
            last = page[-1][0]

    def field_values(self, key: str) -> dict[int, str]:
        """One field of every prepared row's body, by row (e.g. `state`, for a quote)."""
        query = (
            "SELECT row, payload::jsonb ->> %s FROM leadup_rows WHERE upload_id = %s"
            " AND payload IS NOT NULL"
        )
        found = self.query(query, (key, self.upload_id))
        return {row: str(value) for row, value in found if value is not None}

    def result_of(self, row: int) -> RowResult:
        """One row's results line (KeyError if there is no such row)."""
        query = f"SELECT {sql.RESULT_FIELDS} FROM leadup_rows WHERE upload_id = %s AND row = %s"
        found = self.query(query, (self.upload_id, row))
        if not found:
            raise KeyError(row)
        return row_result(tuple(found[0]))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> PgJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PgJournal(upload={self.upload_id}, attempt={self.fence}, loaded={self.loaded})"

    # -- plumbing -------------------------------------------------------------------------

    def _reconnect(self) -> None:
        with self._lock:
            self._db.close()
            self._db = connect(self._url)

    def query(self, query: str, params: Sequence[Any]) -> list[Any]:
        def read() -> list[Any]:
            with self._lock:
                return list(self._db.execute(query, params).fetchall())

        return retrying(read, reconnect=self._reconnect)

    def write(self, change: Callable[[Any], T]) -> T:
        """One transaction, fenced by the run attempt, replayed after a lost connection."""

        def attempt() -> T:
            with self._lock, self._db.transaction():
                params = {"upload": self.upload_id}
                found = self._db.execute(sql.FENCE, params).fetchone()
                if found is None or found[0] != self.fence:
                    raise FencedOut(
                        f"{self.path}: another worker took this upload over (attempt"
                        f" {found[0] if found else '?'}, ours {self.fence}); writing nothing"
                    )
                return change(self._db)

        return retrying(attempt, reconnect=self._reconnect)


def as_row_journal(journal: PgJournal) -> RowJournal:
    """The engine's view of a PgJournal; mypy checks here that it keeps the interface."""
    return journal
