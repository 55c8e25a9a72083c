"""Files and sheets as people hand them over: a workbook whose first sheet is a cover, a file
name with spaces typed unquoted, a typo, a folder or a pipe where a file should be (issue 11)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.cli import SECRET, leadup
from tests.support.leads import lead_rows, write_csv
from uploader.cli import cli
from uploader.errors import InputError
from uploader.read import open_table
from uploader.settings import ReadOptions

openpyxl = pytest.importorskip("openpyxl")

READ_ME: list[list[object]] = [
    ["Boston Expo 2026: badge scans"],
    ["Exported from the scanner app. The leads are on the Scans sheet."],
    [],
    ["Questions: ops@example.com"],
]
SCANS: list[list[object]] = [
    ["First Name", "Last Name", "Email", "Zip Code"],
    ["Ann", "Lee", "ann@example.com", "02139"],
    ["Bob", "Roe", "bob@example.com", 2139],
]
SUMMARY: list[list[object]] = [["State", "Scans"], ["MA", 2]]
BOOTH: list[list[object]] = [["Booth", "Staff", "Shift"], ["12", "Ann", "AM"]]


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """An .xlsx with these sheets, in this order."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def rows_of(path: Path, options: ReadOptions = ReadOptions()) -> dict[int, list[str]]:  # noqa: B008
    return {
        int(number): list(cells)
        for chunk in open_table(path, options).chunks()
        for number, cells in zip(chunk.index, chunk.itertuples(index=False), strict=True)
    }


# -- which sheet is read ----------------------------------------------------------------------

# (sheets in order, the sheet read, the sheets the note says were passed over)
CHOICES: dict[str, tuple[dict[str, list[list[object]]], str, list[str]]] = {
    "cover first (the issue)": ({"Read me": READ_ME, "Scans": SCANS}, "Scans", ["Read me"]),
    "leads first": ({"Scans": SCANS, "Read me": READ_ME}, "Scans", []),
    "two sheets before": (
        {"Cover": READ_ME, "Summary": SUMMARY, "Leads": SCANS},
        "Leads",
        ["Cover", "Summary"],
    ),
    "empty sheets are not mentioned": (
        {"Sheet1": [], "Read me": READ_ME, "Scans": SCANS},
        "Scans",
        ["Read me"],
    ),
    "a prefixed zip header counts": (
        {
            "Notes": READ_ME,
            "Contacts": [["Email", "Mailing Zip/Postal Code"], ["a@x.com", "02139"]],
        },
        "Contacts",
        ["Notes"],
    ),
    "the first of two lead sheets": ({"Scans": SCANS, "More": SCANS}, "Scans", []),
    "one sheet without zip is read as it is": ({"Only": [["Email"], ["a@x.com"]]}, "Only", []),
}


@pytest.mark.parametrize("case", list(CHOICES))
def test_the_sheet_with_lead_columns_is_read(tmp_path: Path, case: str) -> None:
    sheets, read, passed_over = CHOICES[case]
    table = open_table(workbook(tmp_path / "expo.xlsx", sheets))
    assert table.detected.sheet == read
    if passed_over:
        assert table.detected.note is not None
        assert table.detected.note.startswith(f"read sheet {read!r}: ")
        assert all(repr(name) in table.detected.note for name in passed_over)
        assert "Sheet1" not in table.detected.note
        assert "--sheet" in table.detected.note
    else:
        assert table.detected.note is None


def test_the_cover_sheet_case_reads_the_scans(tmp_path: Path) -> None:
    path = workbook(tmp_path / "expo.xlsx", {"Read me": READ_ME, "Scans": SCANS})
    table = open_table(path)
    assert table.columns == ("First Name", "Last Name", "Email", "Zip Code")
    assert table.detected.header_row == 1
    assert table.detected.note == (
        "read sheet 'Scans': sheet 'Read me' has no zip column; --sheet reads another"
    )
    assert rows_of(path) == {
        2: ["Ann", "Lee", "ann@example.com", "02139"],
        3: ["Bob", "Roe", "bob@example.com", "2139"],
    }


@pytest.mark.parametrize("wanted", ["Read me", 0, "0"])
def test_an_explicit_sheet_is_never_overridden(tmp_path: Path, wanted: str | int) -> None:
    path = workbook(tmp_path / "expo.xlsx", {"Read me": READ_ME, "Scans": SCANS})
    table = open_table(path, ReadOptions(sheet=wanted))
    assert table.detected.sheet == "Read me"
    assert table.detected.note is None
    assert table.columns == ("Boston Expo 2026: badge scans",)


def test_header_row_applies_to_the_sheet_chosen(tmp_path: Path) -> None:
    titled: list[list[object]] = [["Scans, day 1"], *SCANS]
    path = workbook(tmp_path / "expo.xlsx", {"Read me": READ_ME, "Scans": titled})
    table = open_table(path, ReadOptions(header_row=2))
    assert table.detected.sheet == "Scans"
    assert table.detected.header_row == 2


def test_no_sheet_with_lead_columns_lists_the_sheets(tmp_path: Path) -> None:
    path = workbook(tmp_path / "expo.xlsx", {"Read me": READ_ME, "Booth": BOOTH, "Empty": []})
    with pytest.raises(InputError) as caught:
        open_table(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: no sheet has a zip column")
    assert "'Read me' (Boston Expo 2026: badge scans)" in message
    assert "'Booth' (Booth, Staff, Shift)" in message
    assert "Empty" not in message
    assert "--sheet NAME" in message


def test_many_sheets_are_listed_up_to_a_limit(tmp_path: Path) -> None:
    long_header: list[list[object]] = [
        ["A header far too long to be shown whole in one line", "b", "c", "d", "e"]
    ]
    sheets = {f"Tab {i}": long_header for i in range(11)}
    with pytest.raises(InputError) as caught:
        open_table(workbook(tmp_path / "tabs.xlsx", sheets))
    message = str(caught.value)
    assert "'Tab 7'" in message and "'Tab 8'" not in message
    assert "and 3 more" in message
    assert "A header far too long to be s…, b, c, d, …" in message


def test_validate_reads_the_scans_and_says_which_sheet(tmp_path: Path) -> None:
    path = workbook(tmp_path / "expo.xlsx", {"Read me": READ_ME, "Scans": SCANS})
    done = leadup("validate", str(path))
    assert done.returncode == 0, done.stderr
    assert "sheet 'Scans'" in done.stdout


def test_validate_without_lead_columns_lists_sheets_and_exits_2(tmp_path: Path) -> None:
    path = workbook(tmp_path / "expo.xlsx", {"Read me": READ_ME, "Booth": BOOTH})
    done = leadup("validate", str(path))
    assert done.returncode == 2
    assert "'Read me'" in done.stderr and "'Booth'" in done.stderr
    assert "--sheet" in done.stderr
    assert "Traceback" not in done.stderr


def test_upload_with_the_cover_sheet_asked_for_is_refused_as_before(tmp_path: Path) -> None:
    path = workbook(tmp_path / "expo.xlsx", {"Read me": READ_ME, "Scans": SCANS})
    done = leadup("upload", str(path), "--sheet", "Read me", env={"JUICED_API_TOKEN": SECRET})
    assert done.returncode == 2
    assert "no column maps to zip" in done.stderr


# -- a file that is not there, or not a file ------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The working folder, with `leads.csv` and `Boston Expo.csv` in it."""
    write_csv(tmp_path / "leads.csv", lead_rows(2))
    write_csv(tmp_path / "Boston Expo.csv", lead_rows(2))
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def invoke(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(cli, list(args), env={"JUICED_API_TOKEN": SECRET})
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    return done.exit_code, done.output


@pytest.mark.parametrize("command", ["upload", "validate", "quote", "mapping", "retry"])
def test_a_typo_names_the_folder_and_close_matches(folder: Path, command: str) -> None:
    code, output = invoke(command, "leeds.csv")
    assert code == 2
    assert f"'leeds.csv' does not exist in {folder}" in output
    assert "did you mean 'leads.csv'?" in output
    assert "Traceback" not in output


def test_a_name_with_spaces_typed_unquoted(folder: Path) -> None:
    code, output = invoke("upload", "Boston", "Expo.csv", "--rate", "5")
    assert code == 2
    assert f"'Boston' does not exist in {folder}" in output
    assert "must be quoted: " in output
    assert 'upload "Boston Expo.csv" --rate 5' in output


def test_a_name_with_spaces_after_an_option(folder: Path) -> None:
    code, output = invoke("validate", "--country", "US", "Boston", "Expo.csv")
    assert code == 2
    assert 'validate --country US "Boston Expo.csv"' in output


def test_the_start_of_a_name_suggests_it(folder: Path) -> None:
    code, output = invoke("validate", "boston")
    assert code == 2
    assert "did you mean 'Boston Expo.csv'?" in output


def test_a_mapping_file_gets_the_same_help(folder: Path) -> None:
    (folder / "mapping.toml").write_text("[columns]\n")
    code, output = invoke("validate", "leads.csv", "--mapping", "maping.toml")
    assert code == 2
    assert "'--mapping'" in output and "did you mean 'mapping.toml'?" in output


def test_a_missing_folder_is_named(folder: Path) -> None:
    code, output = invoke("validate", "exports/leads.csv")
    assert code == 2
    assert f"there is no folder {folder / 'exports'}" in output


def test_a_path_through_a_file_is_named(folder: Path) -> None:
    code, output = invoke("validate", "leads.csv/leads.csv")
    assert code == 2
    assert "'leads.csv/leads.csv' does not exist: part of its path is a file" in output


def test_a_close_match_in_another_folder_keeps_its_path(folder: Path) -> None:
    (folder / "exports").mkdir()
    write_csv(folder / "exports" / "leads.csv", lead_rows(1))
    code, output = invoke("validate", "exports/leeds.csv")
    assert code == 2
    assert f"does not exist in {folder / 'exports'}" in output
    assert "did you mean 'exports/leads.csv'?" in output


def test_a_folder_is_refused_naming_lead_files_in_it(folder: Path) -> None:
    code, output = invoke("validate", ".")
    assert code == 2
    assert "'.' is a folder, not a file" in output
    assert "'Boston Expo.csv', 'leads.csv'" in output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused(folder: Path) -> None:
    os.mkfifo(folder / "pipe.csv")
    code, output = invoke("upload", "pipe.csv")  # would block forever if opened
    assert code == 2
    assert "'pipe.csv' is a named pipe (FIFO), not a regular file" in output


def test_a_device_is_refused(folder: Path) -> None:
    code, output = invoke("validate", os.devnull)
    assert code == 2
    assert "is a device, not a regular file" in output


def test_a_socket_is_refused(folder: Path) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind("s.sock")  # relative: a long temp path would pass the socket name limit
        code, output = invoke("mapping", "s.sock")
    finally:
        server.close()
    assert code == 2
    assert "'s.sock' is a socket, not a regular file" in output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_refused(folder: Path) -> None:
    (folder / "leads.csv").chmod(0)
    code, output = invoke("validate", "leads.csv")
    assert code == 2
    assert "cannot be read (permission denied)" in output


def test_a_link_to_a_file_is_a_file(folder: Path) -> None:
    (folder / "link.csv").symlink_to(folder / "leads.csv")
    code, output = invoke("mapping", "link.csv")
    assert code == 0, output
    assert "[columns]" in output


def test_the_issue_case_as_a_person_runs_it(folder: Path) -> None:
    done = leadup("upload", "Boston", "Expo.csv", cwd=folder, env={"JUICED_API_TOKEN": SECRET})
    assert done.returncode == 2
    assert f"'Boston' does not exist in {folder}" in done.stderr
    assert '-m uploader upload "Boston Expo.csv"' in done.stderr  # as it was run: python -m
    assert "Traceback" not in done.stderr
    assert not (folder / "Boston Expo.results.csv").exists()
