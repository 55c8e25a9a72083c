"""tests.support.virtual_time: the clock jumps to the next timer, exactly, in no real time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from tests.support.transport import FakeApi, MemoryTransport, delayed, script
from tests.support.virtual_time import VirtualTimeLoop, run_virtual
from uploader.send.pacer import Pacer
from uploader.settings import RatePolicy


@pytest.mark.virtual_time
async def test_sleeps_and_timeouts_take_exact_virtual_time_and_no_real_time() -> None:
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    assert isinstance(loop, VirtualTimeLoop) and loop.time() == 0.0
    await asyncio.sleep(3600)
    assert loop.time() == 3600.0
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(2.5):
            await asyncio.Event().wait()
    assert loop.time() == 3602.5
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.sleep(10), timeout=0.25)
    assert loop.time() == 3602.75
    assert time.monotonic() - started < 1  # an hour, in well under a second


@pytest.mark.virtual_time
async def test_concurrent_timers_fire_in_order_at_their_times() -> None:
    loop = asyncio.get_running_loop()
    fired: list[tuple[str, float]] = []

    async def wake(name: str, after_s: float) -> None:
        await asyncio.sleep(after_s)
        fired.append((name, loop.time()))

    await asyncio.gather(wake("c", 0.3), wake("a", 0.1), wake("b", 0.2), wake("d", 0.1 + 0.2))
    assert fired == [("a", 0.1), ("b", 0.2), ("c", 0.3), ("d", 0.3)]  # readings are rounded


@pytest.fixture
async def one_minute_in() -> AsyncIterator[float]:
    await asyncio.sleep(60)
    yield asyncio.get_running_loop().time()
    await asyncio.sleep(1)


@pytest.mark.virtual_time
async def test_async_fixtures_share_the_virtual_loop(one_minute_in: float) -> None:
    assert one_minute_in == 60.0
    assert asyncio.get_running_loop().time() == 60.0


@pytest.mark.virtual_time
async def test_the_clock_stands_while_a_thread_works() -> None:
    loop = asyncio.get_running_loop()
    done: dict[str, float] = {}

    async def in_thread() -> None:
        await asyncio.to_thread(time.sleep, 0.1)  # real time, no virtual time
        done["thread"] = loop.time()

    async def timer() -> None:
        await asyncio.sleep(5)
        done["timer"] = loop.time()

    await asyncio.gather(in_thread(), timer())
    assert done == {"thread": 0.0, "timer": 5.0}


@pytest.mark.virtual_time
async def test_the_pacer_and_a_slow_api_run_on_virtual_time() -> None:
    """The loop's clock drives the pacer; answers take their simulated latency exactly."""
    loop = asyncio.get_running_loop()
    pacer = Pacer(RatePolicy(rate_per_s=4, increase_per_s2=0), clock=loop.time)
    transport = MemoryTransport(delayed(1.5, script(503, then=FakeApi())))
    answered: list[tuple[int, float]] = []

    async def send(row: int) -> None:
        await pacer.acquire()
        response = await transport.post_lead({}, f"key-{row}")
        answered.append((response.status, loop.time()))

    await asyncio.gather(*(send(row) for row in range(5)))
    assert [r.at for r in transport.requests] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert answered == [(503, 1.5), (201, 1.75), (201, 2.0), (201, 2.25), (201, 2.5)]


async def test_unmarked_tests_keep_real_time() -> None:
    loop = asyncio.get_running_loop()
    assert not isinstance(loop, VirtualTimeLoop)
    before = time.monotonic()
    await asyncio.sleep(0.02)
    assert time.monotonic() - before >= 0.015


def test_run_virtual_from_sync_code() -> None:
    async def main() -> float:
        await asyncio.sleep(42)
        return asyncio.get_running_loop().time()

    assert run_virtual(main) == 42.0
    assert run_virtual(main, start=100.0) == 142.0


def test_a_jump_lands_on_a_timer_even_between_readings() -> None:
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        seen = []
        for delay in (1e-12, 3e-10, 0.1, 1e-7):
            await asyncio.sleep(delay)
            seen.append(loop.time())
        return seen

    assert run_virtual(main) == [0.0, 0.0, 0.1, 0.1000001]
