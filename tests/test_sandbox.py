"""The sandbox behaves like the Juiced API the contract describes, and its knobs do what they say.

A plain aiohttp client talks to it over loopback: these tests check the fake itself, so
they must not depend on leadup's own transport.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import logging
import re
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from uploader.sandbox import Sandbox, SandboxConfig, Scripted, sandbox_in_thread
from uploader.sandbox.limiter import SlidingWindow, retry_after_seconds
from uploader.sandbox.validation import ZIP_INVALID, us_phone_digits
from uploader.settings import Credentials

PUBLIC_ID = re.compile(r"^lead_[0-9a-z]{26}$")
LEAD = {
    "first_name": "Katy",
    "last_name": "Berry",
    "email": "katy.berry@thirstyleads.com",
    "phone": "555-123-4567",
    "address_1": "742 Orchard Lane",
    "city": "Paradise Bay",
    "state": "FL",
    "zip": "33139",
}
INVALID = "The given data was invalid."


class Reply:
    """What the client saw: status, parsed JSON body and headers."""

    def __init__(self, status: int, body: Any, headers: dict[str, str]) -> None:
        self.status, self.body, self.headers = status, body, headers


MakeSandbox = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
async def make_sandbox() -> AsyncIterator[MakeSandbox]:
    """Start sandboxes with the given SandboxConfig knobs; all are closed afterwards."""
    async with AsyncExitStack() as stack:

        async def make(**knobs: Any) -> Sandbox:
            return await stack.enter_async_context(Sandbox(SandboxConfig(**knobs)))

        yield make


@pytest.fixture
async def sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    return await make_sandbox()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def post(
    session: aiohttp.ClientSession,
    sb: Sandbox,
    payload: Any = None,
    *,
    path: str = "/leads",
    auth: Credentials | str | None = None,
    key: str | None = None,
    data: bytes | None = None,
) -> Reply:
    """POST like a client would; `auth` is credentials, a raw header value, or "" for none."""
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    auth = sb.credentials if auth is None else auth
    if isinstance(auth, Credentials):
        headers["Authorization"] = auth.authorization()
    elif auth:
        headers["Authorization"] = auth
    if key is not None:
        headers["Idempotency-Key"] = key
    body = data if data is not None else json.dumps(LEAD if payload is None else payload).encode()
    async with session.post(f"{sb.url}{path}", data=body, headers=headers) as resp:
        return Reply(resp.status, await resp.json(content_type=None), dict(resp.headers))


def lead(**changes: Any) -> dict[str, Any]:
    return {**LEAD, **changes}


# --- auth and the 201 shape ----------------------------------------------------------------


async def test_basic_auth_creates_a_lead_of_the_documented_shape(sandbox, session):
    reply = await post(session, sandbox, key="k-1")
    assert reply.status == 201
    assert set(reply.body) == {"lead_uuid", "lead_public_id", "status", "price"}
    assert uuid.UUID(reply.body["lead_uuid"]).version == 4
    assert PUBLIC_ID.match(reply.body["lead_public_id"])
    assert reply.body["status"] in {"assigned", "unassigned", "marketplace"}
    assert isinstance(reply.body["price"], float)
    [created] = sandbox.state.leads
    assert (created.lead_public_id, created.idempotency_key) == (
        reply.body["lead_public_id"],
        "k-1",
    )
    assert created.payload == LEAD


async def test_bearer_token_is_accepted(sandbox, session):
    reply = await post(session, sandbox, auth=sandbox.credentials_for("bearer"))
    assert reply.status == 201


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer wrong-token",
        "Basic " + base64.b64encode(b"key:wrong").decode(),
        "Basic not*base64",
        "Token abc",
    ],
    ids=["missing", "wrong-token", "wrong-secret", "garbage-basic", "unknown-scheme"],
)
async def test_bad_credentials_get_401_and_create_nothing(sandbox, session, header):
    reply = await post(session, sandbox, auth=header)
    assert (reply.status, reply.body) == (401, {"message": "Unauthorized"})
    assert sandbox.state.created_count == 0


async def test_recorded_headers_redact_authorization_and_logs_hold_no_secret(
    sandbox, session, caplog
):
    caplog.set_level(logging.DEBUG)
    await post(session, sandbox, key="k-1")
    await post(session, sandbox, auth=sandbox.credentials_for("bearer"))
    assert {lead.headers["Authorization"] for lead in sandbox.state.leads} == {"REDACTED"}
    for secret in (*sandbox.credentials.secrets(), sandbox.config.token):
        assert secret not in caplog.text
        assert secret not in repr(sandbox.state)


# --- validation: both 422 shapes and 400 ---------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"zip": None}, {"zip": ["The zip field is required."]}),
        ({"zip": "   "}, {"zip": ["The zip field is required."]}),
        ({"zip": 33139}, {"zip": ["The zip field must be a string."]}),
        ({"zip": "3313"}, {"zip": [ZIP_INVALID]}),
        ({"zip": "33139-1234"}, {"zip": [ZIP_INVALID]}),
        ({"email": "katy@"}, {"email": ["The email field must be a valid email address."]}),
        ({"email": "a b@c.d"}, {"email": ["The email field must be a valid email address."]}),
        ({"phone": "555-1234"}, {"phone": ["The phone field must be a valid US phone number."]}),
        ({"phone": "25551234567"}, {"phone": ["The phone field must be a valid US phone number."]}),
        ({"phone": 5551234567}, {"phone": ["The phone field must be a string."]}),
        ({"state": "Florida"}, {"state": ["The state field must be 2 characters."]}),
        ({"state": "F1"}, {"state": ["The state field must only contain letters."]}),
        ({"is_test": "true"}, {"is_test": ["The is test field must be true or false."]}),
        ({"ping_id": "abc"}, {"ping_id": ["The ping id field must be a valid UUID."]}),
        (
            {"zip": "", "email": "nope"},
            {
                "zip": ["The zip field is required."],
                "email": ["The email field must be a valid email address."],
            },
        ),
    ],
)
async def test_invalid_fields_get_laravel_422(sandbox, session, changes, errors):
    payload = {k: v for k, v in lead(**changes).items() if v is not None}
    reply = await post(session, sandbox, payload)
    assert reply.status == 422
    assert reply.body == {"message": INVALID, "errors": errors}
    assert sandbox.state.created_count == 0


@pytest.mark.parametrize("bad_key", ["first name", "1st", "ünïcode", "a.b", ""])
async def test_extra_keys_must_match_the_field_name_pattern(sandbox, session, bad_key):
    reply = await post(session, sandbox, lead(**{bad_key: "x"}))
    assert reply.status == 422
    assert list(reply.body["errors"]) == [bad_key]


@pytest.mark.parametrize(
    "changes",
    [
        {"phone": "+1 (555) 123-4567"},
        {"phone": "555.123.4567"},
        {"phone": "15551234567"},
        {"email": "jöns.berg@exämple.se"},
        {"state": "fl"},
        {"utm_source": "fb", "x-campaign_2": 7, "_private": None},
        {"email": "", "phone": "  ", "address_2": ""},  # blank optional fields are absent
        {"is_test": False},
    ],
)
async def test_valid_variants_are_accepted(sandbox, session, changes):
    reply = await post(session, sandbox, lead(**changes))
    assert reply.status == 201, reply.body


async def test_required_fields_of_the_source(make_sandbox, session):
    sb = await make_sandbox(required_fields=("first_name", "jornaya_id"))
    reply = await post(session, sb, lead(first_name=" "))
    assert reply.body["errors"] == {
        "first_name": ["The first name field is required."],
        "jornaya_id": ["The jornaya id field is required."],
    }


async def test_validation_knobs_turn_checks_off(make_sandbox, session):
    sb = await make_sandbox(validate_phone=False, validate_email=False, validate_state=False)
    reply = await post(session, sb, lead(phone="call me", email="nope", state="Florida"))
    assert reply.status == 201


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"])
async def test_a_body_that_is_not_a_json_object_gets_400(sandbox, session, body):
    reply = await post(session, sandbox, data=body)
    assert reply.status == 400
    assert reply.body == {"message": "The request body must be a JSON object."}


async def test_ping_then_lead_and_the_ping_reference_errors(make_sandbox, session):
    sb = await make_sandbox(seed=3, source_type="vendor")
    ping = await post(session, sb, {"zip": "33139", "is_test": True, "zip_extra": 1}, path="/ping")
    assert ping.status == 200
    assert ping.body == {"ping_id": ping.body["ping_id"], "message": "Match found", "price": 45.0}

    linked = await post(session, sb, lead(ping_id=ping.body["ping_id"]))
    assert linked.status == 201

    unknown = await post(session, sb, lead(ping_id=str(uuid.uuid4())))
    assert (unknown.status, unknown.body) == (
        422,
        {"error": "Ping could not be found with the provided ping ID"},
    )
    mismatch = await post(session, sb, lead(ping_id=ping.body["ping_id"], zip="90210"))
    assert mismatch.body == {"error": "Lead data does not match ping data"}
    sb.reconfigure(ping_ttl_s=0.0)
    expired = await post(session, sb, lead(ping_id=ping.body["ping_id"]))
    assert expired.body == {"error": "Ping ID has expired"}
    assert sb.state.created_count == 1

    no_zip = await post(session, sb, {"state": "FL"}, path="/ping")
    assert no_zip.body["errors"] == {"zip": ["The zip field is required."]}


# --- outcomes: test zips, duplicates, seeded statuses --------------------------------------


@pytest.mark.parametrize(
    ("zip_code", "status", "price"),
    [
        ("00001", "assigned", 45.0),
        ("00002", "duplicate", 0.0),
        ("00003", "audit", 0.0),
        ("00004", "unassigned", 0.0),
        ("00005", "marketplace", 0.0),
        ("90210", "audit", 0.0),
    ],
)
async def test_test_mode_zips_give_fixed_outcomes(sandbox, session, zip_code, status, price):
    reply = await post(session, sandbox, lead(zip=zip_code, is_test=True))
    assert (reply.status, reply.body["status"], reply.body["price"]) == (201, status, price)


async def test_is_test_is_ignored_when_the_source_is_not_in_test_mode(make_sandbox, session):
    sb = await make_sandbox(test_mode=False, assign_ratio=1.0)
    reply = await post(session, sb, lead(zip="00003", is_test=True))
    assert reply.body["status"] == "assigned"


async def test_duplicates_by_normalised_email_or_phone(sandbox, session):
    first = await post(session, sandbox)
    assert first.body["status"] != "duplicate"
    by_email = await post(session, sandbox, lead(email=" KATY.Berry@ThirstyLeads.com", phone=""))
    by_phone = await post(session, sandbox, lead(email="other@x.io", phone="+1 555 123 4567"))
    fresh = await post(session, sandbox, lead(email="new@x.io", phone="555-999-0000"))
    assert [r.body["status"] for r in (by_email, by_phone)] == ["duplicate", "duplicate"]
    assert [r.body["price"] for r in (by_email, by_phone)] == [0.0, 0.0]
    assert fresh.body["status"] != "duplicate"
    assert sandbox.state.created_count == 4  # a duplicate is still a created lead


async def test_duplicate_check_off_and_test_leads_do_not_count(make_sandbox, session):
    sb = await make_sandbox(duplicate_check=False)
    assert [(await post(session, sb)).body["status"] for _ in range(3)].count("duplicate") == 0
    sb2 = await make_sandbox()
    await post(session, sb2, lead(is_test=True, zip="00001"))
    assert (await post(session, sb2)).body["status"] != "duplicate"


async def test_seeded_statuses_and_prices_repeat(make_sandbox, session):
    async def run(seed: int) -> list[tuple[str, float]]:
        sb = await make_sandbox(seed=seed, duplicate_check=False)
        replies = [await post(session, sb, lead(zip=f"{10000 + i}")) for i in range(12)]
        return [(r.body["status"], r.body["price"]) for r in replies]

    first, again, other = await run(5), await run(5), await run(6)
    assert first == again != other
    for status, price in first:
        assert status in {"assigned", "unassigned", "marketplace"}
        assert (
            (5.0 <= price <= 60.0 and round(price, 2) == price)
            if status == "assigned"
            else (price == 0.0)
        )


# --- rate limit ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "times", "waits"),
    [
        (2, [0.0, 0.1, 0.2], [0.0, 0.0, 0.8]),
        (2, [0.0, 0.5, 1.0, 1.2, 1.5], [0.0, 0.0, 0.0, 0.3, 0.0]),
        (2, [0.0, 0.1, 0.2, 0.3, 1.1], [0.0, 0.0, 0.8, 0.7, 0.0]),  # refusals are not counted
        (0.5, [0.0, 1.0, 2.0], [0.0, 1.0, 0.0]),  # below 1/s the window widens
    ],
)
def test_sliding_window(rate, times, waits):
    window = SlidingWindow(rate)
    assert [window.try_admit(t) for t in times] == pytest.approx(waits)


@pytest.mark.parametrize(("wait", "header"), [(0.001, 1), (0.999, 1), (1.0, 1), (1.2, 2)])
def test_retry_after_is_whole_seconds_rounded_up(wait, header):
    assert retry_after_seconds(wait) == header


async def test_evenly_paced_requests_under_the_limit_never_get_429(make_sandbox, session):
    sb = await make_sandbox(rate_limit_per_s=44, duplicate_check=False)
    start = time.monotonic()

    async def paced(i: int) -> int:
        await asyncio.sleep(max(0.0, start + i / 40 - time.monotonic()))
        return (await post(session, sb, lead(zip=f"{10000 + i}"))).status

    statuses = await asyncio.gather(*(paced(i) for i in range(60)))
    assert statuses == [201] * 60


async def test_a_burst_over_the_limit_gets_429_with_retry_after(make_sandbox, session):
    sb = await make_sandbox(rate_limit_per_s=5, duplicate_check=False)
    replies = await asyncio.gather(*(post(session, sb) for _ in range(8)))
    refused = [r for r in replies if r.status == 429]
    assert (len(refused), sb.state.created_count) == (3, 5)
    for reply in refused:
        assert reply.body == {"message": "Too Many Attempts."}
        assert int(reply.headers["Retry-After"]) == 1
        assert reply.headers["X-RateLimit-Limit"] == "5"
    await asyncio.sleep(1.0)  # the refusals did not count: a full window is free again
    again = await asyncio.gather(*(post(session, sb) for _ in range(5)))
    assert [r.status for r in again] == [201] * 5


async def test_retry_after_can_be_an_http_date(make_sandbox, session):
    sb = await make_sandbox(rate_limit_per_s=1, retry_after_format="date")
    await post(session, sb)
    reply = await post(session, sb)
    assert reply.status == 429
    when = email.utils.parsedate_to_datetime(reply.headers["Retry-After"])
    assert 0 < (when - datetime.now(UTC)).total_seconds() <= 2


# --- faults --------------------------------------------------------------------------------


async def test_script_is_answered_in_order_before_normal_processing(sandbox, session):
    sandbox.push_script(
        Scripted(status=429, headers={"Retry-After": "2"}),
        Scripted(status=500),
        Scripted(status=422, body={"error": "Ping ID has expired"}),
        Scripted(status=403),
        Scripted(status=503, headers={"Retry-After": "1"}),
    )
    replies = [await post(session, sandbox, key=f"k{i}") for i in range(6)]
    assert [r.status for r in replies] == [429, 500, 422, 403, 503, 201]
    assert replies[0].headers["Retry-After"] == "2"
    assert replies[0].body == {"message": "Too Many Attempts."}
    assert replies[1].body == {"message": "Server Error"}
    assert replies[2].body == {"error": "Ping ID has expired"}
    assert [lead.idempotency_key for lead in sandbox.state.leads] == ["k5"]
    assert [r.scripted for r in sandbox.state.requests] == [True] * 5 + [False]


async def test_a_script_in_the_config_and_one_posted_to_the_admin_route(make_sandbox, session):
    sb = await make_sandbox(script=(Scripted(status=502),))
    async with session.post(
        f"{sb.url}/_sandbox/script", json=[{"status": 429, "headers": {"Retry-After": "3"}}]
    ) as resp:
        assert await resp.json() == {"scripted_left": 2}
    statuses = [(await post(session, sb)).status for _ in range(3)]
    assert statuses == [502, 429, 201]


@pytest.mark.parametrize(
    "knobs",
    [{"drop_ratio": 1.0}, {"script": (Scripted(action="drop"),)}],
    ids=["ratio", "scripted"],
)
async def test_a_dropped_connection_creates_nothing(make_sandbox, session, knobs):
    sb = await make_sandbox(**knobs)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(session, sb, key="k-1")
    assert (sb.state.created_count, sb.state.dropped_count) == (0, 1)
    assert sb.state.requests[0].status is None


@pytest.mark.parametrize(
    "knobs",
    [{"lost_response_ratio": 1.0}, {"script": (Scripted(action="lose_response"),)}],
    ids=["ratio", "scripted"],
)
async def test_a_lost_response_still_creates_the_lead(make_sandbox, session, knobs):
    sb = await make_sandbox(**knobs)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(session, sb, key="k-1")
    [created] = sb.state.leads
    assert (created.idempotency_key, created.response_lost) == ("k-1", True)
    assert sb.state.lost_response_count == 1
    sb.reconfigure(lost_response_ratio=0.0)  # the same session keeps working afterwards
    assert (await post(session, sb, lead(email="b@c.de", phone=""))).status == 201


async def test_500_creates_nothing_and_503_says_retry_after(make_sandbox, session):
    sb500 = await make_sandbox(error_500_ratio=1.0)
    reply = await post(session, sb500)
    assert (reply.status, reply.body, sb500.state.created_count) == (
        500,
        {"message": "Server Error"},
        0,
    )
    sb503 = await make_sandbox(error_503_ratio=1.0)
    reply = await post(session, sb503)
    assert (reply.status, reply.headers["Retry-After"]) == (503, "1")


async def test_seeded_faults_repeat(make_sandbox, session):
    async def run() -> list[int]:
        sb = await make_sandbox(seed=11, error_500_ratio=0.3, error_503_ratio=0.3)
        return [(await post(session, sb)).status for _ in range(15)]

    first = await run()
    assert first == await run()
    assert {500, 503} <= set(first)


async def test_a_slow_scripted_answer_still_applies(sandbox, session):
    sandbox.push_script(Scripted(action="process", delay_s=0.5))
    with pytest.raises(asyncio.TimeoutError):
        async with asyncio.timeout(0.1):
            await post(session, sandbox, key="k-1")
    await asyncio.sleep(0.6)
    assert [lead.idempotency_key for lead in sandbox.state.leads] == ["k-1"]


async def test_latency(make_sandbox, session):
    sb = await make_sandbox(latency_s=0.2, latency_jitter_s=0.05)
    start = time.monotonic()
    await post(session, sb)
    assert 0.2 <= time.monotonic() - start < 1.0


# --- revocation and admin routes -----------------------------------------------------------


async def test_revoke_after_then_restore(make_sandbox, session):
    sb = await make_sandbox(revoke_after=2, duplicate_check=False)
    statuses = [(await post(session, sb)).status for _ in range(3)]
    assert statuses == [201, 201, 401]
    async with session.post(f"{sb.url}/_sandbox/restore") as resp:
        assert await resp.json() == {"revoked": False}
    assert (await post(session, sb)).status == 201
    async with session.post(f"{sb.url}/_sandbox/revoke") as resp:
        assert resp.status == 200
    assert (await post(session, sb, auth=sb.credentials_for("bearer"))).status == 401


async def test_admin_routes_report_leads_and_counts(sandbox, session):
    await post(session, sandbox, key="k-1")
    await post(session, sandbox, key="k-1")  # a client bug the stats must show
    await post(session, sandbox, auth="")
    async with session.get(f"{sandbox.url}/_sandbox/leads") as resp:
        leads = await resp.json()
    assert [(x["idempotency_key"], x["payload"]) for x in leads] == [("k-1", LEAD)] * 2
    assert all(PUBLIC_ID.match(x["lead_public_id"]) for x in leads)
    async with session.get(f"{sandbox.url}/_sandbox/stats") as resp:
        stats = await resp.json()
    assert stats["requests"] == 3
    assert stats["by_status"] == {"201": 2, "401": 1}
    assert stats["leads_created"] == 2
    assert stats["keys_created_twice"] == ["k-1"] == sandbox.state.keys_created_twice()
    assert [r.idempotency_key for r in sandbox.state.requests] == ["k-1", "k-1", ""]


async def test_many_concurrent_leads_are_each_created_once(sandbox, session):
    replies = await asyncio.gather(
        *(
            post(session, sandbox, lead(email=f"p{i}@x.io", phone=""), key=f"k{i}")
            for i in range(50)
        )
    )
    assert {r.status for r in replies} == {201}
    assert len(sandbox.state.leads_by_key()) == 50
    assert sandbox.state.keys_created_twice() == []
    assert len({r.body["lead_public_id"] for r in replies}) == 50


def test_us_phone_digits():
    assert us_phone_digits("+1 (555) 123-4567") == "5551234567"
    assert us_phone_digits("555 123 456") is None
    assert us_phone_digits("\uff15" * 10) is None  # full-width digits are not ASCII


# --- running it: a thread, and the command as a subprocess ---------------------------------


def test_sandbox_in_a_thread_serves_synchronous_callers():
    with sandbox_in_thread(SandboxConfig(api_key="k", api_secret="s")) as sb:
        request = urllib.request.Request(
            f"{sb.url}/leads",
            data=json.dumps(LEAD).encode(),
            headers={"Authorization": sb.credentials.authorization(), "Idempotency-Key": "t1"},
        )
        with urllib.request.urlopen(request, timeout=5) as resp:
            assert resp.status == 201
        assert sb.state.leads[0].idempotency_key == "t1"
        assert sb.env()["JUICED_API_KEY"] == "k"


async def test_the_command_prints_url_and_credentials_and_stops_on_sigterm(session):
    code = "from uploader.sandbox.command import sandbox_command; sandbox_command()"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, "--port", "0", "--seed", "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        match = re.fullmatch(r"leadup sandbox listening on (http://127\.0\.0\.1:\d+)\n", first)
        assert match, first
        url = match[1]
        env = {}
        for _ in range(3):
            line = (await proc.stdout.readline()).decode().strip()
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value
        assert env["JUICED_API_URL"] == url
        creds = Credentials(api_key=env["JUICED_API_KEY"], api_secret=env["JUICED_API_SECRET"])
        headers = {"Authorization": creds.authorization(), "Idempotency-Key": "sub-1"}
        async with session.post(f"{url}/leads", json=LEAD, headers=headers) as resp:
            assert resp.status == 201
        async with session.get(f"{url}/_sandbox/leads") as resp:
            assert [x["idempotency_key"] for x in await resp.json()] == ["sub-1"]
    finally:
        if proc.returncode is None:
            proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0
    assert b"Traceback" not in err
    assert b"1 leads created" in err
