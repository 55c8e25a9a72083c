"""The values that flow through an upload: a lead to send and what happened to a row."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np

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
# Added after RESULT_COLUMNS in ping-post mode (`--ping`, `leadup quote`).
PING_COLUMNS: tuple[str, ...] = ("ping_id", "ping_message", "bid_price", "bid_id")


class Outcome(StrEnum):
    """What happened to one input row; exactly one per row."""

    CREATED = "created"  # 2xx; lead_status carries the API's status
    INVALID = "invalid"  # failed local checks, never sent
    REJECTED = "rejected"  # 4xx: the server refused it, nothing was created
    FAILED = "failed"  # never reached the server after all attempts: safe to resend
    UNKNOWN = "unknown"  # may have reached the server: resend only if the user says so
    SKIPPED = "skipped"  # deliberately not sent (e.g. the same lead as an earlier row)
    PENDING = "pending"  # not sent yet because the run stopped first; a resume sends it
    HELD = "held"  # pinged, and deliberately not posted: no match, or the price under the floor
    QUOTED = "quoted"  # pinged by `leadup quote`, which posts nothing

    @property
    def is_settled(self) -> bool:
        """Ended as the user asked: created, or held back / quoted on purpose (exit 0)."""
        return self in (Outcome.CREATED, Outcome.HELD, Outcome.QUOTED)


class JsonBody(dict[str, Any]):
    """A lead's body as the journal stored it: the dict, and the JSON bytes it was stored as,
    so the request sends those bytes instead of encoding the body again. Never changed in
    place (a ping-post body is a new dict)."""

    __slots__ = ("encoded",)

    encoded: bytes


class Lead(NamedTuple):
    """One row ready to post: its spreadsheet row number, the JSON body and its key.

    A tuple rather than a dataclass because a load makes one per row (a million in a big
    file): `leads_from` builds them in C, without the Python-level `__init__` a frozen
    dataclass runs. Equal only to another Lead, as a dataclass would be.
    """

    row: int
    payload: dict[str, Any]
    idempotency_key: str

    def __eq__(self, other: object) -> bool:
        if type(other) is Lead:
            return tuple.__eq__(self, other)
        return False if isinstance(other, tuple) else NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal


def leads_from(rows: Iterable[tuple[int, dict[str, Any], str]]) -> Iterator[Lead]:
    """A Lead of each `(row, payload, idempotency_key)`, built in C (see `Lead`)."""
    return map(tuple.__new__, repeat(Lead), rows)


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

    def ping_cells(self) -> list[str]:
        """The PING_COLUMNS cells of this line, from `extra` (empty when never pinged)."""
        extra = self.extra
        price = extra.get("bid_price")
        return [
            str(extra.get("ping_id") or ""),
            str(extra.get("ping_message") or ""),
            "" if price is None else f"{float(price):.2f}",
            str(extra.get("bid_id") or ""),
        ]


def idempotency_key(file_sha256: str, row: int) -> str:
    """A key that is the same for the same row of the same file content, on every run.

    Formatted as a UUID because that is what servers that honour the header expect: the
    first 128 bits of sha256("leadup:{file_sha256}:{row}") in hex, dashed 8-4-4-4-12.
    """
    return idempotency_keys(file_sha256, [row])[0]


# Where the 32 hex digits of a key go among its 36 characters (the rest are dashes).
_KEY_DIGITS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])
_ZERO, _A_AFTER_9 = np.uint8(ord("0")), np.uint8(ord("a") - ord("9") - 1)


def idempotency_keys(file_sha256: str, rows: Sequence[int]) -> list[str]:
    """`idempotency_key` of each row, in bulk: one hash per row, formatted for all at once.

    The hash of the common prefix is taken once and copied per row; the hex and dashes are
    laid out with numpy and cut into keys by one split, since formatting one key at a time
    costs as much as hashing it.
    """
    if not rows:
        return []
    prefix = hashlib.sha256(f"leadup:{file_sha256}:".encode())
    copy = prefix.copy
    digests: list[bytes] = []
    add = digests.append
    for row in rows:
        digest = copy()
        digest.update(b"%d" % row)
        add(digest.digest())
    n = len(digests)
    first_half = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(n, 32)[:, :16]
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = first_half >> 4
    nibbles[:, 1::2] = first_half & 15
    text = np.full((n, 37), ord("-"), dtype=np.uint8)
    text[:, 36] = ord("\n")
    digits = nibbles + _ZERO  # 0-9 -> "0"-"9", and 10-15 on past "9" to "a"-"f":
    digits += (nibbles > 9) * _A_AFTER_9
    text[:, _KEY_DIGITS] = digits
    return text.tobytes()[:-1].decode("ascii").split("\n")
