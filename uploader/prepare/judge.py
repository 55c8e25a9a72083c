"""The automatic mapping: each column judged by its header AND a sample of its values.

A header names a field (`uploader.headers`: aliases, prefixes, numbered repeats); the sampled
values (`uploader.prepare.profile`) confirm it (`phone1 -> phone: name + 100% parse as
phones`) or overrule it (`Address` holding JSON objects is a compound value, never a street).
Each field is given to one column, best evidence first; the other columns for a field a
person has several of (phone, email) stand behind it, per row the first valid value wins.
Columns about someone else (owner, creator) are never the lead's; sensitive ones (card
numbers, passwords ...) are held back, not even sent as extras. Everything else goes as an
extra field, so nothing the person exported is lost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from uploader.headers import (
    CARD_NUMBER,
    COUNTRY,
    FULL_NAME,
    REPEATABLE,
    RESERVED_KEYS,
    SSN,
    Rank,
    close_header,
    header_key,
    is_about_someone_else,
    match_header,
    sensitive_kind,
    snake_key,
)
from uploader.model import STANDARD_FIELDS
from uploader.prepare.mapped import ColumnEvidence, Mapping
from uploader.prepare.profile import ColumnProfile, Kind, profile

ADDRESS_FIELDS = ("address_1", "address_2", "city", "state", "zip", "county")
# Fields a lead has one of: a second column for one is checked, not sent (a person may have
# several emails and phones, not two zips).
ONE_PER_LEAD = frozenset(("first_name", "last_name", "address_1", "city", "state", "zip"))
PHONE_EXTENSION = "phone_extension"  # the extra field an extension (`x752`) goes in
AGREES = 0.5  # the share of sampled values that must parse as the field's kind
VALUES_ALONE = 0.8  # the share that makes a column with an unknown header an email column
HELD_BY_VALUES = 0.8  # the share of card numbers or SSNs that holds a column back
_CLOSE_NAME_RANK: Rank = (8, 0, 0)  # a misspelt header whose values agree
_VALUES_ONLY_RANK: Rank = (9, 0, 0)  # after every column whose header names the field
_NOT_TEXT = (Kind.JSON, Kind.EMAIL, Kind.URL, Kind.DATE, Kind.PHONE)  # never a name or street
_OTHERWISE = (*_NOT_TEXT, Kind.WORDS)  # what a column's values may plainly be instead
# What a field's values are, for the evidence line ("100% parse as phones").
_FIELD_KIND = {"email": Kind.EMAIL, "phone": Kind.PHONE, "state": Kind.STATE, COUNTRY: Kind.COUNTRY}


@dataclass(slots=True)
class _Candidate:
    pos: int
    target: str
    group: str
    rank: Rank
    why: str


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def _judge(target: str, p: ColumnProfile | None) -> tuple[bool, str]:
    """Whether values agree with a header that names `target`, and the evidence line."""
    if p is None or not p.filled:
        return True, "name" if p is None else "name (no values in the sample)"
    if target in ("zip", "email", "phone", COUNTRY):
        kind = _FIELD_KIND.get(target, Kind.POSTCODE)
        share = p.postcode_share() if target == "zip" else p.share(kind)
        what = "postcodes" if target == "zip" else kind.value
        why = f"name + {_pct(share)} parse as {what}"
        if share >= AGREES:
            return True, why
        # Too few agree: the header loses only to values that plainly are something else
        # (words in a Phone column), not to a few typos in a small sample.
        other = max((k for k in _OTHERWISE if k != kind), key=p.share)
        if p.share(other) >= AGREES:
            return False, f"{why}; {_pct(p.share(other))} are {other.value}"
        return True, why
    if target == "state":
        bad = max(p.share(k) for k in (Kind.DIGITS, Kind.EMAIL, Kind.JSON, Kind.URL))
        share = p.share(Kind.STATE)
        why = f"name + {_pct(share)} are states or provinces" if share >= AGREES else "name"
        return bad < AGREES, why if bad < AGREES else f"name, but {_pct(bad)} are not states"
    # Names, streets, cities, counties: any text, but not values of another kind.
    worst = max(_NOT_TEXT, key=p.share)
    if p.share(worst) >= AGREES:
        return False, f"name, but {_pct(p.share(worst))} parse as {worst.value}"
    return True, "name"


def _sensitive(header: str, p: ColumnProfile | None) -> tuple[str, str] | None:
    """(what, evidence) for a column that must never be sent; None for any other."""
    kind = sensitive_kind(header)
    if kind is not None:
        return kind, f"held back: its name says {kind}"
    if p is not None and p.filled:
        for value_kind, what in ((Kind.CARD, CARD_NUMBER), (Kind.SSN, SSN)):
            if p.share(value_kind) >= HELD_BY_VALUES:
                return what, f"held back: {_pct(p.share(value_kind))} are {value_kind.value}"
    return None


def _compound_keys(values: Sequence[str]) -> list[str]:
    """The keys of a compound column's JSON objects, in first-seen order."""
    keys: dict[str, None] = {}
    for value in values:
        try:
            obj = json.loads(value) if value.strip().startswith("{") else None
        except ValueError:
            continue
        if isinstance(obj, dict):
            keys.update(dict.fromkeys(str(k) for k in obj))
    return list(keys)


def auto_map(columns: Sequence[str], sample: Sequence[Sequence[str]] | None = None) -> Mapping:
    """Map columns by their headers and, given `sample` (one list of cells per column), by
    what their values look like. See the module docstring for the rules."""
    judging = _Judging(columns, sample)
    judging.classify()
    judging.assign()
    judging.fill_from_compounds()
    return judging.mapping()


class _Judging:
    """The state of one automatic mapping, built up step by step."""

    def __init__(self, columns: Sequence[str], sample: Sequence[Sequence[str]] | None) -> None:
        self.columns = list(columns)
        self.sample = sample
        n = len(columns)
        self.profiles: list[ColumnProfile | None] = (
            [profile(sample[pos]) for pos in range(n)] if sample is not None else [None] * n
        )
        self.notes: dict[int, list[str]] = {pos: [] for pos in range(n)}  # runners-up
        self.why: dict[int, tuple[str, str]] = {}  # position -> (target shown, evidence)
        self.held: dict[int, str] = {}  # position -> what it holds
        self.compound: dict[int, list[str]] = {}  # position -> its JSON keys
        self.candidates: list[_Candidate] = []
        self.fields: dict[int, str] = {}
        self.alternates: dict[str, tuple[int, ...]] = {}
        self.twins: dict[int, str] = {}
        self.parts: dict[str, tuple[int, str]] = {}
        self.taken: set[int] = set()  # positions sent as a field, split, or never sent
        self.full_name: int | None = None
        self.country: int | None = None

    def classify(self) -> None:
        """Each column: held back, compound, about someone else, or a candidate for a field
        (by its header, confirmed by its values; or by its values alone)."""
        for pos, header in enumerate(self.columns):
            p = self.profiles[pos]
            if (found := _sensitive(header, p)) is not None:
                self.held[pos], line = found
                self.why[pos] = ("held back", line)
                self.taken.add(pos)
            elif p is not None and p.share(Kind.JSON) >= AGREES:
                self.compound[pos] = _compound_keys(self.sample[pos] if self.sample else [])
                self.taken.add(pos)
            elif is_about_someone_else(header):
                self.why[pos] = ("", "about someone else (owner, creator): never the lead's")
            else:
                self._candidate(pos, header, p)

    def _candidate(self, pos: int, header: str, p: ColumnProfile | None) -> None:
        match = match_header(header)
        if match is not None:
            target, group, rank = match
            agrees, line = _judge(target, p)
            if agrees:
                self.candidates.append(_Candidate(pos, target, group, rank, line))
                return
            self.notes[pos].append(f"not {target}: {line}")
        if p is None:
            return
        close = close_header(header) if match is None else None
        if close is not None and (close[0] in _FIELD_KIND or close[0] == "zip"):
            target, alias = close
            agrees, line = _judge(target, p)
            share = p.postcode_share() if target == "zip" else p.share(_FIELD_KIND[target])
            if agrees and share >= AGREES:  # a close name needs its values to agree
                line = line.replace("name", f'name close to "{alias}"', 1)
                self.candidates.append(_Candidate(pos, target, "", _CLOSE_NAME_RANK, line))
                return
        if p.share(Kind.EMAIL) >= VALUES_ALONE:
            line = f"values: {_pct(p.share(Kind.EMAIL))} parse as emails"
            self.candidates.append(_Candidate(pos, "email", "", _VALUES_ONLY_RANK, line))
        elif "country" in header_key(header) and p.share(Kind.COUNTRY) >= VALUES_ALONE:
            line = f"values: {_pct(p.share(Kind.COUNTRY))} parse as countries"
            self.candidates.append(_Candidate(pos, COUNTRY, "", _VALUES_ONLY_RANK, line))

    def _strength(self, c: _Candidate) -> tuple[int, bool, int, int, int]:
        """Best evidence first: within a prefix rank, a column whose sampled values agree
        before one with no values to judge; then numbered order, alias order, leftmost."""
        p = self.profiles[c.pos]
        return (c.rank[0], p is not None and not p.filled, c.rank[1], c.rank[2], c.pos)

    def assign(self) -> None:
        """Each field to its best column; the others stand behind it (phone, email), are
        checked against it (one-per-lead fields), or go as extras."""
        # The address comes whole from one prefix group: the one with the best zip column
        # (or, without a zip, the best address column), never street from Home and zip from
        # Business.
        address = [(c.rank, c.group) for c in self.candidates if c.target in ADDRESS_FIELDS]
        zips = [(c.rank, c.group) for c in self.candidates if c.target == "zip"]
        address_group = min(zips or address)[1] if (zips or address) else ""
        by_target: dict[str, list[_Candidate]] = {}
        for c in sorted(self.candidates, key=self._strength):
            if c.target in ADDRESS_FIELDS and c.group != address_group:
                self.notes[c.pos].append(f"{c.target} of another address ({c.group})")
            else:
                by_target.setdefault(c.target, []).append(c)
        for target, (best, *rest) in by_target.items():
            self.why[best.pos] = (target, best.why)
            if target in STANDARD_FIELDS:
                self.fields[best.pos] = target
                self.taken.add(best.pos)
            self.notes[best.pos] += [f'"{self.columns[c.pos]}" too ({c.why})' for c in rest]
            if target in REPEATABLE and rest:
                self._stand_behind(target, best, rest)
            elif target in ONE_PER_LEAD:
                self._check_against(target, best, rest)
        if FULL_NAME in by_target and not {"first_name", "last_name"} & set(self.fields.values()):
            self.full_name = by_target[FULL_NAME][0].pos
            self.taken.add(self.full_name)
        if COUNTRY in by_target:
            self.country = by_target[COUNTRY][0].pos

    def _stand_behind(self, target: str, best: _Candidate, rest: list[_Candidate]) -> None:
        self.alternates[target] = tuple(c.pos for c in rest)
        first = self.columns[best.pos]
        for c in rest:
            line = f'{target} too ({c.why}), used when "{first}" has no valid {target}'
            self.why[c.pos] = ("", line)

    def _check_against(self, target: str, best: _Candidate, rest: list[_Candidate]) -> None:
        first = self.columns[best.pos]
        for c in rest:
            if c.group == best.group or header_key(self.columns[c.pos]) == header_key(first):
                self.twins[c.pos] = target
                self.taken.add(c.pos)
                line = f'a second {target} column: must agree with "{first}"; not sent'
                self.why[c.pos] = ("checked", line)

    def fill_from_compounds(self) -> None:
        """A compound column's parts fill the address fields no discrete column gives."""
        for pos, keys in self.compound.items():
            filled = []
            for key in keys:
                found = match_header(key)
                target = found[0] if found else ""
                if (
                    target in ADDRESS_FIELDS
                    and target not in self.fields.values()
                    and target not in self.parts
                ):
                    self.parts[target] = (pos, key)
                    filled.append(f"{key} -> {target}")
            shown = f"its parts fill {', '.join(filled)}" if filled else "discrete columns win"
            share = _pct(_share_json(self.profiles[pos]))
            line = f"{share} JSON objects: a compound value, never sent; {shown}"
            self.why[pos] = ("ignored", line)

    def mapping(self) -> Mapping:
        """The Mapping, with every column's evidence."""
        reserved = {PHONE_EXTENSION} if "phone" in self.fields.values() else set()
        wanted = [(pos, snake_key(h, pos)) for pos, h in enumerate(self.columns)]
        extras = extra_keys([(pos, key) for pos, key in wanted if pos not in self.taken], reserved)
        digits = []
        for pos in extras:
            p = self.profiles[pos]
            if p is None or not p.filled:
                continue
            if p.share(Kind.DIGITS) + p.share(Kind.SCIENTIFIC) >= AGREES:
                digits.append(pos)  # an id or phone column: its cells must keep every digit
            if pos not in self.why:  # values that would fit a field: a runner-up
                self.notes[pos] += _could_be(p)
        return Mapping(
            fields=dict(sorted(self.fields.items())),
            extras=extras,
            full_name=self.full_name,
            alternates=self.alternates,
            twins=self.twins,
            parts=self.parts,
            held_back=dict(sorted(self.held.items())),
            country=self.country,
            digits=tuple(digits),
            ignored=tuple(sorted(self.compound)),
            evidence=self._evidence(extras),
        )

    def _evidence(self, extras: dict[int, str]) -> tuple[ColumnEvidence, ...]:
        out = []
        for pos, header in enumerate(self.columns):
            shown, line = self.why.get(pos, ("", ""))
            if pos in self.fields:
                target = self.fields[pos]
            elif pos == self.full_name:
                target = "full name"
            elif pos in extras:
                target = f"extra:{extras[pos]}"
                if shown == COUNTRY:
                    line = f"{line}; each row's country"
                line = line or "no lead field's name"
            else:
                target = shown or "ignored"
            out.append(ColumnEvidence(pos, header, target, line, tuple(self.notes[pos])))
        return tuple(out)


def _could_be(p: ColumnProfile) -> list[str]:
    """`could be phone: 100% parse as phones`, for a column kept as an extra field."""
    shares = [(name, kind, p.share(kind)) for name, kind in _FIELD_KIND.items()]
    shares.append(("zip", Kind.POSTCODE, p.postcode_share()))
    return [
        f"could be {name}: {_pct(share)} parse as " + ("postcodes" if name == "zip" else kind.value)
        for name, kind, share in shares
        if p.filled and share >= VALUES_ALONE
    ]


def _share_json(p: ColumnProfile | None) -> float:
    return 1.0 if p is None else p.share(Kind.JSON)


def extra_keys(wanted: list[tuple[int, str]], taken_keys: set[str]) -> dict[int, str]:
    """Unique extra keys: a repeat or a reserved key gets `_2`, `_3` ... appended."""
    used = set(RESERVED_KEYS) | taken_keys
    out: dict[int, str] = {}
    for pos, key in wanted:
        candidate, n = key, 1
        while candidate in used:
            n += 1
            candidate = f"{key}_{n}"
        used.add(candidate)
        out[pos] = candidate
    return out
