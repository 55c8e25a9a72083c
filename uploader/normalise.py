"""Rows -> leads: normalise what the API validates, check each row locally, find in-file duplicates.

Work is done a column at a time over a chunk (plain phones and clean emails by one regex over
the column, zips and states cached by value since a list repeats them, phonenumbers' parses
cached by value), then each row is assembled once. Per-value rules live in `uploader.fields`.

Memory follows the chunk, except for duplicate detection, which must remember every lead of
the file: 12 bytes per distinct email and per distinct phone (see `_Seen`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from uploader import fields as f
from uploader.errors import ConfigError
from uploader.mapping import Mapping
from uploader.model import STANDARD_FIELDS, Lead, Outcome, RowResult, idempotency_key
from uploader.settings import PrepareOptions

_CACHE_LIMIT = 200_000  # values kept per cached normaliser; cleared past this (memory bound)
_SHOWN_VALUE_CHARS = 60  # a value quoted in an error is cut to this many characters

Normaliser = Callable[[str], f.Checked]
ColumnNormaliser = Callable[[list[str]], tuple[list[str], dict[int, str]]]


class _Cached:
    """A normaliser remembered by input value: a list has few distinct zips, states, phones."""

    def __init__(self, func: Normaliser) -> None:
        self.func = func
        self.memo: dict[str, f.Checked] = {}
        self.unique: bool | None = None  # decided on the first chunk of some size

    def column(self, values: list[str]) -> tuple[list[str], dict[int, str]]:
        func = self.func
        if self.unique is None and len(values) >= 1000:
            # Mostly unique (phones often are): remembering them costs more than it saves.
            self.unique = len(set(values)) * 2 > len(values)
        if self.unique:
            out = [func(v) for v in values]
        else:
            memo = self.memo
            if len(memo) > _CACHE_LIMIT:
                memo.clear()
            for v in set(values).difference(memo):
                memo[v] = func(v)
            out = [memo[v] for v in values]
        values_out = [o[0] for o in out]
        return values_out, _sparse(out)


class _Seen:
    """The first row of every value passed so far, in 16 bytes a value, for duplicates.

    Values are kept as 64-bit hashes in sorted arrays, not as strings in a dict (about 170
    bytes a value), so that a million distinct values take 12 MB, not 170 MB. Two different
    values share a hash with odds of about n²/2⁶⁵ (3e-8 for a million values).
    """

    def __init__(self) -> None:
        self.hashes = np.empty(0, dtype=np.int64)  # sorted
        self.rows = np.empty(0, dtype=np.int32)
        self.pending: dict[int, int] = {}  # this chunk's values: hash -> first row
        self.pending_bulk: list[tuple[np.ndarray, np.ndarray]] = []  # (hashes, rows), unique

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """The first row each hash had in earlier chunks, or 0."""
        self.commit()
        if not len(self.hashes):
            return np.zeros(len(hashes), dtype=np.int64)
        at = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        return np.where(self.hashes[at] == hashes, self.rows[at], 0)

    def commit(self) -> None:
        """Fold the values of the last chunk into the sorted arrays."""
        if not self.pending and not self.pending_bulk:
            return
        parts = [
            *self.pending_bulk,
            (
                np.fromiter(self.pending, dtype=np.int64, count=len(self.pending)),
                np.fromiter(self.pending.values(), dtype=np.int64, count=len(self.pending)),
            ),
        ]
        new = np.concatenate([h for h, _ in parts])
        new_rows = np.concatenate([r for _, r in parts]).astype(np.int32)
        order = np.argsort(new)
        new, new_rows = new[order], new_rows[order]
        # Insert the new values where they belong: one copy of the arrays, no full sort.
        at = np.searchsorted(self.hashes, new)
        self.hashes = np.insert(self.hashes, at, new)
        self.rows = np.insert(self.rows, at, new_rows)
        self.pending = {}
        self.pending_bulk = []


def _show(value: str) -> str:
    text = value if len(value) <= _SHOWN_VALUE_CHARS else value[: _SHOWN_VALUE_CHARS - 1] + "…"
    return f'"{text}"'


class Preparer:
    """Turns chunks of a file's rows into leads to send, or the reason a row is not sent.

    Stateful across the chunks of one file: it remembers the email and phone of every lead it
    has passed, to hold back later rows that repeat them.
    """

    def __init__(
        self,
        mapping: Mapping,
        columns: Sequence[str],
        options: PrepareOptions,
        file_sha256: str,
    ) -> None:
        _check_mapping(mapping, columns)
        self.mapping = mapping
        self.columns = tuple(columns)
        self.options = options
        self.file_sha256 = file_sha256
        country = options.country.upper()
        self._normalisers: dict[str, ColumnNormaliser]
        zips = _Cached(lambda v: f.postal_code(v, country))
        states = _Cached(f.state)
        self._normalisers = {
            "email": f.email_column,
            "phone": lambda values: f.phone_column(values, country),
            "zip": zips.column,
            "state": states.column,
        }
        self._field_cols = sorted(mapping.fields.items())  # (position, field)
        self._extra_cols = sorted(mapping.extras.items())
        self._constants = self._check_constants(mapping.constants, country)
        self._seen_email = _Seen()
        self._seen_phone = _Seen()
        self._required = tuple(dict.fromkeys(("zip", *options.require)))
        self._missing = {name: self._why_missing(name) for name in self._required}

    @staticmethod
    def _check_constants(constants: dict[str, str], country: str) -> dict[str, str]:
        """Constants for standard fields are normalised like cells; a bad one stops the run."""
        checked: dict[str, str] = {}
        for key, value in constants.items():
            if key in STANDARD_FIELDS:
                normalised, problem = _normalise_one(key, value, country)
                if problem:
                    raise ConfigError(f"constant {key} = {_show(value)} {problem}")
                checked[key] = normalised
            else:
                checked[key] = value
        return checked

    def prepare(self, chunk: pd.DataFrame) -> Iterator[tuple[Lead | RowResult, list[str]]]:
        """Per row, in order: a Lead, or a RowResult (invalid or skipped) with its reason;
        and the row's own cells, unchanged. Duplicates are judged against the rows of
        earlier chunks given to this Preparer, so give it a file's chunks in order."""
        rows: list[int] = chunk.index.tolist()
        cells: list[list[str]] = chunk.to_numpy(dtype=object).tolist()
        keys: list[str] = []  # payload key of each normalised column, in payload order
        values: list[list[str]] = []
        problems: dict[int, dict[str, str]] = {}  # row offset -> field -> reason
        for pos, name in self._field_cols:
            raw: list[str] = chunk[pos].tolist()
            normalise = self._normalisers.get(name)
            if normalise is None:
                column = f.collapse_column(raw)
            else:
                column, bad = normalise(raw)
                header = self.columns[pos]
                for i, why in bad.items():
                    reason = f'column "{header}": {_show(column[i])} {why}'
                    problems.setdefault(i, {})[name] = reason
            keys.append(name)
            values.append(column)
        if self.mapping.full_name is not None:
            split = [f.split_name(v) for v in chunk[self.mapping.full_name].tolist()]
            keys += ["first_name", "last_name"]
            values += [[s[0] for s in split], [s[1] for s in split]]
        for pos, key in self._extra_cols:
            keys.append(key)
            values.append(f.strip_column(chunk[pos].tolist()))
        self._check_required(keys, values, len(rows), problems)

        results = self._assemble(rows, keys, values, problems)
        return zip(results, cells, strict=False)  # same length: one result per row

    def _assemble(
        self,
        rows: list[int],
        keys: list[str],
        values: list[list[str]],
        problems: dict[int, dict[str, str]],
    ) -> list[Lead | RowResult]:
        """Each row's Lead, or its RowResult when invalid or a duplicate, in row order.

        Built a list at a time (C-level loops) rather than row by row: at a million rows
        the Python overhead of a loop body is seconds.
        """
        n = len(rows)
        # Empty cells are left out of the payload.
        # map/zip run in C; zip(strict=True) would double the cost, and every column has n
        # values by construction.
        payloads: list[dict[str, Any]] = (
            list(map(dict, map(zip, repeat(keys), zip(*values, strict=False))))
            if values
            else [{} for _ in range(n)]
        )
        for key, column in zip(keys, values, strict=True):
            if "" in column:
                for i in [i for i, v in enumerate(column) if not v]:
                    del payloads[i][key]
        base: dict[str, Any] = dict(self._constants)
        if self.options.is_test:
            base["is_test"] = True
        if base:
            for payload in payloads:
                payload.update(base)
        held: dict[int, RowResult] = {
            i: RowResult(rows[i], Outcome.INVALID, error="; ".join(reasons.values()))
            for i, reasons in problems.items()
        }
        if not self.options.keep_duplicates:
            self._find_duplicates(rows, keys, values, held)
        keys_by_row = map(idempotency_key, repeat(self.file_sha256), rows)
        results: list[Lead | RowResult] = list(map(Lead, rows, payloads, keys_by_row))
        for i, held_back in held.items():
            results[i] = held_back
        return results

    def _find_duplicates(
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
        for name, seen in (("email", self._seen_email), ("phone", self._seen_phone)):
            if name not in keys:
                continue
            column = values[keys.index(name)]
            present = np.asarray(column, dtype=object) != ""
            hashes = np.fromiter(map(hash, column), dtype=np.int64, count=n)
            before = seen.lookup(hashes)
            suspect |= present & ((before > 0) | _repeated(hashes, present))
            stores.append((column, present, hashes, before, seen))
        for i in np.flatnonzero(suspect & unheld).tolist():
            first = 0
            for column, _, hashes, before, seen in stores:
                if column[i]:
                    first = int(before[i]) or seen.pending.get(int(hashes[i]), 0)
                    if first:
                        break
            if first:
                held[i] = RowResult(rows[i], Outcome.SKIPPED, error=f"same lead as row {first}")
                continue
            for column, _, hashes, _, seen in stores:
                if column[i]:
                    seen.pending.setdefault(int(hashes[i]), rows[i])
        # Every other sent row: its values are new and unique in the chunk.
        plain = unheld & ~suspect
        for _, present, hashes, _, seen in stores:
            take = plain & present
            seen.pending_bulk.append((hashes[take], row_numbers[take]))

    def _check_required(
        self, keys: list[str], values: list[list[str]], n: int, problems: dict[int, dict[str, str]]
    ) -> None:
        """Add "empty but required" to rows whose required field has no value (nor a problem)."""
        for name in self._required:
            if name in self._constants:
                continue
            if name in keys:
                column = values[keys.index(name)]
                empty = [i for i, v in enumerate(column) if not v]
            else:
                empty = list(range(n))
            for i in empty:
                reasons = problems.setdefault(i, {})
                reasons.setdefault(name, self._missing[name])

    def _why_missing(self, name: str) -> str:
        """Why a row has no value for a required field (the same for every such row)."""
        why = "every lead needs a zip" if name == "zip" else f"{name} is required"
        for pos, field in self.mapping.fields.items():
            if field == name:
                return f'column "{self.columns[pos]}" is empty: {why}'
        if name in ("first_name", "last_name") and self.mapping.full_name is not None:
            header = self.columns[self.mapping.full_name]
            return f'column "{header}" gives no {name.replace("_", " ")}: {why}'
        for pos, key in self.mapping.extras.items():
            if key == name:
                return f'column "{self.columns[pos]}" is empty: {why}'
        return f"no column is mapped to {name} ({why}); map one with --mapping"


def _check_mapping(mapping: Mapping, columns: Sequence[str]) -> None:
    """A Mapping built by hand (or read back from a journal) that sends one key twice."""
    keys = [*mapping.fields.values(), *mapping.extras.values()]
    if mapping.full_name is not None:
        keys += ["first_name", "last_name"]
    dup = next((k for i, k in enumerate(keys) if k in keys[:i] or k in mapping.constants), None)
    if dup is not None:
        raise ConfigError(f"the mapping sends {dup!r} from two places; map one column to it")
    width = len(columns)
    positions = [*mapping.fields, *mapping.extras]
    if mapping.full_name is not None:
        positions.append(mapping.full_name)
    if any(not 0 <= p < width for p in positions):
        raise ConfigError(f"the mapping names a column the file does not have ({width} columns)")


def _repeated(hashes: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Which present values occur more than once in the chunk (by hash)."""
    ordered = np.sort(hashes[present])
    twins = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(twins):
        return np.zeros(len(hashes), dtype=bool)
    return present & np.isin(hashes, twins)


def _sparse(out: list[f.Checked]) -> dict[int, str]:
    """The problems of a normalised column, by row offset."""
    return {i: why for i, (_, why) in enumerate(out) if why is not None}


def _normalise_one(name: str, value: str, country: str) -> f.Checked:
    """One value of a standard field, as a cell of that field's column would be."""
    if name == "email":
        return f.email(value)
    if name == "phone":
        return f.phone(value, country)
    if name == "zip":
        return f.postal_code(value, country)
    if name == "state":
        return f.state(value)
    return f.collapse(value), None
