"""Lead files for tests: distinct valid leads, a CSV writer, and reading a results file back."""

from __future__ import annotations

import csv
from pathlib import Path

from uploader.journal.results import read_results

HEADER = [
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Street Address",
    "City",
    "State",
    "Zip Code",
    "Lead Source",
]


def lead_rows(count: int, *, start: int = 0, zip_code: str = "02139") -> list[list[str]]:
    """`count` distinct, valid leads (unique email and phone per row), in HEADER's columns."""
    rows = []
    for i in range(start, start + count):
        rows.append(
            [
                f"First{i}",
                f"Last{i}",
                f"person{i}@example.com",
                f"617-{200 + i // 10000:03d}-{i % 10000:04d}",
                f"{i} Main St",
                "Cambridge",
                "MA",
                zip_code,
                "Trade show",
            ]
        )
    return rows


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    """Write `header` and `rows` as a UTF-8 CSV at `path`; returns `path`."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def results_of(path: Path) -> list[dict[str, str]]:
    """A results file as one dict per line: leadup's columns, then the input's."""
    columns, lines = read_results(path)
    return [leading | dict(zip(columns, cells, strict=True)) for leading, cells in lines]
