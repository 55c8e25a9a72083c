"""What `leadup validate` prints: detection, the mapping, samples, counts and problems."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from uploader.model import Outcome
from uploader.run.preview import Preview

_TOP_REASONS = 5


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
