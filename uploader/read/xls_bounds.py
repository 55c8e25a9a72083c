"""An .xls's declared and actual sheet sizes, checked before calamine allocates the sheet.

calamine reserves a sheet's cells from its DIMENSIONS record (rows x columns, 40 bytes a
cell) when it opens the workbook, and builds the dense range from the cells' positions: a
5 KB file declaring 4,294,967,295 rows by 65,535 columns asks for 11 PB and aborts the
process. So the BIFF records of the workbook stream are walked first (issue 16, item 2): each
sheet's DIMENSIONS, and the row and column of every cell record, against the read limits.
The compound document (OLE2) around them is read by xlrd's parser.
"""

from __future__ import annotations

import contextlib
import io
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

from uploader.read.limits import ReadLimits, check_halt

_BOF, _EOF, _BOUNDSHEET, _DIMENSIONS, _ROW = 0x0809, 0x000A, 0x0085, 0x0200, 0x0208
# Cell records that begin with (row u16, column u16): FORMULA, LABELSST, BLANK, NUMBER,
# LABEL, BOOLERR, RK, RSTRING, and BIFF5's LABEL/NUMBER variants.
_CELLS = frozenset({0x0006, 0x00FD, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E, 0x00D6, 0x0406})
_MULTI = frozenset({0x00BD, 0x00BE})  # MULRK, MULBLANK: row, first column, ..., last column
_HALT_EVERY = 4096  # records between looks at the stop request


def check_xls(path: Path, limits: ReadLimits, halt: threading.Event | None = None) -> None:
    """InputError when a sheet declares or reaches a range past the limits (or the file is
    past its size limit); a file too damaged to walk is left to calamine to explain."""
    size = path.stat().st_size
    if size > limits.max_xls_bytes:
        raise limits.refuse(
            f"the workbook holds {size:,} bytes", f"{limits.max_xls_bytes:,} bytes an .xls", path
        )
    stream = _workbook_stream(path.read_bytes())
    if stream is None:
        return
    names = _sheet_names(stream)
    sheet, top_row, top_col = "", 0, 0
    for number, (kind, offset, data) in enumerate(_records(stream)):
        if not number % _HALT_EVERY:
            check_halt(halt, path)
        if kind == _BOF:
            sheet, top_row, top_col = names.get(offset, f"at offset {offset}"), 0, 0
        elif kind == _DIMENSIONS:
            rows, cols = _dimensions(data)
            limits.check_range(rows, cols, f"sheet {sheet!r} declares", path)
        elif kind in _CELLS or kind in _MULTI or kind == _ROW:
            row, col = _position(kind, data)
            if row >= top_row or col >= top_col:
                top_row, top_col = max(top_row, row + 1), max(top_col, col + 1)
                limits.check_range(top_row, top_col, f"sheet {sheet!r} reaches", path)


def _workbook_stream(data: bytes) -> bytes | None:
    """The BIFF stream of an OLE2 compound document; None when it cannot be found."""
    from xlrd import compdoc

    with contextlib.suppress(Exception):  # xlrd's own errors, struct and index errors alike
        document = compdoc.CompDoc(data, logfile=io.StringIO(), ignore_workbook_corruption=True)
        for name in ("Workbook", "Book"):  # BIFF8, BIFF5
            mem, base, length = document.locate_named_stream(name)
            if mem is not None:
                return bytes(mem[base : base + length])
    return None


def _records(stream: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(record type, its offset, its data) in stream order, up to a record cut short."""
    offset = 0
    while offset + 4 <= len(stream):
        kind, length = struct.unpack_from("<HH", stream, offset)
        data = stream[offset + 4 : offset + 4 + length]
        if len(data) < length:
            return
        yield kind, offset, data
        offset += 4 + length


def _sheet_names(stream: bytes) -> dict[int, str]:
    """Sheet names by the offset of their BOF (the BOUNDSHEET records of the globals)."""
    names: dict[int, str] = {}
    for kind, _, data in _records(stream):
        if kind == _EOF:
            break  # the end of the globals
        if kind == _BOUNDSHEET and len(data) >= 8:
            (offset,) = struct.unpack_from("<I", data)
            count, wide = data[6], data[7] & 1  # BIFF8's short unicode string
            raw = data[8 : 8 + count * (2 if wide else 1)]
            names[offset] = raw.decode("utf-16-le" if wide else "latin-1", "replace")
    return names


def _dimensions(data: bytes) -> tuple[int, int]:
    """(rows, columns) a DIMENSIONS record declares: one past the last of each."""
    if len(data) >= 14:  # BIFF8: rows are 32-bit
        _, last_row, _, last_col = struct.unpack_from("<IIHH", data)
    elif len(data) >= 8:  # BIFF5
        _, last_row, _, last_col = struct.unpack_from("<HHHH", data)
    else:
        return 0, 0
    return last_row, last_col


def _position(kind: int, data: bytes) -> tuple[int, int]:
    """The (row, last column) a cell or ROW record reaches, 0-based."""
    if len(data) < 4:
        return 0, 0
    row, col = struct.unpack_from("<HH", data)
    if kind in _MULTI and len(data) >= 6:
        (col,) = struct.unpack_from("<H", data, len(data) - 2)
    elif kind == _ROW and len(data) >= 6:
        (after_last,) = struct.unpack_from("<H", data, 4)
        col = max(after_last - 1, 0)
    return row, col
