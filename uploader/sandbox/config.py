"""The sandbox's knobs: credentials, faults, limits and validation, as frozen data."""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ScriptAction = Literal["respond", "drop", "lose_response", "process"]
RetryAfterFormat = Literal["seconds", "date"]
SourceType = Literal["internal", "vendor"]
# The API routes a script item can target.
SCRIPTABLE_PATHS = ("/leads", "/ping")

# Bodies the real API (Laravel) sends for these codes when a script gives none.
DEFAULT_BODIES: dict[int, dict[str, Any]] = {
    401: {"message": "Unauthorized"},
    403: {"message": "This action is unauthorized."},
    404: {"message": "Not Found"},
    408: {"message": "Request Timeout"},
    422: {"message": "The given data was invalid.", "errors": {}},
    429: {"message": "Too Many Attempts."},
    500: {"message": "Server Error"},
    502: {"message": "Bad Gateway"},
    503: {"message": "Service Unavailable"},
    504: {"message": "Gateway Timeout"},
}


@dataclass(frozen=True, slots=True)
class Scripted:
    """One scripted answer to the next request to `path`, taken before normal processing.

    The state keeps one queue for both routes; a request takes the first queued item whose
    `path` is its own, so the order per route is the order queued.

    Actions:
      respond        answer `status` with `body`/`headers`; nothing is created
      drop           close the connection before applying anything; nothing is created
      lose_response  process the request normally (a lead may be created), then hang up
      process        process normally; with `delay_s` it makes a slow answer (timeouts)
    `delay_s` is waited before the action, whatever it is.
    """

    status: int | None = None
    body: Any = None  # JSON-able; None means the usual body for `status`
    headers: Mapping[str, str] = field(default_factory=dict)
    action: ScriptAction | None = None  # None: "respond" if status is set, else "process"
    delay_s: float = 0.0
    path: str = "/leads"  # or "/ping"

    def __post_init__(self) -> None:
        if self.path not in SCRIPTABLE_PATHS:
            raise ValueError(f"Scripted.path must be one of {SCRIPTABLE_PATHS}, got {self.path!r}")
        if self.resolved_action == "respond" and self.status is None:
            raise ValueError("Scripted(action='respond') needs a status")

    @property
    def resolved_action(self) -> ScriptAction:
        """The action, defaulted from whether a status was given."""
        if self.action is not None:
            return self.action
        return "respond" if self.status is not None else "process"

    def response_body(self) -> Any:
        """The body to send: the script's own, or what Laravel sends for the status."""
        if self.body is not None:
            return self.body
        return DEFAULT_BODIES.get(self.status or 0, {"message": "Error"})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scripted:
        """Build from the JSON the admin endpoint `POST /_sandbox/script` receives."""
        return cls(
            status=data.get("status"),
            body=data.get("body"),
            headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
            action=data.get("action"),
            delay_s=float(data.get("delay_s", 0.0)),
            path=str(data.get("path", "/leads")),
        )


def _throwaway() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How the fake Juiced API behaves. Every random knob is driven by `seed`."""

    # Credentials of the one source the sandbox knows (throwaway unless given).
    api_key: str = field(default_factory=_throwaway, repr=False)
    api_secret: str = field(default_factory=_throwaway, repr=False)
    token: str = field(default_factory=_throwaway, repr=False)

    # Time and randomness.
    latency_s: float = 0.0  # added to every admitted request
    latency_jitter_s: float = 0.0  # plus uniform(0, jitter)
    seed: int = 0

    # Rate limit: at most this many admitted requests in any trailing second.
    rate_limit_per_s: float | None = None
    retry_after_format: RetryAfterFormat = "seconds"

    # Faults, as the share of admitted requests they hit (drawn once per request).
    error_500_ratio: float = 0.0  # nothing created, but clients cannot know that
    error_503_ratio: float = 0.0  # with Retry-After: 1
    drop_ratio: float = 0.0  # connection closed before anything is applied
    lost_response_ratio: float = 0.0  # applied (lead created), then connection closed
    script: Sequence[Scripted] = ()  # stored as a tuple
    revoke_after: int | None = None  # leads created before the credentials stop working

    # The source's own configuration.
    test_mode: bool = True  # honour `is_test: true` (fixed outcomes by zip)
    duplicate_check: bool = True  # same email or phone as an earlier lead -> "duplicate"
    required_fields: tuple[str, ...] = ()
    validate_phone: bool = True  # US: 10 digits, optional leading 1
    validate_email: bool = True
    validate_state: bool = True  # 2 letters
    assign_ratio: float = 0.7  # share of (non-test, non-duplicate) leads without a ping assigned
    ping_ttl_s: float = 300.0  # a lead naming an older ping gets "Ping ID has expired"
    # internal: a ping answers every bid (the lead may pick one by bid_id); vendor: one price.
    source_type: SourceType = "internal"
    # Once this many non-test leads exist, pings answer "Rejected" and leads are "withheld".
    monthly_limit: int | None = None

    # Memory: False keeps counters only (no lead or request records, no duplicate checks),
    # so a million-lead benchmark does not grow the sandbox.
    keep_records: bool = True

    def __post_init__(self) -> None:
        ratios = {
            "error_500_ratio": self.error_500_ratio,
            "error_503_ratio": self.error_503_ratio,
            "drop_ratio": self.drop_ratio,
            "lost_response_ratio": self.lost_response_ratio,
            "assign_ratio": self.assign_ratio,
        }
        for name, value in ratios.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        faults = self.error_500_ratio + self.error_503_ratio + self.drop_ratio
        if faults + self.lost_response_ratio > 1.0:
            raise ValueError("the fault ratios add up to more than 1")
        if self.rate_limit_per_s is not None and not self.rate_limit_per_s > 0:
            raise ValueError("rate_limit_per_s must be greater than 0")
        if self.latency_s < 0 or self.latency_jitter_s < 0:
            raise ValueError("latency_s and latency_jitter_s must not be negative")
        if self.retry_after_format not in ("seconds", "date"):
            raise ValueError("retry_after_format must be 'seconds' or 'date'")
        if self.revoke_after is not None and self.revoke_after < 0:
            raise ValueError("revoke_after must not be negative")
        if self.source_type not in ("internal", "vendor"):
            raise ValueError(
                f"source_type must be 'internal' or 'vendor', got {self.source_type!r}"
            )
        if self.monthly_limit is not None and self.monthly_limit < 0:
            raise ValueError("monthly_limit must not be negative")
        if not 0 <= self.ping_ttl_s < math.inf:
            raise ValueError("ping_ttl_s must be a finite number of seconds, 0 or more")
        object.__setattr__(self, "script", tuple(self.script))
        object.__setattr__(self, "required_fields", tuple(self.required_fields))
