"""Whole columns normalised at once, each row by its own country; and what else a column's
cells may carry or have lost (a phone's extension, Excel's scientific notation, the parts of
a compound JSON value). Per-value rules live in `uploader.prepare.fields`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from uploader.prepare import fields as f
from uploader.prepare.profile import split_extension

_CACHE_LIMIT = 200_000  # values kept per cached normaliser; cleared past this (memory bound)
_MAYBE_EXTENSION = re.compile(r"\d\s*(?:x|ext|extension|#)\s*\.?\s*\d", re.IGNORECASE)
_SCIENTIFIC = re.compile(r"^\s*[+-]?\d+(?:[.,]\d+)?[eE]\+?\d+\s*$")


Normaliser = Callable[[str], f.Checked]
Column = tuple[list[str], dict[int, str]]  # normalised values, problems by row offset


class _Cached:
    """A normaliser remembered by input value: a list has few distinct zips, states, phones."""

    def __init__(self, func: Normaliser) -> None:
        self.func = func
        self.memo: dict[str, str] = {}  # value -> normalised value
        self.bad: dict[str, str] = {}  # value -> problem, for the values that have one
        self.unique: bool | None = None  # decided on the first chunk of some size

    def column(self, values: list[str]) -> Column:
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


class FieldColumns:
    """Each standard field's column normaliser, for any country a row may have."""

    def __init__(self, default_country: str) -> None:
        self.default = default_country.upper()
        self._zips: dict[str, _Cached] = {}
        self._states = _Cached(f.state)

    def column(self, name: str, values: list[str], countries: Sequence[str] | None) -> Column:
        """`values` of field `name` normalised, each by its row's country (None: all rows
        are of the default country)."""
        if countries is None:
            return self._one(name, values, self.default)
        if name not in ("phone", "zip"):  # the only fields read by country
            return self._one(name, values, self.default)
        groups: dict[str, list[int]] = {}
        for i, country in enumerate(countries):
            groups.setdefault(country or self.default, []).append(i)
        if len(groups) == 1:
            return self._one(name, values, next(iter(groups)))
        out = list(values)
        problems: dict[int, str] = {}
        for country, rows in groups.items():
            column, bad = self._one(name, [values[i] for i in rows], country)
            for j, i in enumerate(rows):
                out[i] = column[j]
            problems.update((rows[j], why) for j, why in bad.items())
        return out, problems

    def _one(self, name: str, values: list[str], country: str) -> Column:
        if name == "email":
            return f.email_column(values)
        if name == "phone":
            return f.phone_column(values, country)
        if name == "zip":
            if country not in self._zips:
                self._zips[country] = _Cached(lambda v: f.postal_code(v, country))
            return self._zips[country].column(values)
        if name == "state":
            return self._states.column(values)
        return f.collapse_column(values), {}


def split_extensions(values: list[str]) -> tuple[list[str], list[str] | None]:
    """(numbers, extensions) of a phone column; None for extensions when no cell has one
    (one C-speed search over the column)."""
    joined = "\n".join(values)
    # Every extension marker has an x or a #: two C-speed searches rule most columns out.
    if ("x" not in joined and "X" not in joined and "#" not in joined) or not (
        _MAYBE_EXTENSION.search(joined)
    ):
        return values, None
    split = [split_extension(v) for v in values]
    return [s[0] for s in split], [s[1] for s in split]


def lost_digits(values: list[str]) -> dict[int, str]:
    """The cells of an id column that Excel's scientific notation has cut (`5.54563E+15`)."""
    joined = "\n".join(values)
    if "E" not in joined and "e" not in joined:
        return {}
    return {
        i: f.LOST_DIGITS
        for i, v in enumerate(values)
        if _SCIENTIFIC.match(v) and f.undo_excel_number(v.strip()) is None
    }


def compound_part(values: list[str], key: str) -> list[str]:
    """One part (`postalCode`) of each cell's JSON object, as text ("" where there is none)."""
    out = []
    for value in values:
        try:
            obj = json.loads(value) if value.strip().startswith("{") else None
        except ValueError:
            obj = None
        part = obj.get(key) if isinstance(obj, dict) else None
        out.append("" if part is None else str(part))
    return out
