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

EXIT_MEANING = {
    0: "every row created",
    1: "some rows not created",
    2: "configuration error",
    3: "a file could not be finished",
}


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
        }


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run (or reprocess) of a job."""

    job: str
    kind: str  # run | reprocess
    status: str  # finished | busy | error
    exit_code: int
    files: tuple[FileResult, ...] = ()
    waiting: tuple[str, ...] = ()  # files still being written, left for the next run
    error: str = ""
    duration_s: float = 0.0

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
            "waiting": list(self.waiting),
            "error": self.error,
        }


def summary_text(summary: RunSummary) -> str:
    """A few lines for the terminal and the webhook: the run, then one line per file."""
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
            f"{head}: {len(summary.files)} file(s), {summary.rows} rows, {summary.created}"
            f" created, {summary.not_created} not created, total price"
            f" {summary.total_price:.2f} (exit {summary.exit_code}: {meaning})"
        ]
    lines += [f"- {file_line(f)}" for f in summary.files]
    if summary.waiting:
        lines.append(f"- still being written, left for the next run: {', '.join(summary.waiting)}")
    return "\n".join(lines)


def file_line(result: FileResult) -> str:
    """One file's outcome in words."""
    name = result.file_name
    if result.status == "duplicate":
        return f"{name}: same content as {result.duplicate_of}, already sent: not sent again"
    if result.status == "error":
        return f"{name}: not sent, set aside in the archive: {result.error}"
    counts = f"{result.rows} rows, {result.created} created, {result.not_created} not created"
    if result.status == "interrupted":
        why = f": {result.error}" if result.error else ""
        return f"{name}: stopped before finishing ({counts}){why}; the next run resumes it"
    extra = [f"{k} {v}" for k, v in sorted(result.counts.items()) if k != "created" and v]
    detail = f" ({', '.join(extra)})" if extra else ""
    return f"{name}: {counts}{detail}, price {result.total_price:.2f}"


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
            "running" if run.exit_code is None else str(run.exit_code),
        )
        for run in runs
    ]
    return table(header, rows) if rows else "no runs yet"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned text table (numbers right-aligned)."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(w) if c.replace(".", "").isdigit() else c.ljust(w)
            for c, w in zip(cells, widths, strict=True)
        ]
        return "  ".join(out).rstrip()

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
    return text if len(text) <= width else f"{len(names)} files"
