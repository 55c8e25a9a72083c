"""The results CSV: one line per input row, rendered atomically, safe to open in Excel.

The file a person opens must not run formulas smuggled in through lead data (CSV
injection, https://owasp.org/www-community/attacks/CSV_Injection), yet `leadup retry` must
read every cell back exactly. So a text cell starting with a formula trigger gets a leading
apostrophe, and so does a cell that already starts with one: `restore` then only has to
drop one leading apostrophe, and `restore(neutralise(x)) == x` for every string.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO, TypeVar

from uploader.errors import InputError
from uploader.model import PING_COLUMNS, RESULT_COLUMNS, Outcome, RowResult

# OWASP's triggers, plus their full-width forms (which some Excel locales also take as
# formulas) and the apostrophe itself, escaped so that the mapping stays reversible.
_TRIGGERS = frozenset("=+-@\t\r'\uff1d\uff0b\uff0d\uff20")
# Cells leadup formats as numbers itself; everything else may hold data from outside.
_NUMERIC = frozenset({"row", "price", "http_status", "attempts"})
_TEXT_AT = tuple(i for i, name in enumerate(RESULT_COLUMNS) if name not in _NUMERIC)
_ENCODING = "utf-8-sig"  # the BOM makes Excel read UTF-8 instead of the local code page
_DELIMITERS = (",", ";", "\t")  # as leadup writes it, and as European Excel saves it
_N = TypeVar("_N", int, float)


def neutralise(cell: str) -> str:
    """The cell as it is safe to show in a spreadsheet (see the module docstring)."""
    return "'" + cell if cell and cell[0] in _TRIGGERS else cell


def restore(cell: str) -> str:
    """Undo `neutralise` exactly."""
    return cell[1:] if cell.startswith("'") else cell


def write_results(
    path: Path,
    columns: Sequence[str],
    lines: Iterable[tuple[RowResult, Sequence[str]]],
    *,
    ping: bool = False,
) -> int:
    """Write the whole results file atomically; returns the number of lines (not the header).

    `ping` adds the PING_COLUMNS after the leading columns (ping-post mode and quotes).

    A temp file in the same folder is written, flushed and fsynced, then renamed over the
    old file and the folder fsynced: a crash leaves either the old file or the new one,
    never a torn one. Created 0600: it holds personal data.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with open(fd, "w", encoding=_ENCODING, newline="") as out:
            writer = csv.writer(out)
            leading = (*RESULT_COLUMNS, *PING_COLUMNS) if ping else RESULT_COLUMNS
            writer.writerow([*leading, *map(neutralise, columns)])
            count = 0
            for result, cells in lines:
                line = result.leading_cells()
                for i in _TEXT_AT:
                    line[i] = neutralise(line[i])
                if ping:
                    line.extend(map(neutralise, result.ping_cells()))
                line.extend(map(neutralise, cells))
                writer.writerow(line)
                count += 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return count


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); not possible on every platform."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_results(path: Path) -> tuple[list[str], Iterator[tuple[dict[str, str], list[str]]]]:
    """The input columns, and per line (its RESULT_COLUMNS cells by name, its input cells).

    Reads what leadup wrote and what Excel saves after a person fixed some cells (UTF-8
    with or without BOM, or the local code page; `,` or `;` or tab). Neutralising is
    undone. The lines are parsed lazily: an InputError names the file and row.
    """
    encoding = _encoding_of(path)
    with _open(path, encoding) as file:
        header, delimiter = _header(path, file)
    lead = len(RESULT_COLUMNS)
    if tuple(header[lead : lead + len(PING_COLUMNS)]) == PING_COLUMNS:
        lead += len(PING_COLUMNS)  # a ping-post results file: its ping cells are leadup's
    columns = [restore(c) for c in header[lead:]]
    return columns, _lines(path, encoding, delimiter, len(header), lead)


def _open(path: Path, encoding: str) -> TextIO:
    try:
        return open(path, encoding=encoding, newline="")
    except OSError as exc:
        raise InputError(f"cannot read it: {exc.strerror}", path=path) from exc


def _encoding_of(path: Path) -> str:
    """UTF-8 if every byte decodes as UTF-8, else Windows-1252 (Excel's "CSV" on Windows)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as raw:
            while chunk := raw.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    except OSError as exc:
        raise InputError(f"cannot read it: {exc.strerror}", path=path) from exc
    return _ENCODING


def _header(path: Path, file: TextIO) -> tuple[list[str], str]:
    for delimiter in _DELIMITERS:
        file.seek(0)  # a record, not a line: a quoted column name may hold a line break
        try:
            header = next(csv.reader(file, delimiter=delimiter), [])
        except csv.Error:
            continue
        if tuple(header[: len(RESULT_COLUMNS)]) == RESULT_COLUMNS:
            return header, delimiter
    raise InputError(
        f"not a leadup results file: the header must start with {','.join(RESULT_COLUMNS)}",
        path=path,
        row=1,
    )


def _lines(
    path: Path, encoding: str, delimiter: str, width: int, lead: int
) -> Iterator[tuple[dict[str, str], list[str]]]:
    with _open(path, encoding) as file:
        reader = csv.reader(file, delimiter=delimiter, strict=True)
        try:
            next(reader)
            for number, record in enumerate(reader, start=2):
                if not record:
                    continue  # a blank line, as some editors leave at the end
                if len(record) > width and not any(record[width:]):
                    record = record[:width]  # empty trailing cells some tools add
                if len(record) > width:
                    raise InputError(
                        f"{len(record)} cells but the header has {width}", path=path, row=number
                    )
                # Old Excel drops trailing empty cells of some lines: they are empty, not gone.
                record += [""] * (width - len(record))
                cells = [restore(c) for c in record]
                leading = dict(zip(RESULT_COLUMNS, cells, strict=False))
                try:
                    row_result_from_cells(leading)
                except ValueError as exc:
                    raise InputError(str(exc), path=path, row=number) from None
                yield leading, cells[lead:]
        except csv.Error as exc:
            raise InputError(f"not valid CSV ({exc})", path=path, row=reader.line_num) from exc


def row_result_from_cells(leading: dict[str, str]) -> RowResult:
    """Parse the RESULT_COLUMNS cells of a line (already restored) back into a RowResult.

    Raises ValueError naming the column for a cell that cannot be what leadup wrote.
    """
    try:
        row = int(leading["row"])
    except ValueError:
        raise ValueError(f"column 'row': {leading['row']!r} is not a row number") from None
    try:
        outcome = Outcome(leading["outcome"].strip().lower())
    except ValueError:
        known = ", ".join(o.value for o in Outcome)
        raise ValueError(
            f"column 'outcome': {leading['outcome']!r} is not one of {known}"
        ) from None
    return RowResult(
        row=row,
        outcome=outcome,
        lead_status=leading["lead_status"],
        price=_number(leading, "price", _decimal),
        lead_public_id=leading["lead_public_id"],
        http_status=_number(leading, "http_status", int),
        attempts=_number(leading, "attempts", int) or 0,
        error=leading["error"],
    )


def _number(leading: dict[str, str], name: str, parse: Callable[[str], _N]) -> _N | None:
    text = leading[name].strip()
    if not text:
        return None
    try:
        return parse(text)
    except ValueError:
        raise ValueError(f"column {name!r}: {text!r} is not a number") from None


def _decimal(text: str) -> float:
    return float(text.replace(",", "."))  # European Excel writes "1,50"
