"""Delimited text files (CSV, TSV, "Unicode Text"): encoding, delimiter, chunks of rows.

The encoding and the delimiter are guessed from the bytes (see `uploader.read.encoding` and
`sniff_delimiter`); the rows are read by pandas' C parser in chunks so that memory follows the
chunk size, not the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from uploader.errors import InputError
from uploader.read.encoding import (
    detect_encoding,
    hash_and_check,
    locate_undecodable,
    looks_binary,
    refuse_bad_utf8,
)
from uploader.read.limits import LIMITS, ReadLimits, check_halt
from uploader.read.table import HASH_BLOCK, Detected, Table, header_cells, header_index
from uploader.settings import ReadOptions

SNIFF_BYTES = 1 << 18  # decoded head used to guess the delimiter and the header row
DELIMITERS = (",", ";", "\t", "|")  # in order of preference on a tie
# The names `--delimiter` (and ReadOptions.delimiter) accept besides the character itself.
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}

_SPACES = "".join(c for c in map(chr, range(0x3001)) if c.isspace())  # all: U+3000 is last
_UTF8 = ("utf-8", "utf-8-sig")  # read by pandas as bytes (see _CsvChunks._open_rows)

csv.field_size_limit(1 << 24)  # a notes cell may be long; the default 128 KiB is not a rule


def delimiter_from(value: str) -> str:
    """The delimiter `value` stands for: one character, or a name in DELIMITER_NAMES (any case).

    ValueError when it is neither, or a quote or line break (which cannot delimit cells).
    """
    delimiter = DELIMITER_NAMES.get(value.lower(), value)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        names = ", ".join(n for n in DELIMITER_NAMES if n.isalpha())
        raise ValueError(f"must be one character or one of {names}, not {value!r}")
    return delimiter


def _delimiter_option(value: str, path: Path) -> str:
    try:
        return delimiter_from(value)
    except ValueError as exc:
        raise InputError(f"--delimiter {exc}", path=path) from None


def _records(text: str, delimiter: str) -> list[list[str]]:
    """The records of the decoded head, as the csv module reads them (quotes, newlines)."""
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def sniff_delimiter(records_by_delim: dict[str, list[list[str]]]) -> str:
    """The delimiter under which most records share one width of two or more cells.

    A preamble line is a single cell under every delimiter, so it does not vote; a stray `;`
    in an address makes its own rows wider but not the bulk of them.
    """
    best: tuple[int, int, int] | None = None
    choice = ","
    for order, delimiter in enumerate(DELIMITERS):
        widths = Counter(len(r) for r in records_by_delim[delimiter] if len(r) >= 2)
        if not widths:
            continue
        width, count = max(widths.items(), key=lambda item: (item[1], item[0]))
        score = (count, width, -order)
        if best is None or score > best:
            best, choice = score, delimiter
    return choice


def open_delimited(
    path: Path,
    options: ReadOptions,
    limits: ReadLimits = LIMITS,
    halt: threading.Event | None = None,
) -> Table:
    """Open a text file of rows, detecting what the options leave open."""
    evidence = hash_and_check(path, limits, halt)
    sha256 = evidence.sha256
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head.strip():
        raise InputError("the file is empty", path=path)
    if options.encoding:
        try:
            encoding = codecs.lookup(options.encoding).name
        except LookupError as exc:
            raise InputError(f"unknown encoding {options.encoding!r}", path=path) from exc
    else:
        encoding = detect_encoding(path, head, evidence)
        if encoding == "utf-8" and not evidence.ok_utf8:
            refuse_bad_utf8(path, evidence)
    if not encoding.startswith(("utf-16", "utf-32")) and looks_binary(head):
        raise InputError(
            "is binary data, not a lead file; leadup reads CSV, TSV, XLSX and XLS files",
            path=path,
        )
    text = head.decode(encoding, errors="replace")
    if len(head) == SNIFF_BYTES:  # keep only complete lines of a truncated head
        text = text[: max(text.rfind("\n"), 0)]
    hint = re.match(r"sep=(.)\r?\n", text)  # Excel's own delimiter line: "sep=;"
    given = options.delimiter or (hint.group(1) if hint else None)
    if given:
        delimiter = _delimiter_option(given, path)
        records = _records(text, delimiter)
    else:
        by_delim = {d: _records(text, d) for d in DELIMITERS}
        delimiter = sniff_delimiter(by_delim)
        records = by_delim[delimiter]
    if not any(any(c.strip() for c in r) for r in records):
        raise InputError("the file has no rows", path=path)
    index = header_index(records, options, path)
    if index >= len(records):
        raise InputError(f"--header-row {index + 1} is past the end of the file", path=path)
    columns = header_cells(records[index])
    if not columns:
        raise InputError("the header row is empty", path=path, row=index + 1)
    if len(columns) > limits.max_columns:
        raise limits.refuse(
            f"the header has {len(columns):,} columns", f"{limits.max_columns:,} columns", path
        )
    detected = Detected("csv", encoding, delimiter, index + 1, None)
    reader = _CsvChunks(path, encoding, delimiter, index, columns, options.chunk_rows, limits)
    return Table(path, columns, detected, sha256, reader)


class _CsvChunks:
    """Reads the data records after the header in chunks with pandas' C parser.

    pandas keeps memory to one chunk; the csv module only skips the preamble and the header
    (so quoted newlines there count as one record, as in Excel) and, when pandas reports a
    row wider than the header, finds that row's number.
    """

    def __init__(
        self,
        path: Path,
        encoding: str,
        delimiter: str,
        header_index: int,
        columns: tuple[str, ...],
        rows: int,
        limits: ReadLimits = LIMITS,
    ) -> None:
        self.path = path
        self.encoding = encoding
        self.delimiter = delimiter
        self.header_index = header_index
        self.columns = columns
        self.width = width = len(columns)
        self.chunk_rows = rows
        self.limits = limits
        self.halt: threading.Event | None = None
        # One spare column takes a trailing delimiter, and keeps pandas from turning a first
        # row one cell wider than the header into an index; wider rows are checked in _tidy.
        self.read_width = width + 1

    def _open(self) -> tuple[io.TextIOWrapper, int]:
        """The file positioned after the header; and the header's row number."""
        raw = io.BufferedReader(_Halting(self.path.open("rb"), self.halt, self.path))
        f = io.TextIOWrapper(raw, encoding=self.encoding, newline="", errors="strict")
        try:
            reader = csv.reader(f, delimiter=self.delimiter)
            for _ in range(self.header_index + 1):
                next(reader, None)
        except BaseException:
            f.close()
            raise
        return f, self.header_index + 1

    def _open_rows(self) -> IO[bytes] | io.TextIOWrapper:
        """The file positioned after the header, as pandas reads it fastest: a UTF-8 file as
        bytes, checked as they are read (text it would encode back to UTF-8, a fifth of the
        reading time)."""
        if self.encoding not in _UTF8:
            return self._open()[0]
        header: list[str] = []  # the lines of the preamble and header, as csv takes them
        with self.path.open(encoding=self.encoding, newline="", errors="strict") as f:

            def lines() -> Iterator[str]:
                for line in f:
                    header.append(line)
                    yield line

            reader = csv.reader(lines(), delimiter=self.delimiter)
            for _ in range(self.header_index + 1):
                next(reader, None)
        raw = self.path.open("rb")
        mark = self.encoding == "utf-8-sig" and raw.read(3) == codecs.BOM_UTF8  # or no mark
        raw.seek(len(codecs.BOM_UTF8) * mark + sum(len(line.encode()) for line in header))
        return io.BufferedReader(_Halting(raw, self.halt, self.path), HASH_BLOCK)

    def __call__(self, halt: threading.Event | None = None) -> Iterator[pd.DataFrame]:
        self.halt = halt
        yielded = rows = 0
        while True:
            try:
                for chunk in self._read(skip=yielded):
                    yielded += 1
                    rows += len(chunk)
                    if rows > self.limits.max_rows:
                        raise self.limits.refuse(
                            f"the file has more than {self.limits.max_rows:,} rows",
                            f"{self.limits.max_rows:,} rows",
                            self.path,
                        )
                    yield chunk
                if not rows:
                    raise InputError("the file has a header but no data rows", path=self.path)
                return
            except (pd.errors.ParserError, _ImplicitIndex) as exc:
                try:
                    self._explain_wide_rows(exc)  # InputError for a row with more values
                except UnicodeDecodeError as undecodable:  # the csv module met it first
                    raise self._undecodable(undecodable) from exc
                # Only empty cells past the header: read again as wide and drop them.

    def _read(self, skip: int) -> Iterator[pd.DataFrame]:
        try:
            yield from self._read_chunks(skip)
        except UnicodeDecodeError as exc:
            raise self._undecodable(exc) from exc

    def _undecodable(self, exc: UnicodeDecodeError) -> InputError:
        """The InputError for bytes the encoding cannot decode, naming their row and column."""
        row, column = locate_undecodable(self.path, self.encoding, self.delimiter)
        header = None
        if row is not None and column is not None and column < self.width:
            header = self.columns[column] if self.columns else None
        return InputError(
            f"not valid {self.encoding} text ({exc.reason}); pass --encoding",
            path=self.path,
            row=row,
            column=header,
        )

    def _read_chunks(self, skip: int) -> Iterator[pd.DataFrame]:
        header_row = self.header_index + 1
        with self._open_rows() as f:
            reader = pd.read_csv(
                f,
                encoding="utf-8" if self.encoding in _UTF8 else None,  # None: text as it is
                sep=self.delimiter,
                header=None,
                names=range(self.read_width),
                dtype=object,  # plain Python str cells: cheaper than the str dtype here
                na_filter=False,
                keep_default_na=False,
                skip_blank_lines=False,
                quotechar='"',
                engine="c",
                chunksize=self.chunk_rows,
            )
            first_row = header_row + 1
            for n, chunk in enumerate(reader):
                if not isinstance(chunk.index, pd.RangeIndex):
                    raise _ImplicitIndex  # the first row was wider still
                chunk.index = pd.RangeIndex(first_row, first_row + len(chunk))
                first_row += len(chunk)
                if n < skip:
                    continue
                yield _tidy(chunk, self.width, self.path, self.limits)

    def _explain_wide_rows(self, exc: Exception) -> None:
        """Find the first row with a value past the header; else widen the read.

        A parse error that is not about width (a quote never closed) is an InputError too.
        """
        f, row = self._open()
        widest = self.width
        with f:
            for cells in csv.reader(f, delimiter=self.delimiter):
                row += 1
                if len(cells) > self.width:
                    extra = [c for c in cells[self.width :] if c.strip()]
                    if extra:
                        raise InputError(
                            f"the row has a value past the header's {self.width} columns "
                            f"({extra[0][:40]!r} has no header); fix the row or the header",
                            path=self.path,
                            row=row,
                        )
                    widest = max(widest, len(cells))
        if widest + 1 <= self.read_width:
            self._explain_parse_error(exc)
        self.read_width = widest + 1

    def _explain_parse_error(self, exc: Exception) -> None:
        """Name the row where strict CSV rules break, else repeat the parser's own words."""
        f, row = self._open()
        with f:
            reader = csv.reader(f, delimiter=self.delimiter, strict=True)
            try:
                for _ in reader:
                    row += 1
            except csv.Error as error:
                raise InputError(
                    f"cannot be read as delimited text ({error}); a quote may be missing",
                    path=self.path,
                    row=row + 1,
                ) from exc
        raise InputError(f"cannot be read as delimited text: {exc}", path=self.path) from exc


class _ImplicitIndex(Exception):
    """pandas took a first row wider than the names for one with an index column."""


class _Halting(io.RawIOBase):
    """A binary file that ends the reading with StopRun once `halt` is set: pandas' parser
    reads in blocks, so a stop is seen within a block even in a chunk of long lines."""

    def __init__(self, raw: IO[bytes], halt: threading.Event | None, path: Path) -> None:
        self.raw, self.halt, self.path = raw, halt, path

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        check_halt(self.halt, self.path)
        return self.raw.readinto(buffer)  # type: ignore[attr-defined]

    def read(self, size: int = -1) -> bytes:
        check_halt(self.halt, self.path)
        return self.raw.read(size)

    def close(self) -> None:
        self.raw.close()
        super().close()


def _tidy(chunk: pd.DataFrame, width: int, path: Path, limits: ReadLimits = LIMITS) -> pd.DataFrame:
    """Cells as text ("" for empty), only the header's columns, rows with no values left out.

    A value past the header's columns is an InputError naming the row: a row with more
    values than headers is not understood, and leadup never sends half-understood rows.
    """
    if chunk.shape[1] > width:
        spare = chunk.iloc[:, width:]
        if (spare != "").to_numpy().any():
            stray = spare.apply(lambda col: col.str.strip() != "").to_numpy()
            if stray.any():
                i, j = (int(k[0]) for k in stray.nonzero())
                value = str(spare.iat[i, j])
                raise InputError(
                    f"the row has a value past the header's {width} columns "
                    f"({value[:40]!r} has no header); fix the row or the header",
                    path=path,
                    row=int(chunk.index[i]),
                )
        chunk = chunk.iloc[:, :width]
    _check_cells(chunk, path, limits)
    return _drop_empty_rows(chunk)


def _check_cells(chunk: pd.DataFrame, path: Path, limits: ReadLimits) -> None:
    """InputError naming the row and column of a cell longer than the limit."""
    most = limits.max_cell_chars
    for j in range(chunk.shape[1]):
        column: list[str] = chunk.iloc[:, j].tolist()
        if column and max(map(len, column)) > most:
            i = next(i for i, v in enumerate(column) if len(v) > most)
            raise InputError(
                f"a cell holds {len(column[i]):,} characters: past leadup's limit of "
                f"{most:,} characters a cell",
                path=path,
                row=int(chunk.index[i]),
            )


def _drop_empty_rows(chunk: pd.DataFrame) -> pd.DataFrame:
    """Leave out rows with no values (only empty or whitespace cells), cheaply.

    A row has a value unless its first cell is empty or starts with whitespace: when no first
    cell is empty or has whitespace at all (C-speed searches), that is all; else only the
    rows whose first cell is empty or starts with whitespace are looked at whole.
    """
    if chunk.empty:
        return chunk
    first: list[str] = chunk.iloc[:, 0].tolist()
    joined = "\x00" + "\x00".join(first) + "\x00"  # every cell between two NULs
    if "\x00\x00" not in joined and not any(c in joined for c in _SPACES):
        return chunk
    suspects = [i for i, v in enumerate(first) if not v or v[0].isspace()]
    cells = chunk.iloc[suspects].to_numpy(dtype=object)
    firsts = cells[np.arange(len(cells)), (cells != "").argmax(axis=1)].tolist()  # 1st value
    blank = [i for i, row, value in zip(suspects, cells.tolist(), firsts, strict=True)
             if not value.strip() and not any(c.strip() for c in row)]  # fmt: skip
    if not blank:
        return chunk
    keep = np.ones(len(chunk), dtype=bool)
    keep[blank] = False
    return chunk[keep]
