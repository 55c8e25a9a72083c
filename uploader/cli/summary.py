"""The summary a person reads when a run ends: outcomes, money, speed, and what to do next."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from uploader.cli.quote import render_quote
from uploader.model import Outcome
from uploader.report import UploadReport

OUTCOME_STYLE = {
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


def render_summary(report: UploadReport, console: Console) -> None:
    """The end-of-run summary: outcomes, lead statuses, money, speed, and where the file is."""
    table = Table(title="leadup summary", show_header=True, header_style="bold")
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    for outcome in tuple(Outcome):
        if report.counts.get(outcome):
            table.add_row(f"[{OUTCOME_STYLE[outcome]}]{outcome.value}", str(report.counts[outcome]))
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
        + (f", {report.overloaded} answered 503/408/425" if report.overloaded else "")
    )
    if report.quote is not None:
        render_quote(report.quote, console)
    for note in report.notes:
        console.print(f"note:          {note}", markup=False)
    console.print(f"results file:  {report.results_path}")
    if report.stopped:
        console.print(Text.assemble(("stopped:", "bold yellow"), f"       {report.stopped}"))
    if report.resume_hint and report.exit_code == 3:
        console.print(f"to resume:     {report.resume_hint}")
