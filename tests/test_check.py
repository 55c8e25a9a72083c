"""`leadup check`: one test ping that creates no lead says whether the credentials work, and
for which API host; secrets are never printed (issue 11)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from tests.support.cli import KEY, SECRET, assert_no_secret, env_for, leadup
from tests.support.sandbox import running_sandbox
from tests.support.transport import MemoryTransport, always, answer
from uploader.errors import MaybeSent, NotSent, TransportError
from uploader.run.check import TEST_PING, CheckOutcome, CheckReport, check_credentials
from uploader.sandbox import Sandbox
from uploader.send.transport import ApiResponse
from uploader.settings import ApiSettings, Credentials

TOKEN = "t0ken-Canary-That-Must-Not-Leak"
API = ApiSettings(credentials=Credentials(api_key=KEY, api_secret=SECRET))


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with running_sandbox(api_key=KEY, api_secret=SECRET, token=TOKEN) as sb:
        yield sb


async def run_leadup(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The command as a subprocess, off the loop so the in-loop sandbox can answer it."""
    done = await asyncio.to_thread(leadup, *args, env=env)
    assert "Traceback" not in done.stderr
    assert_no_secret(done.stdout, done.stderr)
    assert TOKEN not in done.stdout + done.stderr
    return done.returncode, done.stdout, done.stderr


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- against the sandbox, as a person runs it ------------------------------------------------


async def test_working_credentials_exit_0_naming_the_host(sandbox: Sandbox) -> None:
    code, out, err = await run_leadup("check", env=env_for(sandbox))
    assert code == 0, err
    assert out.startswith(f"credentials work: 127.0.0.1 ({sandbox.url}) answered")
    assert "credentials from JUICED_API_KEY and JUICED_API_SECRET, Basic auth" in out
    assert sandbox.state.request_count == 1
    assert sandbox.state.created_count == 0  # a ping creates no lead
    (request,) = sandbox.state.requests
    assert request.path == "/ping" and request.status == 200
    (ping,) = sandbox.state.pings.values()
    assert ping.is_test


async def test_a_token_is_named_as_the_variable_read(sandbox: Sandbox) -> None:
    env = {"JUICED_API_URL": sandbox.url, "JUICED_API_TOKEN": TOKEN}
    code, out, _ = await run_leadup("check", env=env)
    assert code == 0
    assert "credentials from JUICED_API_TOKEN, Bearer auth" in out


async def test_revoked_credentials_exit_3_naming_the_variables(sandbox: Sandbox) -> None:
    sandbox.revoke()
    code, out, err = await run_leadup("check", env=env_for(sandbox))
    assert code == 3
    assert out == ""
    assert err.startswith(f"credentials refused: 127.0.0.1 ({sandbox.url}) refused the credentials")
    assert "HTTP 401" in err
    assert "check JUICED_API_KEY and JUICED_API_SECRET" in err
    assert sandbox.state.created_count == 0


async def test_a_url_with_no_api_behind_it_exits_2(sandbox: Sandbox) -> None:
    """Before: exit 0 after a 404 ("credentials not refused")."""
    wrong = f"{sandbox.url}/v9"
    code, out, err = await run_leadup("check", "--api-url", wrong, env=env_for(sandbox))
    assert (code, out) == (2, "")
    assert err.startswith(f"wrong API URL: 127.0.0.1 ({wrong}) answered a test ping with HTTP 404")
    assert "they were not checked" in err and "--api-url or JUICED_API_URL" in err


async def test_a_wrong_secret_is_refused_and_not_printed(sandbox: Sandbox) -> None:
    env = env_for(sandbox, JUICED_API_SECRET=SECRET + "-wrong")
    code, _, err = await run_leadup("check", env=env)
    assert code == 3
    assert "credentials refused" in err


async def test_api_url_option_wins_over_the_environment(sandbox: Sandbox) -> None:
    env = env_for(sandbox, JUICED_API_URL=f"http://127.0.0.1:{closed_port()}")
    code, out, _ = await run_leadup("check", "--api-url", sandbox.url, env=env)
    assert code == 0
    assert sandbox.url in out


async def test_an_api_that_cannot_be_reached_exits_3_naming_it() -> None:
    url = f"http://127.0.0.1:{closed_port()}/api"
    env = {"JUICED_API_KEY": KEY, "JUICED_API_SECRET": SECRET}
    code, _, err = await run_leadup("check", "--api-url", url, env=env)
    assert code == 3
    assert err.startswith(f"cannot reach 127.0.0.1 ({url}): could not connect")
    assert "--api-url or JUICED_API_URL" in err


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no credentials: set JUICED_API_TOKEN (Bearer), or JUICED_API_KEY and"),
        ({"JUICED_API_KEY": KEY}, "JUICED_API_SECRET is not set"),
        ({"JUICED_API_SECRET": SECRET}, "JUICED_API_KEY is not set"),
    ],
)
async def test_missing_credentials_exit_2(env: dict[str, str], message: str) -> None:
    code, _, err = await run_leadup("check", env=env)
    assert code == 2
    assert message in err


async def test_plain_http_to_another_host_is_bad_configuration() -> None:
    env = {"JUICED_API_TOKEN": TOKEN}
    code, _, err = await run_leadup("check", "--api-url", "http://example.com/api", env=env)
    assert code == 2
    assert "plain http" in err


async def test_the_embedded_sandbox_needs_no_credentials() -> None:
    code, out, _ = await run_leadup("check", "--sandbox")
    assert code == 0
    assert out.startswith("credentials work: 127.0.0.1 (http://127.0.0.1:")
    assert "credentials from the embedded sandbox (throwaway), Basic auth" in out


# -- the engine: every kind of answer -------------------------------------------------------

# (answer, outcome, exit code, words the report must contain)
ANSWERS: dict[str, tuple[ApiResponse | TransportError, CheckOutcome, int, str]] = {
    "200 match": (
        answer(200, {"ping_id": "p1", "message": "Match found"}),
        CheckOutcome.ACCEPTED,
        0,
        "nothing was created or charged",
    ),
    "401": (answer(401, {"message": "Unauthorized"}), CheckOutcome.REFUSED, 3, "HTTP 401"),
    "403": (
        answer(403, {"message": "Forbidden"}),
        CheckOutcome.REFUSED,
        3,
        "does not allow these credentials",
    ),
    "422 the test zip": (
        answer(422, {"message": "invalid", "errors": {"zip": ["The zip field is invalid."]}}),
        CheckOutcome.ANSWERED,
        0,
        "zip: The zip field is invalid.",
    ),
    # Before: exit 0 ("credentials not refused") for a URL where no API answers.
    "404 wrong URL": (
        answer(404, None, text="Not Found"),
        CheckOutcome.WRONG_URL,
        2,
        "wrong API URL: usejuiced.com (https://usejuiced.com/api) answered a test ping with"
        " HTTP 404: Not Found",
    ),
    "405 wrong URL": (answer(405), CheckOutcome.WRONG_URL, 2, "no ping endpoint at this URL"),
    "302 redirect": (answer(302), CheckOutcome.WRONG_URL, 2, "a redirect at this URL"),
    "429": (answer(429), CheckOutcome.ANSWERED, 0, "slow down"),
    "500": (answer(500), CheckOutcome.ANSWERED, 0, "try again in a minute"),
    "no connection": (
        NotSent("could not connect to https://usejuiced.com/api: Connection refused"),
        CheckOutcome.UNREACHABLE,
        3,
        "cannot reach usejuiced.com (https://usejuiced.com/api): could not connect",
    ),
    "no answer in time": (
        MaybeSent("no answer within 30s after sending"),
        CheckOutcome.UNREACHABLE,
        3,
        "no answer within 30s",
    ),
}


@pytest.mark.parametrize("case", list(ANSWERS))
async def test_what_each_answer_means(case: str) -> None:
    given, outcome, code, words = ANSWERS[case]
    transport = MemoryTransport(always(given))
    report = await check_credentials(API, transport=transport)
    assert (report.outcome, report.exit_code) == (outcome, code)
    assert words in "\n".join(report.describe())
    assert [(r.path, r.payload) for r in transport.requests] == [("/ping", TEST_PING)]
    assert TEST_PING == {"zip": "00001", "is_test": True}


async def test_what_the_api_echoes_is_redacted() -> None:
    echo = answer(401, {"message": f"bad key {KEY} with secret {SECRET}"})
    report = await check_credentials(API, transport=MemoryTransport(always(echo)))
    text = "\n".join(report.describe())
    assert_no_secret(text, repr(report))
    assert "bad key [redacted] with secret [redacted]" in text


async def test_our_own_words_are_never_redacted() -> None:
    api = ApiSettings(credentials=Credentials(api_key="k", api_secret="s"))
    refused = NotSent("could not connect to https://usejuiced.com/api: Connection refused")
    report = await check_credentials(api, transport=MemoryTransport(always(refused)))
    assert report.detail == str(refused)  # a one-letter secret does not blank out letters


async def test_a_query_in_the_url_is_not_repeated() -> None:
    api = ApiSettings(credentials=Credentials(token=TOKEN), base_url="https://api.test/v1?x=1")
    report = await check_credentials(api, transport=MemoryTransport(always(200)))
    assert report == CheckReport(
        api_url="https://api.test/v1",
        host="api.test",
        scheme="Bearer",
        credentials_from="JUICED_API_TOKEN",
        outcome=CheckOutcome.ACCEPTED,
        http_status=200,
    )


async def test_against_the_sandbox_in_process(sandbox: Sandbox) -> None:
    api = ApiSettings(credentials=sandbox.credentials, base_url=sandbox.url)
    assert (await check_credentials(api)).outcome is CheckOutcome.ACCEPTED
    sandbox.revoke()
    refused = await check_credentials(api, credentials_from="the job's variables")
    assert (refused.outcome, refused.http_status) == (CheckOutcome.REFUSED, 401)
    assert "check the job's variables" in "\n".join(refused.describe())
    assert sandbox.state.created_count == 0
