"""The webhook seam: post a short Slack-compatible `{"text": ...}` summary, nothing more.

The only module in `jobs` that imports aiohttp. A webhook that is down must never fail an
import, so every failure becomes a NotifyError for the caller to log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp

from uploader import __version__

# What a run calls to notify; tests and `serve` may pass their own.
Notifier = Callable[[str, str], Awaitable[None]]


class NotifyError(Exception):
    """The webhook did not take the summary (logged, never fatal)."""


def webhook_host(url: str) -> str:
    """What logs may say about a webhook: its host (the path of Slack's URLs is a secret)."""
    return urlsplit(url).hostname or "?"


def make_notifier(timeout_s: float) -> Notifier:
    """A notifier posting with a short overall timeout."""

    async def notify(url: str, text: str) -> None:
        await post_text(url, text, timeout_s=timeout_s)

    return notify


async def post_text(url: str, text: str, *, timeout_s: float) -> None:
    """POST `{"text": text}` as JSON; raise NotifyError unless the answer is 2xx."""
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    headers = {"User-Agent": f"leadup/{__version__} (jobs notify)"}
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout, headers=headers) as session,
            session.post(url, json={"text": text}) as response,
        ):
            if response.status >= 300:
                raise NotifyError(f"webhook {webhook_host(url)} answered {response.status}")
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        # aiohttp's messages can repeat the whole URL, so only the host is reported.
        raise NotifyError(f"webhook {webhook_host(url)}: {_why(exc, timeout_s)}") from None


def _why(exc: BaseException, timeout_s: float) -> str:
    """A failed post in words (never aiohttp's message, which may hold the URL's path)."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout_s:g} s"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "could not connect"
    if isinstance(exc, aiohttp.ClientError):
        return "the connection failed before it answered"
    return "not a URL a webhook can be posted to"
