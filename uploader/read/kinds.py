"""What a file that is not a lead file is, by its first bytes: "a PNG image", "a PDF".

So that a picture renamed `.csv` is called what it is, not told to "pass --encoding".
"""

from __future__ import annotations

import zipfile
from pathlib import Path

# (first bytes, what the file is), by the formats' own signatures.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program (ELF)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"{\\rtf", "an RTF document"),
    (b"\x00\x00\x01\x00", "an icon image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"OggS", "an Ogg audio file"),
    (b"ID3\x03", "an MP3 audio file"),
    (b"ID3\x04", "an MP3 audio file"),
    (b"\x00asm", "a WebAssembly module"),
)
_RIFF_KINDS = {b"WEBP": "a WebP image", b"WAVE": "a WAV audio file", b"AVI ": "an AVI video"}
_ZIP_MAGIC = b"PK\x03\x04"


def binary_kind(path: Path, head: bytes) -> str | None:
    """What the file is when its first bytes say it is not a lead file, else None."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"RIFF") and head[8:12] in _RIFF_KINDS:
        return _RIFF_KINDS[head[8:12]]
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "a video or image (ISO media)"
    if head.startswith(_ZIP_MAGIC):
        return _zip_kind(path)
    return None


def _zip_kind(path: Path) -> str | None:
    """None for an xlsx (or a zip too damaged to tell: calamine says what is wrong)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None
    if "xl/workbook.xml" in names or any(n.startswith("xl/") for n in names):
        return None
    if "word/document.xml" in names:
        return "a Word document"
    if "ppt/presentation.xml" in names:
        return "a PowerPoint presentation"
    if "content.xml" in names and "mimetype" in names:
        return "an OpenDocument file (save it as XLSX or CSV)"
    return "a ZIP archive"
