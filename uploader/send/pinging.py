"""Ping-post: what a ping answer says a lead is worth, and whether to sell it at that price.

A ping creates no lead (NOTES.md), so unlike a post it may be retried after any transient
failure, an ambiguous one included. The answer comes in two shapes: internal sources list
`bids` (each with an `id` to post as `bid_id`), vendor sources give one `price`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from uploader.model import Outcome, RowResult
from uploader.send.outcomes import Action, Verdict, judge_response, said
from uploader.send.transport import ApiResponse

MATCH = "match found"
# The 422 `error` strings a post with a ping_id can get (NOTES.md).
PING_EXPIRED = "ping id has expired"
_CENTS = 100


@dataclass(frozen=True, slots=True)
class PingQuote:
    """One ping's answer: its id, message and best price (and the best bid, internal)."""

    ping_id: str
    message: str
    best_price: float | None  # None: no price at all (no match, duplicate, rejected)
    best_bid_id: str = ""  # internal sources; "" for vendor sources

    @property
    def matched(self) -> bool:
        return self.best_price is not None

    def cells(self, bid_id: str = "") -> dict[str, Any]:
        """The PING_COLUMNS values (`RowResult.extra`) for this quote."""
        return {
            "ping_id": self.ping_id,
            "ping_message": self.message,
            "bid_price": self.best_price,
            "bid_id": bid_id,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """Post with this ping (and bid), or hold the lead back for `reason`."""

    post: bool
    reason: str = ""
    bid_id: str = ""


def ping_payload(payload: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The fields a ping sends: the chosen ones the lead has, and its is_test flag."""
    body = {key: payload[key] for key in fields if payload.get(key) not in (None, "")}
    if "is_test" in payload:
        body["is_test"] = payload["is_test"]
    return body


def judge_ping(
    response: ApiResponse, credentials_from: str = ""
) -> tuple[Verdict, PingQuote | None]:
    """What one ping answer means: a quote, a rejection, or a retry (never ambiguous)."""
    verdict = judge_response(response, credentials_from)
    if verdict.action is Action.AMBIGUOUS:  # a 5xx: nothing was created, so try again
        verdict = Verdict(
            Action.RETRY,
            outcome=Outcome.FAILED,
            http_status=response.status,
            error=said(f"ping: the API failed to answer (HTTP {response.status})", response),
        )
    if verdict.action is Action.FINAL and verdict.outcome is Outcome.REJECTED:
        return _prefixed(verdict), None
    if verdict.action is not Action.FINAL:
        return verdict, None
    body = response.body if isinstance(response.body, dict) else {}
    ping_id = body.get("ping_id")
    if not isinstance(ping_id, str) or not ping_id:
        error = "ping: the API's answer had no ping id"
        retry = Verdict(Action.RETRY, Outcome.FAILED, http_status=response.status, error=error)
        return retry, None
    return verdict, _quote(ping_id, body)


def _prefixed(verdict: Verdict) -> Verdict:
    return Verdict(
        verdict.action,
        outcome=verdict.outcome,
        http_status=verdict.http_status,
        error=f"ping: {verdict.error}",
    )


def _quote(ping_id: str, body: Mapping[str, Any]) -> PingQuote:
    message = str(body.get("message") or "")
    raw_bids = body.get("bids")
    if isinstance(raw_bids, list):
        bids = tuple(
            (str(bid["id"]), float(bid["price"]))
            for bid in raw_bids
            if isinstance(bid, dict) and _is_price(bid.get("price")) and bid.get("id")
        )
        if not bids or message.lower() != MATCH:
            return PingQuote(ping_id, message, None)
        best_id, best = max(bids, key=lambda bid: bid[1])
        return PingQuote(ping_id, message, best, best_bid_id=best_id)
    price = body.get("price")
    if message.lower() != MATCH or not isinstance(price, int | float) or not _is_price(price):
        return PingQuote(ping_id, message, None)
    return PingQuote(ping_id, message, float(price))


def _is_price(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def decide(quote: PingQuote, floor: float) -> Decision:
    """Sell to the highest bid at or above the floor; otherwise say why not."""
    if not quote.matched:
        return Decision(False, reason=f"ping: {quote.message or 'no price'}")
    assert quote.best_price is not None
    if _cents(quote.best_price) < _cents(floor):
        return Decision(False, reason=f"best bid {quote.best_price:.2f} below floor {floor:.2f}")
    return Decision(True, bid_id=quote.best_bid_id)


def _cents(value: float) -> int:
    return round(value * _CENTS)


def post_payload(payload: Mapping[str, Any], quote: PingQuote, decision: Decision) -> dict:
    """The lead with the ping it was priced by (and, internal sources, the chosen bid)."""
    body = {**payload, "ping_id": quote.ping_id}
    if decision.bid_id:
        body["bid_id"] = decision.bid_id
    return body


def is_expired_ping(result: RowResult) -> bool:
    """A post refused because its ping expired: ping again once, then post."""
    return (
        result.outcome is Outcome.REJECTED
        and result.http_status == 422
        and result.error.strip().lower() == PING_EXPIRED
    )
