"""What `leadup quote` prints: what the list is worth, overall and by state."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from uploader.report import QuoteSummary


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
