"""`leadup check`: one call that creates no lead (a test ping), and what its answer says about
the credentials and the API they were sent to.

A ping prices a lead without creating one (../shared/api/NOTES.md) and `is_test: true` marks
it as test data, so a check costs nothing and can be run any time. Every face words the
result the same way (`CheckReport.describe`). Exit codes: 0 the API answered without refusing
the credentials, 2 no credentials (a ConfigError before any call) or an API URL that is wrong
(a 404, 405 or redirect: configuration, not a passing fault), 3 refused credentials or no
answer at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit, urlunsplit

from uploader.errors import MaybeSent, NotSent
from uploader.send.outcomes import error_text
from uploader.send.transport import HttpTransport, LeadTransport
from uploader.settings import DEFAULT_API_URL, ApiSettings, Credentials

# The API requires a zip on every ping; 00001 is the documented test zip (NOTES.md), which a
# source in test mode answers "Match found" with fixed test bids.
TEST_ZIP = "00001"
TEST_PING = {"zip": TEST_ZIP, "is_test": True}
_REFUSED = frozenset({401, 403})
_NO_ENDPOINT = frozenset({404, 405})  # nothing takes a ping POST at this URL
_SAID_CHARS = 200  # what the API said, at most, in a line


class CheckOutcome(Enum):
    """What the check found out."""

    ACCEPTED = "accepted"  # a 2xx answer: the credentials work
    ANSWERED = "answered"  # another answer, but not a refusal of the credentials
    REFUSED = "refused"  # 401 or 403
    WRONG_URL = "wrong_url"  # 404, 405 or a redirect: no ping endpoint where the URL points
    UNREACHABLE = "unreachable"  # no answer: no connection, or none in time


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The answer to one test ping: where it went, with which credentials, and what came back.

    Holds no secret: `credentials_from` names where they were read (variable names), never
    their values, and the API's words are redacted of them.
    """

    api_url: str  # the API base, without any query or fragment
    host: str
    scheme: str  # "Basic" or "Bearer"
    credentials_from: str  # "JUICED_API_KEY and JUICED_API_SECRET", "the sandbox's ..."
    outcome: CheckOutcome
    http_status: int | None = None
    detail: str = ""  # what the API said, or why it could not be reached

    @property
    def exit_code(self) -> int:
        """0 the API did not refuse the credentials; 2 the URL is wrong (configuration, as
        for every command); 3 the credentials were refused, or the API could not be reached."""
        if self.outcome in (CheckOutcome.ACCEPTED, CheckOutcome.ANSWERED):
            return 0
        return 2 if self.outcome is CheckOutcome.WRONG_URL else 3

    def describe(self) -> list[str]:
        """The result in a few plain lines, the first one the verdict."""
        where = f"{self.host} ({self.api_url})"
        used = f"credentials from {self.credentials_from}, {self.scheme} auth"
        status = f"HTTP {self.http_status}"
        said = f": {self.detail}" if self.detail else ""
        if self.outcome is CheckOutcome.ACCEPTED:
            return [
                f"credentials work: {where} answered a test ping with {status}",
                used,
                "nothing was created or charged (a ping with is_test: true)",
            ]
        if self.outcome is CheckOutcome.ANSWERED:
            return [
                f"credentials not refused: {where} answered a test ping with {status}{said}",
                used,
                _answered_hint(self.http_status),
            ]
        if self.outcome is CheckOutcome.WRONG_URL:
            return [
                f"wrong API URL: {where} answered a test ping with {status}{said}",
                f"{used}; they were not checked",
                _wrong_url_hint(self.http_status),
            ]
        if self.outcome is CheckOutcome.REFUSED:
            what = (
                "refused the credentials"
                if self.http_status == 401
                else "does not allow these credentials to send to this source"
            )
            return [
                f"credentials refused: {where} {what} ({status}){said}",
                used,
                f"check {self.credentials_from}: a copied value may be incomplete, or the "
                "key may have been rotated or revoked in the platform",
            ]
        return [
            f"cannot reach {where}: {self.detail}",
            f"{used}; they were not checked",
            "check the API URL (--api-url or JUICED_API_URL) and the network, then run again",
        ]


def credential_variables(credentials: Credentials) -> str:
    """The environment variables `Credentials.from_env` read these credentials from."""
    if credentials.source:
        return credentials.source
    if credentials.scheme == "Bearer":
        return "JUICED_API_TOKEN"
    return "JUICED_API_KEY and JUICED_API_SECRET"


async def check_credentials(
    api: ApiSettings,
    *,
    credentials_from: str | None = None,
    transport: LeadTransport | None = None,
) -> CheckReport:
    """Send one test ping with `api`'s credentials and say what the answer means.

    `credentials_from` says where they came from (default: the usual variable names);
    `transport` replaces the real one in tests.
    """
    try:
        if transport is None:
            async with HttpTransport(api, pool_size=1) as http:
                response = await http.post_ping(dict(TEST_PING))
        else:
            response = await transport.post_ping(dict(TEST_PING))
    except (NotSent, MaybeSent) as exc:  # their words are the transport's, never a secret
        return _report(api, credentials_from, CheckOutcome.UNREACHABLE, None, str(exc))
    outcome = _outcome(response.status)
    said = "" if outcome is CheckOutcome.ACCEPTED else error_text(response)[:_SAID_CHARS]
    said = api.credentials.redact(said)  # an API that echoes what it was sent
    return _report(api, credentials_from, outcome, response.status, said)


def _outcome(status: int) -> CheckOutcome:
    if 200 <= status < 300:
        return CheckOutcome.ACCEPTED
    if status in _REFUSED:
        return CheckOutcome.REFUSED
    if 300 <= status < 400 or status in _NO_ENDPOINT:
        return CheckOutcome.WRONG_URL
    return CheckOutcome.ANSWERED


def _report(
    api: ApiSettings,
    credentials_from: str | None,
    outcome: CheckOutcome,
    status: int | None,
    detail: str,
) -> CheckReport:
    parts = urlsplit(api.base_url)
    return CheckReport(
        api_url=urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
        host=parts.hostname or parts.netloc,
        scheme=api.credentials.scheme,
        credentials_from=credentials_from or credential_variables(api.credentials),
        outcome=outcome,
        http_status=status,
        detail=detail,
    )


def _wrong_url_hint(status: int | None) -> str:
    """What a 404, 405 or redirect asks to fix."""
    what = "a redirect" if status is not None and 300 <= status < 400 else "no ping endpoint"
    return (
        f"{what} at this URL: set the API's base URL (--api-url or JUICED_API_URL), the part"
        f" before /leads and /ping, e.g. {DEFAULT_API_URL}"
    )


def _answered_hint(status: int | None) -> str:
    """What an answer other than a success, a refusal or a wrong URL suggests doing."""
    if status == 429:
        return "the API asked to slow down; the credentials were not refused"
    if status is not None and status >= 500:
        return "the API had a problem answering; try again in a minute"
    return "the API took the credentials but not the test ping; uploads may still work"
