"""Ping-post: a ping's bids, its answer in either source shape, and a lead's claim on it.

Bid prices are not drawn from the seeded stream but hashed from the seed and the ping's
pricing fields, so the same zip and state get the same bids on every ping, in any sandbox
with the same seed, and a test can compute them with `ping_bids`.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from uploader.sandbox.config import SandboxConfig
from uploader.sandbox.state import PingRecord, SandboxState
from uploader.sandbox.validation import PING_EXPIRED, PING_MISMATCH, PING_NOT_FOUND, is_true

MATCH = "Match found"
NO_MATCH = "No match found"
DUPLICATE = "Duplicate"
REJECTED = "Rejected"

# The only fields a ping's price depends on; every other field (urgency, ...) is ignored.
PRICING_FIELDS = ("zip", "state")
PRICE_RANGE_CENTS = (500, 6000)  # 5.00 to 60.00
MAX_BIDS = 4
# Test pings (is_test on a source in test mode): the zips below answer as listed, any other
# zip "Match found"; every match has these bids (45.0 is the assigned test lead's price).
TEST_BID_PRICES = (45.0, 38.5)
TEST_PING_MESSAGES = {"00002": DUPLICATE, "00004": NO_MATCH}
# Who bids, by position in the served list: (tcpa_name, customer_id), as in the docs.
BUYERS = (
    ("Nectarflix Entertainment", 123),
    ("The Mangolorian Security", 456),
    ("Juiceversal Pictures", 789),
    ("Pulp Fiction Insurance", 1011),
)


def pricing_fields(data: Mapping[str, Any]) -> dict[str, str]:
    """The fields prices hash: zip, and state (trimmed, upper case) when it is given."""
    fields: dict[str, str] = {}
    for name in PRICING_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            fields[name] = value.strip().upper() if name == "state" else value.strip()
    return fields


def ping_bids(seed: int, fields: Mapping[str, Any]) -> tuple[float, ...]:
    """The 0 to 4 bid prices a (non-test) ping gets, in the order an internal ping lists them.

    `fields` may be the whole ping body: only `pricing_fields` count. The sha256 of
    "{seed}|key=value&key=value" (keys sorted) gives the count (first byte mod 5) and each
    price in whole cents (next 2-byte words). The list is rotated so that, with two or more
    bids, the best is never first: a client taking bids[0] instead of the best is caught.
    """
    pricing = pricing_fields(fields)
    canonical = f"{seed}|" + "&".join(f"{key}={pricing[key]}" for key in sorted(pricing))
    digest = hashlib.sha256(canonical.encode()).digest()
    low, high = PRICE_RANGE_CENTS
    cents = [
        low + int.from_bytes(digest[1 + 2 * i : 3 + 2 * i], "big") % (high - low + 1)
        for i in range(digest[0] % (MAX_BIDS + 1))
    ]
    return best_not_first(sorted((c / 100 for c in cents), reverse=True), turn=digest[9])


def best_not_first(prices_best_first: Iterable[float], *, turn: int = 0) -> tuple[float, ...]:
    """Rotate a best-first list by 1..n-1 places (chosen by `turn`) so the best is not first."""
    prices = list(prices_best_first)
    if len(prices) < 2:
        return tuple(prices)
    k = 1 + turn % (len(prices) - 1)
    return tuple(prices[k:] + prices[:k])


TEST_BIDS = best_not_first(TEST_BID_PRICES)  # served as (38.5, 45.0)


def decide_ping(
    config: SandboxConfig,
    state: SandboxState,
    data: Mapping[str, Any],
    contacts: Iterable[tuple[str, str]],
) -> tuple[str, tuple[float, ...]]:
    """The message and bid prices (served order) for a valid ping body (Laravel-trimmed)."""
    if config.test_mode and is_true(data.get("is_test")):
        message = TEST_PING_MESSAGES.get(data["zip"], MATCH)
        return message, TEST_BIDS if message == MATCH else ()
    if state.over_monthly_limit(config.monthly_limit):
        return REJECTED, ()
    if config.duplicate_check and state.is_duplicate(contacts):
        return DUPLICATE, ()
    prices = ping_bids(config.seed, data)
    return (MATCH if prices else NO_MATCH), prices


def record_ping(
    config: SandboxConfig,
    state: SandboxState,
    data: Mapping[str, Any],
    contacts: Iterable[tuple[str, str]],
) -> dict[str, Any]:
    """Decide, store the ping (whatever its message) and return the 200 body."""
    message, prices = decide_ping(config, state, data, contacts)
    ping = PingRecord(
        ping_id=str(uuid.uuid4()),
        zip=data["zip"],
        message=message,
        price=max(prices, default=0.0),
        at_monotonic_s=time.monotonic(),
        bids={str(uuid.uuid4()): price for price in prices},
        source_type=config.source_type,
        state=pricing_fields(data).get("state", ""),
        is_test=config.test_mode and is_true(data.get("is_test")),
    )
    state.add_ping(ping, config.ping_ttl_s)
    return ping_body(ping)


def ping_body(ping: PingRecord) -> dict[str, Any]:
    """The contract's PingResponseInternal or PingResponseVendor for a stored ping."""
    if ping.source_type == "vendor":
        return {"ping_id": ping.ping_id, "message": ping.message, "price": ping.price}
    bids = [
        {"id": bid_id, "price": price, "tcpa_name": name, "customer_id": customer_id}
        for (bid_id, price), (name, customer_id) in zip(ping.bids.items(), BUYERS, strict=False)
    ]
    return {"ping_id": ping.ping_id, "message": ping.message, "bids": bids}


@dataclass(frozen=True, slots=True)
class PingClaim:
    """The ping a lead names and the price it takes from it."""

    ping: PingRecord
    price: float  # the chosen bid's (internal) or the ping's (vendor); 0 without a match

    @property
    def matched(self) -> bool:
        """Whether the ping found buyers, so the lead is assigned at `price`."""
        return self.ping.message == MATCH and self.price > 0


def claim_ping(
    config: SandboxConfig, state: SandboxState, data: Mapping[str, Any]
) -> PingClaim | str:
    """Check a lead's `ping_id` (and `bid_id`); the claim, or the 422 `error` text.

    Checks, in order: unknown -> not found; older than ping_ttl_s -> expired; zip differs,
    or both sent a state and they differ -> mismatch; already used by a lead -> not found
    (a ping is spent by its one lead; the docs do not say what a second use gets, and "not
    found" is what a server that consumes pings would say; it comes last so a lead wrong in
    another way hears about that first); internal source: a bid_id that is not one of the
    ping's bids -> mismatch, no bid_id -> the best bid. A vendor source ignores bid_id.
    """
    ping = state.pings.get(data["ping_id"].lower())  # ids are served in lower case
    if ping is None:
        return PING_NOT_FOUND
    if ping.expired(config.ping_ttl_s, time.monotonic()):
        return PING_EXPIRED
    lead_state = pricing_fields(data).get("state", "")
    if ping.zip != data["zip"] or (ping.state and lead_state and ping.state != lead_state):
        return PING_MISMATCH
    if ping.used_by:
        return PING_NOT_FOUND
    bid_id = data.get("bid_id")
    if ping.source_type == "vendor" or bid_id is None:
        return PingClaim(ping, ping.price)
    price = ping.bids.get(bid_id.lower())
    return PING_MISMATCH if price is None else PingClaim(ping, price)
