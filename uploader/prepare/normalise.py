"""Rows -> leads: normalise what the API validates, check each row locally, find in-file duplicates.

Work is done a column at a time over a chunk (`uploader.prepare.columns`: clean emails by one
regex over the column, plain phones by their few shapes, zips and states cached by value);
each row's payload, Lead and cells are then made by C-level loops as the caller takes them.

A row is checked for what would make its lead useless or wrong (issue 12): a field's value
that cannot be one, a country the source does not take, a postcode of another country, no
way to reach the person, digits Excel has lost. Memory follows the chunk, except for
duplicate detection (`uploader.prepare.duplicates`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

import pandas as pd

from uploader.errors import ConfigError
from uploader.model import (
    STANDARD_FIELDS,
    Lead,
    Outcome,
    RowResult,
    idempotency_keys,
    leads_from,
)
from uploader.prepare import fields as f
from uploader.prepare.columns import FieldColumns, compound_part, lost_digits, split_extensions
from uploader.prepare.countries import AU_STATES, country_code, fold
from uploader.prepare.duplicates import Duplicates
from uploader.prepare.judge import PHONE_EXTENSION
from uploader.prepare.mapped import Mapping
from uploader.settings import PrepareOptions

_SHOWN_VALUE_CHARS = 60  # a value quoted in an error is cut to this many characters
NO_CONTACT = (
    "no usable email or phone: no way to reach this lead (--allow-no-contact sends it anyway)"
)

Problems = dict[int, dict[str, str]]  # row offset -> what (a field, "country" ...) -> reason


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
        self._country = country
        self._taken = options.taken_countries()
        self._columns = FieldColumns(country)
        self._field_cols = sorted(mapping.fields.items())  # (position, field)
        self._extra_cols = sorted(mapping.extras.items())
        self._digits = frozenset(mapping.digits)
        self._constants = self._check_constants(mapping.constants, country)
        self._duplicates = Duplicates()
        self._required = tuple(dict.fromkeys(("zip", *options.require)))
        self._missing = {name: self._why_missing(name) for name in self._required}
        self._base: dict[str, Any] = dict(self._constants)  # on every payload, after the cells
        if options.is_test:
            self._base["is_test"] = True
        sent = {*mapping.fields.values(), *mapping.parts, *self._constants}
        self._check_contact = not options.allow_no_contact
        self._contact_fields = [name for name in ("email", "phone") if name in sent]
        self._extension_key = (
            PHONE_EXTENSION if PHONE_EXTENSION not in mapping.extras.values() else None
        )
        by_field = {name: pos for pos, name in mapping.fields.items()}
        # Without a country column, a 4-digit postcode beside an Australian state is not a
        # US ZIP that lost its leading zero.
        self._au_check = (
            (by_field["zip"], by_field["state"])
            if mapping.country is None and country == "US" and {"zip", "state"} <= set(by_field)
            else None
        )

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
        n = len(rows)
        keys: list[str] = []  # payload key of each normalised column, in payload order
        values: list[list[str]] = []
        problems: Problems = {}
        countries, foreign = self._row_countries(raw)
        extensions: list[str] | None = None
        for pos, name in self._field_cols:
            positions = (pos, *self.mapping.alternates.get(name, ()))
            column, bad, ext = self._field(name, positions, raw, countries)
            if name == "phone":
                extensions = ext
            for i, reason in bad.items():
                problems.setdefault(i, {})[name] = reason
            keys.append(name)
            values.append(column)
        for name, (pos, key) in self.mapping.parts.items():
            column, bad = self._columns.column(name, compound_part(raw[pos], key), countries)
            where = f"{self.columns[pos]}.{key}"
            for i, why in bad.items():
                problems.setdefault(i, {})[name] = f'column "{where}": {_show(column[i])} {why}'
            keys.append(name)
            values.append(column)
        if self._au_check is not None:
            self._check_au_postcodes(raw, problems)
        if self.mapping.full_name is not None:
            split = [f.split_name(v) for v in raw[self.mapping.full_name]]
            keys += ["first_name", "last_name"]
            values += [[s[0] for s in split], [s[1] for s in split]]
        for pos, key in self._extra_cols:
            keys.append(key)
            values.append(f.strip_column(raw[pos]))
            if pos in self._digits:
                for i, why in lost_digits(raw[pos]).items():
                    reason = f'column "{self.columns[pos]}": {_show(raw[pos][i])} {why}'
                    problems.setdefault(i, {})[f"#{pos}"] = reason
        if extensions is not None and self._extension_key is not None:
            keys.append(self._extension_key)
            values.append(extensions)
        self._check_required(keys, values, n, problems)
        self._check_twins(raw, keys, values, countries, problems)
        if self._check_contact:
            self._check_reachable(keys, values, n, problems)
        for i, reason in foreign.items():  # another country: that alone is the reason
            problems[i] = {"country": reason}

        results = self._assemble(rows, keys, values, problems)
        cells = map(list, zip(*cells_in, strict=False)) if cells_in else ([] for _ in rows)
        return zip(results, cells, strict=False)  # same length: one result per row

    def _field(
        self,
        name: str,
        positions: Sequence[int],
        raw: list[list[str]],
        countries: list[str] | None,
    ) -> tuple[list[str], dict[int, str], list[str] | None]:
        """A field's column, its problems and (phones) extensions. With several columns for
        the field (phone1, phone2), per row the first valid value wins; a bad value in the
        first column is the row's problem only when no later column has a valid one."""
        column, bad, ext = self._read(name, positions[0], raw[positions[0]], countries)
        for alt in positions[1:]:
            need = [i for i, v in enumerate(column) if not v or i in bad]
            if not need:
                break
            # Only the rows that still need a value are read from the next column.
            alt_column, alt_bad, alt_ext = self._read(
                name,
                alt,
                [raw[alt][i] for i in need],
                None if countries is None else [countries[i] for i in need],
            )
            column = list(column)
            if alt_ext is not None and ext is None:
                ext = [""] * len(column)
            for j, i in enumerate(need):
                if alt_column[j] and j not in alt_bad:
                    column[i] = alt_column[j]
                    bad.pop(i, None)
                    if ext is not None:
                        ext[i] = alt_ext[j] if alt_ext is not None else ""
        if bad and len(positions) > 1:
            others = " or ".join(f'"{self.columns[pos]}"' for pos in positions[1:])
            for i in bad:
                bad[i] += f"; no valid {name} in {others} either"
        return column, bad, ext

    def _read(
        self, name: str, pos: int, cells: list[str], countries: list[str] | None
    ) -> tuple[list[str], dict[int, str], list[str] | None]:
        """`cells` of column `pos` as field `name`; problems worded for the row's error."""
        values, ext = split_extensions(cells) if name == "phone" else (cells, None)
        column, bad = self._columns.column(name, values, countries)
        header = self.columns[pos]
        reasons = {i: f'column "{header}": {_show(column[i])} {why}' for i, why in bad.items()}
        return column, reasons, ext

    def _row_countries(self, raw: list[list[str]]) -> tuple[list[str] | None, dict[int, str]]:
        """Each row's country from the country column (None when there is none, or every row
        is of the default country); and the rows of a country the source does not take."""
        pos = self.mapping.country
        if pos is None:
            return None, {}
        cells = raw[pos]
        code_of: dict[str, str] = {}
        for value in set(cells):
            text = value.strip()
            code_of[value] = (country_code(text) or f"?{text}") if text else self._country
        codes = list(map(code_of.__getitem__, cells))
        if all(code == self._country for code in code_of.values()):
            return None, {}
        header = self.columns[pos]
        taken = ",".join(self._taken)
        foreign: dict[int, str] = {}
        for i, code in enumerate(codes):
            if code.startswith("?"):
                foreign[i] = f'column "{header}": {_show(cells[i])} is not a country leadup knows'
            elif code not in self._taken:
                foreign[i] = (
                    f"country {code} is not one this source takes (--countries); it takes {taken}"
                )
        return codes, foreign

    def _check_au_postcodes(self, raw: list[list[str]], problems: Problems) -> None:
        """A 3- or 4-digit postcode beside an Australian state: never padded into a US ZIP."""
        zip_pos, state_pos = self._au_check or (0, 0)
        states = raw[state_pos]
        australian = {s for s in set(states) if fold(s) in AU_STATES}
        if not australian:
            return
        header = self.columns[zip_pos]
        for i, state in enumerate(states):
            value = raw[zip_pos][i].strip()
            if state in australian and value.isdigit() and len(value) in (3, 4):
                problems.setdefault(i, {})["zip"] = (
                    f'column "{header}": {_show(value)} looks like an AU postcode (its state '
                    "is Australian); use --country AU"
                )

    def _check_reachable(
        self, keys: list[str], values: list[list[str]], n: int, problems: Problems
    ) -> None:
        """A row with neither a usable email nor a usable phone reaches nobody (DECISIONS
        2026-12-03): invalid unless --allow-no-contact."""
        if any(name in self._constants for name in ("email", "phone")):
            return
        unreached: Sequence[int] = range(n)
        for name in self._contact_fields:
            column = values[keys.index(name)]
            bad = {i for i, reasons in problems.items() if name in reasons}
            if not bad and all(column):  # every row has one (the usual case, at C speed)
                return
            unreached = [i for i in unreached if not column[i] or i in bad]
            if not unreached:
                return
        for i in unreached:
            reasons = problems.setdefault(i, {})
            if "email" not in reasons and "phone" not in reasons:  # else those say what to fix
                reasons["contact"] = NO_CONTACT

    def _check_twins(
        self,
        raw: list[list[str]],
        keys: list[str],
        values: list[list[str]],
        countries: list[str] | None,
        problems: Problems,
    ) -> None:
        """A row whose second column for a field (two "Zip" headers, "Zip" and "Zip Code")
        holds another value than the column sent as that field: which one is meant is not
        for leadup to guess. One that agrees or is empty is not sent at all."""
        chosen = {name: pos for pos, name in self.mapping.fields.items()}
        for pos, name in self.mapping.twins.items():
            if name not in keys:
                continue
            twin, _ = self._columns.column(name, raw[pos], countries)
            sent = values[keys.index(name)]
            header, other = self.columns[pos], self.columns[chosen.get(name, pos)]
            for i, (a, b) in enumerate(zip(twin, sent, strict=True)):
                if a and a != b:
                    problems.setdefault(i, {})[f"{name}#{pos}"] = (
                        f'column "{header}": {_show(a)} is another {name} than column '
                        f'"{other}" ({_show(b) if b else "empty"}); keep one, or say which '
                        "with --mapping"
                    )

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
            self._duplicates.hold(rows, keys, values, held)
        payloads = _payloads(keys, values, self._base, len(rows))
        keys_by_row = idempotency_keys(self.file_sha256, rows) if self._with_keys else repeat("")
        leads = leads_from(zip(rows, payloads, keys_by_row, strict=False))
        return map(held.get, range(len(rows)), leads) if held else leads

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
        if name in self.mapping.parts:
            pos, key = self.mapping.parts[name]
            return f'column "{self.columns[pos]}" has no {key}: {why}'
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
    positions = [*mapping.fields, *mapping.extras, *mapping.twins, *mapping.held_back]
    positions += [pos for pos, _ in mapping.parts.values()]
    positions += [pos for alts in mapping.alternates.values() for pos in alts]
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
