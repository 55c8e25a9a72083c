"""The sandbox's ping-post side: `POST /ping` in both source shapes, and leads naming a ping.

A plain aiohttp client over loopback, as in test_sandbox.py: these tests check the fake itself.
Prices are deterministic (`ping_bids`), so each test computes what the server must answer.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner

from uploader.sandbox import Sandbox, SandboxConfig, Scripted, ping_bids
from uploader.sandbox import command as sandbox_cli
from uploader.sandbox.validation import PING_EXPIRED, PING_MISMATCH, PING_NOT_FOUND

LEAD = {
    "first_name": "Brad",
    "last_name": "Pit",
    "email": "brad.pit@juiceboxoffice.com",
    "phone": "555-987-6543",
    "address_1": "100 Citrus Grove Dr",
    "city": "Tropicana",
    "state": "CA",
    "zip": "90210",
}
BID_KEYS = {"id", "price", "tcpa_name", "customer_id"}
TEST_BIDS = [38.5, 45.0]  # the fixed test bids, best not first

MakeSandbox = Callable[..., Awaitable[Sandbox]]


class Reply:
    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body


@pytest.fixture
async def make_sandbox() -> AsyncIterator[MakeSandbox]:
    async with AsyncExitStack() as stack:

        async def make(**knobs: Any) -> Sandbox:
            return await stack.enter_async_context(Sandbox(SandboxConfig(**knobs)))

        yield make


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def post(
    session: aiohttp.ClientSession, sb: Sandbox, payload: dict[str, Any], path: str = "/leads"
) -> Reply:
    headers = {"Authorization": sb.credentials.authorization(), "Accept": "application/json"}
    async with session.post(f"{sb.url}{path}", json=payload, headers=headers) as resp:
        return Reply(resp.status, await resp.json(content_type=None))


async def ping(session: aiohttp.ClientSession, sb: Sandbox, **fields: Any) -> Reply:
    return await post(session, sb, fields, "/ping")


async def admin(session: aiohttp.ClientSession, sb: Sandbox, method: str, route: str) -> Any:
    async with session.request(method, f"{sb.url}/_sandbox/{route}") as resp:
        assert resp.status == 200
        return await resp.json()


def lead(n: int = 0, **changes: Any) -> dict[str, Any]:
    """A lead with its own email and phone, so it is never a duplicate of another `lead(n)`."""
    return {**LEAD, "email": f"p{n}@x.io", "phone": f"555-100-{n:04d}", **changes}


def zip_with_bids(seed: int, count: int, state: str | None = None) -> str:
    """The first zip from 10000 whose ping (with `state`, if given) gets `count` bids."""
    for number in range(10000, 100000):
        fields = {"zip": str(number)} if state is None else {"zip": str(number), "state": state}
        if len(ping_bids(seed, fields)) == count:
            return str(number)
    raise AssertionError(f"no zip with {count} bids")


# --- the two shapes and deterministic prices -------------------------------------------------


async def test_internal_ping_lists_every_bid_in_the_contract_shape(make_sandbox, session):
    sb = await make_sandbox(seed=7)
    zip_code = zip_with_bids(7, 4, "CA")
    reply = await ping(session, sb, zip=zip_code, state="CA")
    assert reply.status == 200
    assert set(reply.body) == {"ping_id", "message", "bids"}
    assert reply.body["message"] == "Match found"
    assert uuid.UUID(reply.body["ping_id"]).version == 4
    bids = reply.body["bids"]
    for bid in bids:
        assert set(bid) == BID_KEYS
        assert uuid.UUID(bid["id"]).version == 4
        assert isinstance(bid["price"], float) and isinstance(bid["tcpa_name"], str)
        assert type(bid["customer_id"]) is int
    prices = [bid["price"] for bid in bids]
    assert prices == list(ping_bids(7, {"zip": zip_code, "state": "CA"}))
    assert prices != sorted(prices, reverse=True)  # a client taking bids[0] is caught
    assert prices[0] < max(prices)


async def test_vendor_ping_answers_the_best_bid_or_zero(make_sandbox, session):
    sb = await make_sandbox(seed=7, source_type="vendor")
    match_zip, none_zip = zip_with_bids(7, 3, "CA"), zip_with_bids(7, 0, "CA")
    match = await ping(session, sb, zip=match_zip, state="CA")
    assert match.body == {
        "ping_id": match.body["ping_id"],
        "message": "Match found",
        "price": max(ping_bids(7, {"zip": match_zip, "state": "CA"})),
    }
    none = await ping(session, sb, zip=none_zip, state="CA")
    assert none.body == {"ping_id": none.body["ping_id"], "message": "No match found", "price": 0.0}


async def test_no_match_internal_has_empty_bids(make_sandbox, session):
    sb = await make_sandbox(seed=7)
    reply = await ping(session, sb, zip=zip_with_bids(7, 0, "CA"), state="CA")
    assert (reply.body["message"], reply.body["bids"]) == ("No match found", [])


async def test_same_zip_and_state_get_the_same_bids_in_any_sandbox_with_the_seed(
    make_sandbox, session
):
    first, second = await make_sandbox(seed=5), await make_sandbox(seed=5)
    fields = {"zip": zip_with_bids(5, 3, "FL"), "state": "FL"}
    replies = [
        await ping(session, first, **fields),
        await ping(session, first, **fields, urgency="high"),  # not a pricing field
        await ping(session, second, zip=fields["zip"], state=" fl "),  # trimmed, any case
    ]
    prices = {tuple(b["price"] for b in r.body["bids"]) for r in replies}
    assert prices == {ping_bids(5, fields)}
    bid_ids = [b["id"] for r in replies for b in r.body["bids"]]
    assert len(set(bid_ids)) == len(bid_ids)  # fresh ids on every ping
    without_state = await ping(session, first, zip=fields["zip"])
    assert [b["price"] for b in without_state.body["bids"]] == list(
        ping_bids(5, {"zip": fields["zip"]})
    )


def test_ping_bids_is_pure_and_in_range():
    results = [ping_bids(1, {"zip": f"{z:05d}"}) for z in range(20000, 20300)]
    assert {len(r) for r in results} == {0, 1, 2, 3, 4}
    for prices in results:
        for price in prices:
            assert 5.0 <= price <= 60.0 and round(price, 2) == price
        if len(set(prices)) > 1:
            assert prices[0] != max(prices)
    assert results == [ping_bids(1, {"zip": f"{z:05d}"}) for z in range(20000, 20300)]
    assert results != [ping_bids(2, {"zip": f"{z:05d}"}) for z in range(20000, 20300)]


# --- messages ----------------------------------------------------------------------------


async def test_a_ping_matching_an_earlier_lead_is_duplicate(make_sandbox, session):
    sb = await make_sandbox(seed=7)
    assert (await post(session, sb, lead(1))).status == 201
    by_email = await ping(session, sb, zip="90210", email="P1@x.io")
    by_phone = await ping(session, sb, zip="90210", phone="(555) 100-0001")
    assert [r.body["message"] for r in (by_email, by_phone)] == ["Duplicate", "Duplicate"]
    assert by_email.body["bids"] == []


async def test_monthly_limit_rejects_pings_and_withholds_leads(make_sandbox, session):
    sb = await make_sandbox(seed=7, monthly_limit=1)
    zip_code = zip_with_bids(7, 2)
    before = await ping(session, sb, zip=zip_code)
    assert before.body["message"] == "Match found"
    test_lead = await post(session, sb, lead(9, zip="00001", is_test=True))
    assert test_lead.body["status"] == "assigned"  # test leads do not count
    assert (await post(session, sb, lead(1))).body["status"] != "withheld"
    rejected = await ping(session, sb, zip=zip_code)
    assert (rejected.body["message"], rejected.body["bids"]) == ("Rejected", [])
    withheld = await post(session, sb, lead(2, zip=zip_code, ping_id=before.body["ping_id"]))
    assert (withheld.body["status"], withheld.body["price"]) == ("withheld", 0.0)
    sb.reconfigure(source_type="vendor")
    vendor = await ping(session, sb, zip=zip_code)
    assert (vendor.body["message"], vendor.body["price"]) == ("Rejected", 0.0)


@pytest.mark.parametrize(
    ("zip_code", "message"),
    [
        ("00001", "Match found"),
        ("00002", "Duplicate"),
        ("00003", "Match found"),
        ("00004", "No match found"),
        ("00005", "Match found"),
        ("90210", "Match found"),
    ],
)
async def test_test_mode_zips_give_fixed_ping_answers(make_sandbox, session, zip_code, message):
    internal = await make_sandbox()
    vendor = await make_sandbox(source_type="vendor")
    reply = await ping(session, internal, zip=zip_code, is_test=True)
    assert reply.body["message"] == message
    assert [b["price"] for b in reply.body["bids"]] == (
        TEST_BIDS if message == "Match found" else []
    )
    price = (await ping(session, vendor, zip=zip_code, is_test=True)).body["price"]
    assert price == (45.0 if message == "Match found" else 0.0)


# --- leads naming a ping -------------------------------------------------------------------


async def test_a_lead_takes_the_chosen_bid_or_else_the_best(make_sandbox, session):
    sb = await make_sandbox(seed=7)
    zip_code = zip_with_bids(7, 3, "CA")
    bids = (await ping(session, sb, zip=zip_code, state="CA")).body
    lowest = min(bids["bids"], key=lambda b: b["price"])
    chosen = await post(
        session, sb, lead(1, zip=zip_code, ping_id=bids["ping_id"], bid_id=lowest["id"].upper())
    )
    assert (chosen.status, chosen.body["status"], chosen.body["price"]) == (
        201,
        "assigned",
        lowest["price"],
    )
    again = (await ping(session, sb, zip=zip_code, state="CA")).body
    best = await post(session, sb, lead(2, zip=zip_code, ping_id=again["ping_id"]))
    assert (best.body["status"], best.body["price"]) == (
        "assigned",
        max(ping_bids(7, LEAD | {"zip": zip_code})),
    )


async def test_vendor_lead_takes_the_ping_price_and_ignores_bid_id(make_sandbox, session):
    sb = await make_sandbox(seed=7, source_type="vendor")
    zip_code = zip_with_bids(7, 2)
    quote = (await ping(session, sb, zip=zip_code)).body
    reply = await post(
        session, sb, lead(1, zip=zip_code, ping_id=quote["ping_id"], bid_id=str(uuid.uuid4()))
    )
    assert (reply.body["status"], reply.body["price"]) == ("assigned", quote["price"])


async def test_a_lead_on_a_no_match_ping_is_unassigned(make_sandbox, session):
    sb = await make_sandbox(seed=7)
    zip_code = zip_with_bids(7, 0)
    quote = (await ping(session, sb, zip=zip_code)).body
    reply = await post(session, sb, lead(1, zip=zip_code, ping_id=quote["ping_id"]))
    assert (reply.status, reply.body["status"], reply.body["price"]) == (201, "unassigned", 0.0)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"bid_id": str(uuid.uuid4())}, PING_MISMATCH),
        ({"zip": "90211"}, PING_MISMATCH),
        ({"state": "NY"}, PING_MISMATCH),
        ({"ping_id": str(uuid.uuid4()).upper()}, PING_NOT_FOUND),
    ],
    ids=["unknown-bid", "zip", "state", "unknown-ping"],
)
async def test_ping_reference_errors(make_sandbox, session, changes, error):
    sb = await make_sandbox(seed=7)
    quote = (await ping(session, sb, zip="90210", state="CA")).body
    reply = await post(session, sb, lead(1, **{"ping_id": quote["ping_id"], **changes}))
    assert (reply.status, reply.body) == (422, {"error": error})
    assert sb.state.created_count == 0


def test_the_error_strings_are_the_documented_ones():
    assert (PING_NOT_FOUND, PING_EXPIRED, PING_MISMATCH) == (
        "Ping could not be found with the provided ping ID",
        "Ping ID has expired",
        "Lead data does not match ping data",
    )


async def test_a_bid_id_on_a_ping_without_bids_is_a_mismatch(make_sandbox, session):
    sb = await make_sandbox(seed=7)
    zip_code = zip_with_bids(7, 0)
    quote = (await ping(session, sb, zip=zip_code)).body
    reply = await post(
        session, sb, lead(1, zip=zip_code, ping_id=quote["ping_id"], bid_id=str(uuid.uuid4()))
    )
    assert reply.body == {"error": PING_MISMATCH}


async def test_expiry_by_ttl_and_by_the_admin_route(make_sandbox, session):
    sb = await make_sandbox(seed=7, ping_ttl_s=0.0)
    quote = (await ping(session, sb, zip="90210")).body
    assert (await post(session, sb, lead(1, ping_id=quote["ping_id"]))).body == {
        "error": PING_EXPIRED
    }
    sb.reconfigure(ping_ttl_s=300.0)
    fresh = (await ping(session, sb, zip="90210")).body
    [listed] = [
        p for p in await admin(session, sb, "GET", "pings") if p["ping_id"] == fresh["ping_id"]
    ]
    assert listed["expired"] is False
    assert await admin(session, sb, "POST", "expire-pings") == {"expired": 2}
    assert all(p["expired"] for p in await admin(session, sb, "GET", "pings"))
    assert (await post(session, sb, lead(2, ping_id=fresh["ping_id"]))).body == {
        "error": PING_EXPIRED
    }
    assert sb.state.created_count == 0


async def test_a_ping_serves_one_lead_only(make_sandbox, session):
    sb = await make_sandbox(seed=7)
    quote = (await ping(session, sb, zip="90210")).body
    assert (await post(session, sb, lead(1, ping_id=quote["ping_id"]))).status == 201
    reuse = await post(session, sb, lead(2, ping_id=quote["ping_id"]))
    assert (reuse.status, reuse.body) == (422, {"error": PING_NOT_FOUND})
    assert sb.state.created_count == 1


async def test_admin_pings_lists_bids_best_price_and_use(make_sandbox, session):
    sb = await make_sandbox(seed=7)
    zip_code = zip_with_bids(7, 2, "CA")
    quote = (await ping(session, sb, zip=zip_code, state="ca")).body
    await post(session, sb, lead(1, zip=zip_code, ping_id=quote["ping_id"]))
    [listed] = await admin(session, sb, "GET", "pings")
    assert listed == {
        "ping_id": quote["ping_id"],
        "zip": zip_code,
        "state": "CA",
        "source_type": "internal",
        "message": "Match found",
        "bids": [{"id": b["id"], "price": b["price"]} for b in quote["bids"]],
        "price": max(b["price"] for b in quote["bids"]),
        "expired": False,
        "used": True,
    }


async def test_the_old_vendor_flow_still_holds(make_sandbox, session):
    """The checks of test_sandbox's ping test, on a vendor source: spent is checked last."""
    sb = await make_sandbox(seed=3, source_type="vendor")
    quote = await ping(session, sb, zip="33139", is_test=True, zip_extra=1)
    assert quote.body == {"ping_id": quote.body["ping_id"], "message": "Match found", "price": 45.0}
    linked = await post(session, sb, lead(1, zip="33139", ping_id=quote.body["ping_id"]))
    assert (linked.status, linked.body["price"]) == (201, 45.0)
    mismatch = await post(session, sb, lead(2, zip="90210", ping_id=quote.body["ping_id"]))
    assert mismatch.body == {"error": PING_MISMATCH}
    sb.reconfigure(ping_ttl_s=0.0)
    expired = await post(session, sb, lead(3, zip="33139", ping_id=quote.body["ping_id"]))
    assert expired.body == {"error": PING_EXPIRED}


# --- scripts and faults on /ping -----------------------------------------------------------


async def test_scripts_target_their_own_path_in_order(make_sandbox, session):
    sb = await make_sandbox(seed=7)
    sb.push_script(
        Scripted(status=500, path="/ping"), Scripted(status=503), Scripted(status=429, path="/ping")
    )
    assert (await post(session, sb, lead(1))).status == 503
    assert [(await ping(session, sb, zip="90210")).status for _ in range(3)] == [500, 429, 200]
    assert (await post(session, sb, lead(2))).status == 201
    assert sb.state.ping_count == 1
    assert [(r.path, r.scripted) for r in sb.state.requests][:3] == [
        ("/leads", True),
        ("/ping", True),
        ("/ping", True),
    ]


async def test_a_scripted_drop_on_ping_via_the_admin_route(make_sandbox, session):
    sb = await make_sandbox(seed=7)
    async with session.post(
        f"{sb.url}/_sandbox/script", json=[{"action": "drop", "path": "/ping"}]
    ) as resp:
        assert await resp.json() == {"scripted_left": 1}
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await ping(session, sb, zip="90210")
    assert (sb.state.ping_count, sb.state.dropped_count, len(sb.state.pings)) == (0, 1, 0)
    sb.push_script(Scripted(action="lose_response", path="/ping"))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await ping(session, sb, zip="90210")
    assert len(sb.state.pings) == 1  # applied: the ping exists, the client never saw its id
    async with session.post(f"{sb.url}/_sandbox/script", json=[{"path": "/nope"}]) as resp:
        assert resp.status == 400


def test_scripted_path_is_checked_and_defaults_to_leads():
    assert Scripted(status=500).path == "/leads"
    assert Scripted.from_json({"status": 500, "path": "/ping"}).path == "/ping"
    with pytest.raises(ValueError, match="path"):
        Scripted(status=500, path="/pings")


@pytest.mark.parametrize(
    "knobs",
    [{"source_type": "partner"}, {"monthly_limit": -1}, {"ping_ttl_s": -1.0}],
)
def test_bad_ping_knobs_are_refused(knobs):
    with pytest.raises(ValueError):
        SandboxConfig(**knobs)


# --- records off, for long benchmarks ------------------------------------------------------


@pytest.mark.parametrize("keep_records", [True, False])
async def test_counts_hold_with_or_without_records(make_sandbox, session, keep_records):
    sb = await make_sandbox(seed=7, keep_records=keep_records)
    assert sb.state.stats()["first_request_at"] is None
    quote = (await ping(session, sb, zip=zip_with_bids(7, 2))).body
    await post(session, sb, lead(1, zip=zip_with_bids(7, 2), ping_id=quote["ping_id"]))
    await post(session, sb, lead(1))  # a duplicate only when records are kept
    await post(session, sb, lead(2, zip="123"))  # 422
    state = sb.state
    assert (state.request_count, state.created_count, state.ping_count) == (4, 2, 1)
    assert state.status_counts == {200: 1, 201: 2, 422: 1}
    assert state.count(201) == 2
    assert state.lead_status_counts["assigned"] >= 1
    assert (state.lead_status_counts["duplicate"] == 1) is keep_records
    stats = await admin(session, sb, "GET", "stats")
    assert (stats["requests"], stats["leads_created"], stats["pings"]) == (4, 2, 1)
    assert stats["first_request_at"] == state.first_request_at is not None
    assert (len(state.leads), len(state.requests)) == ((2, 4) if keep_records else (0, 0))
    assert len(state.pings) == (1 if keep_records else 0)  # a spent ping is forgotten


async def test_without_records_a_long_run_stays_small(make_sandbox, session):
    sb = await make_sandbox(seed=7, keep_records=False, ping_ttl_s=0.0)
    for n in range(30):
        await ping(session, sb, zip="90210", email=f"p{n}@x.io")
    assert len(sb.state.pings) <= 1  # expired pings are pruned as new ones arrive
    assert sb.state.ping_count == 30


def test_the_command_parses_the_ping_options(monkeypatch):
    seen: list[SandboxConfig] = []

    async def fake_serve(config: SandboxConfig, host: str, port: int) -> None:
        seen.append(config)

    monkeypatch.setattr(sandbox_cli, "_serve", fake_serve)
    args = ["--source-type", "vendor", "--no-records", "--ping-ttl", "2.5", "--monthly-limit", "9"]
    result = CliRunner().invoke(sandbox_cli.sandbox_command, args)
    assert result.exit_code == 0, result.output
    [config] = seen
    assert (config.source_type, config.keep_records, config.ping_ttl_s, config.monthly_limit) == (
        "vendor",
        False,
        2.5,
        9,
    )
    default = CliRunner().invoke(sandbox_cli.sandbox_command, [])
    assert default.exit_code == 0 and seen[1].source_type == "internal" and seen[1].keep_records
    bad = CliRunner().invoke(sandbox_cli.sandbox_command, ["--source-type", "partner"])
    assert bad.exit_code == 2
