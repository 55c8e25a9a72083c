"""The summary a person reads when a run ends: outcomes, money, speed, and what to do next."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from uploader.cli.quote import render_quote
from uploader.model import Outcome
from uploader.report import UploadReport
from uploader.text import inert, plural

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
    """The end-of-run summary: outcomes, lead statuses, money, speed, what to do next."""
    table = Table(title="leadup summary", show_header=True, header_style="bold")
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    for outcome in tuple(Outcome):
        if report.counts.get(outcome):
            table.add_row(f"[{OUTCOME_STYLE[outcome]}]{outcome.value}", str(report.counts[outcome]))
    table.add_row("[bold]total", f"[bold]{report.rows}")
    console.print(table)
    if report.quote is not None:  # what the list is worth comes first
        render_quote(report.quote, console)
    earlier = " (earlier runs)" if report.already_finished else ""
    if report.status_counts:
        statuses = ", ".join(  # the API's words: inert too
            f"{inert(k) or '(none)'} {v}" for k, v in sorted(report.status_counts.items())
        )
        console.print(f"lead status:   {statuses}{earlier}", markup=False)
    if report.quote is None:  # a quote sells nothing: its worth is in the quote's lines
        console.print(f"total price:   {report.total_price:.2f}{earlier}")
    if report.already_finished:
        console.print("this run:      already finished: nothing sent")
    else:
        speed = report.sent_this_run / report.duration_s if report.duration_s > 0 else 0.0
        console.print(
            f"this run:      {plural(report.sent_this_run, 'row')} in {report.duration_s:.1f}s "
            f"({speed:.1f} rows/s), {plural(report.requests, 'request')}"
            + (f" ({plural(report.pings, 'ping')})" if report.pings else "")
            + f", {plural(report.retries, 'retry')}, {report.rate_limited} answered 429"
            + (f", {report.overloaded} answered 503/408/425" if report.overloaded else "")
        )
    for note in report.notes:
        console.print(f"note:          {inert(note)}", markup=False)
    console.print(f"results file:  {inert(report.results_path)}", markup=False)
    if report.stopped:
        console.print(Text.assemble(("stopped:", "bold yellow"), f"       {inert(report.stopped)}"))
    if report.next_steps:
        console.print("[bold]next steps:[/]")
        for step in report.next_steps:
            head = Text.assemble(
                (f"  {plural(step.rows, 'row')} {step.outcome.value}", OUTCOME_STYLE[step.outcome]),
                f": {inert(step.advice)}",
            )
            console.print(head)
            if step.command:
                console.print(Text(f"    {inert(step.command)}"), soft_wrap=True)
