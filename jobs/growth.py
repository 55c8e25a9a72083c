"""Files that grew while they were being sent: where the part sent ends, and the rest.

A vendor's upload that pauses longer than `settle_s` is taken half-written. What the uploader
read is sent (once); the file stays in the inbox, and once it is complete the rest (its header,
then what was appended after the part sent) goes as a file of its own (issue 16, item 1).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from jobs.config import JobConfig
from jobs.ledger import GrownEntry
from uploader.journal import Journal
from uploader.private_files import create_private_file
from uploader.run import journal_path_for


def content_read(journal_path: Path) -> str:
    """The sha256 of the content the uploader read into this journal."""
    with Journal.open_existing(journal_path) as journal:
        return journal.input_sha256


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
        "not sent: rows of an earlier version of this file were sent (results:"
        f" {grown[-1].results_path}) and this version does not just add rows after them;"
        " sending it would send those rows again. Drop the rows not yet sent as a new file"
    )


def remove_unloaded_journal(results: Path) -> None:
    """The journal of a load that never finished (nothing sent): the next try starts afresh
    in the same archive slot."""
    journal = journal_path_for(results)
    for path in (journal, *(journal.with_name(journal.name + x) for x in ("-wal", "-shm"))):
        path.unlink(missing_ok=True)
