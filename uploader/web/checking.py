"""The check page's engine calls: the column choices a person makes, the options of the
upload, and the preview (`uploader.run.preview`, what `leadup validate` computes) they give.

A person's choices are kept as the columns they changed from the automatic mapping, and
reach the engine as a mapping file of just those columns (`--mapping` semantics), so every
column they did not touch is mapped exactly as the CLI would map it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping as MappingOf
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from uploader.errors import ConfigError, LeadupError
from uploader.events import FileRead
from uploader.headers import EXTRA_PREFIX, FULL_NAME, IGNORE, RESERVED_KEYS, match_header, snake_key
from uploader.model import STANDARD_FIELDS
from uploader.prepare.mapping import Mapping, auto_map, mapping_from_dict, mapping_to_toml
from uploader.read import open_table
from uploader.run.load import check_mapping, file_read
from uploader.run.preview import Preview, preview
from uploader.settings import (
    CONCURRENCY_LIMIT,
    RATE_LIMIT,
    PingPolicy,
    PrepareOptions,
    ReadOptions,
)
from uploader.web.workspace import Upload, private_folder, write_private

SAMPLES = 5
TOP_PROBLEMS = 5
PAGE_SOURCE = "the check page"


@dataclass(frozen=True, slots=True)
class UploadOptions:
    """The options a person sets on the check page (the CLI's flags of the same names)."""

    is_test: bool = False
    rate_per_s: float = 10.0
    concurrency: int = 8
    require: tuple[str, ...] = ()
    keep_duplicates: bool = False
    ping: bool = False  # ping-post
    min_price: float = 0.0  # the floor, with ping

    @classmethod
    def from_form(cls, form: MappingOf[str, Any]) -> UploadOptions:
        """From the page's form (strings, checkboxes present or not); ConfigError names the
        option that does not fit the CLI's limits."""

        def number(name: str, default: float) -> float:
            text = str(form.get(name, "") or "").strip()
            try:
                return float(text) if text else float(default)
            except ValueError:
                raise ConfigError(f"{name.replace('_', ' ')}: {text!r} is not a number") from None

        rate = RATE_LIMIT.check(number("rate", 10.0), "rate")
        concurrency = number("concurrency", 8)
        if not concurrency.is_integer():
            raise ConfigError("concurrency must be a whole number")
        CONCURRENCY_LIMIT.check(int(concurrency), "concurrency")
        floor = number("min_price", 0.0)
        if not math.isfinite(floor) or floor < 0:
            raise ConfigError("the floor must be a price of 0 or more")
        require = form.get("require", ())
        if isinstance(require, str):
            require = [r.strip() for r in require.split(",")]
        unknown = [r for r in require if r and r not in STANDARD_FIELDS]
        if unknown:
            raise ConfigError(f"required field {unknown[0]!r} is not a lead field")
        return cls(
            is_test=_checked(form.get("is_test")),
            rate_per_s=rate,
            concurrency=int(concurrency),
            require=tuple(dict.fromkeys(r for r in require if r)),
            keep_duplicates=_checked(form.get("keep_duplicates")),
            ping=_checked(form.get("ping")),
            min_price=floor,
        )

    @classmethod
    def from_json(cls, data: MappingOf[str, Any] | None) -> UploadOptions:
        if not data:
            return cls()
        return cls(**{**data, "require": tuple(data.get("require", ()))})

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "require": list(self.require)}

    def prepare(self) -> PrepareOptions:
        return PrepareOptions(
            require=self.require, keep_duplicates=self.keep_duplicates, is_test=self.is_test
        )

    def ping_policy(self) -> PingPolicy | None:
        return PingPolicy(min_price=self.min_price, post=True) if self.ping else None


def _checked(value: Any) -> bool:
    return value in (True, "on", "true", "1", 1)


@dataclass(frozen=True, slots=True)
class ColumnChoice:
    """One column of the mapping table: where it goes now, the choices, and why."""

    position: int
    header: str
    ref: str  # how the mapping file names it (`column_ref`)
    target: str  # a select value: a field, "full_name", "extra:<key>" or "ignore"
    evidence: str
    extra_key: str  # the key it is sent under as an extra field


@dataclass(slots=True)
class Check:
    """Everything the check page shows for one set of choices."""

    columns: list[ColumnChoice] = field(default_factory=list)
    preview: Preview | None = None
    error: str = ""  # why nothing can be sent as chosen (a mapping clash, no zip column)
    options: UploadOptions = field(default_factory=UploadOptions)
    choices: dict[str, str] = field(default_factory=dict)  # the columns changed, by reference
    detected: FileRead | None = None  # what was detected, also when the choices do not fit

    @property
    def would_send(self) -> int:
        return self.preview.to_send if self.preview else 0


def column_ref(columns: tuple[str, ...], position: int) -> str:
    """How a mapping file names a column: its header, or `#N` when it repeats or is blank."""
    header = columns[position]
    return header if header and columns.count(header) == 1 else f"#{position + 1}"


def targets(mapping: Mapping, columns: tuple[str, ...]) -> list[str]:
    """Each column's place in `mapping`, as the page's select values."""
    out = []
    for pos in range(len(columns)):
        if pos in mapping.fields:
            out.append(mapping.fields[pos])
        elif pos == mapping.full_name:
            out.append(FULL_NAME)
        elif pos in mapping.extras:
            out.append(EXTRA_PREFIX + mapping.extras[pos])
        else:
            out.append(IGNORE)
    return out


def extra_key(columns: tuple[str, ...], position: int, *mappings: Mapping) -> str:
    """The key a column is (or would be) sent under as an extra field: the first of
    `mappings` that sends it as one says; else from its header."""
    for mapping in mappings:
        if position in mapping.extras:
            return mapping.extras[position]
    key = snake_key(columns[position], position)
    return f"{key}_{position + 1}" if key in RESERVED_KEYS else key


def column_evidence(detected: FileRead, columns: tuple[str, ...], changed: set[int]) -> list[str]:
    """Why each column goes where it goes, as the preview tells it today.

    The one adapter between the preview and the page's evidence column: the mapping-evidence
    work (issue 12) fills `ColumnMap.why`, and this shows it as soon as it is there; until
    then the evidence is the header name the automatic mapping recognised.
    """
    evidence = []
    for pos, header in enumerate(columns):
        why = detected.columns[pos].why if pos < len(detected.columns) else ""
        if pos in changed:
            evidence.append("chosen on this page")
        elif why:
            evidence.append(why)
        elif (found := match_header(header)) is not None:
            evidence.append(f"the header is a usual name for {found[0]}")
        else:
            evidence.append("no lead field goes by this header: sent as an extra field")
    return evidence


def changed_columns(columns: tuple[str, ...], chosen: MappingOf[str, str]) -> dict[str, str]:
    """The choices that differ from the automatic mapping, by column reference."""
    auto = targets(auto_map(columns), columns)
    refs = [column_ref(columns, pos) for pos in range(len(columns))]
    return {
        ref: target
        for ref, target in chosen.items()
        if ref in refs and auto[refs.index(ref)] != target
    }


def mapping_for(columns: tuple[str, ...], changed: MappingOf[str, str]) -> Mapping:
    if not changed:
        return auto_map(columns)
    return mapping_from_dict({"columns": dict(changed)}, columns, source=PAGE_SOURCE)


def run_check(upload: Upload, chosen: MappingOf[str, str], options: UploadOptions) -> Check:
    """Map the file as chosen and preview it (blocking: call it on a thread, one at a time
    per upload). The changed columns become the upload's mapping file (`Check.choices`)."""
    table = open_table(upload.input_path, ReadOptions())
    columns = table.columns
    changed = changed_columns(columns, chosen)
    auto = auto_map(columns)
    check = Check(options=options, choices=changed)
    try:
        mapping = mapping_for(columns, changed)
        check_mapping(mapping, table)
    except LeadupError as exc:
        check.error = str(exc)
        mapping = auto
        shown = targets(auto, columns)
        refs = [column_ref(columns, pos) for pos in range(len(columns))]
        shown = [changed.get(ref, target) for ref, target in zip(refs, shown, strict=True)]
    else:
        shown = targets(mapping, columns)
    mapping_file = save_mapping_file(upload.mapping_path, changed) if not check.error else None
    positions = {pos for pos in range(len(columns)) if column_ref(columns, pos) in changed}
    if not check.error:
        private_folder(upload.check_path.parent)
        check.preview = preview(
            upload.input_path,
            read=ReadOptions(),
            prepare=options.prepare(),
            mapping_path=mapping_file,
            output=upload.check_path,
            samples=SAMPLES,
        )
        detected = check.preview.detected
    else:
        detected = file_read(table, mapping)
    check.detected = detected
    evidence = column_evidence(detected, columns, positions)
    check.columns = [
        ColumnChoice(
            pos,
            header,
            column_ref(columns, pos),
            shown[pos],
            evidence[pos],
            extra_key(columns, pos, mapping, auto),
        )
        for pos, header in enumerate(columns)
    ]
    return check


def save_mapping_file(path: Path, changed: MappingOf[str, str]) -> Path | None:
    """The changed columns as a mapping file (None, and no file, when nothing changed)."""
    if not changed:
        path.unlink(missing_ok=True)
        return None
    write_private(path, tomli_w.dumps({"columns": dict(changed)}).encode())
    return path


def mapping_download(upload: Upload) -> str:
    """The whole mapping as chosen, as the TOML file `--mapping` accepts (commented)."""
    table = open_table(upload.input_path, ReadOptions())
    mapping = mapping_for(table.columns, dict(upload.meta.get("choices") or {}))
    return mapping_to_toml(mapping, table.columns, source=upload.name)


def select_options(choice: ColumnChoice) -> list[tuple[str, str]]:
    """(value, label) of one column's select: every lead field, full name, extra, ignore."""
    options = [(f, f) for f in STANDARD_FIELDS]
    options.append((FULL_NAME, "full name (split into first and last)"))
    options.append((EXTRA_PREFIX + choice.extra_key, f"extra field {choice.extra_key}"))
    if choice.target.startswith(EXTRA_PREFIX) and choice.target not in dict(options):
        options.append((choice.target, f"extra field {choice.target[len(EXTRA_PREFIX) :]}"))
    options.append((IGNORE, "ignore (not sent)"))
    return options


def detected_line(check: Check) -> str:
    return check.detected.describe() if check.detected else ""


def problems(check: Check) -> tuple[list[dict[str, Any]], int, int]:
    """The top reasons rows are held back, and the rows and reasons of the rest."""
    if check.preview is None:
        return [], 0, 0
    shown, rest_rows, rest_reasons = check.preview.top_problems(TOP_PROBLEMS)
    return (
        [
            {"reason": p.reason, "rows": p.rows, "examples": [asdict(e) for e in p.examples]}
            for p in shown
        ],
        rest_rows,
        rest_reasons,
    )
