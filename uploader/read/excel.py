"""Excel workbooks (.xlsx, .xls) read with python-calamine: sheets, and cells as typed.

Excel stores what looks like a number as a number: a zip 02139 becomes 2139.0, a phone
15551234567.0 or 1.55512E+10 on screen. `excel_text` turns each cell back into the text the
person typed, as far as the file still knows it (a lost leading zero is `normalise`'s job,
since only the column says it was a zip).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator, Sequence
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import pandas as pd

from uploader.errors import InputError
from uploader.headers import match_header
from uploader.read.bounds import check_xlsx
from uploader.read.limits import LIMITS, ReadLimits, check_halt
from uploader.read.table import (
    HEADER_SCAN_ROWS,
    Detected,
    Table,
    file_sha256,
    header_cells,
    header_index,
)
from uploader.read.xls_bounds import check_xls
from uploader.settings import ReadOptions

_LISTED_SHEETS = 8  # sheets named in the error when none has a zip column
_LISTED_HEADERS = 4  # first headers shown for each
_HEADER_CHARS = 30  # a longer header (a sentence of a cover sheet) is cut short


def excel_text(value: Any) -> str:
    """A cell as the person typed it: 2139.0 -> "2139", 15551234567.0 -> "15551234567".

    Never scientific notation or a trailing ".0"; dates as ISO (the API's date format).
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        # Excel keeps 15 significant digits: 0.30000000000000004 was typed as 0.3.
        return format(Decimal(f"{value:.15g}").normalize(), "f")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def open_excel(
    path: Path,
    fmt: str,
    options: ReadOptions,
    limits: ReadLimits = LIMITS,
    halt: threading.Event | None = None,
) -> Table:
    """Open a workbook: the sheet asked for, or the first with lead columns, and its header row.

    Without --sheet, a first sheet with data but no lead columns (a "Read me" cover) gives way
    to the first sheet that has them, and `Detected.note` says so; an explicit --sheet is read
    as asked. calamine holds the sheet's cells; Python text objects are made a chunk at a time.
    """
    from python_calamine import CalamineWorkbook

    # Before calamine allocates a sheet's whole range (or what it declares).
    if fmt == "xlsx":
        check_xlsx(path, limits, halt)
    else:
        check_xls(path, limits, halt)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for broken files
        raise InputError(f"not a readable {fmt} workbook: {exc}", path=path) from exc
    names: list[str] = list(workbook.sheet_names)
    note = None
    if options.sheet is None:
        sheet, head, index, note = _choose_sheet(workbook, names, options, path)
    else:
        sheet = _named_sheet(names, options.sheet, path)
        head, index = _head(workbook, sheet, options, path)
    if index >= len(head):
        raise InputError(f"--header-row {index + 1} is past the end of sheet {sheet!r}", path=path)
    columns = header_cells(head[index])
    if not columns:
        raise InputError(f"the header row of sheet {sheet!r} is empty", path=path, row=index + 1)
    if len(columns) > limits.max_columns:
        raise limits.refuse(
            f"the header has {len(columns):,} columns", f"{limits.max_columns:,} columns", path
        )
    detected = Detected(fmt, None, None, index + 1, sheet, note)

    def reader(stop: threading.Event | None) -> Iterator[pd.DataFrame]:
        rows = _rows(workbook, sheet, path, limits, stop)
        yield from _excel_chunks(rows, index, len(columns), options.chunk_rows, path)

    return Table(path, columns, detected, file_sha256(path, halt), reader)


def _rows(
    workbook: Any,
    name: str,
    path: Path,
    limits: ReadLimits = LIMITS,
    halt: threading.Event | None = None,
) -> Iterator[list[str]]:
    """The sheet's rows from row 1 (empty rows included, so numbers match Excel's), as text.

    A cell longer than the limit is an InputError naming its row; `halt` ends the reading.
    """
    try:
        raw_rows = workbook.get_sheet_by_name(name).iter_rows()
    except Exception as exc:  # calamine's own errors for a damaged sheet
        raise InputError(f"cannot read sheet {name!r}: {exc}", path=path) from exc
    most = limits.max_cell_chars
    for number, raw in enumerate(raw_rows, start=1):
        if not number % 1000:
            check_halt(halt, path)
        row = [excel_text(v) for v in raw]
        if row and max(map(len, row)) > most:
            raise InputError(
                f"a cell holds {max(map(len, row)):,} characters: past leadup's limit of "
                f"{most:,} characters a cell",
                path=path,
                row=number,
            )
        yield row


def _head(
    workbook: Any, sheet: str, options: ReadOptions, path: Path
) -> tuple[list[list[str]], int]:
    """The sheet's first rows (enough to find the header) and the header's 0-based index."""
    scan = max(HEADER_SCAN_ROWS, options.header_row or 0)
    head = list(islice(_rows(workbook, sheet, path), scan))
    return head, header_index(head, options, path)


def _header_of(head: list[list[str]], index: int) -> tuple[str, ...]:
    return header_cells(head[index]) if index < len(head) else ()


def _has_lead_columns(columns: Sequence[str]) -> bool:
    """A header names a zip column, as the automatic mapping reads it (the API requires zip)."""
    return any((m := match_header(c)) is not None and m[0] == "zip" for c in columns)


def _choose_sheet(
    workbook: Any, names: list[str], options: ReadOptions, path: Path
) -> tuple[str, list[list[str]], int, str | None]:
    """The first sheet with data, unless it has no lead columns and a later sheet has them.

    (sheet, its first rows, header index, a note when a later sheet was chosen.) When several
    sheets have data and none has lead columns, an InputError lists them and suggests --sheet;
    a workbook with one sheet of data is read as it is (a mapping file may name its columns).
    """
    seen: list[tuple[str, list[list[str]], int]] = []  # sheets with data, in order
    for name in names:  # lazily: most workbooks stop at their first sheet
        if not any(any(c.strip() for c in row) for row in _rows(workbook, name, path)):
            continue
        head, index = _head(workbook, name, options, path)
        if _has_lead_columns(_header_of(head, index)):
            return name, head, index, _chosen_note(name, [n for n, _, _ in seen])
        seen.append((name, head, index))
    if not seen:
        raise InputError("the workbook has no sheet with data", path=path)
    if len(seen) == 1:
        return *seen[0], None
    listing = "; ".join(_sheet_listing(*sheet) for sheet in seen[:_LISTED_SHEETS])
    more = len(seen) - _LISTED_SHEETS
    raise InputError(
        f"no sheet has a zip column (the API requires one). The sheets: {listing}"
        + (f"; and {more} more" if more > 0 else "")
        + ". Pass --sheet NAME to read one (and --mapping to say which column is the zip)",
        path=path,
    )


def _chosen_note(name: str, skipped: list[str]) -> str | None:
    """What to tell the person when sheets before `name` were passed over; None if none were."""
    if not skipped:
        return None
    quoted = [repr(n) for n in skipped]
    which = (
        f"sheet {quoted[0]} has"
        if len(quoted) == 1
        else f"sheets {', '.join(quoted[:-1])} and {quoted[-1]} have"
    )
    return f"read sheet {name!r}: {which} no zip column; --sheet reads another"


def _sheet_listing(name: str, head: list[list[str]], index: int) -> str:
    """`'Read me' (Welcome to the expo list, …)`: a sheet and its first headers."""
    cells = [c.strip() for c in _header_of(head, index) if c.strip()]
    shown = [c if len(c) <= _HEADER_CHARS else c[: _HEADER_CHARS - 1] + "…" for c in cells]
    text = ", ".join(shown[:_LISTED_HEADERS]) + (", …" if len(shown) > _LISTED_HEADERS else "")
    return f"{name!r} ({text})" if text else f"{name!r} (no headers)"


def _named_sheet(names: list[str], wanted: str | int, path: Path) -> str:
    """The sheet asked for by name or 0-based index; an InputError lists the sheets."""
    if isinstance(wanted, str) and wanted not in names and re.fullmatch(r"\d+", wanted):
        wanted = int(wanted)
    if isinstance(wanted, int):
        if not 0 <= wanted < len(names):
            raise InputError(
                f"--sheet {wanted}: the workbook has {len(names)} sheets "
                f"(0-based index; names: {', '.join(map(repr, names))})",
                path=path,
            )
        wanted = names[wanted]
    if wanted not in names:
        raise InputError(
            f"no sheet {wanted!r}; the sheets are {', '.join(map(repr, names))}", path=path
        )
    return wanted


def _excel_chunks(
    rows: Iterator[list[str]], header_index: int, width: int, chunk_rows: int, path: Path
) -> Iterator[pd.DataFrame]:
    """Excel rows after the header as chunks; a value past the header is an InputError."""
    cells: list[list[str]] = []
    numbers: list[int] = []
    seen = False
    for number, row in enumerate(rows, start=1):
        if number <= header_index + 1:
            continue
        if len(row) > width:
            extra = [c for c in row[width:] if c.strip()]
            if extra:
                raise InputError(
                    f"value {extra[0][:40]!r} is in a column with no header; add a header "
                    "or delete it",
                    path=path,
                    row=number,
                )
            row = row[:width]
        elif len(row) < width:
            row = row + [""] * (width - len(row))
        if any(c.strip() for c in row):
            cells.append(row)
            numbers.append(number)
            seen = True
            if len(cells) == chunk_rows:
                yield pd.DataFrame(cells, index=numbers, columns=range(width), dtype=object)
                cells, numbers = [], []
    if cells:
        yield pd.DataFrame(cells, index=numbers, columns=range(width), dtype=object)
    elif not seen:
        raise InputError("the sheet has a header but no data rows", path=path)
