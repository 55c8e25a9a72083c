"""A text file's encoding, decided by the evidence of all its bytes (issue 16, item 3).

One pass over the file takes its sha256, counts the sequences that are not UTF-8 against the
valid multi-byte ones, and checks the line lengths. A BOM decides; else UTF-8 when every byte
is UTF-8, or when a few bad bytes sit among many UTF-8 characters (then the first bad byte is
named and the file refused: a whole file is never decoded as another charset to swallow a
few bad bytes); else cp1252, what Excel on Windows saves as "CSV"; else charset-normalizer.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import threading
from dataclasses import dataclass
from pathlib import Path

from uploader.errors import InputError
from uploader.read.limits import LIMITS, ReadLimits, check_halt
from uploader.read.table import HASH_BLOCK

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass
class Evidence:
    """What one pass over the bytes found: the hash, and how the bytes decode."""

    sha256: str
    utf8_bad: int  # sequences that are not UTF-8 (counted up to _BAD_UTF8_COUNTED)
    utf8_multibyte: int  # extra bytes of valid multi-byte UTF-8 characters (é counts 1)
    ok_cp1252: bool  # the whole file decodes as cp1252

    @property
    def ok_utf8(self) -> bool:
        return self.utf8_bad == 0

    @property
    def mostly_utf8(self) -> bool:
        """A few bad bytes among many UTF-8 characters: a UTF-8 file with a damaged spot, not
        another charset (cp1252 text almost never forms valid multi-byte UTF-8 by chance)."""
        return self.utf8_bad > 0 and self.utf8_bad * _UTF8_EVIDENCE <= self.utf8_multibyte


_BAD_UTF8_COUNTED = 1000  # past this many bad sequences the file is surely not UTF-8
_UTF8_EVIDENCE = 10  # valid non-ASCII UTF-8 characters needed per bad sequence


def hash_and_check(
    path: Path, limits: ReadLimits = LIMITS, halt: threading.Event | None = None
) -> Evidence:
    """The sha256 and how the bytes decode, in one pass; InputError for a line past the limit."""
    digest = hashlib.sha256()
    bad = [0]

    def count_bad(exc: UnicodeError) -> tuple[str, int]:
        bad[0] += 1
        if bad[0] >= _BAD_UTF8_COUNTED:
            raise exc
        return "", exc.end  # type: ignore[attr-defined]

    codecs.register_error("leadup-count", count_bad)
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="leadup-count")
    cp1252 = codecs.getincrementaldecoder("cp1252")()
    counting = ok_cp1252 = True
    n_bytes = n_chars = 0
    line = 0  # bytes since the last line break
    with path.open("rb") as f:
        while block := f.read(HASH_BLOCK):
            check_halt(halt, path)
            digest.update(block)
            line = _check_lines(block, line, limits, path)
            if counting:
                before = bad[0]
                try:
                    n_chars += len(utf8.decode(block))
                    n_bytes += len(block)
                except UnicodeDecodeError:
                    counting = False
                if bad[0] != before:
                    n_bytes -= bad[0] - before  # most bad sequences are one byte
            if ok_cp1252 and bad[0]:
                try:
                    cp1252.decode(block)
                except UnicodeDecodeError:
                    ok_cp1252 = False
    if counting:
        try:
            n_chars += len(utf8.decode(b"", final=True))
        except UnicodeDecodeError:
            counting = False
    if not counting:
        bad[0] = max(bad[0], _BAD_UTF8_COUNTED)
    if bad[0] and ok_cp1252:
        # cp1252 was only checked from the first bad block on: check the start too.
        ok_cp1252 = _decodes_as(path, "cp1252")
    return Evidence(digest.hexdigest(), bad[0], max(n_bytes - n_chars, 0), ok_cp1252)


def _decodes_as(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as f:
            while block := f.read(HASH_BLOCK):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _check_lines(block: bytes, line: int, limits: ReadLimits, path: Path) -> int:
    """The bytes of the last line still open after `block`; InputError past the limit.

    Lines inside a block are shorter than a block, so with a limit of at least a block only
    the line carried across blocks needs counting.
    """
    first = block.find(b"\n")
    if first < 0:
        line += len(block)
    else:
        line += first
    if line > limits.max_line_bytes or (
        limits.max_line_bytes < HASH_BLOCK and _longest_line(block) > limits.max_line_bytes
    ):
        raise limits.refuse(
            "a line is longer than the limit (is it a text file?)",
            f"{limits.max_line_bytes:,} bytes a line",
            path,
        )
    return line if first < 0 else len(block) - block.rfind(b"\n") - 1


def _longest_line(block: bytes) -> int:
    return max(map(len, block.split(b"\n")))


def detect_encoding(path: Path, head: bytes, evidence: Evidence) -> str:
    """BOM first; UTF-16 without one by its zero bytes; then UTF-8; then cp1252.

    cp1252 is the fallback because that is what Excel on Windows saves as "CSV" in Western
    Europe and the Americas; charset-normalizer is asked only when cp1252 cannot decode it.
    A UTF-8 file with a few bad bytes is UTF-8 (an InputError names the first bad byte):
    a whole file is never decoded as another charset to swallow them (issue 16, item 3).
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    sample = head[:4096]
    if len(sample) >= 4 and sample.count(0) * 4 >= len(sample):
        even_zeros = sample[0::2].count(0)
        odd_zeros = sample[1::2].count(0)
        return "utf-16-le" if odd_zeros > even_zeros else "utf-16-be"
    if evidence.ok_utf8:
        return "utf-8"
    if evidence.mostly_utf8:
        return "utf-8"
    if evidence.ok_cp1252:
        return "cp1252"
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None or best.encoding is None:
        if looks_binary(head):
            raise InputError(
                "is binary data, not a lead file; leadup reads CSV, TSV, XLSX and XLS files",
                path=path,
            )
        raise InputError("cannot tell the file's text encoding; pass --encoding", path=path)
    return best.encoding


def looks_binary(head: bytes) -> bool:
    """Many control bytes (not tabs or line breaks): no text file of leads looks like this."""
    controls = sum(1 for b in head[:4096] if b < 32 and b not in (9, 10, 12, 13))
    return controls * 10 > len(head[:4096])


def refuse_bad_utf8(path: Path, evidence: Evidence) -> None:
    """The file is UTF-8 but for a few bytes: name the first, never guess another charset."""
    row, column = locate_undecodable(path, "utf-8", ",")
    count = f"{evidence.utf8_bad} byte sequences are" if evidence.utf8_bad > 1 else "a byte is"
    raise InputError(
        f"the file is UTF-8 text, but {count} not valid UTF-8 (the first at row {row}, "
        f"column {(column or 0) + 1}); fix those bytes, or pass --encoding if the whole file "
        "is in another encoding",
        path=path,
        row=row,
    )


def locate_undecodable(path: Path, encoding: str, delimiter: str) -> tuple[int | None, int | None]:
    """(row, 0-based column) of the first bytes the encoding cannot decode, as Excel counts."""
    decoder = codecs.getincrementaldecoder(encoding)()
    text: list[str] = []
    with path.open("rb") as f:
        while block := f.read(1 << 16):
            for i in range(0, len(block), 1 << 10):
                piece = block[i : i + (1 << 10)]
                try:
                    text.append(decoder.decode(piece))
                except UnicodeDecodeError as exc:
                    # Decode byte by byte up to the bad one, to keep every good character.
                    for j in range(exc.start + 1):
                        try:
                            text.append(decoder.decode(piece[j : j + 1]))
                        except UnicodeDecodeError:
                            break
                    records = list(csv.reader(io.StringIO("".join(text), newline=""),
                                              delimiter=delimiter))  # fmt: skip
                    if not records:
                        return 1, 0
                    return len(records), max(len(records[-1]) - 1, 0)
    return None, None
