"""What the sandbox saw and did: created leads, every request, pings; read by tests."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from uploader.sandbox.config import Scripted

REDACTED = "REDACTED"
# Headers whose values are secrets: recorded as REDACTED so no test output can leak them.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})

RequestOutcome = Literal["answered", "dropped", "lost_response"]


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of request headers fit to keep and print."""
    return {k: REDACTED if k.lower() in SECRET_HEADERS else v for k, v in headers.items()}


@dataclass(frozen=True, slots=True)
class LeadRecord:
    """One lead the sandbox created (a 201, including duplicates and lost responses)."""

    lead_public_id: str
    lead_uuid: str
    status: str
    price: float
    payload: dict[str, Any]  # the body exactly as sent
    idempotency_key: str  # "" when the request had no Idempotency-Key header
    headers: dict[str, str]  # as received, secrets REDACTED
    at: float  # wall-clock time.time() of creation
    is_test: bool = False
    response_lost: bool = False  # created, but the client never got the 201

    def to_json(self) -> dict[str, Any]:
        """As served by the admin routes."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request to the API routes (`/leads`, `/ping`), whatever its fate."""

    method: str
    path: str
    status: int | None  # the HTTP status sent, or None when the connection was dropped
    outcome: RequestOutcome
    at: float  # wall-clock time.time() of arrival
    idempotency_key: str = ""
    scripted: bool = False
    lead_public_id: str = ""  # set when the request created a lead

    def to_json(self) -> dict[str, Any]:
        """As served by the admin routes."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PingRecord:
    """A ping the sandbox answered, so a later lead's `ping_id` can be checked."""

    ping_id: str
    zip: str
    message: str
    price: float
    at_monotonic_s: float


@dataclass
class SandboxState:
    """Everything the sandbox remembers. Mutated only on the sandbox's event loop."""

    leads: list[LeadRecord] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    pings: dict[str, PingRecord] = field(default_factory=dict)
    script: deque[Scripted] = field(default_factory=deque)
    revoked: bool = False
    revoke_fired: bool = False  # revoke_after acts once; a restore is final
    _contacts: set[tuple[str, str]] = field(default_factory=set, repr=False)

    # --- recording -------------------------------------------------------------------

    def log(self, record: RequestRecord) -> None:
        """Append one line to the request log."""
        self.requests.append(record)

    def add_lead(self, lead: LeadRecord, contacts: Iterable[tuple[str, str]] = ()) -> None:
        """Keep a created lead; `contacts` feed later duplicate checks."""
        self.leads.append(lead)
        self._contacts.update(contacts)

    def mark_response_lost(self, lead_public_id: str) -> None:
        """Note that the 201 for this lead never reached the client."""
        for i in range(len(self.leads) - 1, -1, -1):  # it is almost always the last one
            if self.leads[i].lead_public_id == lead_public_id:
                self.leads[i] = replace(self.leads[i], response_lost=True)
                return

    def is_duplicate(self, contacts: Iterable[tuple[str, str]]) -> bool:
        """Whether an earlier (non-test) lead had one of these (kind, value) contacts."""
        return any(c in self._contacts for c in contacts)

    def revoke(self) -> None:
        """Refuse the credentials from now on (401), as after a token rotation."""
        self.revoked = True

    def restore(self) -> None:
        """Accept the credentials again; this also disarms `revoke_after`."""
        self.revoked = False
        self.revoke_fired = True

    def next_scripted(self) -> Scripted | None:
        """The next scripted answer, in arrival order (popleft is atomic), or None."""
        try:
            return self.script.popleft()
        except IndexError:
            return None

    # --- reading, for tests ----------------------------------------------------------

    @property
    def created_count(self) -> int:
        """Leads created, duplicates and lost responses included."""
        return len(self.leads)

    @property
    def request_count(self) -> int:
        """Requests to the API routes, whatever their fate."""
        return len(self.requests)

    @property
    def status_counts(self) -> Counter[int]:
        """HTTP statuses actually sent, by code (dropped connections are not here)."""
        return Counter(r.status for r in self.requests if r.status is not None)

    @property
    def lead_status_counts(self) -> Counter[str]:
        """Created leads by their `status` (assigned, duplicate, ...)."""
        return Counter(lead.status for lead in self.leads)

    @property
    def dropped_count(self) -> int:
        """Requests whose connection was closed before anything was applied."""
        return sum(1 for r in self.requests if r.outcome == "dropped")

    @property
    def lost_response_count(self) -> int:
        """Requests that were applied but whose response was never sent."""
        return sum(1 for r in self.requests if r.outcome == "lost_response")

    def count(self, status: int) -> int:
        """How many responses had this HTTP status."""
        return self.status_counts[status]

    def leads_by_key(self) -> dict[str, list[LeadRecord]]:
        """Created leads grouped by Idempotency-Key (leads sent without one are left out)."""
        grouped: dict[str, list[LeadRecord]] = {}
        for lead in self.leads:
            if lead.idempotency_key:
                grouped.setdefault(lead.idempotency_key, []).append(lead)
        return grouped

    def keys_created_twice(self) -> list[str]:
        """Keys that created more than one lead: each one is a client bug (a double sale)."""
        return [key for key, leads in self.leads_by_key().items() if len(leads) > 1]

    def stats(self) -> dict[str, Any]:
        """The summary `GET /_sandbox/stats` serves."""
        return {
            "requests": self.request_count,
            "by_status": {str(k): v for k, v in sorted(self.status_counts.items())},
            "dropped": self.dropped_count,
            "lost_responses": self.lost_response_count,
            "leads_created": self.created_count,
            "by_lead_status": dict(sorted(self.lead_status_counts.items())),
            "keys_created_twice": self.keys_created_twice(),
            "revoked": self.revoked,
            "scripted_left": len(self.script),
        }
