"""Policies and settings of an upload, as frozen data with units in their names."""

from __future__ import annotations

import base64
import ipaddress
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from uploader.errors import ConfigError

DEFAULT_API_URL = "https://usejuiced.com/api"
REDACTED = "[redacted]"  # what stands where a credential was


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with each of `secrets` (longest first, see `Credentials.secrets`) replaced."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


@dataclass(frozen=True, slots=True)
class Credentials:
    """A source's credentials. Never printed: repr and str are redacted."""

    api_key: str = field(default="", repr=False)
    api_secret: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    # Where they were read: variable names, never values ("ACME_KEY and ACME_SECRET"), so a
    # refusal names what to fix; "" when they were given, not read (a sandbox's).
    source: str = field(default="", compare=False)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        key_env: str = "JUICED_API_KEY",
        secret_env: str = "JUICED_API_SECRET",
        token_env: str = "JUICED_API_TOKEN",
    ) -> Credentials:
        """Read Basic (key + secret) or Bearer (token) credentials from the environment."""
        env = os.environ if env is None else env
        token = env.get(token_env, "").strip()
        key = env.get(key_env, "").strip()
        secret = env.get(secret_env, "").strip()
        for name, value in ((token_env, token), (key_env, key), (secret_env, secret)):
            if any(ord(c) < 32 or ord(c) == 127 for c in value):
                raise ConfigError(f"{name} contains a control character (a pasting accident?)")
        if token:
            return cls(token=token, source=token_env)
        if key and secret:
            return cls(api_key=key, api_secret=secret, source=f"{key_env} and {secret_env}")
        if key or secret:
            missing = secret_env if key else key_env
            raise ConfigError(
                f"{missing} is not set: Basic auth needs both {key_env} and {secret_env}"
            )
        raise ConfigError(
            f"no credentials: set {token_env} (Bearer), or {key_env} and {secret_env} (Basic)"
        )

    @property
    def scheme(self) -> str:
        return "Bearer" if self.token else "Basic"

    def authorization(self) -> str:
        """The Authorization header value."""
        if self.token:
            return f"Bearer {self.token}"
        raw = f"{self.api_key}:{self.api_secret}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def secrets(self) -> tuple[str, ...]:
        """Every string that must never appear in output, longest first (for redaction).

        Each encoding the credential can take on the wire or in an echo of it: the token,
        key and secret as they are, `key:secret`, its base64 (standard, unpadded, URL-safe),
        and each of those as it reads inside a JSON string.
        """
        values = {self.token, self.api_key, self.api_secret}
        if self.api_key or self.api_secret:
            pair = f"{self.api_key}:{self.api_secret}"
            encoded = base64.b64encode(pair.encode()).decode("ascii")
            urlsafe = base64.urlsafe_b64encode(pair.encode()).decode("ascii")
            values |= {pair, encoded, encoded.rstrip("="), urlsafe, urlsafe.rstrip("=")}
        values |= {json.dumps(v)[1:-1] for v in values}  # a quote or backslash, escaped
        return tuple(sorted((v for v in values if v), key=lambda v: (-len(v), v)))

    def redact(self, text: str) -> str:
        """`text` with every form of the credentials (see `secrets`) replaced by [redacted]."""
        return redact(text, self.secrets())

    def __repr__(self) -> str:
        return f"Credentials(scheme={self.scheme}, redacted)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how often a row is tried again."""

    max_attempts: int = 5
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    retry_after_max_s: float = 120.0  # a Retry-After longer than this is clamped to it
    # A row refused by overload answers (429, 503, 408, 425) for longer than this ends failed.
    rate_limited_max_s: float = 600.0
    retry_unsafe: bool = False  # resend requests that may have been applied (same key)
    # The run stops before more than this many rows of its own could end `unknown` (each is a
    # manual check for someone): requests out count against it until they are answered.
    max_unknown: int = 20

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError("--max-attempts must be at least 1")
        if self.max_unknown < 1:
            raise ConfigError("--max-unknown must be at least 1")


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """Pacing: an even request rate that backs off on 429 and recovers when they stop."""

    rate_per_s: float = 10.0
    min_rate_per_s: float = 0.2
    decrease_factor: float = 0.85  # multiplicative decrease on a 429 episode
    increase_per_s2: float = 1.0  # additive increase, requests/s gained per second of calm
    probe_increase_per_s2: float = 0.1  # slower increase near the rate that last drew a 429
    # Estimating the server's limit from what it accepted, to go straight under it on a 429.
    measure_window_s: float = 1.0  # accepted responses are counted over this trailing window
    measure_min_s: float = 0.5  # ...and only once this long has passed since a pause or start
    measured_share: float = 0.95  # after a 429 the rate is at most this share of the measure
    probe_band: float = 0.05  # within this share of the last 429's rate, grow at probe speed
    # Overload answers (503, 408, 425) lower the rate at most once per this many seconds:
    # they come at random as well as from load, and a decrease per answer would collapse it.
    overload_episode_s: float = 2.0
    # A request whose in-flight mark took longer than this (and one interval) to commit takes
    # a fresh slot, so a slow fsync cannot release a burst; shorter waits are not stalls.
    stall_s: float = 0.02

    def __post_init__(self) -> None:
        if not self.rate_per_s > 0:
            raise ConfigError("--rate must be greater than 0")


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    """When the API is failing (5xx that may have applied, no connection), pause and probe.

    Overload answers (429, 503, 408, 425) are not failures here: they lower the pace instead.
    """

    failure_ratio: float = 0.5  # share of server failures among the recent requests
    window: int = 20  # recent requests considered
    pause_s: float = 5.0  # the first pause when the circuit opens; doubles after a failed probe
    max_pauses: int = 4  # this many failed probes in a row: the API is down, the run stops


@dataclass(frozen=True, slots=True)
class PingPolicy:
    """Ping-post: price each lead with `POST /ping` first, post it only at or above a floor.

    `post=False` is `leadup quote`: ping every row, post none. `rate_per_s` gives pings a
    pace of their own; None shares the upload's (two requests per sold lead).
    """

    fields: tuple[str, ...] = ("zip", "state")  # what the ping sends besides is_test
    min_price: float = 0.0  # the floor: a best price below it is held back
    post: bool = True
    rate_per_s: float | None = None

    def __post_init__(self) -> None:
        if self.min_price < 0:
            raise ConfigError("--min-price must not be negative")
        if self.rate_per_s is not None and not self.rate_per_s > 0:
            raise ConfigError("--ping-rate must be greater than 0")
        if "zip" not in self.fields:  # the API requires it on every ping
            object.__setattr__(self, "fields", ("zip", *self.fields))

    def identity(self) -> dict[str, object]:
        """What a resume must share with the run it continues (the pace may change)."""
        return {"fields": list(self.fields), "min_price": self.min_price, "post": self.post}


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Where and how to reach the API."""

    credentials: Credentials
    base_url: str = DEFAULT_API_URL
    partner_id: str = ""
    timeout_s: float = 30.0  # from the moment a request is sent (DECISIONS: Timeouts)
    connect_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        check_url(self.base_url)


@dataclass(frozen=True, slots=True)
class UploadSettings:
    """Everything one upload needs besides the file."""

    api: ApiSettings
    concurrency: int = 8
    rate: RatePolicy = RatePolicy()
    retry: RetryPolicy = RetryPolicy()
    circuit: CircuitPolicy = CircuitPolicy()
    ping: PingPolicy | None = None  # ping-post mode; None posts every lead directly
    grace_s: float = 2.0  # how long requests that are out may finish after a stop (issue 4: <3 s)

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError("--concurrency must be at least 1")


def check_url(url: str) -> None:
    """Refuse URLs that are not http(s), and plain http to anything but loopback.

    A URL is never echoed with what stands before an `@` (a user or password), whatever its
    shape: `user:pass@host/api` has no `//`, so urlsplit reads `user` as its scheme.
    """
    try:
        parts = urlsplit(url)
        hostname, port = parts.hostname, parts.port  # both parse lazily, and may refuse
        has_user = parts.username is not None or parts.password is not None
    except ValueError as exc:  # "Invalid IPv6 URL", a port that is not a number
        raise ConfigError(f"the API URL is not a valid URL ({exc}): {shown_url(url)!r}") from None
    if has_user or "@" in url.split("?", 1)[0].split("#", 1)[0]:
        raise ConfigError(
            "the API URL must not contain a user or password (put credentials in the "
            f"environment): {shown_url(url)!r}"
        )
    if parts.scheme not in ("http", "https") or not hostname or port == 0:
        raise ConfigError(f"API URL must be http(s)://host/...: {shown_url(url)!r}")
    if parts.scheme == "http" and not is_loopback(hostname):
        raise ConfigError(f"refusing to send credentials over plain http to {hostname}; use https")


def shown_url(url: str) -> str:
    """`url` fit to print: whatever stands before its last `@` (a user, a password) is `***`."""
    head, at, rest = url.rpartition("@")
    if not at:
        return url
    scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://|//", head)
    return f"{scheme.group(0) if scheme else ''}***@{rest}"


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (plain http is fine there: nothing crosses a network)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read the lead file; None means detect it."""

    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None  # 1-based line (CSV) or row (Excel) of the header
    sheet: str | int | None = None  # Excel sheet by name or 0-based index
    chunk_rows: int = 10_000  # CSV rows per chunk: memory follows this, not the file


@dataclass(frozen=True, slots=True)
class PrepareOptions:
    """How rows become leads: normalising, checks before sending, and test mode."""

    country: str = "US"  # default region for phones and postal codes
    require: tuple[str, ...] = ()  # fields the source marks required
    keep_duplicates: bool = False  # send rows that repeat an earlier row's email or phone
    is_test: bool = False  # send is_test: true
    # The countries the source takes, for files with a country column; () means `country`.
    countries: tuple[str, ...] = ()
    allow_no_contact: bool = False  # send rows with neither a usable email nor phone

    def taken_countries(self) -> tuple[str, ...]:
        """The countries a row may be of: `--countries`, else `--country` alone."""
        return tuple(c.upper() for c in self.countries) or (self.country.upper(),)


def country_codes(text: str) -> tuple[str, ...]:
    """`US,ca` -> ("US", "CA"), for --countries; ValueError for what is not 2-letter codes."""
    codes = tuple(dict.fromkeys(c.strip().upper() for c in text.split(",") if c.strip()))
    if text.strip() and (not codes or any(len(c) != 2 or not c.isalpha() for c in codes)):
        raise ValueError(f"{text!r}: two-letter country codes separated by commas, like US,CA")
    return codes


# -- limits shared by the command line and job files ---------------------------------------

MAX_CONCURRENCY = 256  # requests in flight at once; more only hurts (and the API throttles)


@dataclass(frozen=True, slots=True)
class Limit:
    """The values a number setting may take: finite, above (or at) `low`, at most `high`.

    The command line (click types in `uploader.cli.options`) and job files (`jobs.config`)
    check against the same limits, so a job file cannot ask for what `--rate` would refuse.
    """

    low: float
    low_open: bool = False  # True: strictly greater than `low`
    high: float | None = None
    integer: bool = False

    def describe(self) -> str:
        """In words, for error messages: "a whole number from 1 to 256"."""
        kind = "a whole number" if self.integer else "a number"
        if self.high is not None:
            return f"{kind} from {self.low:g} to {self.high:g}"
        return f"{kind} {'greater than' if self.low_open else 'of at least'} {self.low:g}"

    def allows(self, value: object) -> bool:
        """Whether `value` is within the limit (never NaN or infinite)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        return above and (self.high is None or value <= self.high)

    def problem(self, value: object) -> str:
        """Why `value` is not allowed, in words ("" when it is)."""
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number, not {value!r}"
        if not self.allows(value):
            return f"must be {self.describe()}, not {value!r}"
        return ""

    def check(self, value: float, name: str) -> float:
        """`value` if allowed, else a ConfigError naming the setting."""
        problem = self.problem(value)
        if problem:
            raise ConfigError(f"{name} {problem}")
        return value


CONCURRENCY_LIMIT = Limit(1, high=MAX_CONCURRENCY, integer=True)
RATE_LIMIT = Limit(0, low_open=True)  # requests per second
TIMEOUT_LIMIT = Limit(0, low_open=True)  # seconds to wait for something
SECONDS_LIMIT = Limit(0)  # a duration that may be zero (settle time, Retry-After cap)


# -- API settings from the environment (the CLI and jobs alike) ------------------------------

URL_ENV = "JUICED_API_URL"
PARTNER_ENV = "JUICED_PARTNER_ID"


def api_settings_from_env(
    env: Mapping[str, str] | None = None,
    *,
    base_url: str | None = None,
    partner_id: str | None = None,
    credentials: Credentials | None = None,
    timeout_s: float | None = None,
    key_env: str = "JUICED_API_KEY",
    secret_env: str = "JUICED_API_SECRET",
    token_env: str = "JUICED_API_TOKEN",
    url_env: str = URL_ENV,
    partner_env: str = PARTNER_ENV,
) -> ApiSettings:
    """Where and how to reach the API, the same way for every face.

    Each value comes from the argument when given (not None and not blank), else from the
    environment (`url_env`, `partner_env`, and the credentials from `key_env`/`secret_env` or
    `token_env`), else the default (DEFAULT_API_URL, no partner id). Values are stripped of
    surrounding white space wherever they come from: a pasted value often ends in a newline.
    `credentials` given (an embedded sandbox's) are used as they are. `timeout_s` None keeps
    ApiSettings' default. ConfigError says what is missing or wrong, by variable name.
    """
    env = os.environ if env is None else env
    if credentials is None:
        credentials = Credentials.from_env(
            env, key_env=key_env, secret_env=secret_env, token_env=token_env
        )
    url = _given(base_url) or _from_env(env, url_env) or DEFAULT_API_URL
    partner = _given(partner_id) or _from_env(env, partner_env)
    if any(ord(c) < 32 or ord(c) == 127 for c in partner):
        raise ConfigError("the partner id contains a control character (a pasting accident?)")
    if timeout_s is None:
        return ApiSettings(credentials=credentials, base_url=url, partner_id=partner)
    TIMEOUT_LIMIT.check(timeout_s, "the request timeout")
    return ApiSettings(
        credentials=credentials, base_url=url, partner_id=partner, timeout_s=timeout_s
    )


def _given(value: str | None) -> str:
    return "" if value is None else value.strip()


def _from_env(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()
