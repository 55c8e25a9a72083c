"""The inbox folder: which files are complete and ready, hashing, and collision-safe archiving.

Vendors upload slowly, over shares and SFTP, so a file is only taken once a later look finds
it as it was first seen (size, mtime, inode) at least `settle_s` after that first sighting
(`jobs.sightings`), and its mtime is that old too; partial names (`.part`, `.tmp`, dotfiles,
Excel's `~$` owner files) are never taken at all.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from jobs.sightings import Look, Sightings
from uploader.run import default_results_path, journal_path_for

# Suffixes that upload tools give a file while it is still being written.
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart", ".swp")
_HASH_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class InboxFile:
    """One candidate file as seen by a scan."""

    path: Path
    size_bytes: int
    mtime_s: float  # seconds since the epoch
    look: Look  # size, mtime and inode: what must not change across the settle window
    first_seen_s: float = 0.0  # when a run first saw it as `look` (the job's clock)


@dataclass(frozen=True, slots=True)
class InboxScan:
    """Files ready to take (oldest first) and files still being written."""

    ready: tuple[InboxFile, ...]
    waiting: tuple[InboxFile, ...]


def is_partial_name(name: str) -> bool:
    """Names that belong to a file still being written, or that are not the vendor's data."""
    lowered = name.lower()
    return name.startswith((".", "~$")) or lowered.endswith(PARTIAL_SUFFIXES)


def matches(name: str, patterns: Iterable[str]) -> bool:
    """Case-insensitive glob match: vendors send `LEADS.CSV` as often as `leads.csv`."""
    lowered = name.lower()
    return any(fnmatchcase(lowered, pattern.lower()) for pattern in patterns)


def scan_inbox(
    inbox: Path, patterns: Iterable[str], *, settle_s: float, now_s: float, sightings: Sightings
) -> InboxScan:
    """Sort the inbox's matching files into ready and waiting; `now_s` is the caller's clock.

    Ready: unchanged since a sighting at least `settle_s` ago, and modified that long ago.
    `settle_s = 0` takes a file at first sight (the runner still checks it around the hash).
    """
    patterns = tuple(patterns)
    ready: list[InboxFile] = []
    waiting: list[InboxFile] = []
    with os.scandir(inbox) as entries:
        for entry in entries:
            if is_partial_name(entry.name) or not matches(entry.name, patterns):
                continue
            try:
                if not entry.is_file():
                    continue
                stat = entry.stat()
            except FileNotFoundError:  # moved away between listing and stat
                continue
            look = _look(stat)
            first_seen_s = sightings.first_seen(entry.name, look, now_s)
            seen = InboxFile(Path(entry.path), stat.st_size, stat.st_mtime, look, first_seen_s)
            settled = min(now_s - first_seen_s, now_s - stat.st_mtime) >= settle_s
            (ready if settle_s == 0 or settled else waiting).append(seen)
    sightings.keep_only([f.path.name for f in (*ready, *waiting)])
    ready.sort(key=lambda f: (f.mtime_s, f.path.name))
    waiting.sort(key=lambda f: (f.mtime_s, f.path.name))
    return InboxScan(tuple(ready), tuple(waiting))


def second_look_in(
    scan: InboxScan, settle_s: float, now_s: float, *, at_most_s: float
) -> float | None:
    """Seconds until every waiting file, if unchanged meanwhile, is due for the look that
    takes it; None when none is due within `at_most_s` (nor `settle_s`: a modification time
    ahead of the clock is not waited for)."""
    due = [max(f.first_seen_s, f.mtime_s) + settle_s - now_s for f in scan.waiting]
    due = [d for d in due if 0 < d <= min(settle_s, at_most_s)]
    return max(due) if due else None


def unchanged(seen: InboxFile) -> bool:
    """True while the file still has the size, mtime and inode the scan saw."""
    try:
        stat = seen.path.stat()
    except FileNotFoundError:
        return False
    return _look(stat) == seen.look


def _look(stat: os.stat_result) -> Look:
    return Look(stat.st_size, stat.st_mtime_ns, stat.st_ino)


def file_sha256(path: Path) -> str:
    """Hex sha256 of the file's content: the ledger's key, whatever the file is called."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def archive_name(archive: Path, name: str, taken: Collection[str] = ()) -> Path:
    """A path in `archive` for a file called `name` that clobbers nothing.

    Free means: no file of that name, none for its results file or journal (an earlier file
    of that name may have left them), and not reserved by an unfinished upload (`taken`).
    Collisions get `-2`, `-3`, ... before the suffix.
    """
    candidate = archive / name
    stem, suffix = candidate.stem, candidate.suffix
    number = 1
    while True:
        results = default_results_path(candidate)
        used = (candidate, results, journal_path_for(results))
        if not any(p.name in taken or p.exists() for p in used):
            return candidate
        number += 1
        candidate = archive / f"{stem}-{number}{suffix}"


def move_into(source: Path, target: Path) -> Path:
    """Move `source` to `target` without overwriting; a taken target gets a fresh name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            # link + unlink refuses to overwrite, where rename would silently replace.
            os.link(source, target)
        except FileExistsError:
            target = archive_name(target.parent, target.name)
            continue
        except OSError:
            # Another filesystem, or one without hard links: copy, then remove. Only a taken
            # target needs a new name (its results file beside it is expected to exist).
            if target.exists():
                target = archive_name(target.parent, target.name)
            shutil.move(os.fspath(source), os.fspath(target))
            return target
        os.unlink(source)
        return target
