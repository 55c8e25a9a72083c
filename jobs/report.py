"""What a job run did (FileResult, RunSummary) and the text people read about it.

One place renders runs for the terminal, the cron log and the webhook, so a message in Slack
and a line in the log say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jobs.ledger import RunRecord
from uploader.text import inert, plural

EXIT_MEANING = {
    0: "every row created",
    1: "some rows not created",
    2: "configuration error",
    3: "a file could not be finished",
}


@dataclass(frozen=True, slots=True)
class FileStep:
    """What to do about some rows of one file, and the command that does it (as printed)."""

    outcome: str  # the rows' outcome: failed, unknown, rejected, invalid, held, pending
    rows: int
    advice: str  # in plain words
    command: str

    def log_fields(self) -> dict[str, object]:
        """The JSON of this step."""
        return {
            "outcome": self.outcome,
            "rows": self.rows,
            "advice": self.advice,
            "command": self.command,
        }


@dataclass(frozen=True, slots=True)
class Waiting:
    """A file left in the inbox for the next run, how long ago it last changed, and how long
    ago a run first saw it as it is now."""

    name: str
    changed_s_ago: float | None = None  # None: it changed while this run was reading it
    seen_s_ago: float | None = None  # since the first sighting of it as it is (jobs.sightings)

    def describe(self) -> str:
        """`leads.csv (changed 2 s ago)`; `leads.csv (changed 3600 s ago, first seen just now)`."""
        if self.changed_s_ago is None:
            return f"{self.name} (changed while it was being read)"
        if self.changed_s_ago < 0:
            ahead = f"{-self.changed_s_ago:.0f} s ahead of this computer's clock"
            return f"{self.name} (its modification time is {ahead})"
        changed = f"changed {_ago(self.changed_s_ago)}"
        if self.seen_s_ago is not None and self.seen_s_ago < self.changed_s_ago - 1:
            seen = "just now" if self.seen_s_ago < 1 else _ago(self.seen_s_ago)
            return f"{self.name} ({changed}, first seen {seen})"
        return f"{self.name} ({changed})"


def _ago(seconds: float) -> str:
    if seconds < 1:
        return "less than 1 s ago"
    return f"{seconds:.0f} s ago"


@dataclass(frozen=True, slots=True)
class FileResult:
    """One inbox file in one run."""

    file_name: str
    sha256: str
    status: str  # done | duplicate | error | interrupted
    exit_code: int
    counts: dict[str, int] = field(default_factory=dict)
    total_price: float = 0.0
    duration_s: float = 0.0
    archived_path: Path | None = None
    results_path: Path | None = None
    error: str = ""
    duplicate_of: str = ""
    resumed: bool = False
    next_steps: tuple[FileStep, ...] = ()  # what its rows need next, with job commands

    @property
    def rows(self) -> int:
        """Input rows accounted for."""
        return sum(self.counts.values())

    @property
    def created(self) -> int:
        """Rows created on the server."""
        return self.counts.get("created", 0)

    @property
    def not_created(self) -> int:
        """Rows that ended any other way (rejected, failed, unknown, ...)."""
        return self.rows - self.created

    def log_fields(self) -> dict[str, object]:
        """The JSON-lines record of this file."""
        return {
            "file": self.file_name,
            "sha256": self.sha256,
            "status": self.status,
            "counts": self.counts,
            "rows": self.rows,
            "created": self.created,
            "not_created": self.not_created,
            "total_price": round(self.total_price, 2),
            "duration_s": round(self.duration_s, 3),
            "exit": self.exit_code,
            "archived": str(self.archived_path or ""),
            "results": str(self.results_path or ""),
            "resumed": self.resumed,
            "duplicate_of": self.duplicate_of,
            "error": self.error,
            "next_steps": [step.log_fields() for step in self.next_steps],
        }


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run (or reprocess) of a job."""

    job: str
    kind: str  # run | reprocess
    status: str  # finished | busy | error
    exit_code: int
    files: tuple[FileResult, ...] = ()
    waiting: tuple[Waiting, ...] = ()  # files still being written, left for the next run
    error: str = ""
    duration_s: float = 0.0
    settle_s: float = 0.0  # how long a file must be unchanged before it is taken

    @property
    def rows(self) -> int:
        """Input rows accounted for."""
        return sum(f.rows for f in self.sent)

    @property
    def created(self) -> int:
        """Rows created on the server."""
        return sum(f.created for f in self.sent)

    @property
    def not_created(self) -> int:
        """Rows that ended any other way (rejected, failed, unknown, ...)."""
        return self.rows - self.created

    @property
    def total_price(self) -> float:
        """Sum of the prices of the files this run sent."""
        return sum(f.total_price for f in self.sent)

    @property
    def sent(self) -> tuple[FileResult, ...]:
        """Files whose rows this run accounts for (a duplicate sends nothing)."""
        return tuple(f for f in self.files if f.status != "duplicate")

    def log_fields(self) -> dict[str, object]:
        """The JSON-lines record of this run."""
        return {
            "status": self.status,
            "files": [f.file_name for f in self.files],
            "rows": self.rows,
            "created": self.created,
            "not_created": self.not_created,
            "total_price": round(self.total_price, 2),
            "duration_s": round(self.duration_s, 3),
            "exit": self.exit_code,
            "waiting": [w.name for w in self.waiting],
            "settle_s": self.settle_s,
            "error": self.error,
            "next_steps": [
                {"file": f.file_name, **step.log_fields()}
                for f in self.files
                for step in f.next_steps
            ],
        }


def summary_text(summary: RunSummary) -> str:
    """A few lines for the terminal and the webhook: the run, then each file and its next
    steps (advice, then the command that does it)."""
    head = f"leadup jobs {summary.kind} {summary.job}"
    meaning = EXIT_MEANING.get(summary.exit_code, "")
    if summary.status == "busy":
        return f"{head}: another run is active"
    if summary.status == "error":
        lines = [f"{head} FAILED (exit {summary.exit_code}, {meaning}): {summary.error}"]
    elif not summary.files:
        nothing = "no new files" if summary.kind == "run" else "no rows to resend"
        lines = [f"{head}: {nothing} (exit {summary.exit_code})"]
    else:
        lines = [
            f"{head}: {plural(len(summary.files), 'file')}, {plural(summary.rows, 'row')},"
            f" {summary.created} created, {summary.not_created} not created, total price"
            f" {summary.total_price:.2f} (exit {summary.exit_code}: {meaning})"
        ]
    for result in summary.files:
        lines.append(f"- {file_line(result)}")
        lines += step_lines(result)
    if summary.waiting:
        names = ", ".join(w.describe() for w in summary.waiting)
        lines.append(
            f"- still being written, left for the next run: {names}; a file is taken once it"
            f" has been seen unchanged for {summary.settle_s:g} s (settle_s)"
        )
    # File names, headers and errors come from the vendor's files: inert on any terminal.
    return inert("\n".join(lines), lines=True)


def file_line(result: FileResult) -> str:
    """One file's outcome in words."""
    name = result.file_name
    if result.status == "duplicate":
        return f"{name}: same content as {result.duplicate_of}, already sent: not sent again"
    if result.status == "error":
        where = "set aside in the archive" if result.archived_path else "left in the inbox"
        return f"{name}: not sent, {where}: {result.error}"
    counts = (
        f"{plural(result.rows, 'row')}, {result.created} created, {result.not_created} not created"
    )
    if result.status == "changed":
        return f"{name}: still being written ({counts} of what was read){why_of(result)}"
    if result.status == "interrupted":
        why = f": {result.error}" if result.error else ""
        return f"{name}: stopped before finishing ({counts}){why}; the next run resumes it"
    extra = [f"{k} {v}" for k, v in sorted(result.counts.items()) if k != "created" and v]
    detail = f" ({', '.join(extra)})" if extra else ""
    return f"{name}: {counts}{detail}, price {result.total_price:.2f}"


def why_of(result: FileResult) -> str:
    return f": {result.error}" if result.error else ""


def step_lines(result: FileResult) -> list[str]:
    """A file's next steps, indented under its line: the results file, then each step."""
    if not result.next_steps:
        return []
    lines = [f"  results file: {result.results_path}"] if result.results_path else []
    for step in result.next_steps:
        lines.append(f"  {plural(step.rows, 'row')} {step.outcome}: {step.advice}")
        lines.append(f"    {step.command}")
    return lines


def history_table(runs: Sequence[RunRecord], tz: ZoneInfo) -> str:
    """Past runs, newest first: when, what, files, rows, created, not created, price, exit."""
    header = ("started", "kind", "files", "rows", "created", "not created", "price", "exit")
    rows = [
        (
            local_time(run.started_at, tz),
            run.kind,
            _names(run.file_names),
            str(run.rows),
            str(run.created),
            str(run.not_created),
            f"{run.total_price:.2f}",
            _exit_cell(run),
        )
        for run in runs
    ]
    return table(header, rows) if rows else "no runs yet"


def _exit_cell(run: RunRecord) -> str:
    if run.exit_code is not None:
        return str(run.exit_code)
    return "running" if run.finished_at is None else "died"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned text table (numbers right-aligned)."""

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(w) if c.replace(".", "").isdigit() else c.ljust(w)
            for c, w in zip(cells, widths, strict=True)
        ]
        return "  ".join(out).rstrip()

    header, rows = [inert(c) for c in header], [[inert(c) for c in r] for r in rows]
    widths = [max(len(c) for c in column) for column in zip(header, *rows, strict=True)]
    return "\n".join([line(header), *(line(r) for r in rows)])


def local_time(iso: str | None, tz: ZoneInfo) -> str:
    """An ISO timestamp shown in the job's zone, to the minute."""
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _names(names: Sequence[str], width: int = 40) -> str:
    if not names:
        return "-"
    text = ", ".join(names)
    return text if len(text) <= width else plural(len(names), "file")
