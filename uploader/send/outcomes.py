"""What an API answer or a transport error means for a row: final, retry, pause or stop.

The one place that knows HTTP status codes. RFC 9110 §9.2.2: a POST the server does not
deduplicate is resent automatically only when it was certainly not applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from uploader.model import Outcome
from uploader.send.transport import ApiResponse

# Never applied, so safe to resend, and a sign of overload: 408 Request Timeout, 425 Too
# Early, 503 Unavailable. They lower the pace as a 429 does (DECISIONS: Outages and crashes).
_OVERLOAD = frozenset({408, 425, 503})
_AUTH = frozenset({401, 403})
_UNREADABLE_CREATED = "created, but the API's answer was unreadable (no price or lead id)"
# Where credentials are read when nobody says otherwise (`Credentials.from_env`'s defaults).
DEFAULT_CREDENTIALS_FROM = "JUICED_API_KEY and JUICED_API_SECRET, or JUICED_API_TOKEN"


class Action(Enum):
    """What the pool does next with a row."""

    FINAL = "final"  # the row has its outcome
    RETRY = "retry"  # certainly not applied (no connection): try again after a backoff
    RATE_LIMITED = "rate_limited"  # 429: pause everyone, lower the rate, try again
    OVERLOADED = "overloaded"  # 503/408/425: lower the rate, try this row again later
    AMBIGUOUS = "ambiguous"  # may have been applied: unknown, unless --retry-unsafe
    AUTH = "auth"  # credentials refused: stop the run, the row stays pending


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision about one answer, with what the results line needs."""

    action: Action
    outcome: Outcome | None = None
    http_status: int | None = None
    lead_status: str = ""
    price: float | None = None
    lead_public_id: str = ""
    error: str = ""
    retry_after: str | None = None


def judge_response(response: ApiResponse, credentials_from: str = "") -> Verdict:
    """Decide what one HTTP answer means; a refusal names `credentials_from` (the variables
    the credentials were read from, `Credentials.source`) as what to check."""
    status = response.status
    if 200 <= status < 300:
        return _created(response)
    if status in _AUTH:
        error = _auth_message(status, credentials_from)
        return Verdict(Action.AUTH, http_status=status, error=error)
    if status == 429:
        return Verdict(
            Action.RATE_LIMITED,
            http_status=status,
            error="the API asked to slow down (HTTP 429)",
            retry_after=response.retry_after,
        )
    if status in _OVERLOAD:
        return Verdict(
            Action.OVERLOADED,
            outcome=Outcome.FAILED,
            http_status=status,
            error=said(f"the API was too busy to take it (HTTP {status})", response),
            retry_after=response.retry_after,
        )
    if status >= 500:
        return Verdict(
            Action.AMBIGUOUS,
            outcome=Outcome.UNKNOWN,
            http_status=status,
            error=f"the API failed while taking the lead (HTTP {status}); it may have been created",
        )
    if 300 <= status < 400:
        return Verdict(
            Action.FINAL,
            outcome=Outcome.REJECTED,
            http_status=status,
            error=f"the API answered with a redirect (HTTP {status}): check the API URL",
        )
    return Verdict(
        Action.FINAL,
        outcome=Outcome.REJECTED,
        http_status=status,
        error=error_text(response) or f"the API refused the lead (HTTP {status})",
    )


def _created(response: ApiResponse) -> Verdict:
    body = response.body if isinstance(response.body, dict) else {}
    price = body.get("price")
    public_id = body.get("lead_public_id") or body.get("lead_uuid") or ""
    return Verdict(
        Action.FINAL,
        outcome=Outcome.CREATED,
        http_status=response.status,
        lead_status=str(body.get("status") or ""),
        price=float(price) if isinstance(price, int | float) else None,
        lead_public_id=str(public_id),
        error="" if response.body is not None else _UNREADABLE_CREATED,
    )


def error_text(response: ApiResponse) -> str:
    """The server's reasons in one line: `field: reason; field: reason`, or its message."""
    body: Any = response.body
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, dict) and errors:
            parts: list[str] = []
            for field, reasons in errors.items():
                reasons = reasons if isinstance(reasons, list) else [reasons]
                parts.extend(f"{field}: {reason}" for reason in reasons)
            return "; ".join(parts)
        for key in ("error", "message"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    return " ".join(response.text.split())[:300]


def said(what: str, response: ApiResponse) -> str:
    """`what`, and what the API said about it, if anything."""
    text = error_text(response)
    return f"{what}: {text}" if text else what


def _auth_message(status: int, credentials_from: str) -> str:
    """What to fix, naming the variables the credentials were read from (a job's own)."""
    where = credentials_from or DEFAULT_CREDENTIALS_FROM
    if status == 401:
        return f"the API refused the credentials (HTTP 401): check {where}"
    return (
        "the credentials are not allowed to post leads to this source (HTTP 403): check that"
        f" {where} hold this source's credentials"
    )
