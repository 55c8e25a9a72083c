"""An xlsx's declared and actual sheet sizes, checked before calamine allocates the sheet.

calamine builds a sheet as one dense range from its first to its last cell, 32 bytes a cell:
one cell at XFD1048576 asks for 512 GB and aborts the process. So the sheet XML is scanned
first (streamed, in blocks) for its `<dimension ref>` and its cell and row references.
"""

from __future__ import annotations

import posixpath
import re
import threading
import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree

from uploader.read.limits import ReadLimits, check_halt

_BLOCK = 1 << 20
_OVERLAP = 64  # a reference split across two blocks is seen whole in the next
_SMALL_PART = 16 << 20  # workbook.xml and its relations: read whole, so bounded first
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*\bref="([^"]*)"')
_REF_COLUMN = re.compile(rb'\br="([A-Za-z]{1,4})\d')
_REF_ROW = re.compile(rb'\br="[A-Za-z]{0,4}(\d{1,12})"')
# A cell or row without a reference takes the next place: counted, as the worst case.
_CELL_NO_REF = re.compile(rb"<(?:\w+:)?c(?=[\s/>])(?![^>]*\br=)")
_ROW_NO_REF = re.compile(rb"<(?:\w+:)?row(?=[\s/>])(?![^>]*\br=)")
_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,4})\$?(\d{1,12})$")
_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def column_number(letters: str) -> int:
    """A column's 1-based number from its letters: A -> 1, XFD -> 16384."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def check_xlsx(path: Path, limits: ReadLimits, halt: threading.Event | None = None) -> None:
    """InputError when a part is too large or a sheet's range is past the limits."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.file_size > limits.max_xml_bytes:
                    raise limits.refuse(
                        f"part {info.filename!r} of the workbook holds {info.file_size:,} bytes",
                        f"{limits.max_xml_bytes:,} bytes a part",
                        path,
                    )
            for name in _sheet_parts(archive):
                _check_sheet(archive, name, path, limits, halt)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        KeyError,
        NotImplementedError,
        RuntimeError,
        ElementTree.ParseError,
        zlib.error,
    ):
        # A broken workbook: calamine's own message says how (only the size is ours to judge).
        return


def _sheet_parts(archive: zipfile.ZipFile) -> list[str]:
    """The worksheets' part names: those the workbook's relations name, and any under
    xl/worksheets/ (calamine follows the relations; a hostile file may add others)."""
    names = set(archive.namelist())
    parts = {n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")}
    rels = "xl/_rels/workbook.xml.rels"
    if rels in names and archive.getinfo(rels).file_size <= _SMALL_PART:
        root = ElementTree.fromstring(archive.read(rels))
        for rel in root.iter(f"{_RELS_NS}Relationship"):
            target = rel.get("Target", "")
            if rel.get("Type", "").endswith("/worksheet") and target:
                full = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                full = posixpath.normpath(full)
                if full in names:
                    parts.add(full)
    return sorted(parts)


def _check_sheet(
    archive: zipfile.ZipFile,
    name: str,
    path: Path,
    limits: ReadLimits,
    halt: threading.Event | None,
) -> None:
    max_col = max_row = 0
    loose_cells = loose_rows = 0
    dimension: bytes | None = None
    tail = b""
    with archive.open(name) as part:
        while block := part.read(_BLOCK):
            check_halt(halt, path)
            data = tail + block
            if dimension is None and (m := _DIMENSION.search(data)):
                dimension = m.group(1)
                _check_range(_declared(dimension), name, path, limits, declared=True)
            cut = len(tail)  # matches wholly in the tail were counted with the last block
            cols = set(_REF_COLUMN.findall(data))
            if cols:
                longest = max(cols, key=lambda c: (len(c), c.upper()))
                max_col = max(max_col, column_number(longest.decode()))
            rows = set(_REF_ROW.findall(data))
            if rows:
                max_row = max(max_row, max(map(int, rows)))
            loose_cells += sum(1 for m in _CELL_NO_REF.finditer(data) if m.start() >= cut)
            loose_rows += sum(1 for m in _ROW_NO_REF.finditer(data) if m.start() >= cut)
            tail = data[-_OVERLAP:]
            _check_range((max_row + loose_rows, max_col + loose_cells), name, path, limits)


def _declared(ref: bytes) -> tuple[int, int]:
    """(rows, columns) that a `<dimension ref="A1:XFD1048576">` declares (0, 0) if unreadable."""
    text = ref.decode("ascii", "replace").split(":")[-1]
    m = _CELL_REF.match(text)
    return (int(m.group(2)), column_number(m.group(1))) if m else (0, 0)


def _check_range(
    size: tuple[int, int], sheet: str, path: Path, limits: ReadLimits, *, declared: bool = False
) -> None:
    where = f"sheet part {posixpath.basename(sheet)!r} " + ("declares" if declared else "reaches")
    limits.check_range(*size, where, path)
