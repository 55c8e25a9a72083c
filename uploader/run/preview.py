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
from uploader.prepare.mapping import auto_map, mapping_to_toml
from uploader.prepare.normalise import Preparer
from uploader.read import open_table
from uploader.run.load import file_read, map_columns
from uploader.run.request import default_results_path, journal_path_for
from uploader.run.upload import refuse_overwriting_input
from uploader.settings import PrepareOptions, ReadOptions

# `column "Email": "jane@" is not ...`: the value is the row's own, the rest the kind of
# problem. A value ends at a quote followed by a space and the lower-case word of the why.
_COLUMN_VALUE = re.compile(r"""(column "(?:[^"]|"(?!: ))*"): ("(?:[^"]|"(?! [a-z(]))*")""")
_SAME_LEAD = re.compile(r"same lead as row (\d+)")
SAME_LEAD = "same email or phone as an earlier row"
_EXAMPLES = 2  # rows shown per problem


@dataclass(frozen=True, slots=True)
class Example:
    """One row with a problem, and the values that show it (`"jane@"`; `repeats row 2`)."""

    row: int
    detail: str = ""


@dataclass(slots=True)
class Problem:
    """The rows not sent for one reason: how many, and the first few of them."""

    reason: str  # the error with each row's own values taken out (`…`)
    rows: int = 0
    examples: list[Example] = field(default_factory=list)


@dataclass(slots=True)
class Preview:
    """What validate found: detection, mapping, samples, counts, reasons, results file."""

    path: Path
    detected: FileRead  # what was detected, and where each column goes
    results_path: Path
    samples: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[Outcome] = field(default_factory=Counter)
    problems: dict[str, Problem] = field(default_factory=dict)  # by reason, first seen first

    @property
    def to_send(self) -> int:
        return self.counts[Outcome.PENDING]

    @property
    def exit_code(self) -> int:
        """DECISIONS: 0 every row would be sent, 1 some invalid or skipped."""
        return 0 if self.to_send == sum(self.counts.values()) else 1

    @property
    def not_sent(self) -> int:
        """Invalid and skipped rows: every one is in exactly one problem."""
        return sum(self.counts.values()) - self.to_send

    def add_problem(self, result: RowResult) -> None:
        """Count an invalid or skipped row under its reason, keeping the first examples."""
        reason, detail = split_reason(result.error)
        problem = self.problems.get(reason)
        if problem is None:
            problem = self.problems[reason] = Problem(reason)
        problem.rows += 1
        if len(problem.examples) < _EXAMPLES:
            problem.examples.append(Example(result.row, detail))

    def top_problems(self, count: int) -> tuple[list[Problem], int, int]:
        """The `count` problems with the most rows (first seen first among equals), then the
        rows and reasons of the rest: together they add up to `not_sent`. A rest of one
        reason is shown rather than summed up."""
        ranked = sorted(self.problems.values(), key=lambda p: -p.rows)  # stable
        if len(ranked) == count + 1:
            count += 1
        shown, rest = ranked[:count], ranked[count:]
        return shown, sum(p.rows for p in rest), len(rest)


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
    mapping = map_columns(table, mapping_path)
    results_path = output or default_results_path(path)
    refuse_overwriting_input(path, results_path)
    if journal_path_for(results_path).exists():
        raise UsageError(
            f"{results_path} holds the results of an upload; "
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
                    found.add_problem(prepared)
                    yield prepared, cells

    write_results(results_path, table.columns, lines())
    return found


def split_reason(error: str) -> tuple[str, str]:
    """A row's error as (its reason, shared by every row with the same problem; the row's own
    values): `column "Email": "jane@" is not ...` -> (`column "Email": … is not ...`,
    `"jane@"`); `same lead as row 2` -> (SAME_LEAD, `repeats row 2`)."""
    if same := _SAME_LEAD.fullmatch(error):
        return SAME_LEAD, f"repeats row {same[1]}"
    values = [m[2] for m in _COLUMN_VALUE.finditer(error)]
    return _COLUMN_VALUE.sub(r"\1: …", error), ", ".join(values)


def mapping_toml(path: Path, read: ReadOptions) -> str:
    """The automatic mapping of a file as an editable TOML mapping file."""
    table = open_table(path, read)
    return mapping_to_toml(auto_map(table.columns, table.sample()), table.columns)
