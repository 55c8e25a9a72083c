"""`leadup quote`: what a list is worth, from its pings: totals, the floor's cut, by state.

The figures come from the journal of the quote run (each row's best bid as the API
answered it), so they add up to exactly what the pings said; the chart and the by-state
file are the same figures.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from uploader.journal.results import neutralise
from uploader.model import Outcome, RowResult
from uploader.report import QuoteSummary, Worth

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # imported when drawn: matplotlib is slow to load

NO_STATE = "(no state)"
ALL_STATES = "(all states)"
STATES_HEADER = ("state", "leads with a bid", "total", "median", "at or above floor", "for")


def summarise(
    results: Iterable[RowResult], states: Mapping[int, str], floor: float
) -> QuoteSummary:
    """Add up the best bids of quoted rows, overall and by the lead's `state` field."""
    rows = quoted = 0
    prices: list[float] = []
    per_state: dict[str, list[float]] = {}
    for result in results:
        rows += 1
        if result.outcome is not Outcome.QUOTED:
            continue
        quoted += 1
        price = result.extra.get("bid_price")
        if price is None:
            continue
        prices.append(float(price))
        per_state.setdefault(states.get(result.row) or NO_STATE, []).append(float(price))
    return QuoteSummary(
        floor=floor,
        rows=rows,
        quoted=quoted,
        overall=Worth.of(prices, floor),
        by_state={state: Worth.of(p, floor) for state, p in sorted(per_state.items())},
        prices=tuple(prices),
    )


def top_states(summary: QuoteSummary, count: int) -> tuple[list[tuple[str, Worth]], int]:
    """The `count` states whose best bids add up to most (then by name), and how many states
    are left out; a single one left out is shown rather than counted."""
    ranked = sorted(summary.by_state.items(), key=lambda item: (-item[1].total, item[0]))
    if len(ranked) == count + 1:
        count += 1
    return ranked[:count], len(ranked[count:])


def save_quote(summary: QuoteSummary, results_path: Path) -> QuoteSummary:
    """Write the chart and every state's figures beside the results; the summary with
    their paths."""
    chart = save_chart(summary, chart_path_for(results_path))
    states = save_states(summary, states_path_for(results_path))
    return replace(summary, chart_path=chart, states_path=states)


def save_states(summary: QuoteSummary, path: Path) -> Path:
    """Every state's figures as CSV (the screen shows the top ones), by total, then the
    whole list's; written whole or not at all. State names come from the file: neutralised
    like the results file's cells."""
    ranked, _ = top_states(summary, len(summary.by_state))
    temp = path.with_name(f".{path.name}.tmp")
    with temp.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(STATES_HEADER)
        for state, worth in [*ranked, (ALL_STATES, summary.overall)]:
            writer.writerow(
                [
                    neutralise(state),
                    worth.matched,
                    f"{worth.total:.2f}",
                    "" if worth.median is None else f"{worth.median:.2f}",
                    worth.clearing,
                    f"{worth.clearing_total:.2f}",
                ]
            )
    os.replace(temp, path)
    return path


def save_chart(summary: QuoteSummary, path: Path) -> Path:
    """A histogram of best bids with the floor drawn in, as a PNG (no display needed)."""
    chart_figure(summary).savefig(path, format="png")
    return path


def chart_figure(summary: QuoteSummary) -> Figure:
    """The chart as a figure of its own: no pyplot, whose global state is not for threads
    (a run draws it in a worker thread)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 4.5), dpi=100, layout="tight")
    axes = figure.subplots()
    if summary.prices:
        axes.hist(summary.prices, bins=min(40, max(5, len(summary.prices) // 5)))
    axes.axvline(summary.floor, color="red", linestyle="--", label=f"floor {summary.floor:.2f}")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # a count of leads: never 2.5
    axes.set_title(_chart_title(summary))
    axes.set_xlabel("best bid")
    axes.set_ylabel("leads")
    axes.legend()
    return figure


def _chart_title(summary: QuoteSummary) -> str:
    worth = summary.overall
    if not summary.quoted:
        return "Nothing priced: no lead was answered"
    if not worth.matched:
        what = "the lead" if summary.quoted == 1 else f"any of the {summary.quoted} leads"
        return f"No bids: no buyer for {what} priced"
    return (
        f"Best bid per lead: {worth.matched} of {_leads(summary.quoted)} with a bid, "
        f"{worth.clearing} {'clears' if worth.clearing == 1 else 'clear'} the floor "
        f"({worth.clearing_total:,.2f})"
    )


def _leads(n: int) -> str:
    return "1 lead" if n == 1 else f"{n} leads"


def chart_path_for(results_path: Path) -> Path:
    """`leads.quote.csv` -> `leads.quote.png`, beside the results."""
    return results_path.with_suffix(".png")


def states_path_for(results_path: Path) -> Path:
    """`leads.quote.csv` -> `leads.quote.states.csv`, beside the results."""
    return results_path.with_suffix(".states.csv")
