"""What a person sees during and after a run: a live bar or plain lines, then the summary."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from uploader.model import Outcome, RowResult
from uploader.report import UploadReport
from uploader.run.quote import render_quote

_OUTCOME_ORDER = tuple(Outcome)
_STYLE = {
    Outcome.CREATED: "green",
    Outcome.REJECTED: "red",
    Outcome.INVALID: "red",
    Outcome.FAILED: "red",
    Outcome.UNKNOWN: "yellow",
    Outcome.SKIPPED: "cyan",
    Outcome.PENDING: "magenta",
    Outcome.HELD: "blue",
    Outcome.QUOTED: "green",
}


def _counts_text(counts: Mapping[Outcome, int]) -> str:
    return " ".join(f"{o.value} {counts[o]}" for o in _OUTCOME_ORDER if counts.get(o))


class _Rate:
    """Rows per second over this run, for the bar and the plain lines."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._started = clock()
        self.rows = 0

    def per_s(self) -> float:
        elapsed = self._clock() - self._started
        return self.rows / elapsed if elapsed > 0 else 0.0


class BarProgress:
    """A live rich progress bar with counts by outcome, for a terminal."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._counts: Counter[Outcome] = Counter()
        self._rate = _Rate(time.monotonic)
        self._progress = Progress(
            TextColumn("[bold]uploading"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>6.1f} rows/s"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[counts]}"),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None

    def start(self, total_rows: int, already: Mapping[Outcome, int]) -> None:
        self._counts.update({o: n for o, n in already.items() if n and o is not Outcome.PENDING})
        done = sum(self._counts.values())
        self._progress.start()
        self._task = self._progress.add_task(
            "upload", total=total_rows, completed=done, rate=0.0, counts=_counts_text(self._counts)
        )

    def advance(self, result: RowResult) -> None:
        if self._task is None or result.outcome is Outcome.PENDING:
            return
        self._counts[result.outcome] += 1
        self._rate.rows += 1
        self._progress.update(
            self._task, advance=1, rate=self._rate.per_s(), counts=_counts_text(self._counts)
        )

    def notice(self, message: str) -> None:
        self._progress.console.print(f"[yellow]{message}")

    def close(self) -> None:
        self._progress.stop()


class LineProgress:
    """A plain progress line every few seconds, for logs and pipes."""

    def __init__(
        self,
        stream: TextIO,
        *,
        interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._interval_s = interval_s
        self._clock = clock
        self._counts: Counter[Outcome] = Counter()
        self._rate = _Rate(clock)
        self._total = 0
        self._started = False
        self._last = clock()

    def start(self, total_rows: int, already: Mapping[Outcome, int]) -> None:
        self._total = total_rows
        self._started = True
        self._counts.update({o: n for o, n in already.items() if n and o is not Outcome.PENDING})
        self._emit()

    def advance(self, result: RowResult) -> None:
        if result.outcome is Outcome.PENDING:
            return
        self._counts[result.outcome] += 1
        self._rate.rows += 1
        if self._clock() - self._last >= self._interval_s:
            self._emit()

    def notice(self, message: str) -> None:
        print(f"leadup: {message}", file=self._stream, flush=True)

    def close(self) -> None:
        if self._started:
            self._emit()

    def _emit(self) -> None:
        self._last = self._clock()
        done = sum(self._counts.values())
        share = f" ({100 * done / self._total:.0f}%)" if self._total else ""
        line = f"leadup: {done}/{self._total} rows{share} {self._rate.per_s():.1f} rows/s"
        if self._counts:
            line += f" | {_counts_text(self._counts)}"
        print(line, file=self._stream, flush=True)


def render_summary(report: UploadReport, console: Console) -> None:
    """The end-of-run summary: outcomes, lead statuses, money, speed, and where the file is."""
    table = Table(title="leadup summary", show_header=True, header_style="bold")
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    for outcome in _OUTCOME_ORDER:
        if report.counts.get(outcome):
            table.add_row(f"[{_STYLE[outcome]}]{outcome.value}", str(report.counts[outcome]))
    table.add_row("[bold]total", f"[bold]{report.rows}")
    console.print(table)
    if report.status_counts:
        statuses = ", ".join(
            f"{k or '(none)'} {v}" for k, v in sorted(report.status_counts.items())
        )
        console.print(f"lead status:   {statuses}")
    console.print(f"total price:   {report.total_price:.2f}")
    speed = report.sent_this_run / report.duration_s if report.duration_s > 0 else 0.0
    console.print(
        f"this run:      {report.sent_this_run} rows in {report.duration_s:.1f}s "
        f"({speed:.1f} rows/s), {report.requests} requests"
        + (f" ({report.pings} pings)" if report.pings else "")
        + f", {report.retries} retries, {report.rate_limited} answered 429"
    )
    if report.quote is not None:
        render_quote(report.quote, console)
    for note in report.notes:
        console.print(f"note:          {note}")
    console.print(f"results file:  {report.results_path}")
    if report.stopped:
        console.print(f"[bold yellow]stopped:[/] {report.stopped}")
    if report.resume_hint and report.exit_code == 3:
        console.print(f"to resume:     {report.resume_hint}")
