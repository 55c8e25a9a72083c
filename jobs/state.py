"""A job's state folder: where its ledger, lock and logs live, the lock, and the JSON-lines log.

One folder per job (default `<job file folder>/.leadup/NAME/`), so two jobs never share a lock
and a job's whole history can be copied or removed as one folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from uploader.errors import UsageError
from uploader.run.lock import PidLock
from uploader.settings import redact


class JobBusy(UsageError):
    """Another process (or task) holds this job's lock."""

    def __init__(self, job: str, holder: str) -> None:
        self.job, self.holder = job, holder
        who = f" (pid {holder})" if holder else ""
        super().__init__(f"job {job}: another run is active{who}")


@dataclass(frozen=True, slots=True)
class JobPaths:
    """The files inside one job's state folder."""

    folder: Path

    @property
    def ledger(self) -> Path:
        """SQLite: file hashes and runs."""
        return self.folder / "ledger.sqlite"

    @property
    def lock(self) -> Path:
        """Held by the running process; holds its pid."""
        return self.folder / "run.lock"

    @property
    def log(self) -> Path:
        """JSON lines: one per file and one per run."""
        return self.folder / "runs.jsonl"

    @property
    def cron_log(self) -> Path:
        """Where the crontab line sends the command's own output."""
        return self.folder / "cron.log"

    def create(self) -> None:
        """Create the folder, owner-only: the ledger and logs name files of personal data."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)


class JobLock(PidLock):
    """One run per job at a time (leadup's pid lock on the job's lock file).

    The kernel drops the lock when its holder dies, even by SIGKILL, so a killed run never
    leaves a stale lock behind. Separate opens conflict too, so it also guards two runs of the
    same job inside one process (`leadup jobs serve`).
    """

    def __init__(self, path: Path, job: str) -> None:
        self.job = job
        super().__init__(path, lambda pid: JobBusy(job, pid))


# What json.dumps leaves raw that could act on a terminal showing the log (`tail -f`): C1
# controls, bidi controls, zero-width characters, lone surrogates of undecodable file names.
# Written as JSON's own \\uXXXX escapes, the line reads back the same (issue 16, item 6).
_INVISIBLE = re.compile(
    "[\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"


class JsonLog:
    """Append-only JSON-lines log; each line is written whole and flushed at once."""

    def __init__(self, path: Path, *, redact: tuple[str, ...] = ()) -> None:
        self.path = path
        self.redact = redact

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one line `{"ts": ..., "event": ..., **fields}` and return it."""
        line = {"ts": utc_now().isoformat(timespec="seconds"), "event": event, **fields}
        text = _INVISIBLE.sub(_json_escape, json.dumps(line, default=str, ensure_ascii=False))
        text = redact(text, self.redact)
        # O_APPEND writes of one line are not interleaved with another process's lines.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (text + "\n").encode("utf-8"))
        finally:
            os.close(fd)
        return line


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSON-lines log (tests and `history` use it); a torn tail is skipped."""
    if not path.exists():
        return []
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            lines.append(json.loads(raw))
    return lines


def utc_now() -> datetime:
    """The wall clock, aware, in UTC (the one place jobs reads it outside tests' fakes)."""
    return datetime.now(UTC)
