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
    n = len(columns)
    profiles: list[ColumnProfile | None] = (
        [profile(sample[pos]) for pos in range(n)] if sample is not None else [None] * n
    )
    notes: dict[int, list[str]] = {pos: [] for pos in range(n)}  # runners-up per column
    held: dict[int, tuple[str, str]] = {}
    compound: dict[int, list[str]] = {}
    about_others: set[int] = set()
    candidates: list[_Candidate] = []
    for pos, header in enumerate(columns):
        p = profiles[pos]
        if (found := _sensitive(header, p)) is not None:
            held[pos] = found
            continue
        if p is not None and p.share(Kind.JSON) >= AGREES:
            compound[pos] = _compound_keys(sample[pos]) if sample is not None else []
            continue
        if is_about_someone_else(header):
            about_others.add(pos)
            continue
        match = match_header(header)
        if match is not None:
            target, group, rank = match
            agrees, why = _judge(target, p)
            if agrees:
                candidates.append(_Candidate(pos, target, group, rank, why))
                continue
            notes[pos].append(f"not {target}: {why}")
        if p is not None and p.share(Kind.EMAIL) >= VALUES_ALONE:
            why = f"values: {_pct(p.share(Kind.EMAIL))} parse as emails"
            candidates.append(_Candidate(pos, "email", "", _VALUES_ONLY_RANK, why))
        elif p is not None and "country" in header_key(header) and p.share(Kind.COUNTRY) >= 0.9:
            why = f"values: {_pct(p.share(Kind.COUNTRY))} parse as countries"
            candidates.append(_Candidate(pos, COUNTRY, "", _VALUES_ONLY_RANK, why))

    # The address comes whole from one prefix group: the one with the best zip column (or,
    # without a zip, the best address column), never street from Home and zip from Business.
    address = [(c.rank, c.group) for c in candidates if c.target in ADDRESS_FIELDS]
    zips = [(c.rank, c.group) for c in candidates if c.target == "zip"]
    address_group = min(zips or address)[1] if (zips or address) else ""
    by_target: dict[str, list[_Candidate]] = {}

    # Best evidence first: within a prefix rank, a column whose sampled values agree before
    # one with no values to judge; then the alias order and the leftmost column.
    def strength(c: _Candidate) -> tuple[int, bool, int, int, int]:
        p = profiles[c.pos]
        return (c.rank[0], p is not None and not p.filled, c.rank[1], c.rank[2], c.pos)

    for c in sorted(candidates, key=strength):
        if c.target in ADDRESS_FIELDS and c.group != address_group:
            notes[c.pos].append(f"{c.target} of another address ({c.group or 'plain'})")
            continue
        by_target.setdefault(c.target, []).append(c)

    fields: dict[int, str] = {}
    alternates: dict[str, tuple[int, ...]] = {}
    twins: dict[int, str] = {}
    why: dict[int, tuple[str, str]] = {}  # pos -> (target shown, evidence)
    taken: set[int] = set()
    for target, ranked in by_target.items():
        best, rest = ranked[0], [c for c in ranked[1:] if c.pos not in taken]
        if best.pos in taken:
            continue
        if target in STANDARD_FIELDS:
            fields[best.pos] = target
            taken.add(best.pos)
        why[best.pos] = (target, best.why)
        for c in rest:
            notes[best.pos].append(f'"{columns[c.pos]}" too ({c.why})')
        if target in REPEATABLE and rest:
            alternates[target] = tuple(c.pos for c in rest)
            for c in rest:
                why[c.pos] = ("", f"{target} too ({c.why}), used when \"{columns[best.pos]}\" "
                              f"has no valid {target}")  # fmt: skip
        elif target in ONE_PER_LEAD:
            for c in rest:
                first = match_header(columns[best.pos])
                same = header_key(columns[c.pos]) == header_key(columns[best.pos])
                if same or (first is not None and first[1] == c.group):
                    twins[c.pos] = target
                    taken.add(c.pos)
                    why[c.pos] = (
                        "checked",
                        f'a second {target} column: must agree with "{columns[best.pos]}"; '
                        "not sent",
                    )

    full_name = None
    if FULL_NAME in by_target and not {"first_name", "last_name"} & set(fields.values()):
        full_name = by_target[FULL_NAME][0].pos
        taken.add(full_name)
    country = by_target[COUNTRY][0].pos if COUNTRY in by_target else None

    parts: dict[str, tuple[int, str]] = {}
    for pos, keys in compound.items():
        filled = []
        for key in keys:
            found = match_header(key)
            target = found[0] if found else ""
            if target in ADDRESS_FIELDS and target not in fields.values() and target not in parts:
                parts[target] = (pos, key)
                filled.append(f"{key} -> {target}")
        shown = f"its parts fill {', '.join(filled)}" if filled else "discrete columns win"
        share = _pct(_share_json(profiles[pos]))
        why[pos] = ("ignored", f"{share} JSON objects: a compound value, never sent; {shown}")
        taken.add(pos)
    for pos, (_, line) in held.items():
        why[pos] = ("held back", line)
        taken.add(pos)
    for pos in about_others:
        why.setdefault(pos, ("", "about someone else (owner, creator): never the lead's"))

    reserved = {PHONE_EXTENSION} if "phone" in fields.values() else set()
    extras = extra_keys(
        [(pos, snake_key(h, pos)) for pos, h in enumerate(columns) if pos not in taken], reserved
    )
    digits = tuple(
        pos
        for pos in extras
        if (p := profiles[pos]) is not None
        and p.filled
        and p.share(Kind.DIGITS) + p.share(Kind.SCIENTIFIC) >= AGREES
    )
    for pos in extras:  # values that would fit a field another column has: a runner-up
        if (p := profiles[pos]) is not None and pos not in why:
            notes[pos] += _could_be(p)
    evidence = _evidence(columns, fields, extras, full_name, why, notes)
    return Mapping(
        fields=dict(sorted(fields.items())),
        extras=extras,
        full_name=full_name,
        alternates=alternates,
        twins=twins,
        parts=parts,
        held_back={pos: what for pos, (what, _) in sorted(held.items())},
        country=country,
        digits=digits,
        ignored=tuple(sorted(compound)),
        evidence=evidence,
    )


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


def _evidence(
    columns: Sequence[str],
    fields: dict[int, str],
    extras: dict[int, str],
    full_name: int | None,
    why: dict[int, tuple[str, str]],
    notes: dict[int, list[str]],
) -> tuple[ColumnEvidence, ...]:
    out = []
    for pos, header in enumerate(columns):
        shown, line = why.get(pos, ("", ""))
        if pos in fields:
            target = fields[pos]
        elif pos == full_name:
            target = "full name"
        elif pos in extras:
            target = f"extra:{extras[pos]}"
            if shown == COUNTRY:
                line = f"{line}; each row's country"
            line = line or "not a lead field by its name"
        else:
            target = shown or "ignored"
        out.append(ColumnEvidence(pos, header, target, line, tuple(notes[pos])))
    return tuple(out)


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
