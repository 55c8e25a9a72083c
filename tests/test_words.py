"""Reasons a person reads in the results file: plain words, never a Python class name."""

from __future__ import annotations

import asyncio
import re
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.support.leads import lead_rows, results_of, write_csv
from tests.support.sandbox import running_sandbox, upload
from uploader.errors import MaybeSent, NotSent
from uploader.journal import Journal
from uploader.model import Lead, idempotency_key
from uploader.run import default_results_path
from uploader.run.upload import recover_rows_in_flight
from uploader.sandbox import Scripted
from uploader.send.outcomes import judge_response
from uploader.send.transport import ApiResponse, HttpTransport
from uploader.settings import ApiSettings, Credentials, RetryPolicy, UploadSettings

# `ServerDisconnectedError`, `ClientOSError`, `gaierror`: what a person must never read.
CLASS_NAME = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)*Error\b|\b[a-z]+error\b")
Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def _cut_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\n{")
    await writer.drain()
    writer.close()


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # SO_LINGER 0: close() sends a RST instead of a FIN (a reset connection).
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _nonsense(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 abc nonsense\r\n\r\n")
    await writer.drain()
    writer.close()


@asynccontextmanager
async def _server(behaviour: Behaviour) -> AsyncIterator[str]:
    """A loopback server that reads one request's head, then behaves as told."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await behaviour(reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


def _api(url: str) -> ApiSettings:
    return ApiSettings(Credentials(token="t"), base_url=url, timeout_s=5)


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (_hang_up, "the API closed the connection before its answer came"),
        (_cut_short, "the API's answer was cut off"),
        (_reset, "the connection broke before the answer came"),
        (_nonsense, "the API's answer could not be read"),
    ],
)
async def test_a_lost_answer_is_told_in_words(behaviour: Behaviour, reason: str) -> None:
    async with _server(behaviour) as url, HttpTransport(_api(url), pool_size=1) as transport:
        with pytest.raises(MaybeSent) as lead:
            await transport.post_lead({"zip": "02139"}, "key")
        with pytest.raises(MaybeSent) as ping:
            await transport.post_ping({"zip": "02139"})
    assert str(lead.value) == f"{reason}; the lead may have been created"
    assert str(ping.value) == reason  # a ping creates nothing


async def test_a_refused_connection_is_told_in_words() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        url = f"http://127.0.0.1:{port}"
        async with HttpTransport(_api(url), pool_size=1) as transport:
            with pytest.raises(NotSent) as caught:
                await transport.post_lead({"zip": "02139"}, "key")
    assert str(caught.value) == f"could not connect to {url}: Connection refused"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (429, "the API asked to slow down (HTTP 429)"),
        (503, "the API was too busy to take it (HTTP 503)"),
        (500, "the API failed while taking the lead (HTTP 500); it may have been created"),
        (302, "the API answered with a redirect (HTTP 302): check the API URL"),
        (404, "the API refused the lead (HTTP 404)"),
        (
            401,
            "the API refused the credentials (HTTP 401): check JUICED_API_KEY and"
            " JUICED_API_SECRET, or JUICED_API_TOKEN",
        ),
        (
            403,
            "the credentials are not allowed to post leads to this source (HTTP 403): check"
            " that JUICED_API_KEY and JUICED_API_SECRET, or JUICED_API_TOKEN hold this"
            " source's credentials",
        ),
    ],
)
def test_answers_without_a_reason_of_their_own_are_told_in_words(status: int, reason: str):
    verdict = judge_response(ApiResponse(status=status, body=None, text=""))
    assert verdict.error == reason


def test_a_refusal_names_the_variables_the_credentials_came_from() -> None:
    credentials = Credentials.from_env({"ACME_TOKEN": "t"}, token_env="ACME_TOKEN")
    refused = judge_response(ApiResponse(401, None, ""), credentials.source)
    assert refused.error == "the API refused the credentials (HTTP 401): check ACME_TOKEN"
    pair = Credentials.from_env(
        {"A_KEY": "k", "A_SECRET": "s"}, key_env="A_KEY", secret_env="A_SECRET"
    )
    forbidden = judge_response(ApiResponse(403, None, ""), pair.source)
    assert "(HTTP 403): check that A_KEY and A_SECRET hold this source's credentials" in (
        forbidden.error
    )


@pytest.mark.parametrize(
    ("scripted", "reason"),
    [
        (
            Scripted(action="drop"),
            "the API closed the connection before its answer came; the lead may have been created",
        ),
        (
            Scripted(action="lose_response"),
            "the API closed the connection before its answer came; the lead may have been created",
        ),
        (
            Scripted(status=502),
            "the API failed while taking the lead (HTTP 502); it may have been created",
        ),
    ],
)
async def test_the_results_file_says_what_happened_in_words(
    tmp_path: Path, scripted: Scripted, reason: str
) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(1))
    async with running_sandbox(script=(scripted,)) as sb:
        await upload(path, sb)
    (line,) = results_of(default_results_path(path))
    assert (line["outcome"], line["error"]) == ("unknown", reason)
    assert not CLASS_NAME.search(line["error"])


@pytest.mark.parametrize(
    ("in_flight", "resend", "note"),
    [
        (1, False, "1 row was being sent when the last run stopped: now unknown (it may have"
         " been created)"),
        (2, False, "2 rows were being sent when the last run stopped: now unknown (they may"
         " have been created)"),
        (1, True, "1 row was being sent when the last run stopped: to send again"
         " (--retry-unsafe)"),
    ],
)  # fmt: skip
def test_rows_left_in_flight_are_counted_in_words(
    tmp_path: Path, in_flight: int, resend: bool, note: str
) -> None:
    """Before: "1 rows were being sent"."""
    sha = "a" * 64
    journal = Journal.open(
        tmp_path / "out.journal", input_sha256=sha, input_name="leads.csv", columns=("Email",)
    )
    rows = range(2, 5)
    journal.add(
        (Lead(row, {"email": f"p{row}@example.com"}, idempotency_key(sha, row)), [f"p{row}"])
        for row in rows
    )
    journal.mark_loaded()
    journal.commit([(row, 1) for row in rows[:in_flight]], [])
    settings = UploadSettings(
        api=ApiSettings(credentials=Credentials(token="t")), retry=RetryPolicy(retry_unsafe=resend)
    )
    try:
        assert recover_rows_in_flight(journal, settings) == [note]
    finally:
        journal.close()
