"""Files that grew while they were being sent: where the part sent ends, and the rest.

A vendor's upload that pauses longer than `settle_s` is taken half-written. What the uploader
read is sent (once); the file stays in the inbox, and once it is complete the rest (its header,
then what was appended after the part sent) goes as a file of its own (issue 16, item 1).
An upload interrupted (killed, stopped) before the file grew is finished first, from a copy of
the bytes it read (`NAME.part.csv`), then the rest goes the same way: never the whole file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jobs.config import JobConfig
from jobs.ledger import FileEntry, GrownEntry, Ledger
from uploader.journal import Journal
from uploader.private_files import create_private_file
from uploader.run import journal_path_for


def content_read(journal_path: Path) -> str:
    """The sha256 of the content the uploader read into this journal."""
    with Journal.open_existing(journal_path) as journal:
        return journal.input_sha256


def content_loaded(journal_path: Path) -> str | None:
    """The sha256 of what this journal holds, once its load finished (rows may have been
    sent); None when it never did (nothing was sent from it)."""
    if not journal_path.exists():
        return None
    with Journal.open_existing(journal_path) as journal:
        return journal.input_sha256 if journal.loaded else None


def write_prefix(source: Path, size_bytes: int, target: Path) -> None:
    """The first `size_bytes` of `source` as a file of their own (lead data: 0600)."""
    with source.open("rb") as handle:
        data = handle.read(size_bytes)
    create_private_file(target)
    target.write_bytes(data)


def prefix_size(path: Path, sha256: str) -> int:
    """The length of the first lines of `path` whose sha256 is `sha256`; -1 if none is (the
    file was rewritten, not appended to)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for line in handle:
            digest.update(line)
            size += len(line)
            if line.endswith(b"\n") and digest.copy().hexdigest() == sha256:
                return size
    return -1


def header_of(path: Path, job: JobConfig) -> bytes:
    """The header line(s) of a text file: the lines up to `header_row` (else the first)."""
    head = b""
    with path.open("rb") as handle:
        for _ in range(job.upload.read.header_row or 1):
            head += handle.readline()
    return head


def write_rest(data: bytes, grown: list[GrownEntry], rest: Path) -> bool:
    """Write to `rest` the header and what follows the largest part sent that `data` begins
    with; False (nothing written) when `data` begins with none of them."""
    for earlier in grown:
        head = data[: earlier.size_bytes]
        if 0 < earlier.size_bytes < len(data) and (
            hashlib.sha256(head).hexdigest() == earlier.sha256
        ):
            create_private_file(rest)  # lead data: 0600 from its first byte
            rest.write_bytes(earlier.header + data[earlier.size_bytes :])
            return True
    return False


def not_an_append(grown: list[GrownEntry]) -> str:
    """Why a file whose earlier version was partly sent is not sent again."""
    return (
        "rows of an earlier version of this file were sent (results:"
        f" {grown[-1].results_path}) and this version does not just add rows after them;"
        " sending it would send those rows again. Drop the rows not yet sent as a new file"
    )


def not_after_interrupted(results: Path) -> str:
    """Why a file whose earlier version's upload was interrupted is not sent."""
    return (
        f"the upload of an earlier version of this file was interrupted (results:"
        f" {results}) and this version does not just add rows after what it read; sending it"
        " would send those rows again. Put that version back to finish its upload, or drop"
        " this one under another name if it is another file"
    )


def remove_unloaded_journal(results: Path) -> None:
    """The journal of a load that never finished (nothing sent): the next try starts afresh
    in the same archive slot."""
    journal = journal_path_for(results)
    for path in (journal, *(journal.with_name(journal.name + x) for x in ("-wal", "-shm"))):
        path.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class InterruptedPart:
    """What an interrupted upload of an earlier version of an inbox file read, as a file the
    uploader resumes from (its journal is tied to exactly those bytes)."""

    path: Path  # `NAME.part.csv` in the archive, or the rest file it was sending
    size_bytes: int  # how much of the inbox file it covers
    covered_sha256: str  # of those first bytes


def interrupted_part(
    ledger: Ledger, path: Path, earlier: FileEntry, job: JobConfig, slot: Callable[[str], Path]
) -> InterruptedPart | str | None:
    """The part to finish before the rest of `path` may go; None when the interrupted upload
    never finished loading (nothing was sent: it is forgotten); why not, when `path` does
    not begin with what it read. `slot(name)` gives a free archive path."""
    read = content_loaded(journal_path_for(earlier.results_path))
    if read is None:
        ledger.forget(earlier.sha256)
        remove_unloaded_journal(earlier.results_path)
        return None
    growth = ledger.growth_of(earlier.sha256)
    if growth is None:  # it read the inbox file itself
        covered = read
    elif growth.size_bytes >= 0:  # an earlier try copied its part out already
        covered = growth.content_sha256
    else:  # it sent the rest of a grown file: it covers what the inbox file held then
        covered = earlier.sha256
    size = prefix_size(path, covered)
    if size < 0:
        return not_after_interrupted(earlier.results_path)
    if growth is None:
        part = slot(f"{path.stem}.part{path.suffix}")
        write_prefix(path, size, part)
        header, continuation = header_of(path, job), str(part)
    else:
        header, continuation = growth.header, growth.continuation
    # Recorded before anything is sent: a run killed now finds the same part next time.
    ledger.record_grown(earlier.sha256, path.name, size, covered, header, continuation)
    return InterruptedPart(Path(continuation), size, covered)
