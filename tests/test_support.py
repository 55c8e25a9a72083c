"""tests.support.transport: the in-memory LeadTransport and its scripted handlers."""

from __future__ import annotations

import random

import pytest

from tests.support.transport import (
    FakeApi,
    MemoryTransport,
    Request,
    always,
    answer,
    created_then_lost,
    flaky,
    script,
)
from uploader.errors import MaybeSent, NotSent
from uploader.send.transport import ApiResponse, LeadTransport


async def test_records_every_request_and_answers_with_the_handler() -> None:
    api = FakeApi(price=12.5)
    transport: LeadTransport = MemoryTransport(api)
    ping = await transport.post_ping({"zip": "02139"})
    lead = await transport.post_lead({"email": "a@example.com", "zip": "02139"}, "key-1")
    assert ping.status == 200
    assert ping.body == {"ping_id": "ping_0001", "message": "Match found", "price": 12.5}
    assert lead.status == 201
    assert lead.body["lead_public_id"] == "lead_0001" and lead.body["price"] == 12.5
    assert lead.text and lead.retry_after is None
    assert isinstance(transport, MemoryTransport)
    assert [(r.path, r.idempotency_key) for r in transport.requests] == [
        ("/ping", None),
        ("/leads", "key-1"),
    ]
    assert transport.requests[1].payload == {"email": "a@example.com", "zip": "02139"}
    assert transport.leads == [transport.requests[1]] and transport.pings == [transport.requests[0]]
    assert [r.idempotency_key for r in api.created] == ["key-1"]


async def test_the_payload_is_recorded_as_it_was_sent() -> None:
    transport = MemoryTransport(FakeApi())
    payload = {"email": "a@example.com"}
    await transport.post_lead(payload, "k")
    payload["email"] = "changed@example.com"
    assert transport.requests[0].payload == {"email": "a@example.com"}


async def test_fake_api_tells_a_key_created_twice() -> None:
    api = FakeApi()
    transport = MemoryTransport(api)
    for key in ("a", "b", "a"):
        await transport.post_lead({}, key)
    assert api.keys_created_twice() == {"a"}


async def test_always_answers_a_status_a_response_or_an_error() -> None:
    assert (await MemoryTransport(always(500)).post_lead({}, "k")).status == 500
    busy = answer(429, {"message": "slow down"}, retry_after="2")
    got = await MemoryTransport(always(busy)).post_ping({})
    assert got == ApiResponse(429, {"message": "slow down"}, '{"message": "slow down"}', "2")
    refused = MemoryTransport(always(NotSent("refused")))
    for _ in range(2):  # a fresh error each time
        with pytest.raises(NotSent, match="refused"):
            await refused.post_lead({}, "k")
    assert len(refused.requests) == 2


async def test_script_takes_its_steps_in_order_then_hands_over() -> None:
    api = FakeApi()
    transport = MemoryTransport(script(503, MaybeSent("dropped"), answer(422, {}), then=api))
    assert (await transport.post_lead({}, "k")).status == 503
    with pytest.raises(MaybeSent, match="dropped"):
        await transport.post_lead({}, "k")
    assert (await transport.post_lead({}, "k")).status == 422
    assert (await transport.post_lead({}, "k")).status == 201
    assert len(api.created) == 1 and len(transport.requests) == 4


async def test_a_script_for_one_path_leaves_the_other_alone() -> None:
    transport = MemoryTransport(script(503, 503, then=FakeApi(), path="/ping"))
    assert (await transport.post_lead({}, "k")).status == 201
    assert [(await transport.post_ping({})).status for _ in range(3)] == [503, 503, 200]


async def test_flaky_is_seeded_and_answers_about_its_share() -> None:
    async def statuses(seed: int) -> list[int]:
        transport = MemoryTransport(flaky(random.Random(seed), 0.25, then=FakeApi()))
        return [(await transport.post_lead({}, str(i))).status for i in range(400)]

    first = await statuses(7)
    assert first == await statuses(7)  # the same seed, the same fates
    assert set(first) == {201, 503}
    draws = random.Random(7)
    assert first == [503 if draws.random() < 0.25 else 201 for _ in range(400)]
    assert first != await statuses(8)


async def test_flaky_can_fail_with_an_error() -> None:
    transport = MemoryTransport(
        flaky(random.Random(1), 1.0, then=FakeApi(), failure=MaybeSent("x"))
    )
    with pytest.raises(MaybeSent):
        await transport.post_lead({}, "k")


async def test_created_then_lost_creates_the_lead_and_loses_the_answer() -> None:
    api = FakeApi()
    transport = MemoryTransport(script(created_then_lost(api), then=api))
    with pytest.raises(MaybeSent, match="may have been created"):
        await transport.post_lead({"email": "a@example.com"}, "k")
    assert (await transport.post_lead({"email": "a@example.com"}, "k")).status == 201
    assert api.keys_created_twice() == {"k"}  # what a resend of a lost answer does


async def test_a_handler_may_be_a_plain_function() -> None:
    def handler(request: Request) -> ApiResponse:
        return answer(202 if request.path == "/leads" else 404)

    transport = MemoryTransport(handler)
    assert (await transport.post_lead({}, "k")).status == 202
    assert (await transport.post_ping({})).status == 404
    async with transport as entered:  # used like HttpTransport
        assert entered is transport
