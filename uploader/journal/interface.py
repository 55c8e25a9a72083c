"""What the run and the send phases ask of a journal, whatever stores it.

`Journal` (SQLite, one file beside the results) is the one implementation today; the
cluster's PostgreSQL journal implements the same methods. The rules every implementation
keeps are the SQLite one's (uploader/journal/store.py):

- a row is `pending`, `in_flight` or `final`; it is marked `in_flight` durably before its
  request leaves, so a crash never hides a request that may have been applied;
- `commit` refuses (and commits nothing) when a final row would be marked in flight, a
  `created` row would change, or a PENDING result would reopen a final row;
- a returned commit survives a power cut;
- rows reserved in flight whose results are not yet durable stay within 2 x --concurrency
  (the caller's bound: `JournalWriter.unsettled`), so that is all a crash can leave
  `unknown` (DECISIONS, "Outages and crashes").

Opening is each implementation's own (`Journal.open`/`Journal.open_existing` take a path);
from then on callers see only this protocol.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from uploader.model import Lead, Outcome, RowResult

# (row, attempt) or (row, attempt, extra): a mark in flight; `extra` is a ping's figures.
# Attempt 0 reserves the row before its first attempt and counts no attempt (the pool
# reserves rows a batch at a time); `recover_in_flight` counts it for a row left so.
Mark = tuple[int, int] | tuple[int, int, dict[str, Any] | None]


class RowJournal(Protocol):
    """One upload's durable row states (see the module docstring)."""

    path: Path  # where it lives, as a person would look for it (a file, or a URL less secrets)
    columns: tuple[str, ...]  # the input's column names, for the results file
    input_sha256: str  # the input's content; seeds every row's Idempotency-Key
    input_name: str  # the input's path when the upload started (or last resumed)

    # -- metadata ------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Every input row is in the journal (the load finished)."""

    @property
    def sending_began(self) -> bool:
        """The run's identity is saved (`save_identity` or `mark_loaded`): rows may have been
        sent, so the journal is resumed even when its load never finished."""

    def get_meta(self, key: str) -> str | None:
        """A value stored with `set_meta`, `mark_loaded` or `save_identity`."""

    def set_meta(self, key: str, value: str) -> None:
        """Store a value durably."""

    def save_identity(self, identity: dict[str, str]) -> None:
        """Store the run's identity (mapping, options, ping) in one transaction, before the
        first row is sent: from then on a resume must share it, loaded or not."""

    def mark_loaded(self, identity: dict[str, str] | None = None) -> None:
        """Every row is in: record it, with the run's identity, in one transaction."""

    # -- the load ------------------------------------------------------------------------

    def add(self, entries: Iterable[tuple[Lead | RowResult, Sequence[str]]]) -> None:
        """Insert rows with their cells: a Lead is pending, a RowResult final already."""

    def last_row(self) -> int | None:
        """The highest row added so far (a load cut short continues after it), or None."""

    # -- sending -------------------------------------------------------------------------

    def recover_in_flight(self, *, resend: bool) -> int:
        """Settle rows a dead run left in flight: `unknown`, or pending to resend."""

    def requeue(self, outcomes: Collection[Outcome]) -> int:
        """Return final rows with these outcomes (never `created`) to pending."""

    def pending(self, batch_size: int = 1000, *, after: int | None = None) -> Iterator[Lead]:
        """Pending rows in row order (those after row `after`), a page at a time."""

    def pending_count(self) -> int:
        """How many rows `pending()` would yield now."""

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

    def commit(self, in_flight: Sequence[Mark], results: Sequence[RowResult]) -> None:
        """In one durable transaction: marks in flight first, then results (or refuse all)."""

    # -- reading -------------------------------------------------------------------------

    def counts(self) -> dict[Outcome, int]:
        """Rows per outcome, every outcome present; rows not final count as PENDING."""

    def status_counts(self) -> dict[str, int]:
        """The API's lead_status of created rows, and how many of each."""

    def total_price(self) -> float:
        """What the created rows cost."""

    def results(self) -> Iterator[tuple[RowResult, list[str]]]:
        """Every row in row order with its cells, streamed; rows not final are PENDING."""

    def field_values(self, key: str) -> dict[int, str]:
        """One field of every prepared row's body, by row."""

    def result_of(self, row: int) -> RowResult:
        """One row's results line (KeyError if there is no such row)."""

    def close(self) -> None:
        """Release the connection."""
