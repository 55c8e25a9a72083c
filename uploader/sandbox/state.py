"""What the sandbox saw and did: created leads, every request, pings; read by tests."""

from __future__ import annotations

import math
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
    """A ping the sandbox answered (whatever its message), so a later lead can name it."""

    ping_id: str
    zip: str
    message: str
    price: float  # the best bid; 0 when there is none
    at_monotonic_s: float  # time.monotonic() of the answer; -inf once force-expired
    bids: Mapping[str, float] = field(default_factory=dict)  # bid id -> price, served order
    source_type: str = "internal"  # of the source when it answered
    state: str = ""  # the ping's state, upper case; "" when it gave none
    is_test: bool = False
    used_by: str = ""  # lead_public_id of the one lead that used it

    def expired(self, ttl_s: float, now_monotonic_s: float) -> bool:
        """Older than the TTL: a lead naming it gets "Ping ID has expired"."""
        return now_monotonic_s - self.at_monotonic_s > ttl_s

    def to_json(self, ttl_s: float, now_monotonic_s: float) -> dict[str, Any]:
        """As served by `GET /_sandbox/pings`."""
        return {
            "ping_id": self.ping_id,
            "zip": self.zip,
            "state": self.state or None,
            "source_type": self.source_type,
            "message": self.message,
            "bids": [{"id": bid_id, "price": price} for bid_id, price in self.bids.items()],
            "price": self.price,
            "expired": self.expired(ttl_s, now_monotonic_s),
            "used": bool(self.used_by),
        }


@dataclass
class SandboxState:
    """Everything the sandbox remembers. Mutated only on the sandbox's event loop.

    Counters are kept in both modes. With `keep_records` False (set from the config) no
    LeadRecord or RequestRecord is kept, nor the contacts duplicate checks need (so no lead
    is ever a duplicate), a used ping is forgotten, and expired pings are pruned as new ones
    arrive (a lead naming a pruned ping gets "not found" rather than "expired").
    """

    leads: list[LeadRecord] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    pings: dict[str, PingRecord] = field(default_factory=dict)
    script: deque[Scripted] = field(default_factory=deque)
    revoked: bool = False
    revoke_fired: bool = False  # revoke_after acts once; a restore is final
    keep_records: bool = True
    first_request_at: float | None = None  # time.time() of the first API request
    _contacts: set[tuple[str, str]] = field(default_factory=set, repr=False)
    _created: int = 0
    _non_test_created: int = 0
    _requests: int = 0
    _pings_answered: int = 0
    _dropped: int = 0
    _lost: int = 0
    _status_counts: Counter[int] = field(default_factory=Counter)
    _lead_status_counts: Counter[str] = field(default_factory=Counter)

    # --- recording -------------------------------------------------------------------

    def log(self, record: RequestRecord) -> None:
        """Count one API request; keep its record too unless records are off."""
        self._requests += 1
        if record.status is not None:
            self._status_counts[record.status] += 1
        if record.outcome == "dropped":
            self._dropped += 1
        elif record.outcome == "lost_response":
            self._lost += 1
        if self.first_request_at is None or record.at < self.first_request_at:
            self.first_request_at = record.at
        if self.keep_records:
            self.requests.append(record)

    def add_lead(self, lead: LeadRecord, contacts: Iterable[tuple[str, str]] = ()) -> None:
        """Count a created lead and keep it; `contacts` feed later duplicate checks."""
        self._created += 1
        self._non_test_created += not lead.is_test
        self._lead_status_counts[lead.status] += 1
        if self.keep_records:
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

    def over_monthly_limit(self, limit: int | None) -> bool:
        """Whether `limit` non-test leads exist already (None: no limit)."""
        return limit is not None and self._non_test_created >= limit

    def add_ping(self, ping: PingRecord, ttl_s: float) -> None:
        """Keep an answered ping until a lead uses it (and, with records, afterwards)."""
        self._pings_answered += 1
        if not self.keep_records:  # insertion order is age order: prune from the front
            now = ping.at_monotonic_s
            while self.pings:
                oldest = next(iter(self.pings.values()))
                if not oldest.expired(ttl_s, now):
                    break
                del self.pings[oldest.ping_id]
        self.pings[ping.ping_id] = ping

    def use_ping(self, ping_id: str, lead_public_id: str) -> None:
        """Spend a ping on one lead; a second lead naming it is refused."""
        if not self.keep_records:
            self.pings.pop(ping_id, None)
        elif ping_id in self.pings:
            self.pings[ping_id] = replace(self.pings[ping_id], used_by=lead_public_id)

    def expire_pings(self) -> int:
        """Age every stored ping past any TTL (for tests that cannot wait); returns how many."""
        for ping_id in list(self.pings):
            self.pings[ping_id] = replace(self.pings[ping_id], at_monotonic_s=-math.inf)
        return len(self.pings)

    def revoke(self) -> None:
        """Refuse the credentials from now on (401), as after a token rotation."""
        self.revoked = True

    def restore(self) -> None:
        """Accept the credentials again; this also disarms `revoke_after`."""
        self.revoked = False
        self.revoke_fired = True

    def next_scripted(self, path: str = "/leads") -> Scripted | None:
        """The first queued answer for `path`, removed from the queue, or None.

        Synchronous (no await), so concurrent requests take items in arrival order.
        """
        for i, item in enumerate(self.script):
            if item.path == path:
                del self.script[i]
                return item
        return None

    # --- reading, for tests ----------------------------------------------------------

    @property
    def created_count(self) -> int:
        """Leads created, duplicates and lost responses included."""
        return self._created

    @property
    def request_count(self) -> int:
        """Requests to the API routes, whatever their fate."""
        return self._requests

    @property
    def ping_count(self) -> int:
        """Pings answered 200 (each one got a ping_id)."""
        return self._pings_answered

    @property
    def status_counts(self) -> Counter[int]:
        """HTTP statuses actually sent, by code (dropped connections are not here)."""
        return Counter(self._status_counts)

    @property
    def lead_status_counts(self) -> Counter[str]:
        """Created leads by their `status` (assigned, duplicate, ...)."""
        return Counter(self._lead_status_counts)

    @property
    def dropped_count(self) -> int:
        """Requests whose connection was closed before anything was applied."""
        return self._dropped

    @property
    def lost_response_count(self) -> int:
        """Requests that were applied but whose response was never sent."""
        return self._lost

    def count(self, status: int) -> int:
        """How many responses had this HTTP status."""
        return self._status_counts[status]

    def leads_by_key(self) -> dict[str, list[LeadRecord]]:
        """Created leads grouped by Idempotency-Key (leads sent without one are left out).

        Empty when records are off: the keys were never kept.
        """
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
            "by_status": {str(k): v for k, v in sorted(self._status_counts.items())},
            "dropped": self.dropped_count,
            "lost_responses": self.lost_response_count,
            "leads_created": self.created_count,
            "by_lead_status": dict(sorted(self._lead_status_counts.items())),
            "pings": self.ping_count,
            "keys_created_twice": self.keys_created_twice(),
            "revoked": self.revoked,
            "scripted_left": len(self.script),
            "first_request_at": self.first_request_at,
            "records_kept": self.keep_records,
        }
