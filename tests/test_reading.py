"""Reading lead files of every shape people have: encodings, delimiters, preambles, Excel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from tests.support.xls import xls_bytes
from uploader.errors import InputError
from uploader.read import Detected, excel_text, find_header_row, open_table
from uploader.settings import ReadOptions

HEADER = ["First Name", "Last Name", "Email", "Zip"]


@dataclass
class Shape:
    """One file shape: the text as written and what reading it must give."""

    text: str
    encoding: str = "utf-8"
    columns: list[str] = field(default_factory=lambda: list(HEADER))
    rows: dict[int, list[str]] = field(default_factory=dict)
    detected_encoding: str = "utf-8"
    delimiter: str = ","
    header_row: int = 1


SHAPES: dict[str, Shape] = {
    "utf8-comma": Shape(
        "First Name,Last Name,Email,Zip\nAnn,Lee,ann@x.com,02139\nBob,Roe,bob@x.com,10001\n",
        rows={2: ["Ann", "Lee", "ann@x.com", "02139"], 3: ["Bob", "Roe", "bob@x.com", "10001"]},
    ),
    "utf8-bom-hubspot": Shape(
        "\ufeffRecord ID,First Name,Email,Zip\n101,Zoë,zoe@x.com,02139\n",
        columns=["Record ID", "First Name", "Email", "Zip"],
        rows={2: ["101", "Zoë", "zoe@x.com", "02139"]},
        detected_encoding="utf-8-sig",
    ),
    "utf16-bom-tabs": Shape(
        "full_name\temail\tphone_number\tzip_code\nJosé Núñez\tj@x.com\tp:+15551234567\tz:01960\n",
        encoding="utf-16",
        columns=["full_name", "email", "phone_number", "zip_code"],
        rows={2: ["José Núñez", "j@x.com", "p:+15551234567", "z:01960"]},
        detected_encoding="utf-16",
        delimiter="\t",
    ),
    "cp1252-semicolon": Shape(
        "First Name;Last Name;Email;Zip\nRenée;Müller;r@x.de;02139\nFrançois;Gaël;f@x.fr;1234\n",
        encoding="cp1252",
        rows={2: ["Renée", "Müller", "r@x.de", "02139"], 3: ["François", "Gaël", "f@x.fr", "1234"]},
        detected_encoding="cp1252",
        delimiter=";",
    ),
    "pipe": Shape(
        "First Name|Last Name|Email|Zip\nAnn|Lee, Jr.|ann@x.com|02139\n",
        rows={2: ["Ann", "Lee, Jr.", "ann@x.com", "02139"]},
        delimiter="|",
    ),
    "tab-no-bom": Shape(
        "First Name\tLast Name\tEmail\tZip\nAnn\tLee; Roe\tann@x.com\t02139\n",
        rows={2: ["Ann", "Lee; Roe", "ann@x.com", "02139"]},
        delimiter="\t",
    ),
    "crlf": Shape(
        "First Name,Last Name,Email,Zip\r\nAnn,Lee,ann@x.com,02139\r\n",
        rows={2: ["Ann", "Lee", "ann@x.com", "02139"]},
    ),
    "salesforce-title-block": Shape(
        '"Leads by Source"\n"Filtered By: Lead Status equals Open"\n"As of 11/26/2026"\n\n'
        "First Name,Last Name,Email,Zip\nAnn,Lee,ann@x.com,2139\n",
        rows={6: ["Ann", "Lee", "ann@x.com", "2139"]},
        header_row=5,
    ),
    "linkedin-notes": Shape(
        'Notes:\n"When exporting your connection data, you may notice that some of the email '
        "addresses are missing. You will only see email addresses for connections who have "
        'allowed their connections to see or download their email address, see more."\n\n'
        "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
        "Ann,Lee,https://www.linkedin.com/in/ann,ann@x.com,Acme,CEO,01 Nov 2026\n",
        columns=[
            "First Name",
            "Last Name",
            "URL",
            "Email Address",
            "Company",
            "Position",
            "Connected On",
        ],
        rows={
            5: [
                "Ann",
                "Lee",
                "https://www.linkedin.com/in/ann",
                "ann@x.com",
                "Acme",
                "CEO",
                "01 Nov 2026",
            ]
        },
        header_row=4,
    ),
    "blank-rows": Shape(
        "First Name,Last Name,Email,Zip\n\nAnn,Lee,ann@x.com,02139\n,,,\n  ,, ,\n"
        "Bob,Roe,,10001\n\n",
        rows={3: ["Ann", "Lee", "ann@x.com", "02139"], 6: ["Bob", "Roe", "", "10001"]},
    ),
    "embedded-newline-and-quotes": Shape(
        'First Name,Last Name,Email,Zip\n"Ann ""Annie""","Lee\nSmith",ann@x.com,02139\n'
        "Bob,Roe,bob@x.com,10001\n",
        rows={
            2: ['Ann "Annie"', "Lee\nSmith", "ann@x.com", "02139"],
            3: ["Bob", "Roe", "bob@x.com", "10001"],
        },
    ),
    "hostile-cells": Shape(
        'First Name,Last Name,Email,Zip\n"=HYPERLINK(""http://evil"",""x"")",+1+1,@SUM(A1),02139\n',
        rows={2: ['=HYPERLINK("http://evil","x")', "+1+1", "@SUM(A1)", "02139"]},
    ),
    "na-text-and-leading-zeros": Shape(
        "First Name,Last Name,Email,Zip\nNA,null,N/A,00501\n",
        rows={2: ["NA", "null", "N/A", "00501"]},
    ),
    "short-row-padded": Shape(
        "First Name,Last Name,Email,Zip\nAnn,Lee\n",
        rows={2: ["Ann", "Lee", "", ""]},
    ),
    "trailing-delimiter-on-data": Shape(
        "First Name,Last Name,Email,Zip\nAnn,Lee,ann@x.com,02139,\nBob,Roe,bob@x.com,10001,,\n",
        rows={2: ["Ann", "Lee", "ann@x.com", "02139"], 3: ["Bob", "Roe", "bob@x.com", "10001"]},
    ),
    "trailing-delimiter-on-header": Shape(
        "First Name,Last Name,Email,Zip,\nAnn,Lee,ann@x.com,02139,\n",
        rows={2: ["Ann", "Lee", "ann@x.com", "02139"]},
    ),
    "utf16-be-bom": Shape(
        "\ufeffFirst Name\tLast Name\tEmail\tZip\nAnn\tLee\tann@x.com\t02139\n",
        encoding="utf-16-be",
        rows={2: ["Ann", "Lee", "ann@x.com", "02139"]},
        detected_encoding="utf-16",
        delimiter="\t",
    ),
    "utf16-le-no-bom": Shape(
        "First Name,Last Name,Email,Zip\nÅsa,Lee,a@x.com,02139\n",
        encoding="utf-16-le",
        rows={2: ["Åsa", "Lee", "a@x.com", "02139"]},
        detected_encoding="utf-16-le",
    ),
    "excel-sep-line": Shape(
        "sep=;\nFirst Name;Last Name;Email;Zip\nAnn;Lee, Jr;ann@x.com;02139\n",
        rows={3: ["Ann", "Lee, Jr", "ann@x.com", "02139"]},
        delimiter=";",
        header_row=2,
    ),
    "semicolon-with-commas-in-values": Shape(
        "First Name;Last Name;Email;Zip\nAnn;Lee, Jr.;ann@x.com;02139\nBo;Roe, Sr.;b@x.com;1\n",
        rows={2: ["Ann", "Lee, Jr.", "ann@x.com", "02139"], 3: ["Bo", "Roe, Sr.", "b@x.com", "1"]},
        delimiter=";",
    ),
    "bom-title-and-quoted-newline-before-data": Shape(
        '\ufeff"Leads\nby Source"\n\nFirst Name,"Last\nName",Email,Zip\r\n'
        "Zoë,Lee,z@x.com,02139\r\n",
        columns=["First Name", "Last\nName", "Email", "Zip"],
        rows={4: ["Zoë", "Lee", "z@x.com", "02139"]},
        detected_encoding="utf-8-sig",
        header_row=3,
    ),
    "first-column-empty-or-spaced": Shape(
        "Notes,First Name,Email,Zip\n,Ann,ann@x.com,02139\n  call back,Bob,b@x.com,1\n"
        " , , ,\n,,,\n\u3000,Cy,,2\n",
        columns=["Notes", "First Name", "Email", "Zip"],
        rows={
            2: ["", "Ann", "ann@x.com", "02139"],
            3: ["  call back", "Bob", "b@x.com", "1"],
            6: ["\u3000", "Cy", "", "2"],
        },
    ),
    "header-cells-as-written": Shape(
        " First Name , Last Name ,Email,Zip\nAnn,Lee,ann@x.com,02139\n",
        columns=[" First Name ", " Last Name ", "Email", "Zip"],
        rows={2: ["Ann", "Lee", "ann@x.com", "02139"]},
    ),
}


def _frame_rows(table_chunks: list[pd.DataFrame]) -> dict[int, list[str]]:
    rows: dict[int, list[str]] = {}
    for chunk in table_chunks:
        assert list(chunk.columns) == list(range(chunk.shape[1]))
        for number, cells in zip(chunk.index, chunk.to_numpy(dtype=object).tolist(), strict=True):
            assert all(type(c) is str for c in cells), cells
            rows[int(number)] = cells
    return rows


@pytest.mark.parametrize("name", list(SHAPES))
def test_file_shapes(tmp_path: Path, name: str) -> None:
    shape = SHAPES[name]
    path = tmp_path / f"{name}.csv"
    path.write_bytes(shape.text.encode(shape.encoding))
    table = open_table(path)
    assert table.columns == tuple(shape.columns)
    assert table.detected == Detected(
        "csv", shape.detected_encoding, shape.delimiter, shape.header_row, None
    )
    assert _frame_rows(list(table.chunks())) == shape.rows


@pytest.mark.parametrize("name", ["utf8-comma", "blank-rows", "embedded-newline-and-quotes"])
def test_chunks_are_bounded_and_rereadable(tmp_path: Path, name: str) -> None:
    shape = SHAPES[name]
    path = tmp_path / "f.csv"
    path.write_bytes(shape.text.encode(shape.encoding))
    table = open_table(path, ReadOptions(chunk_rows=1))
    first = list(table.chunks())
    assert all(len(c) <= 1 for c in first)
    assert _frame_rows(first) == shape.rows == _frame_rows(list(table.chunks()))


def test_utf8_with_one_bad_byte_falls_back_to_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes("Name,Zip\nRenée,02139\n".encode("cp1252") + "Zoë,1\n".encode())
    table = open_table(path)
    assert table.detected.encoding == "cp1252"
    assert _frame_rows(list(table.chunks()))[2] == ["Renée", "02139"]


def test_wrong_encoding_override_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"Name,Zip\n" + b"Ann,02139\n" * 5 + "Renée,1\n".encode("cp1252"))
    table = open_table(path, ReadOptions(encoding="utf-8"))
    with pytest.raises(InputError, match="not valid utf-8 text") as caught:
        list(table.chunks())
    assert (caught.value.row, caught.value.column) == (7, "Name")


@pytest.mark.parametrize(("bom", "encoding"), [(True, "utf-8"), (False, "utf-8-sig")])
def test_utf8_named_with_or_without_its_mark(tmp_path: Path, bom: bool, encoding: str) -> None:
    """UTF-8 is read as bytes from after the header: the mark must be counted, or not."""
    path = tmp_path / "f.csv"
    text = "Title\n\nFirst Name,Last Name,Email,Zip\nÅsa,Lee,a@x.com,02139\n"
    path.write_bytes(b"\xef\xbb\xbf" * bom + text.encode())
    table = open_table(path, ReadOptions(encoding=encoding, header_row=3))
    assert table.columns == tuple(HEADER)
    assert _frame_rows(list(table.chunks())) == {4: ["Åsa", "Lee", "a@x.com", "02139"]}


def test_sha256_is_of_the_bytes(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "f.csv"
    path.write_bytes(SHAPES["utf8-comma"].text.encode())
    assert open_table(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_ragged_row_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    text = "First Name,Last Name,Email,Zip\n" + "Ann,Lee,a@x.com,02139\n" * 3
    path.write_text(text + '"Bob\nBobby",Roe,b@x.com,10001\nCy,Doe,c@x.com,10001,surprise\n')
    table = open_table(path, ReadOptions(chunk_rows=2))
    with pytest.raises(InputError) as caught:
        list(table.chunks())
    assert caught.value.row == 6
    assert "ragged.csv" in str(caught.value) and "row 6" in str(caught.value)
    assert "surprise" in str(caught.value)


def test_header_row_past_the_end(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("Zip\n02139\n")
    with pytest.raises(InputError, match="past the end"):
        open_table(path, ReadOptions(header_row=9))


def test_unclosed_quote_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('Name,Zip\nAnn,02139\nBob,"1\nCy,2\n')
    with pytest.raises(InputError, match="quote") as caught:
        list(open_table(path).chunks())
    assert caught.value.row == 3


def test_overrides_win(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes("title;x\nFirst Name;Zip\nAnn;02139\n".encode("cp1252"))
    table = open_table(path, ReadOptions(encoding="latin-1", delimiter="semicolon", header_row=2))
    assert table.detected == Detected("csv", "iso8859-1", ";", 2, None)
    assert _frame_rows(list(table.chunks())) == {3: ["Ann", "02139"]}


@pytest.mark.parametrize(
    ("given", "delimiter"),
    [("tab", "\t"), ("TAB", "\t"), ("\\t", "\t"), ("comma", ","), ("Semicolon", ";"),
     ("pipe", "|"), (";", ";"), (" ", " "), ("xx", None), ('"', None), ("\n", None), ("", None)],
)  # fmt: skip
def test_one_table_of_delimiter_names_for_the_command_line_and_the_reader(
    given: str, delimiter: str | None
) -> None:
    import click

    from uploader.cli.options import read_options_from
    from uploader.read.delimited import delimiter_from

    if delimiter is None:
        with pytest.raises(ValueError, match="one character or one of comma, semicolon, tab"):
            delimiter_from(given)
        with pytest.raises(click.BadParameter, match="one character or one of"):
            read_options_from({"delimiter": given})
    else:
        assert delimiter_from(given) == delimiter
        assert read_options_from({"delimiter": given}).delimiter == delimiter


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\n\n  \n", "empty"), (b",,,\n,,\n", "no rows")],
)
def test_unreadable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        open_table(path)


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv"):
        open_table(tmp_path / "nope.csv")


def test_bad_encoding_option(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("Zip\n02139\n")
    with pytest.raises(InputError, match="unknown encoding"):
        open_table(path, ReadOptions(encoding="klingon"))


def test_header_row_detection_table() -> None:
    assert find_header_row([["Report"], [], ["First Name", "Email"], ["a", "b"]]) == 2
    # No known header names: the first row as wide as the data.
    assert find_header_row([["Title"], ["Foo", "Bar", "Baz"], ["1", "2", "3"]]) == 1
    assert find_header_row([[], ["only"], []]) == 1


# --- Excel -------------------------------------------------------------------------------------


def _xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        for cells in ws.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # typed text, as Excel keeps a quoted '=...
    wb.save(path)
    return path


def test_xlsx_numbers_back_to_what_was_typed(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "report.xlsx",
        {
            "Leads": [
                ["Leads by Source"],
                ["Filtered By: Status equals Open"],
                [],
                ["First Name", "Last Name", "Mailing Zip/Postal Code", "Phone", "Created", "Score"],
                ["Ann", "Lee", 2139, 15551234567, dt.datetime(2026, 11, 2), 1.5],
                ["Bob", "Roe", "02139", 1.5551234567e10, dt.date(2026, 1, 2), True],
                [None, None, None, None, None, None],
                ['=HYPERLINK("x")', "NA", 501, None, None, 1e-7],
            ]
        },
    )
    table = open_table(path)
    assert table.detected == Detected("xlsx", None, None, 4, "Leads")
    assert table.columns[2] == "Mailing Zip/Postal Code"
    rows = _frame_rows(list(table.chunks()))
    assert rows == {
        5: ["Ann", "Lee", "2139", "15551234567", "2026-11-02", "1.5"],
        6: ["Bob", "Roe", "02139", "15551234567", "2026-01-02", "TRUE"],
        8: ['=HYPERLINK("x")', "NA", "501", "", "", "0.0000001"],
    }


def test_xlsx_row_numbers_follow_the_sheet(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C3"], ws["D3"], ws["C4"], ws["D4"], ws["C6"] = "Email", "Zip", "a@x.com", 2139, "b@x.com"
    wb.save(tmp_path / "offset.xlsx")
    table = open_table(tmp_path / "offset.xlsx")
    assert table.detected.header_row == 3
    assert table.columns == ("Email", "Zip")  # columns start where the sheet's data does
    assert _frame_rows(list(table.chunks())) == {4: ["a@x.com", "2139"], 6: ["b@x.com", ""]}


def test_xls_via_calamine(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    sheets: dict[str, list[list[object]]] = {
        "Report": [
            ["Leads by Source"],
            [],
            ["First Name", "Zip", "Phone", "Notes"],
            ["Zoë", 2139, 15551234567, '=HYPERLINK("x")'],
            ["Bob", "02139", None, 2.5],
        ],
        "Other": [["x"]],
    }
    path.write_bytes(xls_bytes(sheets))
    table = open_table(path)
    assert table.detected == Detected("xls", None, None, 3, "Report")
    assert _frame_rows(list(table.chunks())) == {
        4: ["Zoë", "2139", "15551234567", '=HYPERLINK("x")'],
        5: ["Bob", "02139", "", "2.5"],
    }
    assert open_table(path, ReadOptions(sheet="Other", header_row=1)).columns == ("x",)


def test_xlsx_sheet_choice(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "book.xlsx",
        {"Empty": [], "First": [["Zip"], ["02139"]], "Second": [["Email", "Zip"], ["a@x", "1"]]},
    )
    assert open_table(path).detected.sheet == "First"
    assert open_table(path, ReadOptions(sheet="Second")).columns == ("Email", "Zip")
    assert open_table(path, ReadOptions(sheet=2)).detected.sheet == "Second"
    assert open_table(path, ReadOptions(sheet="2")).detected.sheet == "Second"
    with pytest.raises(InputError, match="no sheet 'Nope'"):
        open_table(path, ReadOptions(sheet="Nope"))
    with pytest.raises(InputError, match="3 sheets"):
        open_table(path, ReadOptions(sheet=7))


def test_xlsx_value_without_header_is_an_error(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "w.xlsx", {"S": [["Email", "Zip"], ["a@x", "1", "stray"]]})
    with pytest.raises(InputError) as caught:
        list(open_table(path).chunks())
    assert caught.value.row == 2


def test_xlsx_chunks(tmp_path: Path) -> None:
    rows: list[list[object]] = [["Email", "Zip"], *[[f"u{i}@x.com", i] for i in range(7)]]
    table = open_table(_xlsx(tmp_path / "c.xlsx", {"S": rows}), ReadOptions(chunk_rows=3))
    chunks = list(table.chunks())
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert _frame_rows(chunks)[8] == ["u6@x.com", "6"]


def test_xlsx_named_csv_is_read_as_xlsx(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "x.xlsx", {"S": [["Zip"], [2139]]})
    renamed = path.rename(tmp_path / "looks-like.csv")
    assert open_table(renamed).detected.format == "xlsx"


def test_broken_workbook(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04not really a zip")
    with pytest.raises(InputError, match=r"broken\.xlsx"):
        open_table(path)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2139.0, "2139"),
        (15551234567.0, "15551234567"),
        (1e20, "100000000000000000000"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.3"),
        (1234567.125, "1234567.125"),
        (1e-7, "0.0000001"),
        (7, "7"),
        (None, ""),
        (False, "FALSE"),
        (dt.time(9, 30), "09:30:00"),
        (dt.datetime(2026, 1, 2, 3, 4, 5), "2026-01-02 03:04:05"),
    ],
)
def test_excel_text(value: object, text: str) -> None:
    assert excel_text(value) == text
