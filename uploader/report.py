"""What a run did: the report every face renders (counts, money, why it stopped, next steps)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from uploader.model import Outcome


@dataclass(frozen=True, slots=True)
class Worth:
    """Best bids of a group of rows, and the part of them at or above the floor."""

    matched: int = 0
    total: float = 0.0
    median: float | None = None
    clearing: int = 0
    clearing_total: float = 0.0

    @classmethod
    def of(cls, prices: list[float], floor: float) -> Worth:
        cleared = [p for p in prices if round(p * 100) >= round(floor * 100)]
        return cls(
            matched=len(prices),
            total=round(sum(prices), 2),
            median=statistics.median(prices) if prices else None,
            clearing=len(cleared),
            clearing_total=round(sum(cleared), 2),
        )


@dataclass(frozen=True, slots=True)
class QuoteSummary:
    """The whole list's worth and each state's, for the summary and the chart."""

    floor: float
    rows: int  # every row of the file
    quoted: int  # rows pinged and answered
    overall: Worth
    by_state: dict[str, Worth] = field(default_factory=dict)
    prices: tuple[float, ...] = ()  # every best bid, for the chart
    chart_path: Path | None = None
    states_path: Path | None = None  # every state's figures, as CSV (the screen shows the top)


@dataclass(frozen=True, slots=True)
class NextStep:
    """What to do about the rows of one outcome, and the exact command that does it."""

    outcome: Outcome
    rows: int
    advice: str  # in plain words
    command: str = ""  # runs as printed (paths of this run, leadup as it was invoked)


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
    overloaded: int = 0  # 503, 408 and 425 answers this run received
    pings: int = 0  # of the requests, pings (ping-post mode and quotes)
    quote: QuoteSummary | None = None  # what the list is worth (`leadup quote`)
    sent_this_run: int = 0  # rows that reached a final outcome by a request in this run
    stopped: str = ""  # why the run stopped before finishing ("" when it finished)
    resume_hint: str = ""  # the command that resumes it
    notes: list[str] = field(default_factory=list)
    next_steps: tuple[NextStep, ...] = ()  # per outcome that needs action
    already_finished: bool = False  # resumed a finished upload: nothing was sent this time

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
