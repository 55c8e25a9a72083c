"""The cluster's PostgreSQL: where its URL comes from, how it is shown, and reconnecting.

The URL is read from the environment only (`LEADUP_DATABASE_URL`, or the variable a job
file's `[cluster] database_env` names), never from the command line where `ps` and shell
history would keep its password; and it is only ever shown through `redact_url`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from uploader.errors import ClusterError
from uploader.settings import REDACTED

DATABASE_ENV = "LEADUP_DATABASE_URL"
RECONNECT_S = 120.0  # how long a journal write waits for PostgreSQL to come back
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)

log = logging.getLogger("leadup.cluster")
T = TypeVar("T")


def database_url(env: Mapping[str, str], variable: str = DATABASE_ENV) -> str:
    """The database URL from `variable` in `env`, or a ClusterError saying what to set."""
    url = env.get(variable, "").strip()
    if not url:
        raise ClusterError(
            f"no database: set {variable} to the cluster's PostgreSQL URL"
            " (postgresql://user:password@host:5432/leadup); it is read from the environment"
            " only, never from the command line"
        )
    return url


def redact_url(url: str) -> str:
    """The URL as it may be shown: its password (URL or `password=` keyword) replaced."""
    text = _KEYWORD_PASSWORD.sub(lambda m: m.group(1) + REDACTED, url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return REDACTED
    if parts.password is None:
        return text
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:{REDACTED}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redact_text(text: str, url: str) -> str:
    """An error message from the driver, with the URL's password taken out wherever it is."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    text = text.replace(url, redact_url(url))
    return text.replace(password, REDACTED) if password else text


def connect(url: str, **kwargs: Any) -> Any:
    """A psycopg connection in autocommit mode (transactions are explicit: `with
    db.transaction()`), or a ClusterError with the password hidden.

    A session idle inside a transaction for 5 s is ended by the server: a paused worker
    (SIGSTOP) must not hold the lock a takeover waits for.
    """
    import psycopg

    options = "-c idle_in_transaction_session_timeout=5000"
    try:
        return psycopg.connect(url, connect_timeout=5, autocommit=True, options=options, **kwargs)
    except psycopg.Error as exc:
        raise ClusterError(
            f"cannot reach the cluster database {redact_url(url)}: {redact_text(str(exc), url)}"
        ) from None


def is_disconnect(exc: BaseException) -> bool:
    """A lost or refused connection (PostgreSQL restarting), as opposed to a bad statement;
    also when procrastinate or the pool wrapped it."""
    import psycopg
    import psycopg_pool

    lost = (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout)
    seen: BaseException | None = exc
    for _ in range(5):  # the chain of causes, a few deep
        if seen is None:
            return False
        if isinstance(seen, lost):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retrying(
    action: Callable[[], T], *, reconnect: Callable[[], None], deadline_s: float = RECONNECT_S
) -> T:
    """Run `action`; while PostgreSQL is unreachable, reconnect and run it again.

    Only for actions that may run twice with the same effect: a transaction whose COMMIT
    was lost with the connection may have been applied.
    """
    give_up = time.monotonic() + deadline_s
    pause = 0.1
    while True:
        try:
            return action()
        except Exception as exc:
            if not is_disconnect(exc) or time.monotonic() > give_up:
                raise
            log.warning("cluster database unreachable (%s); reconnecting", type(exc).__name__)
        while True:
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
            try:
                reconnect()
                break
            except Exception as exc:
                if not is_disconnect(exc) and not isinstance(exc, ClusterError):
                    raise
                if time.monotonic() > give_up:
                    raise
