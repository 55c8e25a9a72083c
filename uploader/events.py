"""The events a run reports, as immutable values: every face renders these and only these.

    FileRead       what was detected in the file and how its columns map
    RowsLoaded     how many rows will be sent, and how many are held back (invalid, skipped)
    Progress       a snapshot: counts by outcome, rate, ETA (a few times a second)
    Notice         something to tell a person now: a pause, a lower rate, a stop
    RowsFinished   row results, in batches
    RunFinished    the final report

The engine emits them to any number of subscribers (`uploader.run.RunControl`); tests assert
on them, the CLI draws them with rich, the web page streams them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from uploader.model import Outcome, RowResult
from uploader.report import UploadReport


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """One input column and what it feeds: a lead field, an extra field, or nothing."""

    column: str
    target: str  # a lead field ("email"), "extra:<key>", "full name", or "" when ignored
    why: str = ""  # the evidence or the rule that decided it: "name + 100% parse as phones"
    runners_up: tuple[str, ...] = ()  # close alternatives, for a person to check the choice


@dataclass(frozen=True, slots=True)
class FileRead:
    """What was detected in the file, before anything is prepared or sent."""

    path: Path
    format: str  # csv, xlsx, xls
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int = 1
    columns: tuple[ColumnMap, ...] = ()
    note: str | None = None  # how a choice was made, e.g. which sheet was read and why

    @property
    def held_back(self) -> tuple[ColumnMap, ...]:
        """The sensitive columns never sent (target `held back (card number)`), for every face
        to list (DECISIONS 2026-12-03)."""
        return tuple(c for c in self.columns if c.target.startswith("held back"))

    def describe(self) -> str:
        """`csv, utf-8, delimiter ',', header row 1`: the one "detected" line of every face."""
        parts = [
            self.format,
            self.encoding or "",
            f"delimiter {self.delimiter!r}" if self.delimiter else "",
            f"sheet {self.sheet!r}" if self.sheet else "",
            f"header row {self.header_row}",
        ]
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class RowsLoaded:
    """The file is read and checked: what will be sent and what is held back."""

    path: Path
    to_send: int
    counts: Mapping[Outcome, int]  # every row's state now (pending = to send)
    resumed: bool = False  # a resume: the file was read by an earlier run


@dataclass(frozen=True, slots=True)
class Progress:
    """Where the run is: counts by outcome (pending = not yet final), speed and ETA."""

    total: int
    counts: Mapping[Outcome, int]
    done_this_run: int  # rows that reached an outcome in this run
    elapsed_s: float
    rate_per_s: float  # rows finished per second, recently
    eta_s: float | None  # None until the rate is known

    @property
    def done(self) -> int:
        return self.total - self.counts.get(Outcome.PENDING, 0)


class NoticeKind(StrEnum):
    """What a notice is about, so a face can style or count them."""

    PAUSED = "paused"  # every worker waits (a 429, or a failing API)
    RATE_LOWERED = "rate_lowered"  # the pace went down (429 or overload answers)
    PROBING = "probing"  # after a pause, one request tests whether the API is back
    RECOVERED = "recovered"  # the probe succeeded: the workers go again
    STOPPING = "stopping"  # a stop was asked or decided
    NOTE = "note"  # anything else worth a line


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a person should see now."""

    kind: NoticeKind
    message: str
    seconds: float | None = None  # how long a pause lasts
    rate_per_s: float | None = None  # the pace after the change


@dataclass(frozen=True, slots=True)
class RowsFinished:
    """Results of rows that reached an outcome (pending too, when a run stops)."""

    results: tuple[RowResult, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run is over; the report says how it ended."""

    report: UploadReport


Event = FileRead | RowsLoaded | Progress | Notice | RowsFinished | RunFinished
