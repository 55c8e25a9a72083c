"""What `leadup quote` prints: what the list is worth first, then the top states.

The command that sells the leads at or above the floor is one of the run's next steps,
which the summary prints after this; the quote only points at it.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from uploader.report import QuoteSummary, Worth
from uploader.run.quote import NO_STATE, top_states
from uploader.text import inert, plural

TOP_STATES = 10


def render_quote(summary: QuoteSummary, console: Console) -> None:
    """The headline (priced, best bids, the floor's cut), the top states, and the files."""
    for line in headline(summary):
        console.print(inert(line), markup=False, soft_wrap=True)
    if summary.overall.matched and set(summary.by_state) != {NO_STATE}:
        _print_states(summary, console)
    if summary.states_path is not None:
        console.print(Text(inert(f"states file:   {summary.states_path}")), soft_wrap=True)
    if summary.chart_path is not None:
        console.print(Text(inert(f"chart:         {summary.chart_path}")), soft_wrap=True)


def headline(summary: QuoteSummary) -> list[str]:
    """How many leads were priced, what their best bids add up to, and what clears the floor;
    a quote that found nothing says so."""
    worth = summary.overall
    rows = plural(summary.rows, "row")
    if not summary.quoted:
        return [
            f"priced:        none of the {rows}: no lead could be priced (the outcomes say why)"
        ]
    if not worth.matched:
        return [
            f"priced:        {summary.quoted} of {rows}, none with a bid",
            "no bids:       no buyer bid on any of them: nothing to sell",
        ]
    median = "" if worth.median is None else f", median {worth.median:,.2f}"
    lines = [
        f"priced:        {summary.quoted} of {rows}, {worth.matched} with a bid",
        f"best bids:     total {worth.total:,.2f}{median}",
    ]
    sell = "(to sell them: next steps, below)"
    if summary.floor <= 0:
        lines.append(
            f"no floor:      {plural(worth.matched, 'lead')} with a bid would sell, "
            f"for {worth.total:,.2f} {sell}"
        )
    elif not worth.clearing:
        best = max(summary.prices, default=0.0)
        lines.append(
            f"floor {summary.floor:.2f}:   no lead clears it (the best bid is {best:,.2f})"
        )
    else:
        clear = "clears" if worth.clearing == 1 else "clear"
        lines.append(
            f"floor {summary.floor:.2f}:   {plural(worth.clearing, 'lead')} {clear} it, "
            f"for {worth.clearing_total:,.2f} {sell}"
        )
    return lines


def _print_states(summary: QuoteSummary, console: Console) -> None:
    shown, more = top_states(summary, TOP_STATES)
    floor = summary.floor > 0
    title = "by state"
    if more:
        title += f": the top {len(shown)} of {len(summary.by_state)}, by total"
    table = Table(title=title, title_justify="left", header_style="bold")
    names = ["state", "leads", "total", "median", *(["clear floor", "for"] if floor else [])]
    for name in names:
        table.add_column(name, justify="left" if name == "state" else "right")
    for state, worth in shown:
        table.add_row(Text(inert(state)), *_cells(worth, floor))
    console.print(table)
    if more:
        console.print(f"and {plural(more, 'more state')}: every state is in the states file")


def _cells(worth: Worth, floor: bool) -> list[str]:
    cells = [
        str(worth.matched),
        f"{worth.total:,.2f}",
        "-" if worth.median is None else f"{worth.median:,.2f}",
    ]
    if floor:
        cells += [str(worth.clearing), f"{worth.clearing_total:,.2f}"]
    return cells
