"""What a person reads after a command: the run's summary, validate's preview, a quote."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from uploader.model import Outcome
from uploader.report import QuoteSummary, UploadReport
from uploader.run.preview import Preview

_TOP_REASONS = 5
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


def render_quote(summary: QuoteSummary, console: Console) -> None:
    """What the list is worth, overall and by state."""
    worth = summary.overall
    median = "-" if worth.median is None else f"{worth.median:.2f}"
    console.print(
        f"quoted:        {summary.quoted} of {summary.rows} rows, {worth.matched} with a match"
    )
    console.print(f"best bids:     total {worth.total:,.2f}, median {median}")
    console.print(
        f"floor {summary.floor:.2f}:   {worth.clearing} leads clear it, "
        f"for {worth.clearing_total:,.2f}"
    )
    if summary.by_state:
        table = Table(title="by state", header_style="bold")
        for name in ("state", "matched", "total", "median", "clear floor", "for"):
            table.add_column(name, justify="left" if name == "state" else "right")
        for state, w in summary.by_state.items():
            table.add_row(
                state,
                str(w.matched),
                f"{w.total:,.2f}",
                "-" if w.median is None else f"{w.median:.2f}",
                str(w.clearing),
                f"{w.clearing_total:,.2f}",
            )
        console.print(table)
    if summary.chart_path is not None:
        console.print(f"chart:         {summary.chart_path}")


def render_preview(found: Preview, console: Console) -> None:
    """Print detection, the mapping table, sample leads, counts and the top problems."""
    console.print(f"{found.path}: {found.detected.describe()}", markup=False)
    table = Table(title="column mapping", header_style="bold")
    table.add_column("column")
    table.add_column("sent as")
    for column in found.detected.columns:
        table.add_row(Text(column.column), Text(column.target))
    console.print(table)

    for sample in found.samples:
        console.print_json(json.dumps(sample, ensure_ascii=False))

    total = sum(found.counts.values())
    console.print(
        f"rows: {total}  would be sent: {found.to_send}  "
        f"invalid: {found.counts[Outcome.INVALID]}  skipped: {found.counts[Outcome.SKIPPED]}"
    )
    for reason, count in found.reasons.most_common(_TOP_REASONS):
        console.print(f"  {count:>6} x {reason}", markup=False)
    console.print(f"results file: {found.results_path} (nothing was sent)")
