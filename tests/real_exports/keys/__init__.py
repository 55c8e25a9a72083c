"""What every file in shared/real-exports must become, written by hand from the files.

Each module here is the answer key of one file (or of one way a person runs it): the options
a real user passes, where each column must go, the outcome and reason of every row (a default
plus the exceptions by spreadsheet row number; the header is row 1), and the exact JSON
bodies the API must receive for a sample of rows (first, last and every quirky one).

The keys were written by reading the files and counting with throwaway scripts of our own;
never from leadup's output. Where the issue (12) and DECISIONS.md leave a row's fate open,
the key decides as a demanding user would and says why in a comment.

Column expectations (`Key.columns`, header -> one of):
  "field:<name>"   sent as that lead field (for a repeated field: the column that comes first)
  "extra:<key>"    sent as that extra field, the cell as written (trimmed)
  "also:<field>:<key>"  a later column for a repeated field (issue item 3): its value fills
                   <field> on rows where the earlier columns have none; sent as the extra
                   <key> either way, and the mapping names <field> as its part
  "country"        the row's own country (how its phone and postcode are read)
  "empty:<name>"   empty on every row: the field or extra <name>, or not sent at all
  "unsent"         never sent as a value (ignored, or a compound JSON column)
  "held:<reason>"  held back as sensitive; the mapping names the reason
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CREATED = "created"
INVALID = "invalid"
SKIPPED = "skipped"
REJECTED = "rejected"  # refused by the sandbox with a 422 (its source takes only US zips)

# The sandbox's own words for a zip outside its source's countries (uploader/sandbox).
SANDBOX_ZIP_REFUSED = "postal code is not valid"
NO_CONTACT = "no way to reach this lead"


@dataclass(frozen=True)
class Row:
    """One row's expected results line: its outcome and substrings its error must hold."""

    outcome: str
    reasons: tuple[str, ...] = ()


def created() -> Row:
    return Row(CREATED)


def invalid(*reasons: str) -> Row:
    return Row(INVALID, reasons)


def skipped(first_row: int) -> Row:
    """A repeat of an earlier row's email or phone (uploader/prepare/normalise.py's words)."""
    return Row(SKIPPED, (f"same lead as row {first_row}",))


def rejected(*reasons: str) -> Row:
    return Row(REJECTED, reasons)


@dataclass(frozen=True)
class Key:
    """One file's answer key (see the module docstring)."""

    name: str  # the test id
    file: str  # in shared/real-exports
    md5: str  # the file the key was written for (SOURCES.md)
    rows: range  # the data rows' spreadsheet numbers
    columns: dict[str, str]  # every header, in file order -> where it goes
    default: Row  # the outcome of every row not in `exceptions`
    exceptions: dict[int, Row] = field(default_factory=dict)
    payloads: dict[int, dict[str, Any]] = field(default_factory=dict)  # exact JSON bodies
    country: str = "US"  # --country, as the user passes it ("US" is leadup's default)
    mapping_toml: str = ""  # a mapping file the user writes, when the file needs one
    # Cell values that must never reach the API in any field (held-back columns' values).
    never_sent: tuple[str, ...] = ()
    # The sandbox's source takes only US zips: a key of another country checks its bodies
    # on `leadup validate` (what would be sent) and expects the sandbox to refuse them.
    bodies_reach_sandbox: bool = True
    # When set, the whole file is refused before anything is sent (exit 2) with these words.
    refused: str = ""

    def expected(self, row: int) -> Row:
        return self.exceptions.get(row, self.default)

    def mapping_file(self, workdir: Path) -> Path | None:
        """The key's mapping file, written into `workdir`; None when the user needs none."""
        if not self.mapping_toml:
            return None
        path = workdir / f"{self.name}.mapping.toml"
        path.write_text(self.mapping_toml, encoding="utf-8")
        return path

    def options(self, workdir: Path) -> list[str]:
        """The command-line options a person passes for this file."""
        args = [] if self.country == "US" else ["--country", self.country]
        mapping = self.mapping_file(workdir)
        return args + (["--mapping", str(mapping)] if mapping else [])

    @property
    def created_count(self) -> int:
        return sum(1 for row in self.rows if self.expected(row).outcome == CREATED)
