"""What the fake source does with a valid-looking body: leads, pings, statuses, prices, ids.

Ping decisions and a lead's claim on a ping live in `pings`; this module parses, validates,
decides a lead's status and records it.

No HTTP here: the server hands over bytes and gets back an `Answer`. Everything is
synchronous, so concurrent requests cannot interleave between a duplicate check and the
insert that follows it.
"""

from __future__ import annotations

import json
import random
import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any

from uploader.sandbox.config import SandboxConfig
from uploader.sandbox.pings import PRICE_RANGE_CENTS, PingClaim, claim_ping, record_ping
from uploader.sandbox.state import LeadRecord, SandboxState
from uploader.sandbox.validation import contact_pairs, is_true, laravel_input, validate_lead

# Fixed outcomes of `is_test: true` leads when the source is in test mode (documented).
TEST_ZIP_STATUSES: dict[str, str] = {
    "00001": "assigned",
    "00002": "duplicate",
    "00003": "audit",
    "00004": "unassigned",
    "00005": "marketplace",
}
TEST_PRICE = 45.0
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
BAD_BODY = {"message": "The request body must be a JSON object."}
INVALID = "The given data was invalid."

# What a request turned into, before it is sent: (status, JSON body, headers, lead id).
Answer = tuple[int, Any, Mapping[str, str], str]


def new_public_id(now_s: float | None = None) -> str:
    """`lead_` + a lowercase ULID: 48-bit milliseconds then 80 random bits, Crockford base32.

    Ids are not drawn from the seeded generator: two sandboxes must never share one.
    """
    millis = int((time.time() if now_s is None else now_s) * 1000) & ((1 << 48) - 1)
    value = (millis << 80) | secrets.randbits(80)
    chars = [CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1)]
    return "lead_" + "".join(chars)


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one."""
    try:
        payload = json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        return None
    return payload if isinstance(payload, dict) else None


class LeadDesk:
    """Turns bodies into leads and pings; its random draws come from one seeded stream."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(f"{seed}:outcomes")

    def create_lead(
        self,
        config: SandboxConfig,
        state: SandboxState,
        body: bytes,
        *,
        idempotency_key: str,
        headers: Mapping[str, str],
    ) -> Answer:
        """Validate, check the ping, decide status and price, record the lead.

        Outcome, first rule that applies: a test lead gets its zip's fixed status; over
        `monthly_limit` -> withheld; a duplicate -> duplicate; a lead naming a ping is
        assigned at the claimed price when the ping matched, else unassigned (no draw);
        any other lead draws its status and price from the seeded stream.
        """
        payload = json_object(body)
        if payload is None:
            return 400, BAD_BODY, {}, ""
        errors = validate_lead(payload, config, required=config.required_fields)
        if errors:
            return 422, {"message": INVALID, "errors": errors}, {}, ""
        data = laravel_input(payload)
        claim: PingClaim | None = None
        if data.get("ping_id") is not None:
            claimed = claim_ping(config, state, data)
            if isinstance(claimed, str):
                return 422, {"error": claimed}, {}, ""
            claim = claimed

        contacts = contact_pairs(payload)
        is_test = config.test_mode and is_true(data.get("is_test"))
        if is_test:
            status = TEST_ZIP_STATUSES.get(data["zip"], "audit")
            ping_price = claim.price if claim is not None and claim.matched else TEST_PRICE
            price = ping_price if status == "assigned" else 0.0
            contacts = []  # test data does not make later real leads duplicates
        elif state.over_monthly_limit(config.monthly_limit):
            status, price = "withheld", 0.0
        elif config.duplicate_check and state.is_duplicate(contacts):
            status, price = "duplicate", 0.0
        elif claim is not None:
            status, price = ("assigned", claim.price) if claim.matched else ("unassigned", 0.0)
        else:
            status = self.draw_status(config.assign_ratio)
            price = self.draw_price() if status == "assigned" else 0.0

        lead = LeadRecord(
            lead_public_id=new_public_id(),
            lead_uuid=str(uuid.uuid4()),
            status=status,
            price=price,
            payload=payload,
            idempotency_key=idempotency_key,
            headers=dict(headers),
            at=time.time(),
            is_test=is_test,
        )
        state.add_lead(lead, contacts)
        if claim is not None:
            state.use_ping(claim.ping.ping_id, lead.lead_public_id)
        answer = {
            "lead_uuid": lead.lead_uuid,
            "lead_public_id": lead.lead_public_id,
            "status": status,
            "price": price,
        }
        return 201, answer, {}, lead.lead_public_id

    def ping(self, config: SandboxConfig, state: SandboxState, body: bytes) -> Answer:
        """A ping answer in the source's shape; the ping is stored for a later lead."""
        payload = json_object(body)
        if payload is None:
            return 400, BAD_BODY, {}, ""
        errors = validate_lead(payload, config)
        if errors:
            return 422, {"message": INVALID, "errors": errors}, {}, ""
        return (
            200,
            record_ping(config, state, laravel_input(payload), contact_pairs(payload)),
            {},
            "",
        )

    def draw_status(self, assign_ratio: float) -> str:
        """assigned with `assign_ratio`, else unassigned or marketplace half and half."""
        draw = self.random.random()
        if draw < assign_ratio:
            return "assigned"
        return "unassigned" if draw < assign_ratio + (1.0 - assign_ratio) / 2 else "marketplace"

    def draw_price(self) -> float:
        """A price in whole cents, 5.00 to 60.00."""
        return self.random.randint(*PRICE_RANGE_CENTS) / 100
