"""What a run is asked to do (UploadRequest) and what it did (UploadReport)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from uploader.model import Outcome, RowResult
from uploader.run.quote import QuoteSummary
from uploader.settings import PrepareOptions, ReadOptions, UploadSettings


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """One file to upload and how."""

    input_path: Path
    settings: UploadSettings
    output_path: Path | None = None  # default: <input stem>.results.csv beside the input
    read: ReadOptions = field(default_factory=ReadOptions)
    prepare: PrepareOptions = field(default_factory=PrepareOptions)
    mapping_path: Path | None = None
    restart: bool = False  # throw away an existing journal for this output and start over

    @property
    def results_path(self) -> Path:
        if self.output_path is not None:
            return self.output_path
        ping = self.settings.ping
        quoting = ping is not None and not ping.post
        return default_results_path(self.input_path, "quote" if quoting else "results")


@dataclass(frozen=True, slots=True)
class UploadReport:
    """What an upload (or a retry) did, for the summary, logs and exit code."""

    input_path: Path
    results_path: Path
    journal_path: Path
    counts: dict[Outcome, int]
    status_counts: dict[str, int]
    total_price: float
    duration_s: float
    requests: int = 0  # HTTP requests this run made
    retries: int = 0  # of which were retries
    rate_limited: int = 0  # 429 answers this run received
    pings: int = 0  # of the requests, pings (ping-post mode and quotes)
    quote: QuoteSummary | None = None  # what the list is worth (`leadup quote`)
    sent_this_run: int = 0  # rows that reached a final outcome by a request in this run
    stopped: str = ""  # why the run stopped before finishing ("" when it finished)
    resume_hint: str = ""  # the command that resumes it
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def created(self) -> int:
        return self.counts.get(Outcome.CREATED, 0)

    @property
    def exit_code(self) -> int:
        """0 every row settled (created, or held/quoted as asked); 1 finished, some not;
        3 stopped before finishing."""
        if self.stopped or self.counts.get(Outcome.PENDING, 0):
            return 3
        settled = sum(n for outcome, n in self.counts.items() if outcome.is_settled)
        return 0 if settled == self.rows else 1


def default_results_path(input_path: Path, kind: str = "results") -> Path:
    """`<input stem>.results.csv` (a quote: `.quote.csv`) beside the input."""
    return input_path.with_name(f"{input_path.stem}.{kind}.csv")


def journal_path_for(results_path: Path) -> Path:
    """The journal lives beside the results file it renders."""
    return results_path.with_name(results_path.name + ".journal")


class ProgressSink(Protocol):
    """Receives progress as rows finish; the CLI draws it, jobs ignore it."""

    def start(self, total_rows: int, already: Mapping[Outcome, int]) -> None:
        """Dispatch begins: the file's row count and the outcomes already final."""

    def advance(self, result: RowResult) -> None:
        """One row reached an outcome (pending included, when a run stops)."""

    def notice(self, message: str) -> None:
        """Something the user should see now (a pause, a stop)."""
