"""Open a lead file (CSV/TSV/XLSX/XLS): encoding, delimiter and header row, then chunks of text.

Everything here is about getting the person's cells out of the file exactly as they typed
them: the right encoding, the right delimiter, the header found under any title block, Excel's
numbers turned back into the digits that were typed. What the cells mean is `mapping`'s and
`normalise`'s business. See the chunk convention in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from uploader.errors import InputError
from uploader.read.delimited import open_delimited
from uploader.read.excel import excel_text, open_excel
from uploader.read.kinds import binary_kind
from uploader.read.limits import LIMITS, ReadLimits
from uploader.read.table import Detected, Table, file_identity, find_header_row
from uploader.settings import ReadOptions

__all__ = [
    "LIMITS",
    "Detected",
    "ReadLimits",
    "Table",
    "excel_text",
    "find_header_row",
    "open_table",
]

_XLSX_MAGIC = b"PK\x03\x04"  # a zip: .xlsx (whatever the file is named)
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (BIFF in a compound document)
_HEAD_BYTES = 4096  # enough to tell a PNG, a PDF or a zip's first entry from a lead file


def open_table(
    path: Path,
    options: ReadOptions = ReadOptions(),  # noqa: B008
    *,
    limits: ReadLimits = LIMITS,
    halt: threading.Event | None = None,
) -> Table:
    """Open a lead file and detect how to read it; InputError says why it cannot be read.

    Past `limits`, an InputError names the limit. `halt`, once set, ends the reading (here
    and in the table's chunks) with StopRun.
    """
    path = Path(path)
    _refuse_special(path)
    try:
        with path.open("rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"cannot open the file: {exc.strerror}", path=path) from exc
    if options.chunk_rows < 1:
        raise InputError("chunk_rows must be at least 1", path=path)
    opened_as = file_identity(path)  # before the hash is taken
    kind = binary_kind(path, head)
    if kind is not None:
        raise InputError(
            f"is {kind}, not a lead file; leadup reads CSV, TSV, XLSX and XLS files", path=path
        )
    if head.startswith(_XLSX_MAGIC) or head.startswith(_OLE2_MAGIC):
        fmt = "xlsx" if head.startswith(_XLSX_MAGIC) else "xls"
        table = open_excel(path, fmt, options, limits, halt)
    else:
        table = open_delimited(path, options, limits, halt)
    table.opened_as = opened_as
    table.halt = halt
    return table


def _refuse_special(path: Path) -> None:
    """A FIFO, device or socket is not a file to read: reading one may never end."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise InputError(f"cannot open the file: {exc.strerror}", path=path) from exc
    if stat.S_ISDIR(mode):
        raise InputError("is a folder, not a lead file", path=path)
    if not stat.S_ISREG(mode):
        kind = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "a device"
        )
        raise InputError(f"is {kind}, not a regular file; leadup reads files only", path=path)
