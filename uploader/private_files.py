"""Files readable by their owner only (0600) from the first byte: the journal, the job ledger.

SQLite gives the files it makes beside a database (`-wal`, `-shm`, `-journal`) the mode of the
database file itself, so creating that file 0600 before SQLite opens it keeps all of them
private without touching the umask (process-wide, so not safe to change while other threads
create files) and without a chmod after the fact (a window in which the file is readable).
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_MODE = 0o600
SQLITE_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


def create_private_file(path: Path) -> None:
    """Make an empty file, 0600 whatever the umask; FileExistsError if it is already there.

    The folder is fsynced so that the new name survives a power cut too (SQLite does the same
    for its `-wal` file).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_MODE))
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def sqlite_side_files(path: Path) -> tuple[Path, ...]:
    """The files SQLite may keep beside the database at `path`."""
    return tuple(path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_SUFFIXES)


def tighten_sqlite_modes(path: Path) -> None:
    """A database made by an older version, or copied, may be readable by others: fix it."""
    for file in (path, *sqlite_side_files(path)):
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(PRIVATE_MODE)
        except FileNotFoundError:
            pass
