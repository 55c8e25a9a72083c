"""The one exception tree of leadup; retry and exit-code decisions key on it.

    LeadupError                      anything leadup raises on purpose
    ├── UsageError                   exit 2: bad options, configuration or input; nothing sent
    │   ├── ConfigError              settings, credentials, mapping or job file
    │   ├── InputError               the lead file itself (names file, row, column)
    │   ├── JournalError             the journal does not fit this run (input changed, locked)
    │   │   └── JournalMismatch      it was made from another file, or this one changed since
    │   ├── ResendNeedsConfirmation  --restart would send created rows again: ask first
    │   └── OutputError              what leadup writes cannot be (read-only, disk full, damaged)
    │   └── ClusterError             the cluster's database is missing, unset or not set up
    ├── StopRun                      exit 3: the run stopped before finishing (resume it)
    │   ├── JournalWriteError        the journal could not be written (disk full, damaged, ...)
    │   │   └── FencedOut            a cluster worker was taken over: it may write nothing more
    │   └── ResultsWriteError        the results file could not be written after sending
    └── TransportError               one request went wrong (translated from aiohttp)
        ├── NotSent                  retryable: the request never left (connect failed)
        └── MaybeSent                ambiguous: it may have been applied (timeout, dropped)

HTTP responses are data (`uploader.send.transport.ApiResponse`), not exceptions; their meaning
for a row is decided in one place, `uploader.send.outcomes.judge_response`. Why a run stopped
(a 401, a failing API, Ctrl-C) is a reason in the report, not an exception.
"""

from __future__ import annotations

from pathlib import Path


class LeadupError(Exception):
    """Base of every error leadup raises on purpose."""

    exit_code = 1


class UsageError(LeadupError):
    """Bad usage, configuration or input: nothing was sent."""

    exit_code = 2


class ConfigError(UsageError):
    """Settings, credentials, a mapping file or a job file are wrong."""


class InputError(UsageError):
    """The lead file cannot be read or understood; names where, as precisely as known."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.row = row
        self.column = column
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class JournalError(UsageError):
    """The journal beside the results file does not fit this run."""


class JournalMismatch(JournalError):
    """The journal was made from another file (`other_file`), or this file changed since."""

    def __init__(self, message: str, *, journal_input: str, other_file: bool) -> None:
        super().__init__(message)
        self.journal_input = journal_input
        self.other_file = other_file


class ResendNeedsConfirmation(UsageError):
    """Starting over would send rows that were already created (and paid for) again."""

    def __init__(self, message: str, *, created: int, total_price: float) -> None:
        super().__init__(message)
        self.created = created
        self.total_price = total_price


class OutputError(UsageError):
    """A file or folder leadup writes cannot be written (a read-only folder, a full disk), or
    its journal is damaged: the run stops before sending anything."""


class ClusterError(UsageError):
    """The cluster cannot be used: no database URL, the extra not installed, no schema."""


class StopRun(LeadupError):
    """The run stopped before every row was finished; a resume completes it."""

    exit_code = 3


class JournalWriteError(StopRun):
    """The journal could not be written: the run stops, and what was recorded resumes."""


class FencedOut(JournalWriteError):
    """Another cluster worker took this upload over (a newer run attempt): this one was
    presumed dead, so it writes nothing more, neither rows nor results."""


class ResultsWriteError(StopRun):
    """The results file could not be written after sending: the journal holds every row, and
    running the same command again writes it."""


class TransportError(LeadupError):
    """One request did not produce an HTTP response."""


class NotSent(TransportError):
    """The request never reached the server (connection refused, DNS): safe to resend."""


class MaybeSent(TransportError):
    """The request may have been applied (timeout after sending, connection dropped)."""
