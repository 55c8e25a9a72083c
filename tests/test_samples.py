"""sample_data/: every row of the sample files has the fate sample_data/README.md gives it."""

from __future__ import annotations

from pathlib import Path

import pytest

from uploader.model import Lead, Outcome, RowResult
from uploader.prepare.mapping import auto_map
from uploader.prepare.normalise import Preparer
from uploader.read import open_table
from uploader.settings import PrepareOptions

SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"
ROWS = range(2, 302)  # the CSV's data rows (header = row 1); the README numbers rows so
XLSX_OFFSET = 3  # the xlsx has a three-line title block above its header

# The README's "Mix of quality" table, in CSV rows.
INVALID = {
    48: "zip",  # zip missing
    210: "zip",
    222: "zip",
    61: "email",  # bad email
    223: "email",
    262: "email",
    133: "phone",  # impossible phone
    211: "phone",
    281: "phone",
}
REPEATS = {94: 87, 102: 70, 156: 127, 205: 194, 257: 245, 299: 200}  # row: the row it repeats


def prepared(path: Path) -> dict[int, Lead | RowResult]:
    table = open_table(path)
    preparer = Preparer(auto_map(table.columns), table.columns, PrepareOptions(), table.sha256)
    return {r.row: r for chunk in table.chunks() for r, _ in preparer.prepare(chunk)}


@pytest.fixture(scope="module")
def csv_rows() -> dict[int, Lead | RowResult]:
    return prepared(SAMPLES / "leads.csv")


def test_every_csv_row_has_the_fate_the_readme_gives_it(csv_rows) -> None:
    assert sorted(csv_rows) == list(ROWS)  # 300 data rows, nothing more
    invalid = {row for row, r in csv_rows.items() if getattr(r, "outcome", None) is Outcome.INVALID}
    skipped = {row for row, r in csv_rows.items() if getattr(r, "outcome", None) is Outcome.SKIPPED}
    leads = {row for row, r in csv_rows.items() if isinstance(r, Lead)}
    assert invalid == set(INVALID)
    assert skipped == set(REPEATS)
    assert leads == set(ROWS) - set(INVALID) - set(REPEATS)
    assert len(leads) == 285
    for row, field in INVALID.items():
        assert field in csv_rows[row].error.lower(), csv_rows[row]
    for row, first in REPEATS.items():
        assert csv_rows[row].error == f"same lead as row {first}"


def test_the_xlsx_holds_the_same_leads_as_the_csv(csv_rows) -> None:
    xlsx_rows = prepared(SAMPLES / "leads.xlsx")
    assert sorted(xlsx_rows) == [row + XLSX_OFFSET for row in ROWS]
    for row, from_csv in csv_rows.items():
        from_xlsx = xlsx_rows[row + XLSX_OFFSET]
        if isinstance(from_csv, Lead):
            assert isinstance(from_xlsx, Lead), (row, from_xlsx)
            assert from_xlsx.payload == from_csv.payload, row
        else:
            assert isinstance(from_xlsx, RowResult), (row, from_xlsx)
            assert from_xlsx.outcome is from_csv.outcome, row
