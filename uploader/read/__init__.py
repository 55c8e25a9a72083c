"""Open a lead file (CSV/TSV/XLSX/XLS): encoding, delimiter and header row, then chunks of text.

Everything here is about getting the person's cells out of the file exactly as they typed
them: the right encoding, the right delimiter, the header found under any title block, Excel's
numbers turned back into the digits that were typed. What the cells mean is `mapping`'s and
`normalise`'s business. See the chunk convention in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from pathlib import Path

from uploader.errors import InputError
from uploader.read.delimited import open_delimited
from uploader.read.excel import excel_text, open_excel
from uploader.read.table import Detected, Table, file_identity, find_header_row
from uploader.settings import ReadOptions

__all__ = ["Detected", "Table", "excel_text", "find_header_row", "open_table"]

_XLSX_MAGIC = b"PK\x03\x04"  # a zip: .xlsx (whatever the file is named)
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (BIFF in a compound document)


def open_table(path: Path, options: ReadOptions = ReadOptions()) -> Table:  # noqa: B008
    """Open a lead file and detect how to read it; InputError says why it cannot be read."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise InputError(f"cannot open the file: {exc.strerror}", path=path) from exc
    if options.chunk_rows < 1:
        raise InputError("chunk_rows must be at least 1", path=path)
    opened_as = file_identity(path)  # before the hash is taken
    if head.startswith(_XLSX_MAGIC) or head.startswith(_OLE2_MAGIC):
        fmt = "xlsx" if head.startswith(_XLSX_MAGIC) else "xls"
        table = open_excel(path, fmt, options)
    else:
        table = open_delimited(path, options)
    table.opened_as = opened_as
    return table
