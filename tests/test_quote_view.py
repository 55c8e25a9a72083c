"""`leadup quote` as a person reads it: the headline first, the top states, every state in
the states file, a chart that counts whole leads, and the command to sell under next steps."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from rich.console import Console

from tests.support.cli import KEY, SECRET, env_for, leadup
from tests.support.leads import write_csv
from tests.support.sandbox import running_sandbox, upload
from uploader.cli.quote import headline, render_quote
from uploader.model import Outcome, RowResult
from uploader.report import QuoteSummary, Worth
from uploader.run.quote import (
    ALL_STATES,
    STATES_HEADER,
    chart_figure,
    save_states,
    summarise,
    top_states,
)
from uploader.sandbox import SandboxConfig, sandbox_in_thread
from uploader.settings import PingPolicy

SEED = 7
# Twelve states: two more than the screen shows.
STATES = ("MA", "NY", "CA", "TX", "FL", "WA", "OR", "NV", "AZ", "CO", "UT", "ID")


def _quote(prices: dict[str, list[float]], floor: float, *, unpriced: int = 0) -> QuoteSummary:
    """A summary of quoted rows with these best bids by state, plus rows with no bid."""
    results, states = [], {}
    row = 2
    for state, bids in prices.items():
        for bid in bids:
            results.append(RowResult(row, Outcome.QUOTED, extra={"bid_price": bid}))
            states[row] = state
            row += 1
    for _ in range(unpriced):
        results.append(RowResult(row, Outcome.QUOTED, extra={"bid_price": None}))
        row += 1
    return summarise(results, states, floor)


@pytest.mark.parametrize(
    ("summary", "lines"),
    [
        (
            _quote({"MA": [40.0, 20.0], "NY": [35.5]}, 30, unpriced=1),
            [
                "priced:        4 of 4 rows, 3 with a bid",
                "best bids:     total 95.50, median 35.50",
                "floor 30.00:   2 leads clear it, for 75.50 (to sell them: next steps, below)",
            ],
        ),
        (
            _quote({"MA": [40.0, 20.0]}, 30),
            [
                "priced:        2 of 2 rows, 2 with a bid",
                "best bids:     total 60.00, median 30.00",
                "floor 30.00:   1 lead clears it, for 40.00 (to sell them: next steps, below)",
            ],
        ),
        (
            _quote({"MA": [12.0, 20.0]}, 30),
            [
                "priced:        2 of 2 rows, 2 with a bid",
                "best bids:     total 32.00, median 16.00",
                "floor 30.00:   no lead clears it (the best bid is 20.00)",
            ],
        ),
        (
            _quote({"MA": [1234.5]}, 0),
            [
                "priced:        1 of 1 row, 1 with a bid",
                "best bids:     total 1,234.50, median 1,234.50",
                "no floor:      1 lead with a bid would sell, for 1,234.50 "
                "(to sell them: next steps, below)",
            ],
        ),
        (
            _quote({}, 30, unpriced=3),
            [
                "priced:        3 of 3 rows, none with a bid",
                "no bids:       no buyer bid on any of them: nothing to sell",
            ],
        ),
        (
            QuoteSummary(floor=30, rows=2, quoted=0, overall=Worth()),
            ["priced:        none of the 2 rows: no lead could be priced (the outcomes say why)"],
        ),
    ],
)
def test_the_headline_says_what_the_list_is_worth(summary: QuoteSummary, lines: list[str]):
    assert headline(summary) == lines


def _screen(summary: QuoteSummary) -> list[str]:
    out = io.StringIO()
    render_quote(summary, Console(file=out, width=120))
    return [line.rstrip() for line in out.getvalue().splitlines()]


def test_the_top_ten_states_by_total_then_how_many_more() -> None:
    # Each state's bids add up to more than the next one's: MA first, ID last.
    summary = _quote({s: [50.0 - i] * 2 for i, s in enumerate(STATES)}, 30)
    screen = _screen(summary)
    assert screen[:3] == headline(summary)  # the headline first
    assert screen[3] == "by state: the top 10 of 12, by total"
    shown = [line.split()[1] for line in screen if line.startswith("│")]
    assert shown == list(STATES[:10])
    assert "and 2 more states: every state is in the states file" in screen


def test_one_state_left_over_is_shown_rather_than_counted() -> None:
    summary = _quote({s: [40.0] for s in STATES[:11]}, 30)
    shown, more = top_states(summary, 10)
    assert (len(shown), more) == (11, 0)
    screen = _screen(summary)
    assert "by state" in screen and not any("more state" in line for line in screen)


def test_the_states_file_holds_every_state_and_the_whole_list(tmp_path: Path) -> None:
    summary = _quote({"MA": [40.0, 20.0], "=cmd()": [35.5], "NY": [60.0]}, 30, unpriced=1)
    path = save_states(summary, tmp_path / "leads.quote.states.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines == [
        list(STATES_HEADER),
        ["MA", "2", "60.00", "30.00", "1", "40.00"],
        ["NY", "1", "60.00", "60.00", "1", "60.00"],
        ["'=cmd()", "1", "35.50", "35.50", "1", "35.50"],  # not a formula in a spreadsheet
        [ALL_STATES, "4", "155.50", "37.75", "3", "135.50"],
    ]


@pytest.mark.parametrize("prices", [[41.0], [41.0, 42.5, 55.0], [float(p) for p in range(7)]])
def test_the_chart_counts_whole_leads(prices: list[float]) -> None:
    figure = chart_figure(_quote({"MA": prices}, 30))
    (axes,) = figure.axes
    ticks = [t for t in axes.get_yticks() if t >= 0]
    assert ticks and all(float(t).is_integer() for t in ticks)
    assert "2.5" not in [label.get_text() for label in axes.get_yticklabels()]


def _priced_rows(count: int) -> list[list[str]]:
    return [
        [
            f"First{i}",
            f"Last{i}",
            f"buyer{i}@example.com",
            f"617-300-{i:04d}",
            f"{i} Main St",
            "Town",
            STATES[i % len(STATES)],
            f"{10001 + i:05d}",
            "List",
        ]
        for i in range(count)
    ]


async def test_a_quote_run_writes_every_state_beside_its_results(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", _priced_rows(120))
    async with running_sandbox(seed=SEED) as sb:
        report = await upload(path, sb, ping=PingPolicy(min_price=30, post=False))
    quote = report.quote
    assert quote is not None and quote.states_path == tmp_path / "leads.quote.states.csv"
    with quote.states_path.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.DictReader(handle))
    by_state = {line["state"]: line for line in lines}
    assert set(by_state) == {*quote.by_state, ALL_STATES}
    for state, worth in quote.by_state.items():
        assert by_state[state]["total"] == f"{worth.total:.2f}"
        assert by_state[state]["for"] == f"{worth.clearing_total:.2f}"
    assert by_state[ALL_STATES]["total"] == f"{quote.overall.total:.2f}"


def test_the_quote_command_puts_the_headline_first_and_the_sell_command_once(
    tmp_path: Path,
) -> None:
    path = write_csv(tmp_path / "leads.csv", _priced_rows(60))
    with sandbox_in_thread(SandboxConfig(api_key=KEY, api_secret=SECRET, seed=SEED)) as sb:
        done = leadup("quote", str(path), "--min-price", "30", "--rate", "500", env=env_for(sb))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("priced:"))
    assert lines[first + 1].startswith("best bids:     total ")
    assert lines[first + 2].startswith("floor 30.00:   ")
    assert lines[first + 3] == "by state: the top 10 of 12, by total"
    assert "and 2 more states: every state is in the states file" in lines
    assert f"states file:   {tmp_path / 'leads.quote.states.csv'}" in lines
    sell = [line for line in lines if " upload " in line and "--min-price 30" in line]
    assert len(sell) == 1  # under next steps, not repeated by the quote
    assert "total price" not in "\n".join(lines[first:])
