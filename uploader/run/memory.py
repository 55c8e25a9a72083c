"""What earlier uploads created, by the content of their file, whatever their results path.

A journal guards one results file. The same list uploaded again under another `--output`
(or the default output after an `-o` run, or an `-o` that is a symlink to the results) has a
journal of its own, empty: without this memory every row would be sent, and paid for, again.
So each run records, per file content (sha256), API and results file, how many rows it
created; a new upload of content that created rows at the same API is refused, naming the
earlier results. (An embedded sandbox has an address of its own each time: it never counts.)

The memory is one small SQLite file per user: `$LEADUP_DATA_DIR`, else `$XDG_DATA_HOME/leadup`,
else `~/.local/share/leadup`; private (0600, in a 0700 folder) since file names say who the
leads are from.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from uploader.private_files import create_private_file, tighten_sqlite_modes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    input_sha256 TEXT NOT NULL,
    api_url      TEXT NOT NULL,
    results_path TEXT NOT NULL,
    created      INTEGER NOT NULL,
    updated_at   REAL NOT NULL,
    PRIMARY KEY (input_sha256, api_url, results_path)
)
"""


@dataclass(frozen=True, slots=True)
class EarlierUpload:
    """An upload of the same content under another results file, and what it created."""

    results_path: Path
    created: int


def memory_path() -> Path:
    """Where the memory lives (see the module docstring)."""
    if folder := os.environ.get("LEADUP_DATA_DIR"):
        return Path(folder) / "uploads.sqlite"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "leadup" / "uploads.sqlite"


def earlier_uploads(input_sha256: str, api_url: str) -> list[EarlierUpload]:
    """Uploads of this content that created rows, the latest first.

    Asked only when a run starts a new journal: a results file that already created rows
    and has a new journal (another name for it, a symlink, a deleted `.leadup` folder) is an
    earlier upload as much as any other file is.
    """
    path = memory_path()
    if not path.exists():
        return []
    with _connect(path) as db:
        found = db.execute(
            "SELECT results_path, created FROM uploads"
            " WHERE input_sha256 = ? AND api_url = ? AND created > 0 ORDER BY updated_at DESC",
            (input_sha256, api_url),
        ).fetchall()
    return [EarlierUpload(Path(p), n) for p, n in found]


def remember(input_sha256: str, api_url: str, results_path: Path, created: int) -> None:
    """Record what the upload into `results_path` has created so far."""
    path = memory_path()
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            create_private_file(path)
    with _connect(path) as db:
        db.execute(
            "INSERT INTO uploads VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (input_sha256, api_url, results_path)"
            " DO UPDATE SET created = excluded.created, updated_at = excluded.updated_at",
            (input_sha256, api_url, str(results_path.resolve()), created, time.time()),
        )


@contextlib.contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    tighten_sqlite_modes(path)
    db = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        db.execute(_SCHEMA)
        yield db
    finally:
        db.close()
