"""The opened lead file every reader returns: its headers, what was detected, its chunks.

Also where the header row is found, the same way for text files and Excel sheets.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from uploader.errors import InputError
from uploader.headers import is_known_header, match_header
from uploader.read.limits import check_halt
from uploader.settings import ReadOptions

HEADER_SCAN_ROWS = 40  # a title block or preamble taller than this needs --header-row
HASH_BLOCK = 1 << 20  # bytes read at a time while hashing
SAMPLE_ROWS = 300  # rows whose cells say what each column holds (uploader.prepare.profile)


@dataclass(frozen=True)
class Detected:
    """What was detected (or given) about the file, for the preview and the results."""

    format: str  # "csv" | "xlsx" | "xls"
    encoding: str | None  # None for Excel
    delimiter: str | None  # None for Excel
    header_row: int  # the header's row number as a spreadsheet shows it (1-based)
    sheet: str | None  # the Excel sheet read; None for CSV
    # A short line for the person when the reader chose for them what they did not ask
    # (another sheet than the first: "read sheet 'Scans': sheet 'Read me' has no zip column").
    note: str | None = None


def file_identity(path: Path) -> tuple[int, int, int]:
    """(size, mtime_ns, inode): what changes when anyone writes the file or replaces it."""
    try:
        st = path.stat()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    return st.st_size, st.st_mtime_ns, st.st_ino


class Table:
    """An opened lead file: its headers, what was detected, and its rows in chunks."""

    def __init__(
        self,
        path: Path,
        columns: tuple[str, ...],
        detected: Detected,
        sha256: str,
        reader: Callable[[threading.Event | None], Iterator[pd.DataFrame]],
    ) -> None:
        self.path = path
        self.columns = columns
        self.detected = detected
        self.sha256 = sha256
        self._reader = reader
        self.opened_as: tuple[int, int, int] | None = None  # (size, mtime_ns, inode) at open
        # A stop request that ends reading between blocks (StopRun): open_table's `halt`.
        self.halt: threading.Event | None = None

    def changed_since_opened(self) -> bool:
        """The file was rewritten or appended to since it was opened (its hash was taken then,
        so a second hash is not needed: a writer changes the size or the modification time)."""
        return self.opened_as is not None and file_identity(self.path) != self.opened_as

    def chunks(self, halt: threading.Event | None = None) -> Iterator[pd.DataFrame]:
        """The data rows as chunks of text, re-read from the file on every call.

        `halt` (else the one given to open_table), once set, ends the reading with StopRun
        within a block of the file, even in the middle of a chunk.

        Columns are positions 0..n-1, the index is the row number a spreadsheet shows, every
        cell a str ("" when empty). Rows with no values are left out. May raise InputError
        part-way (a ragged row, a byte the encoding cannot decode): the caller loads every row
        before sending any, so a half-understood file is never sent.
        """
        return self._reader(halt if halt is not None else self.halt)

    def sample(self, rows: int = SAMPLE_ROWS) -> list[list[str]] | None:
        """Up to `rows` data rows spread over the first chunk, as one list of cells per column,
        for judging what the columns hold; None when the rows cannot be read (the load then
        says why). Reads one chunk, not the file."""
        taken: list[pd.DataFrame] = []
        count = 0
        chunks = self.chunks()
        try:
            for chunk in chunks:
                taken.append(chunk)
                count += len(chunk)
                if count >= rows:
                    break
        except InputError:
            return None
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if not taken:
            return None
        frame = pd.concat(taken) if len(taken) > 1 else taken[0]
        step = max(1, len(frame) // rows)
        picked = frame.iloc[::step].iloc[:rows]
        return [picked.iloc[:, j].tolist() for j in range(picked.shape[1])]

    def __repr__(self) -> str:
        return f"Table({str(self.path)!r}, columns={len(self.columns)}, {self.detected})"


def find_header_row(rows: Sequence[Sequence[str]]) -> int:
    """The 0-based index of the header among the first rows of a file.

    1. Among the rows naming two or more known lead headers (First Name, Email, Zip ...; a
       title block or `Notes:` preamble names none), the first whose score comes near the
       best: its known headers, less the cells that look like data (an email, a phone, a
       date: a header holds none), plus how well the values below agree with what it names
       (emails under its Email), less a lot when no row follows it. So a file whose one data
       row holds placeholder words (`Name`, `Phone`) still gets row 1 (issue 12).
    2. Else the first row whose filled cells are at least 60% of the file's usual width (and
       two or more): titles and notes are one or two cells wide.
    3. Else the first row with any value.
    """
    scan = [list(r) for r in rows[:HEADER_SCAN_ROWS]]
    known = [sum(1 for c in r if c.strip() and is_known_header(c)) for r in scan]
    if known and max(known) >= 2:
        filled = [any(c.strip() for c in r) for r in rows]
        scores = {
            i: _header_score(i, row, known[i], rows, filled)
            for i, row in enumerate(scan)
            if known[i] >= 2
        }
        best = max(scores.values())
        near = best * _NEAR_BEST if best > 0 else best  # (a header alone in the file: 0)
        return next(i for i, score in scores.items() if score >= near)
    filled_cells = [sum(1 for c in r if c.strip()) for r in scan]
    widths = Counter(f for f in filled_cells if f >= 2)
    if widths:
        usual = max(widths.items(), key=lambda item: (item[1], item[0]))[0]
        for i, f in enumerate(filled_cells):
            if f >= 2 and f * 10 >= usual * 6:
                return i
    for i, f in enumerate(filled_cells):
        if f:
            return i
    return 0


_NEAR_BEST = 0.75  # a candidate this close to the best score wins by coming first
_BELOW = 20  # rows below a candidate whose values are looked at
_DATA_CELL = re.compile(r"@|\d{5,}|\d[\d ()./-]{6,}\d|^https?://", re.IGNORECASE)
_EMAILISH = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONEISH = re.compile(r"^\+?[\d ().-]{7,}(?:\s*(?:x|ext\.?)\s*\d+)?$", re.IGNORECASE)


def _header_score(
    index: int, row: list[str], known: int, rows: Sequence[Sequence[str]], filled: list[bool]
) -> float:
    """How much `row` looks like the header of the rows below it (see find_header_row)."""
    data_like = sum(1 for c in row if _DATA_CELL.search(c.strip()))
    if not any(filled[index + 1 :]):
        return known - data_like - known  # nothing below: the last row is data, not a header
    below = [r for r in rows[index + 1 : index + 1 + _BELOW] if any(c.strip() for c in r)]
    agree = 0.0
    for j, header in enumerate(row):
        found = match_header(header) if header.strip() else None
        pattern = {"email": _EMAILISH, "phone": _PHONEISH}.get(found[0] if found else "")
        if pattern is None or not below:
            continue
        cells = [r[j].strip() for r in below if j < len(r) and r[j].strip()]
        if cells:
            agree += sum(1 for c in cells if pattern.match(c)) / len(cells)
    return known - 2 * data_like + agree


def header_index(rows: list[list[str]], options: ReadOptions, path: Path) -> int:
    """The header's 0-based index: `--header-row` (1-based) when given, else detected."""
    if options.header_row is None:
        return find_header_row(rows)
    if options.header_row < 1:
        raise InputError("--header-row is 1-based: the first row is 1", path=path)
    return options.header_row - 1


def header_cells(cells: Sequence[str]) -> tuple[str, ...]:
    """Header texts as in the file, less trailing empty ones (a trailing delimiter).

    A value under a dropped trailing header is an InputError when its row is read.
    """
    out = list(cells)
    while out and not out[-1].strip():
        out.pop()
    return tuple(out)


def file_sha256(path: Path, halt: threading.Event | None = None) -> str:
    """Hex sha256 of the file's bytes: the identity of its content for idempotency keys."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(HASH_BLOCK):
            check_halt(halt, path)
            digest.update(block)
    return digest.hexdigest()
