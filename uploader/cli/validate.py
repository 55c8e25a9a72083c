"""What `leadup validate` prints: detection, the mapping, samples, counts and problems."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from uploader.cli.summary import plural
from uploader.model import Outcome
from uploader.run.preview import Preview, Problem
from uploader.text import inert

_TOP_REASONS = 5


def render_preview(found: Preview, console: Console) -> None:
    """Print detection, the mapping table, sample leads, counts and the top problems."""
    console.print(inert(f"{found.path}: {found.detected.describe()}"), markup=False)
    if found.detected.note:
        console.print(inert(found.detected.note), markup=False)
    table = Table(title="column mapping", header_style="bold")
    table.add_column("column")
    table.add_column("sent as")
    table.add_column("why (and close runners-up)")
    for column in found.detected.columns:
        # Each part inert on its own: a newline in a header must not pass as a line break.
        why = "\n".join([inert(column.why), *(f"  or: {inert(r)}" for r in column.runners_up)])
        table.add_row(Text(inert(column.column)), Text(inert(column.target)), Text(why))
    console.print(table)
    held = found.detected.held_back
    if held:
        listing = ", ".join(
            f'"{c.column}" ({c.target.removeprefix("held back ")[1:-1]})' for c in held
        )
        console.print(
            inert(f"held back, never sent: {listing}; a mapping file that names a column sends it"),
            markup=False,
            soft_wrap=True,
        )

    for sample in found.samples:  # JSON escapes C0 controls; inert the rest (bidi, C1)
        console.print(Text(inert(json.dumps(sample, ensure_ascii=False, indent=2), lines=True)))

    for line in counts_lines(found):
        console.print(inert(line), markup=False, soft_wrap=True)
    console.print(inert(f"results file: {found.results_path} (nothing was sent)"), markup=False)


def counts_lines(found: Preview) -> list[str]:
    """`8 rows: 2 would be sent, 4 invalid, 2 skipped`, then why rows would not be sent: the
    top reasons, each with its rows and values, adding up to the rows not sent."""
    total = sum(found.counts.values())
    lines = [
        f"{plural(total, 'row')}: {found.to_send} would be sent, "
        f"{found.counts[Outcome.INVALID]} invalid, {found.counts[Outcome.SKIPPED]} skipped"
    ]
    if not found.not_sent:
        return lines
    shown, rest_rows, rest_reasons = found.top_problems(_TOP_REASONS)
    lines.append(f"why {plural(found.not_sent, 'row')} would not be sent:")
    lines += [f"  {plural(p.rows, 'row')}: {p.reason} ({_examples(p)})" for p in shown]
    if rest_rows:
        lines.append(
            f"  and {plural(rest_rows, 'more row')} with "
            f"{plural(rest_reasons, 'other reason')} (see the results file)"
        )
    return lines


def _examples(problem: Problem) -> str:
    """`row 3 "jane@", row 6 "bob@", …` or `rows 4, 7, …`: the first rows, then `…` when
    there are more."""
    more = ", …" if problem.rows > len(problem.examples) else ""
    if not any(e.detail for e in problem.examples):
        rows = ", ".join(str(e.row) for e in problem.examples)
        return f"{'row' if problem.rows == 1 else 'rows'} {rows}{more}"
    return ", ".join(f"row {e.row} {e.detail}".rstrip() for e in problem.examples) + more
