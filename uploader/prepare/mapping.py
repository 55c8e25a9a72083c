"""Which column of a lead file becomes which field of the lead: mapping files over auto-mapping.

`auto_map` (`uploader.prepare.judge`) picks by header names and sampled values. A mapping
file (TOML) wins over it: what it names goes where it says, even a column the automatic
mapping holds back as sensitive; the columns it leaves out keep their automatic mapping.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from uploader.errors import ConfigError
from uploader.events import ColumnMap
from uploader.headers import (
    COUNTRY,
    EXTRA_PREFIX,
    FULL_NAME,
    IGNORE,
    KEY_RE,
    RESERVED_KEYS,
    header_key,
    match_header,
    snake_key,
)
from uploader.model import STANDARD_FIELDS
from uploader.prepare.judge import ADDRESS_FIELDS, auto_map, extra_keys
from uploader.prepare.mapped import ColumnEvidence, Mapping
from uploader.text import quoted

__all__ = [
    "ADDRESS_FIELDS",
    "KEY_RE",
    "ColumnEvidence",
    "Mapping",
    "auto_map",
    "describe",
    "load_mapping",
    "mapping_from_dict",
    "mapping_to_toml",
    "snake_key",
]


def describe(mapping: Mapping, columns: Sequence[str]) -> list[tuple[str, str]]:
    """(column header, where it goes) for the preview table, in column order, then constants."""
    rows: list[tuple[str, str]] = []
    for pos, header in enumerate(columns):
        if pos in mapping.fields:
            what = f"field {mapping.fields[pos]}"
        elif pos == mapping.full_name:
            what = "full name → first/last"
        elif pos in mapping.extras:
            what = f"extra {mapping.extras[pos]}"
        elif pos in mapping.held_back:
            what = f"held back ({mapping.held_back[pos]})"
        elif pos in mapping.twins:
            what = f"checked against {mapping.twins[pos]}"
        else:
            what = "ignored"
        rows.append((header, what))
    for key, value in mapping.constants.items():
        rows.append(("(every lead)", f"constant {key} = {value}"))
    return rows


def column_maps(mapping: Mapping, columns: Sequence[str]) -> tuple[ColumnMap, ...]:
    """Every column's target with its evidence and runners-up (the FileRead event's columns,
    which validate and the web page show), then the constants."""
    evidence = {ev.column: ev for ev in mapping.evidence}
    out = []
    for pos, (header, target) in enumerate(describe(mapping, columns)):
        ev = evidence.get(pos)
        if ev is None or ev.header != header:
            out.append(ColumnMap(header, target))
        else:
            out.append(ColumnMap(header, target, ev.why, ev.runners_up))
    return tuple(out)


# --- mapping files ---------------------------------------------------------------------------

_HELP = """\
# leadup column mapping{source}: edit it and pass it with --mapping.
#
# [columns] says where each column goes, by its header (or "#N" for the N-th column, 1-based,
# when a header repeats). The value is one of:
#   a standard field   first_name last_name email phone address_1 address_2 city state zip county
#   "full_name"        split into first_name and last_name
#   "ignore"           leave the column out
#   any other key      sent as an extra field under that key (letters, digits, _ and -);
#                      write "extra:KEY" to send a column under a standard field's name
# Columns this file does not list are mapped automatically (set `auto = false` to leave them
# out instead).
# [constants] are sent on every lead, e.g.  lead_source = "Trade show"
"""


def _toml_str(text: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes), and keeps non-ASCII readable;
    # controls, DEL and bidi overrides of a header are escaped (TOML forbids DEL raw).
    return quoted(text)


def _column_ref(columns: Sequence[str], pos: int) -> str:
    header = columns[pos]
    if header and list(columns).count(header) == 1:
        return header
    return f"#{pos + 1}"


def mapping_to_toml(mapping: Mapping, columns: Sequence[str], source: str = "") -> str:
    """The mapping as a commented TOML file, a starting point to edit (`leadup mapping FILE`)."""
    lines = [_HELP.format(source=f" for {source}" if source else ""), "[columns]"]
    for pos, header in enumerate(columns):
        if pos in mapping.fields:
            target = mapping.fields[pos]
        elif pos == mapping.full_name:
            target = FULL_NAME
        elif pos in mapping.extras:
            key = mapping.extras[pos]
            target = f"{EXTRA_PREFIX}{key}" if _needs_extra_prefix(key) else key
        else:
            target = IGNORE
        ref = _column_ref(columns, pos)
        note = ""
        if pos in mapping.held_back:
            note = f"  # held back: {mapping.held_back[pos]}; map it by name to send it"
        elif ref != header:
            note = f"  # header {_toml_str(header)}"
        elif pos == mapping.country:
            note = "  # each row's country: how its phone and postcode are read"
        elif pos in mapping.twins:
            note = f"  # a second {mapping.twins[pos]} column: checked, not sent"
        elif name := next((n for n, ps in mapping.alternates.items() if pos in ps), ""):
            note = f"  # also a {name}: used where the first {name} is empty or not valid"
        else:
            found = match_header(header)
            if found and target != found[0] and found[0] not in (FULL_NAME, COUNTRY):
                note = f"  # could be {found[0]}; another column was preferred"
        lines.append(f"{_toml_str(ref)} = {_toml_str(target)}{note}")
    lines += ["", "[constants]"]
    if mapping.constants:
        lines += [f"{_toml_str(k)} = {_toml_str(v)}" for k, v in mapping.constants.items()]
    else:
        lines.append('# lead_source = "Trade show"')
    return "\n".join(lines) + "\n"


def _needs_extra_prefix(key: str) -> bool:
    return key in RESERVED_KEYS or key in (FULL_NAME, IGNORE) or _near_standard(key) is not None


def _near_standard(value: str) -> str | None:
    """A standard field the value is probably a typo of (`frist_name`), else None."""
    targets = [*STANDARD_FIELDS, FULL_NAME, IGNORE]
    if value in targets:
        return None
    close = difflib.get_close_matches(value, targets, n=1, cutoff=0.8)
    return close[0] if close else None


def load_mapping(
    path: Path, columns: Sequence[str], sample: Sequence[Sequence[str]] | None = None
) -> Mapping:
    """Read a TOML mapping file against the file's headers; ConfigError names the bad key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the mapping file: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid TOML mapping file: {exc}") from exc
    return mapping_from_dict(data, columns, source=str(path), sample=sample)


def mapping_from_dict(
    data: dict[str, Any],
    columns: Sequence[str],
    source: str,
    sample: Sequence[Sequence[str]] | None = None,
) -> Mapping:
    """Apply a parsed mapping file to the headers (see `_HELP` for the format)."""
    unknown = set(data) - {"columns", "constants", "ignore", "auto"}
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {sorted(unknown)[0]!r} (use [columns], "
            "[constants], ignore or auto)"
        )
    table = data.get("columns", {})
    constants = data.get("constants", {})
    ignore_list = data.get("ignore", [])
    auto = data.get("auto", True)
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [columns] must be a table of header = target")
    if not isinstance(constants, dict):
        raise ConfigError(f'{source}: [constants] must be a table of key = "value"')
    if not isinstance(ignore_list, list) or not all(isinstance(i, str) for i in ignore_list):
        raise ConfigError(f"{source}: ignore must be a list of column headers")
    if not isinstance(auto, bool):
        raise ConfigError(f"{source}: auto must be true or false")

    explicit: dict[int, str] = {}  # position -> target as written
    for ref, target in [*table.items(), *((r, IGNORE) for r in ignore_list)]:
        pos = _resolve_column(ref, columns, source)
        if not isinstance(target, str):
            raise ConfigError(f"{source}: columns.{ref!r} must be a string target")
        if pos in explicit and explicit[pos] != target:
            raise ConfigError(f"{source}: column {ref!r} is mapped twice")
        explicit[pos] = target

    base = auto_map(columns, sample) if auto else Mapping(fields={}, extras={})
    fields: dict[int, str] = {}
    wanted_extras: dict[int, str] = {}
    ignored: set[int] = set()
    full_name: int | None = None
    for pos, target in explicit.items():
        ref = _column_ref(columns, pos)
        if target in STANDARD_FIELDS:
            if target in fields.values():
                other = next(p for p, t in fields.items() if t == target)
                raise ConfigError(
                    f"{source}: columns {_column_ref(columns, other)!r} and "
                    f"{ref!r} are both mapped to {target}"
                )
            fields[pos] = target
        elif target == FULL_NAME:
            if full_name is not None:
                raise ConfigError(f"{source}: two columns are mapped to full_name ({ref!r})")
            full_name = pos
        elif target == IGNORE:
            ignored.add(pos)
        else:
            key = target.removeprefix(EXTRA_PREFIX)
            if key == "is_test":
                raise ConfigError(
                    f"{source}: columns.{ref!r} = {target!r}: is_test is leadup's to send "
                    "(--test), not a column's"
                )
            if not KEY_RE.match(key):
                raise ConfigError(
                    f"{source}: columns.{ref!r} = {target!r}: an extra field "
                    "key is letters, digits, _ and - and starts with a letter or _"
                )
            near = _near_standard(key)
            if not target.startswith(EXTRA_PREFIX) and near:
                raise ConfigError(
                    f"{source}: columns.{ref!r} = {target!r}: did you mean "
                    f'{near!r}? (write "extra:{key}" to send it as an extra field)'
                )
            wanted_extras[pos] = key

    # Unlisted columns keep their automatic mapping unless it clashes with an explicit one.
    explicit_targets = set(fields.values())
    for pos, target in base.fields.items():
        if pos not in explicit and target not in explicit_targets:
            fields[pos] = target
    has_names = bool({"first_name", "last_name"} & set(fields.values()))
    if full_name is not None and has_names:
        raise ConfigError(
            f"{source}: full_name is mapped but first_name or last_name is too; "
            "map the full name column to an extra field or ignore it"
        )
    auto_full = base.full_name
    if full_name is None and auto_full is not None and auto_full not in explicit and not has_names:
        full_name = auto_full
    for pos, header in enumerate(columns):
        if pos in explicit or pos in fields or pos == full_name:
            continue
        if pos in base.held_back or pos in base.twins or pos in base.ignored:
            ignored.add(pos)  # held back, checked or compound: as the automatic mapping says
            continue
        if auto:
            wanted_extras[pos] = snake_key(header, pos)
        else:
            ignored.add(pos)

    constant_values: dict[str, str] = {}
    mapped_keys = set(fields.values()) | set(wanted_extras.values())
    if full_name is not None:
        mapped_keys |= {"first_name", "last_name"}
    for key, value in constants.items():
        if not KEY_RE.match(key) or key == "is_test":
            raise ConfigError(f"{source}: constants.{key}: not a usable field key")
        if not isinstance(value, str):
            raise ConfigError(f"{source}: constants.{key} must be a quoted string")
        if key in mapped_keys:
            raise ConfigError(f"{source}: constants.{key} clashes with a column mapped to {key}")
        constant_values[key] = value

    # Explicit extra keys are kept as written; automatic ones yield to them on a clash.
    explicit_extras = {p: k for p, k in wanted_extras.items() if p in explicit}
    dup = _first_duplicate(list(explicit_extras.values()))
    if dup:
        raise ConfigError(f"{source}: two columns are mapped to the extra field {dup!r}")
    auto_extras = extra_keys(
        [(p, k) for p, k in wanted_extras.items() if p not in explicit],
        set(explicit_extras.values()) | set(constant_values),
    )
    extras = dict(sorted({**explicit_extras, **auto_extras}.items()))
    return _with_automatic_parts(
        base,
        Mapping(
            fields=dict(sorted(fields.items())),
            extras=extras,
            constants=constant_values,
            ignored=tuple(sorted(ignored)),
            full_name=full_name,
        ),
        explicit,
    )


def _with_automatic_parts(base: Mapping, chosen: Mapping, explicit: dict[int, str]) -> Mapping:
    """The automatic mapping's alternates, twins, compound parts, held-back columns, country
    column and digit columns, for the columns the mapping file leaves to it."""
    same_first = {name for pos, name in base.fields.items() if chosen.fields.get(pos) == name}
    alternates = {
        name: kept
        for name, positions in base.alternates.items()
        if name in same_first and (kept := tuple(p for p in positions if p in chosen.extras))
    }
    # A column the file says to ignore stays out, as held back, checked or ignored it was.
    left = {p for p, target in explicit.items() if target == IGNORE}
    twins = {
        p: name
        for p, name in base.twins.items()
        if (p not in explicit or p in left) and name in same_first
    }
    parts = {name: part for name, part in base.parts.items() if name not in chosen.fields.values()}
    country = base.country if base.country in chosen.extras else None
    named = [p for p, key in chosen.extras.items() if p in explicit and key == "country"]
    return Mapping(
        fields=chosen.fields,
        extras=chosen.extras,
        constants=chosen.constants,
        ignored=tuple(p for p in chosen.ignored if p not in twins),
        full_name=chosen.full_name,
        alternates=alternates,
        twins=twins,
        parts=parts,
        held_back={p: w for p, w in base.held_back.items() if p not in explicit or p in left},
        country=named[0] if named else country,
        digits=tuple(p for p in base.digits if p in chosen.extras),
        evidence=_explicit_evidence(base.evidence, explicit),
    )


def _explicit_evidence(
    auto: tuple[ColumnEvidence, ...], explicit: dict[int, str]
) -> tuple[ColumnEvidence, ...]:
    """The automatic evidence, with "mapping file" for the columns the file names."""
    return tuple(
        ColumnEvidence(ev.column, ev.header, explicit[ev.column], "mapping file")
        if ev.column in explicit
        else ev
        for ev in auto
    )


def _first_duplicate(items: list[str]) -> str | None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None


def _resolve_column(ref: str, columns: Sequence[str], source: str) -> int:
    """A column position from a header text or "#N"; ConfigError when it does not fit."""
    positions = [i for i, h in enumerate(columns) if h == ref]
    if len(positions) == 1:
        return positions[0]
    if len(positions) > 1:
        alts = " or ".join(f'"#{i + 1}"' for i in positions)
        raise ConfigError(f"{source}: column {ref!r} appears {len(positions)} times; use {alts}")
    m = re.fullmatch(r"#(\d+)", ref)
    if m:
        n = int(m.group(1))
        if 1 <= n <= len(columns):
            return n - 1
        raise ConfigError(f"{source}: column {ref!r}: the file has {len(columns)} columns")
    # Forgive case and punctuation, as the auto-mapper does, when it is unambiguous.
    loose = [i for i, h in enumerate(columns) if header_key(h) == header_key(ref) and h]
    if len(loose) == 1:
        return loose[0]
    listing = ", ".join(repr(h) for h in columns)
    raise ConfigError(f"{source}: column {ref!r} is not in the file (its columns: {listing})")
