"""The results CSV: atomic, safe in Excel, and read back exactly."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uploader.errors import InputError
from uploader.journal.results import (
    neutralise,
    read_results,
    restore,
    row_result_from_cells,
    write_results,
)
from uploader.model import RESULT_COLUMNS, Outcome, RowResult

COLUMNS = ["Email", "Name", "Notes"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Text that stresses CSV and the neutralising: quotes, separators, line breaks, the
# trigger characters and the apostrophe at the start, unicode beyond the BMP.
tricky_text = st.text(
    st.sampled_from(list("'=+-@\t\r\n\",; aé😀\x00")) | st.characters(codec="utf-8"),
    max_size=12,
)  # fmt: skip


@given(tricky_text)
def test_restore_undoes_neutralise_for_any_text(cell: str):
    assert restore(neutralise(cell)) == cell


@given(tricky_text)
def test_a_neutralised_cell_never_starts_a_formula(cell: str):
    assert not neutralise(cell).startswith(FORMULA_STARTS)


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("http://evil","click")', '\'=HYPERLINK("http://evil","click")'),
        ("+1 555 0100", "'+1 555 0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'quoted", "''quoted"),
        ("\uff1d1+1", "'\uff1d1+1"),  # full-width equals sign
        ("jane@example.com", "jane@example.com"),
        (" =1", " =1"),
        ("", ""),
    ],
)
def test_excel_hostile_cells_are_neutralised(cell: str, shown: str):
    assert neutralise(cell) == shown


def line(row: int, outcome: Outcome = Outcome.CREATED, **fields: object) -> RowResult:
    return RowResult(row, outcome, **fields)  # type: ignore[arg-type]


LINES = [
    (line(2, lead_status="accepted", price=1.5, lead_public_id="L-1", http_status=201, attempts=1),
     ["a@example.com", "=cmd|' /C calc'!A0", "multi\nline, \"quoted\""]),
    (line(3, Outcome.INVALID, error="=email: not an address"), ["-", "@x", ""]),
    (line(4, Outcome.PENDING, attempts=2), ["'kept", "+44 20", "tab\there"]),
]  # fmt: skip


def test_write_then_read_gives_back_every_line_exactly(tmp_path: Path):
    path = tmp_path / "out.results.csv"
    assert write_results(path, COLUMNS, LINES) == 3
    columns, lines = read_results(path)
    assert columns == COLUMNS
    back = [(row_result_from_cells(leading), cells) for leading, cells in lines]
    assert back == LINES


def test_the_file_has_a_bom_and_neutralised_cells(tmp_path: Path):
    path = tmp_path / "out.results.csv"
    write_results(path, ["=Header", *COLUMNS[1:]], LINES)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf" + ",".join(RESULT_COLUMNS).encode() + b",'=Header,")
    text = raw.decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in text and "'=email: not an address" in text
    assert "''kept" in text and "'@x" in text and ",'-," in text
    assert "\r\n" in text  # what Excel expects


@st.composite
def results_files(draw: st.DrawFn) -> tuple[list[str], list[tuple[RowResult, list[str]]]]:
    columns = draw(st.lists(tricky_text, min_size=1, max_size=4))
    rows = draw(st.lists(st.integers(1, 10**9), unique=True, max_size=6))
    lines = [
        (
            RowResult(
                row,
                draw(st.sampled_from(Outcome)),
                lead_status=draw(tricky_text),
                price=draw(st.none() | st.integers(-(10**6), 10**6).map(lambda c: c / 100)),
                lead_public_id=draw(tricky_text),
                http_status=draw(st.none() | st.integers(100, 599)),
                attempts=draw(st.integers(0, 50)),
                error=draw(tricky_text),
            ),
            draw(st.lists(tricky_text, min_size=len(columns), max_size=len(columns))),
        )
        for row in sorted(rows)
    ]
    return columns, lines


@given(results_files())
def test_any_results_file_round_trips(tmp_path_factory: pytest.TempPathFactory, data):
    columns, lines = data
    path = tmp_path_factory.mktemp("round") / "r.csv"
    write_results(path, columns, lines)
    read_columns, read_lines = read_results(path)
    assert read_columns == columns
    assert [(row_result_from_cells(lead), cells) for lead, cells in read_lines] == lines


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path):
    path = tmp_path / "out.results.csv"
    write_results(path, COLUMNS, LINES)
    before = path.read_bytes()

    def dies_midway() -> Iterator[tuple[RowResult, list[str]]]:
        yield LINES[0]
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_results(path, COLUMNS, dies_midway())
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["out.results.csv"]  # no temp file left behind


def test_results_are_readable_by_the_owner_only(tmp_path: Path):
    path = tmp_path / "out.results.csv"
    path.write_text("made by someone else")
    path.chmod(0o644)
    old = os.umask(0)
    try:
        write_results(path, COLUMNS, LINES)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_reads_the_file_back_after_european_excel_saved_it(tmp_path: Path):
    """Excel's plain "CSV" on a European Windows: cp1252, `;`, no BOM, decimal commas."""
    path = tmp_path / "edited.csv"
    header = ";".join([*RESULT_COLUMNS, "Email", "Name"])
    body = "2;created;accepted;1,50;L-1;201;1;;a@example.com;Zoë\r\n3;failed;;;;503;2;'=oops\r\n"
    path.write_bytes((header + "\r\n" + body).encode("cp1252"))
    columns, lines = read_results(path)
    assert columns == ["Email", "Name"]
    parsed = [(row_result_from_cells(lead), cells) for lead, cells in lines]
    assert parsed[0] == (line(2, lead_status="accepted", price=1.5, lead_public_id="L-1",
                              http_status=201, attempts=1), ["a@example.com", "Zoë"])  # fmt: skip
    # a line shortened by the editor: its missing trailing cells are empty
    assert parsed[1] == (
        line(3, Outcome.FAILED, http_status=503, attempts=2, error="=oops"),
        ["", ""],
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Email,Name\r\na@example.com,Ann\r\n", r"x\.csv, row 1: not a leadup results file"),
        ("", r"x\.csv, row 1: not a leadup results file"),
        (",".join(RESULT_COLUMNS) + ",Email\r\n2,created,,,,,1,,a\r\nX,created,,,,,1,,b\r\n",
         r"x\.csv, row 3: column 'row': 'X' is not a row number"),
        (",".join(RESULT_COLUMNS) + ",Email\r\n2,lost,,,,,1,,a\r\n",
         r"x\.csv, row 2: column 'outcome': 'lost' is not one of created"),
        (",".join(RESULT_COLUMNS) + ",Email\r\n2,created,,,,,1,,a,extra\r\n",
         r"x\.csv, row 2: 10 cells but the header has 9"),
        (",".join(RESULT_COLUMNS) + ",Email\r\n2,created,,abc,,,1,,a\r\n",
         r"x\.csv, row 2: column 'price': 'abc' is not a number"),
    ],
    ids=["other csv", "empty", "bad row", "bad outcome", "too many cells", "bad price"],
)  # fmt: skip
def test_a_file_that_is_not_a_results_file_is_refused_naming_the_row(
    tmp_path: Path, content: str, message: str
):
    path = tmp_path / "x.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        _, lines = read_results(path)
        list(lines)


def test_a_missing_file_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="cannot read it"):
        read_results(tmp_path / "missing.csv")
