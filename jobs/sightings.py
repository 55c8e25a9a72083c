"""The settle window's first look: what each inbox file was when a run first saw it.

A modification time alone can lie: upload tools that keep the source's times (`scp -p`,
SFTP clients' "preserve timestamp"), a writer that pauses, a share whose clock is behind. So
a file is taken only when a later look finds it exactly as first seen (size, mtime to the
nanosecond, inode) at least `settle_s` after that first sighting (issue 16, item 1).
Sightings live in the job's ledger file, so the two looks may be two runs apart.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sightings (
    file_name TEXT PRIMARY KEY,
    size_bytes INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    first_seen_s REAL NOT NULL      -- the job's clock (epoch seconds) when first seen like this
)
"""


@dataclass(frozen=True, slots=True)
class Look:
    """What one look at a file saw: any difference means it is still being written."""

    size_bytes: int
    mtime_ns: int
    inode: int


class Sightings:
    """First sightings of the inbox's files, kept in a SQLite connection (the ledger's)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.execute(_SCHEMA)

    def first_seen(self, name: str, look: Look, now_s: float) -> float:
        """When `name` was first seen as `look` is; a new or changed file is first seen now."""
        row = self._db.execute(
            "SELECT size_bytes, mtime_ns, inode, first_seen_s FROM sightings WHERE file_name = ?",
            (name,),
        ).fetchone()
        if row is not None and Look(*row[:3]) == look:
            return float(row[3])
        self._db.execute(
            "INSERT OR REPLACE INTO sightings VALUES (?, ?, ?, ?, ?)",
            (name, look.size_bytes, look.mtime_ns, look.inode, now_s),
        )
        return now_s

    def keep_only(self, names: Collection[str]) -> None:
        """Forget files no longer in the inbox (taken, deleted or renamed)."""
        present = set(names)
        gone = [
            (name,)
            for (name,) in self._db.execute("SELECT file_name FROM sightings")
            if name not in present
        ]
        self._db.executemany("DELETE FROM sightings WHERE file_name = ?", gone)
