"""The values that flow through an upload: a lead to send and what happened to a row."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

STANDARD_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "address_1",
    "address_2",
    "city",
    "state",
    "zip",
    "county",
)

# The leading columns of every results file, before the input's own columns.
RESULT_COLUMNS: tuple[str, ...] = (
    "row",
    "outcome",
    "lead_status",
    "price",
    "lead_public_id",
    "http_status",
    "attempts",
    "error",
)


class Outcome(StrEnum):
    """What happened to one input row; exactly one per row."""

    CREATED = "created"  # 2xx; lead_status carries the API's status
    INVALID = "invalid"  # failed local checks, never sent
    REJECTED = "rejected"  # 4xx: the server refused it, nothing was created
    FAILED = "failed"  # never reached the server after all attempts: safe to resend
    UNKNOWN = "unknown"  # may have reached the server: resend only if the user says so
    SKIPPED = "skipped"  # deliberately not sent (e.g. the same lead as an earlier row)
    PENDING = "pending"  # not sent yet because the run stopped first; a resume sends it

    @property
    def is_final(self) -> bool:
        return self is not Outcome.PENDING


@dataclass(frozen=True, slots=True)
class Lead:
    """One row ready to post: its spreadsheet row number, the JSON body and its key."""

    row: int
    payload: dict[str, Any]
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class RowResult:
    """The results-file line of one row, less the input's own cells."""

    row: int
    outcome: Outcome
    lead_status: str = ""
    price: float | None = None
    lead_public_id: str = ""
    http_status: int | None = None
    attempts: int = 0
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def leading_cells(self) -> list[str]:
        """The RESULT_COLUMNS cells of this line, as text."""
        return [
            str(self.row),
            self.outcome.value,
            self.lead_status,
            "" if self.price is None else f"{self.price:.2f}",
            self.lead_public_id,
            "" if self.http_status is None else str(self.http_status),
            str(self.attempts),
            self.error,
        ]


def idempotency_key(file_sha256: str, row: int) -> str:
    """A key that is the same for the same row of the same file content, on every run.

    Formatted as a UUID because that is what servers that honour the header expect.
    """
    digest = hashlib.sha256(f"leadup:{file_sha256}:{row}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
