"""Rows -> leads: normalise what the API validates, check each row locally, find in-file duplicates.

Work is done a column at a time over a chunk (clean emails by one regex over the column,
plain phones by their few shapes, zips and states cached by value since a list repeats them,
phonenumbers' parses cached by value); each row's payload, Lead and cells are then made by
C-level loops as the caller takes them. Per-value rules live in `uploader.prepare.fields`.

Memory follows the chunk, except for duplicate detection, which must remember every lead of
the file: 12 bytes per distinct email and per distinct phone (see `_Seen`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from uploader.errors import ConfigError
from uploader.headers import match_header
from uploader.model import (
    STANDARD_FIELDS,
    Lead,
    Outcome,
    RowResult,
    idempotency_keys,
    leads_from,
)
from uploader.prepare import fields as f
from uploader.prepare.mapping import Mapping
from uploader.settings import PrepareOptions

_CACHE_LIMIT = 200_000  # values kept per cached normaliser; cleared past this (memory bound)
_EMPTY_HASH = hash("")  # an empty email or phone: no value to repeat
_SHOWN_VALUE_CHARS = 60  # a value quoted in an error is cut to this many characters

Normaliser = Callable[[str], f.Checked]
ColumnNormaliser = Callable[[list[str]], tuple[list[str], dict[int, str]]]


class _Cached:
    """A normaliser remembered by input value: a list has few distinct zips, states, phones."""

    def __init__(self, func: Normaliser) -> None:
        self.func = func
        self.memo: dict[str, str] = {}  # value -> normalised value
        self.bad: dict[str, str] = {}  # value -> problem, for the values that have one
        self.unique: bool | None = None  # decided on the first chunk of some size

    def column(self, values: list[str]) -> tuple[list[str], dict[int, str]]:
        func = self.func
        if self.unique is None and len(values) >= 1000:
            # Mostly unique (phones often are): remembering them costs more than it saves.
            self.unique = len(set(values)) * 2 > len(values)
        if self.unique:
            return f.each(func, values)
        memo, bad = self.memo, self.bad
        if len(memo) > _CACHE_LIMIT:
            memo.clear()
            bad.clear()
        distinct = set(values)
        for v in distinct.difference(memo):
            memo[v], why = func(v)
            if why is not None:
                bad[v] = why
        column = list(map(memo.__getitem__, values))
        if bad.keys().isdisjoint(distinct):
            return column, {}
        return column, {i: bad[v] for i, v in enumerate(values) if v in bad}


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
        *,
        with_keys: bool = True,
    ) -> None:
        """`with_keys=False` leaves each Lead's idempotency key "" for the journal to derive
        when the row is sent (the same key): a million keys cost a fifth of a load."""
        _check_mapping(mapping, columns)
        self._with_keys = with_keys
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
        self._twins = _twin_columns(mapping, self.columns)
        self._extra_cols = sorted(mapping.extras.items())
        self._constants = self._check_constants(mapping.constants, country)
        self._seen_email = _Seen()
        self._seen_phone = _Seen()
        self._required = tuple(dict.fromkeys(("zip", *options.require)))
        self._missing = {name: self._why_missing(name) for name in self._required}
        self._base: dict[str, Any] = dict(self._constants)  # on every payload, after the cells
        if options.is_test:
            self._base["is_test"] = True

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
        earlier chunks given to this Preparer, so give it a file's chunks in order.

        Everything is decided before this returns; the Leads and cell lists themselves are
        made as the caller takes them, so that a chunk's million small objects are not all
        alive at once (the garbage collector would walk them again and again).
        """
        rows: list[int] = chunk.index.tolist()
        cells_in: list[list[str]] = [chunk.iloc[:, j].tolist() for j in range(chunk.shape[1])]
        raw = [f.without_controls(column) for column in cells_in]  # no NUL reaches the API
        keys: list[str] = []  # payload key of each normalised column, in payload order
        values: list[list[str]] = []
        problems: dict[int, dict[str, str]] = {}  # row offset -> field -> reason
        for pos, name in self._field_cols:
            normalise = self._normalisers.get(name)
            if normalise is None:
                column = f.collapse_column(raw[pos])
            else:
                column, bad = normalise(raw[pos])
                header = self.columns[pos]
                for i, why in bad.items():
                    reason = f'column "{header}": {_show(column[i])} {why}'
                    problems.setdefault(i, {})[name] = reason
            keys.append(name)
            values.append(column)
        if self.mapping.full_name is not None:
            split = [f.split_name(v) for v in raw[self.mapping.full_name]]
            keys += ["first_name", "last_name"]
            values += [[s[0] for s in split], [s[1] for s in split]]
        for pos, key in self._extra_cols:
            keys.append(key)
            values.append(f.strip_column(raw[pos]))
        self._check_required(keys, values, len(rows), problems)
        self._check_twins(raw, keys, values, problems)

        results = self._assemble(rows, keys, values, problems)
        cells = map(list, zip(*cells_in, strict=False)) if cells_in else ([] for _ in rows)
        return zip(results, cells, strict=False)  # same length: one result per row

    def _assemble(
        self,
        rows: list[int],
        keys: list[str],
        values: list[list[str]],
        problems: dict[int, dict[str, str]],
    ) -> Iterator[Lead | RowResult]:
        """Each row's Lead, or its RowResult when invalid or a duplicate, in row order.

        Built by C-level loops (map, zip) rather than row by row: at a million rows the
        Python overhead of a loop body is seconds.
        """
        held: dict[int, RowResult] = {
            i: RowResult(rows[i], Outcome.INVALID, error="; ".join(reasons.values()))
            for i, reasons in problems.items()
        }
        if not self.options.keep_duplicates:
            self._find_duplicates(rows, keys, values, held)
        payloads = _payloads(keys, values, self._base, len(rows))
        keys_by_row = idempotency_keys(self.file_sha256, rows) if self._with_keys else repeat("")
        leads = leads_from(zip(rows, payloads, keys_by_row, strict=False))
        return map(held.get, range(len(rows)), leads) if held else leads

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

    def _check_twins(
        self,
        raw: list[list[str]],
        keys: list[str],
        values: list[list[str]],
        problems: dict[int, dict[str, str]],
    ) -> None:
        """A row whose second column for a field (two "Zip" headers, "Zip" and "Zip Code")
        holds another value than the column sent as that field: which one is meant is not
        for leadup to guess, nor to send the other one quietly as an extra field."""
        for pos, field, chosen in self._twins:
            normalise = self._normalisers.get(field)
            twin = normalise(raw[pos])[0] if normalise else f.collapse_column(raw[pos])
            sent = values[keys.index(field)]
            header, other = self.columns[pos], self.columns[chosen]
            for i, (a, b) in enumerate(zip(twin, sent, strict=True)):
                if a and a != b:
                    problems.setdefault(i, {})[f"{field}#{pos}"] = (
                        f'column "{header}": {_show(a)} is another {field} than column '
                        f'"{other}" ({_show(b) if b else "empty"}); keep one, or say which '
                        "with --mapping"
                    )

    def _check_required(
        self, keys: list[str], values: list[list[str]], n: int, problems: dict[int, dict[str, str]]
    ) -> None:
        """Add "empty but required" to rows whose required field has no value (nor a problem)."""
        for name in self._required:
            if name in self._constants:
                continue
            if name in keys:
                column = values[keys.index(name)]
                if all(column):  # no empty cell
                    continue
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


# Fields a lead has one of (a person may have several emails and phones, not two zips).
_ONE_PER_LEAD = frozenset(("first_name", "last_name", "address_1", "city", "state", "zip"))


def _twin_columns(mapping: Mapping, columns: Sequence[str]) -> list[tuple[int, str, int]]:
    """(position, field, position of the column sent as that field) for each extra column
    that is a second column for a field: the same header again, or another header for a
    one-per-lead field in the same group ("Zip Code" beside "Zip"; not "Home Zip")."""
    chosen = {field: pos for pos, field in mapping.fields.items()}
    twins = []
    for pos in mapping.extras:
        found = match_header(columns[pos])
        if found is None or found[0] not in chosen:
            continue
        field, group, _ = found
        first = chosen[field]
        same_header = columns[pos].strip().casefold() == columns[first].strip().casefold()
        first_match = match_header(columns[first])
        same_group = first_match is not None and first_match[1] == group
        if same_header or (field in _ONE_PER_LEAD and same_group):
            twins.append((pos, field, first))
    return twins


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


def _payloads(
    keys: Sequence[str], values: list[list[str]], base: dict[str, Any], n: int
) -> Iterator[dict[str, Any]]:
    """Each of the `n` rows' JSON body, made as the caller takes it: the keys with the row's
    values (`values` holds one column per key) less those left empty, then `base`
    (constants, is_test), which therefore always wins a key.

    Plain C-level loops (zip, filter, chain, dict), no Python per row. This replaced a payload
    function generated with `exec` (a presized dict display, some 10% faster over a whole
    load) because product code runs no exec or eval.
    """
    if not values:
        pairs: Iterator[Iterable[tuple[str, Any]]] = repeat((), n)
    else:
        # Every column has a value per row by construction; zip(strict=True) would cost more.
        pairs = map(zip, repeat(tuple(keys)), zip(*values, strict=False))
        if not all(map(all, values)):  # some cell is empty: keep the pairs with a value
            has_value: Callable[[tuple[str, Any]], Any] = itemgetter(1)
            pairs = map(filter, repeat(has_value), pairs)
    if base:
        pairs = map(chain, pairs, repeat(tuple(base.items())))
    return map(dict, pairs)


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
