"""The preview behind `leadup validate` and `leadup mapping`: shows what would be sent."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uploader.errors import UsageError
from uploader.events import FileRead
from uploader.journal.results import write_results
from uploader.model import Lead, Outcome, RowResult
from uploader.prepare.mapping import auto_map, load_mapping, mapping_to_toml
from uploader.prepare.normalise import Preparer
from uploader.read import open_table
from uploader.run.load import check_mapping, file_read
from uploader.run.request import default_results_path, journal_path_for
from uploader.run.upload import refuse_overwriting_input
from uploader.settings import PrepareOptions, ReadOptions

# `column "Email": "jane@" is not ...` -> the value goes, the column stays.
_COLUMN_VALUE = re.compile(r"""(column (?:"[^"]*"|'[^']*')): (?:"[^"]*"|'[^']*')""")
_TOP_REASONS = 5


@dataclass(slots=True)
class Preview:
    """What validate found: detection, mapping, samples, counts, reasons, results file."""

    path: Path
    detected: FileRead  # what was detected, and where each column goes
    results_path: Path
    samples: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[Outcome] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def to_send(self) -> int:
        return self.counts[Outcome.PENDING]

    @property
    def exit_code(self) -> int:
        """DECISIONS: 0 every row would be sent, 1 some invalid or skipped."""
        return 0 if self.to_send == sum(self.counts.values()) else 1


def preview(
    path: Path,
    *,
    read: ReadOptions,
    prepare: PrepareOptions,
    mapping_path: Path | None,
    output: Path | None,
    samples: int = 3,
) -> Preview:
    """Read, map, normalise and check every row; write the results file; send nothing."""
    table = open_table(path, read)
    mapping = load_mapping(mapping_path, table.columns) if mapping_path else auto_map(table.columns)
    check_mapping(mapping, table)
    results_path = output or default_results_path(path)
    refuse_overwriting_input(path, results_path)
    if journal_path_for(results_path).exists():
        raise UsageError(
            f"{results_path} belongs to an upload (its journal is beside it); "
            "pass --output to write the validation results elsewhere"
        )
    found = Preview(path, file_read(table, mapping), results_path)
    preparer = Preparer(mapping, table.columns, prepare, table.sha256)

    def lines() -> Iterator[tuple[RowResult, Sequence[str]]]:
        for chunk in table.chunks():
            for prepared, cells in preparer.prepare(chunk):
                if isinstance(prepared, Lead):
                    found.counts[Outcome.PENDING] += 1
                    if len(found.samples) < samples:
                        found.samples.append({"row": prepared.row, **prepared.payload})
                    yield RowResult(prepared.row, Outcome.PENDING, error="would be sent"), cells
                else:
                    found.counts[prepared.outcome] += 1
                    found.reasons[reason_kind(prepared.error)] += 1
                    yield prepared, cells

    write_results(results_path, table.columns, lines())
    return found


def reason_kind(error: str) -> str:
    """An error without its quoted values, so that the same problem is counted once."""
    kind = _COLUMN_VALUE.sub(r"\1: …", error)
    return re.sub(r"\brow \d+\b", "row N", kind)


def mapping_toml(path: Path, read: ReadOptions) -> str:
    """The automatic mapping of a file as an editable TOML mapping file."""
    table = open_table(path, read)
    return mapping_to_toml(auto_map(table.columns), table.columns)
