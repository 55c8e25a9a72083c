"""Rows that repeat an earlier row's email or phone: held back as `skipped`, in 12 bytes a value.

Duplicate detection is the one part of preparing that must remember every lead of the file
(see `_Seen`); everything else follows the chunk.
"""

from __future__ import annotations

import numpy as np

from uploader.model import Outcome, RowResult

_EMPTY_HASH = hash("")  # an empty email or phone: no value to repeat


class _Seen:
    """The first row of every value passed so far, in 12 bytes a value, for duplicates.

    Values are kept as 64-bit hashes in sorted arrays, not as strings in a dict (about 170
    bytes a value), so that a million distinct values take 12 MB, not 170 MB. Two different
    values share a hash with odds of about n²/2⁶⁵ (3e-8 for a million values).

    Each chunk's values become a sorted run; runs of like size are merged (as in an LSM
    tree), so a value is copied about log(chunks) times rather than once per later chunk.
    """

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted hashes, rows), big first
        self.pending: dict[int, int] = {}  # this chunk's values: hash -> first row
        self.pending_bulk: list[tuple[np.ndarray, np.ndarray]] = []  # (hashes, rows) by hash

    def lookup(self, ordered: np.ndarray) -> np.ndarray:
        """The first row each hash had in earlier chunks, or 0, for hashes in sorted order.

        Sorted, each search starts where the last one ended: a run is walked in order
        rather than jumped about in. A hash is in one run at most.
        """
        self.commit()
        found = np.zeros(len(ordered), dtype=np.int64)
        for hashes, rows in self.runs:
            at = np.minimum(np.searchsorted(hashes, ordered), len(hashes) - 1)
            hit = hashes[at] == ordered
            found[hit] = rows[at[hit]]
        return found

    def commit(self) -> None:
        """Fold the values of the last chunk into the runs."""
        if not self.pending and not self.pending_bulk:
            return
        walked = np.fromiter(self.pending, dtype=np.int64, count=len(self.pending))
        walked_rows = np.fromiter(self.pending.values(), dtype=np.int64, count=len(walked))
        order = np.argsort(walked)
        new, new_rows = walked[order], walked_rows[order]
        for hashes, rows in self.pending_bulk:  # each part is sorted already
            new, new_rows = _merge(hashes, rows, new, new_rows)
        self.pending = {}
        self.pending_bulk = []
        if not len(new):
            return
        self.runs.append((new, new_rows.astype(np.int32)))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            small = self.runs.pop()
            big = self.runs.pop()
            self.runs.append(_merge(*big, *small))


def _merge(
    hashes: np.ndarray, rows: np.ndarray, more: np.ndarray, more_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted (hashes, rows) as one, sorted."""
    at = np.searchsorted(hashes, more)
    return np.insert(hashes, at, more), np.insert(rows, at, more_rows)


class Duplicates:
    """The emails and phones of every lead passed so far, across the chunks of one file."""

    def __init__(self) -> None:
        self.emails = _Seen()
        self.phones = _Seen()

    def hold(
        self,
        rows: list[int],
        keys: list[str],
        values: list[list[str]],
        held: dict[int, RowResult],
    ) -> None:
        """Hold back (as skipped) rows whose email or phone an earlier sent row had.

        Only rows that can be duplicates (a value seen in an earlier chunk, or repeated in
        this one) are walked in order, few as they are; every other sent row is remembered
        in bulk with numpy.
        """
        n = len(rows)
        row_numbers = np.asarray(rows, dtype=np.int64)
        unheld = np.ones(n, dtype=bool)
        unheld[list(held)] = False
        stores = []
        suspect = np.zeros(n, dtype=bool)
        for name, seen in (("email", self.emails), ("phone", self.phones)):
            if name not in keys:
                continue
            column = values[keys.index(name)]
            hashes = np.fromiter(map(hash, column), dtype=np.int64, count=n)
            present = hashes != _EMPTY_HASH  # a value hashing as "" is a 2⁻⁶⁴ chance
            order = np.argsort(hashes)  # one sort per column: lookup, twins and memory
            ordered = hashes[order]
            before = np.empty(n, dtype=np.int64)
            before[order] = seen.lookup(ordered)
            twins = np.zeros(n, dtype=bool)  # in hash order: a value that occurs twice
            twins[1:] = ordered[1:] == ordered[:-1]
            twins[:-1] |= twins[1:]
            repeated = np.empty(n, dtype=bool)
            repeated[order] = twins
            suspect |= present & ((before > 0) | repeated)
            stores.append((column, present, hashes, before, seen, order, ordered))
        for i in np.flatnonzero(suspect & unheld).tolist():
            first = 0
            for column, _, hashes, before, seen, _, _ in stores:
                if column[i]:
                    first = int(before[i]) or seen.pending.get(int(hashes[i]), 0)
                    if first:
                        break
            if first:
                held[i] = RowResult(rows[i], Outcome.SKIPPED, error=f"same lead as row {first}")
                continue
            for column, _, hashes, _, seen, _, _ in stores:
                if column[i]:
                    seen.pending.setdefault(int(hashes[i]), rows[i])
        # Every other sent row: its values are new and unique in the chunk.
        plain = unheld & ~suspect
        for _, present, _, _, seen, order, ordered in stores:
            take = (plain & present)[order]  # in hash order
            seen.pending_bulk.append((ordered[take], row_numbers[order][take]))
