"""`leadup quote`: what a list is worth, from its pings: totals, the floor's cut, by state.

The figures come from the journal of the quote run (each row's best bid as the API
answered it), so they add up to exactly what the pings said; the chart is the same prices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from uploader.model import Outcome, RowResult
from uploader.report import QuoteSummary, Worth


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
        per_state.setdefault(states.get(result.row) or "(none)", []).append(float(price))
    return QuoteSummary(
        floor=floor,
        rows=rows,
        quoted=quoted,
        overall=Worth.of(prices, floor),
        by_state={state: Worth.of(p, floor) for state, p in sorted(per_state.items())},
        prices=tuple(prices),
    )


def save_chart(summary: QuoteSummary, path: Path) -> Path:
    """A histogram of best bids with the floor drawn in, as a PNG (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        if summary.prices:
            axes.hist(summary.prices, bins=min(40, max(5, len(summary.prices) // 5)))
        axes.axvline(summary.floor, color="red", linestyle="--", label=f"floor {summary.floor:.2f}")
        worth = summary.overall
        axes.set_title(
            f"Best bid per lead: {worth.matched} of {summary.rows} rows matched, "
            f"{worth.clearing} clear the floor ({worth.clearing_total:,.2f})"
        )
        axes.set_xlabel("best bid")
        axes.set_ylabel("leads")
        axes.legend()
        figure.tight_layout()
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path


def chart_path_for(results_path: Path) -> Path:
    """`leads.quote.csv` -> `leads.quote.png`, beside the results."""
    return results_path.with_suffix(".png")
