"""How big a lead file may be, checked before memory is allocated for it (issue 16, item 2).

A hostile or damaged file can declare a sheet of 17 billion cells in 5 KB, or hold a cell of
a gigabyte; the readers check these limits first and refuse past them with an InputError
that names the file and the limit, never with an out-of-memory abort.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from uploader.errors import InputError, StopRun

EXCEL_BYTES_PER_CELL = 32  # what calamine allocates for each cell of a sheet's range


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """The largest file leadup reads; a lead list is far inside every one of them."""

    max_rows: int = 5_000_000  # data rows of a text file; a sheet's rows
    max_columns: int = 2_000  # columns of a header or a sheet's range
    max_sheet_cells: int = 20_000_000  # rows x columns of a sheet's range (640 MB in calamine)
    max_cell_chars: int = 1 << 20  # one cell's text (1 MiB)
    max_line_bytes: int = 1 << 20  # one line of a text file, between line breaks (1 MiB)
    max_xml_bytes: int = 1 << 30  # one part of an xlsx, uncompressed (1 GiB)
    max_xls_bytes: int = 512 << 20  # an .xls file, read whole to walk its records (512 MiB)

    def refuse(self, what: str, limit: str, path: object) -> InputError:
        """The error for a file past one limit: what was found, and the limit."""
        return InputError(f"{what}: past leadup's limit of {limit}", path=str(path))

    def check_range(self, rows: int, cols: int, where: str, path: object) -> None:
        """Refuse a sheet's range past the rows, columns or cells limit; `where` says whose
        (`sheet part 'sheet1.xml' declares`)."""
        if rows > self.max_rows:
            raise self.refuse(f"{where} row {rows:,}", f"{self.max_rows:,} rows", path)
        if cols > self.max_columns:
            raise self.refuse(f"{where} column {cols:,}", f"{self.max_columns:,} columns", path)
        if rows * cols > self.max_sheet_cells:
            raise self.refuse(
                f"{where} a range of {rows:,} rows by {cols:,} columns",
                f"{self.max_sheet_cells:,} cells a sheet",
                path,
            )


LIMITS = ReadLimits()


def check_halt(halt: threading.Event | None, path: object) -> None:
    """StopRun when a stop was asked while the file is being read."""
    if halt is not None and halt.is_set():
        raise StopRun(f"stopped while reading {path}; nothing was sent")
