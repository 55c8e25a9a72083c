"""The pacer on virtual time: exact slot sequences, pauses, AIMD, and a simulated server."""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.virtual_time import run_virtual
from uploader.send.pacer import Pacer, parse_retry_after
from uploader.settings import RatePolicy


class FakeClock:
    """A clock whose sleep advances time at once (tenacity style), recording each sleep."""

    def __init__(self, overshoot_s: Callable[[], float] = lambda: 0.0) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._overshoot_s = overshoot_s

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds + self._overshoot_s()


def virtual_pacer(policy: RatePolicy, **kwargs: Any) -> Pacer:
    """A pacer on the running virtual loop's clock (asyncio.sleep is virtual there)."""
    return Pacer(policy, clock=asyncio.get_running_loop().time, **kwargs)


# --- even pacing ---------------------------------------------------------------------------


async def test_slots_are_evenly_spaced_and_the_first_is_immediate() -> None:
    clock = FakeClock()
    pacer = Pacer(RatePolicy(rate_per_s=10), clock=clock, sleep=clock.sleep)
    slots = [await pacer.acquire() for _ in range(5)]
    assert slots == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert clock.sleeps == pytest.approx([0.1] * 4)


async def test_an_idle_pacer_does_not_catch_up_with_a_burst() -> None:
    clock = FakeClock()
    pacer = Pacer(RatePolicy(rate_per_s=10), clock=clock, sleep=clock.sleep)
    await pacer.acquire()
    clock.now = 5.0
    slots = [await pacer.acquire() for _ in range(3)]
    assert slots == pytest.approx([5.0, 5.1, 5.2])


async def test_a_stall_while_waiting_restarts_the_schedule_without_a_burst() -> None:
    stalls = iter([2.0])
    clock = FakeClock(overshoot_s=lambda: next(stalls, 0.0))
    pacer = Pacer(RatePolicy(rate_per_s=10), clock=clock, sleep=clock.sleep)
    slots = [await pacer.acquire() for _ in range(4)]
    assert slots == pytest.approx([0.0, 2.1, 2.2, 2.3])


async def test_small_wake_up_lateness_does_not_drift_the_rate_down() -> None:
    clock = FakeClock(overshoot_s=lambda: 0.01)
    pacer = Pacer(RatePolicy(rate_per_s=10), clock=clock, sleep=clock.sleep)
    slots = [await pacer.acquire() for _ in range(4)]
    assert slots == pytest.approx([0.0, 0.11, 0.21, 0.31])


def test_concurrent_acquirers_are_served_fifo_at_even_slots() -> None:
    async def main() -> list[tuple[int, float]]:
        pacer = virtual_pacer(RatePolicy(rate_per_s=10))
        granted: list[tuple[int, float]] = []

        async def take(n: int) -> None:
            granted.append((n, await pacer.acquire()))

        await asyncio.gather(*(take(n) for n in range(6)))
        return granted

    granted = run_virtual(main)
    assert [n for n, _ in granted] == list(range(6))
    assert [t for _, t in granted] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


def test_a_cancelled_waiter_gives_its_slot_to_the_next() -> None:
    async def main() -> list[float]:
        pacer = virtual_pacer(RatePolicy(rate_per_s=10))
        await pacer.acquire()
        doomed = asyncio.create_task(pacer.acquire())
        nxt = asyncio.create_task(pacer.acquire())
        await asyncio.sleep(0.05)
        doomed.cancel()
        return [await nxt, await pacer.acquire()]

    assert run_virtual(main) == pytest.approx([0.1, 0.2])


# --- pause ---------------------------------------------------------------------------------


def test_a_pause_holds_waiting_and_future_acquirers_then_paces_evenly() -> None:
    async def main() -> list[float]:
        pacer = virtual_pacer(RatePolicy(rate_per_s=10))
        await pacer.acquire()
        waiters = [asyncio.create_task(pacer.acquire()) for _ in range(3)]
        await asyncio.sleep(0.05)
        pacer.pause(1.0)
        return [*await asyncio.gather(*waiters), await pacer.acquire()]

    assert run_virtual(main) == pytest.approx([1.05, 1.15, 1.25, 1.35])


def test_a_pause_extends_but_never_shortens() -> None:
    clock = FakeClock()
    pacer = Pacer(RatePolicy(), clock=clock, sleep=clock.sleep)
    pacer.pause(5.0)
    pacer.pause(1.0)
    assert pacer.paused_until == 5.0
    clock.now = 2.0
    pacer.pause(-3.0)
    assert pacer.paused_until == 5.0
    pacer.pause(10.0)
    assert pacer.paused_until == 12.0


# --- adapting to 429s ----------------------------------------------------------------------


def test_a_429_episode_lowers_the_rate_once() -> None:
    clock = FakeClock()
    policy = RatePolicy(rate_per_s=10, decrease_factor=0.5, increase_per_s2=0)
    pacer = Pacer(policy, clock=clock, sleep=clock.sleep)
    clock.now = 0.3
    pacer.on_rate_limited(0.0)
    pacer.on_rate_limited(0.1)  # in flight when the rate went down
    pacer.on_rate_limited(0.3)
    assert pacer.rate_per_s == 5.0
    clock.now = 0.5
    pacer.on_rate_limited(0.4)  # granted after the decrease: a new episode
    assert pacer.rate_per_s == 2.5
    assert pacer.rate_limited_count == 4


def test_a_decrease_applies_to_the_acquirer_already_waiting() -> None:
    async def main() -> float:
        pacer = virtual_pacer(RatePolicy(rate_per_s=10, decrease_factor=0.5, increase_per_s2=0))
        await pacer.acquire()
        waiter = asyncio.create_task(pacer.acquire())
        await asyncio.sleep(0.05)
        pacer.on_rate_limited(0.0)
        return await waiter

    assert run_virtual(main) == pytest.approx(0.2)


async def _pacer_with_accepted(rate: float, per_s: int, seconds: float) -> tuple[Pacer, FakeClock]:
    """A pacer that started at 0 and had per_s responses accepted each second for `seconds`."""
    clock = FakeClock()
    pacer = Pacer(RatePolicy(rate_per_s=rate), clock=clock, sleep=clock.sleep)
    await pacer.acquire()
    for n in range(round(per_s * seconds)):
        clock.now = n / per_s
        pacer.on_response(clock.now)
    return pacer, clock


async def test_a_decrease_goes_under_the_measured_accepted_rate() -> None:
    pacer, clock = await _pacer_with_accepted(rate=100, per_s=60, seconds=2)
    pacer.on_rate_limited(clock.now)
    share = RatePolicy().measured_share
    assert pacer.rate_per_s == pytest.approx(min(100 * 0.85, 60 * share))


async def test_too_few_samples_leave_the_decrease_multiplicative() -> None:
    pacer, clock = await _pacer_with_accepted(rate=100, per_s=60, seconds=0.3)
    pacer.on_rate_limited(clock.now)
    assert pacer.rate_per_s == pytest.approx(85)


@pytest.mark.parametrize("pause_first", [True, False])
async def test_the_pool_may_pause_before_or_after_reporting_the_429(pause_first: bool) -> None:
    pacer, clock = await _pacer_with_accepted(rate=100, per_s=60, seconds=2)
    if pause_first:
        pacer.pause(1.0)
    pacer.on_rate_limited(clock.now)
    pacer.pause(1.0)
    assert pacer.rate_per_s == pytest.approx(60 * RatePolicy().measured_share)


async def test_samples_from_before_a_pause_need_fresh_ones_after_it() -> None:
    pacer, clock = await _pacer_with_accepted(rate=100, per_s=60, seconds=2)
    pacer.pause(1.0)
    clock.now += 1.2  # resumed 0.2 s ago: too soon to trust a measure
    pacer.on_rate_limited(clock.now)
    assert pacer.rate_per_s == pytest.approx(85)


def test_calm_recovers_fast_then_probes_near_the_last_429() -> None:
    policy = RatePolicy(
        rate_per_s=10,
        decrease_factor=0.5,
        increase_per_s2=1.0,
        probe_increase_per_s2=0.1,
        probe_band=0.05,
    )
    clock = FakeClock()
    pacer = Pacer(policy, clock=clock, sleep=clock.sleep)
    pacer.on_rate_limited(0.0)  # 10 -> 5; the probe band is [9.5, 10.5)
    expected = {0.0: 5.0, 2.0: 7.0, 4.5: 9.5, 5.5: 9.6, 9.5: 10.0, 60.0: 10.0}
    for at, rate in expected.items():
        clock.now = at
        assert pacer.rate_per_s == pytest.approx(rate), at


def test_above_the_probe_band_growth_is_fast_again() -> None:
    policy = RatePolicy(
        rate_per_s=100, decrease_factor=0.5, probe_increase_per_s2=0.1, probe_band=0.1
    )
    clock = FakeClock()
    pacer = Pacer(policy, clock=clock, sleep=clock.sleep)
    clock.now = 1.0
    pacer.on_rate_limited(0.5)  # the limit seemed 100 -> 50; band [90, 110) is capped at 100
    clock.now += 40 + 50  # 40 s fast to 90, then 50 s probing: +5
    assert pacer.rate_per_s == pytest.approx(95)


def test_time_paused_is_not_calm() -> None:
    policy = RatePolicy(rate_per_s=10, decrease_factor=0.5, increase_per_s2=1.0)
    clock = FakeClock()
    pacer = Pacer(policy, clock=clock, sleep=clock.sleep)
    pacer.on_rate_limited(0.0)
    pacer.pause(2.0)
    clock.now = 3.0
    assert pacer.rate_per_s == pytest.approx(6.0)


def test_the_rate_stays_within_its_bounds() -> None:
    policy = RatePolicy(rate_per_s=10, min_rate_per_s=1.0, decrease_factor=0.5)
    clock = FakeClock()
    pacer = Pacer(policy, clock=clock, sleep=clock.sleep)
    for _ in range(20):
        clock.now += 0.01
        pacer.on_rate_limited(clock.now)
    assert pacer.rate_per_s == 1.0
    clock.now += 3600
    assert pacer.rate_per_s == 10.0


def test_a_rate_below_the_minimum_is_honoured() -> None:
    pacer = Pacer(RatePolicy(rate_per_s=0.1, min_rate_per_s=0.2), clock=FakeClock())
    pacer.on_rate_limited(0.0)
    assert pacer.rate_per_s == 0.1


# --- simulation against a sliding-window server --------------------------------------------


@dataclass
class SlidingWindowServer:
    """Like the sandbox: at most `limit` accepted requests in any trailing window; a 429
    says Retry-After = whole seconds until a slot frees, at least 1."""

    limit: int
    window_s: float = 1.0
    accepted: deque[float] = field(default_factory=deque)

    def answer(self, at: float) -> str | None:
        """None when accepted, else the Retry-After header value."""
        while self.accepted and self.accepted[0] <= at - self.window_s:
            self.accepted.popleft()
        if len(self.accepted) >= self.limit:
            return str(max(1, math.ceil(self.accepted[0] + self.window_s - at)))
        self.accepted.append(at)
        return None


@dataclass(frozen=True)
class SimResult:
    rate_per_s: float  # accepted per second in the steady state
    rate_limited_share: float  # of the requests that reached the server then


def simulate(
    policy: RatePolicy,
    server_limit: int,
    *,
    workers: int = 8,
    latency_s: float = 0.020,
    jitter_s: float = 0.0,
    warmup_s: float = 10.0,
    measure_s: float = 60.0,
) -> SimResult:
    """A pool of workers through one pacer, pausing for each 429's Retry-After, as the
    uploader does; steady state measured after the warm-up. Latency varies by up to
    +-jitter_s, drawn from a seeded generator so every run is the same."""
    end_s = warmup_s + measure_s
    rng = random.Random(0)
    server = SlidingWindowServer(server_limit)
    arrivals: list[tuple[float, bool]] = []  # (at the server, accepted)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        pacer = virtual_pacer(policy)

        async def one_way() -> None:
            await asyncio.sleep(latency_s / 2 + rng.uniform(-jitter_s, jitter_s) / 2)

        async def worker() -> None:
            while (sent_at := await pacer.acquire()) < end_s:
                await one_way()
                retry_after = server.answer(loop.time())
                arrivals.append((loop.time(), retry_after is None))
                await one_way()
                if retry_after is None:
                    pacer.on_response(sent_at)
                    continue
                now = datetime.now(UTC)
                pause_s = parse_retry_after(retry_after, now=now, max_s=120.0)
                assert pause_s is not None
                pacer.pause(pause_s)
                pacer.on_rate_limited(sent_at)

        await asyncio.gather(*(worker() for _ in range(workers)))

    run_virtual(main)
    steady = [ok for at, ok in arrivals if warmup_s <= at < end_s]
    return SimResult(
        rate_per_s=sum(steady) / measure_s,
        rate_limited_share=steady.count(False) / len(steady),
    )


@pytest.mark.parametrize("jitter_s", [0.0, 0.010])
def test_asked_for_100_against_40_it_sustains_34_with_few_429s(jitter_s: float) -> None:
    result = simulate(RatePolicy(rate_per_s=100), server_limit=40, jitter_s=jitter_s)
    assert result.rate_per_s >= 34
    assert result.rate_limited_share <= 0.05


def test_asked_for_40_against_44_it_gets_40_without_a_429() -> None:
    result = simulate(RatePolicy(rate_per_s=40), server_limit=44, warmup_s=0.0, measure_s=30.0)
    assert result.rate_limited_share == 0
    assert result.rate_per_s == pytest.approx(40, abs=0.1)


# --- Retry-After ---------------------------------------------------------------------------

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-5", 0.0),
        ("99999999999", 300.0),
        ("9" * 500, 300.0),
        ("Thu, 26 Nov 2026 12:00:30 GMT", 30.0),  # IMF-fixdate
        ("Thursday, 26-Nov-26 12:01:00 GMT", 60.0),  # obsolete RFC 850
        ("Thu Nov 26 12:00:10 2026", 10.0),  # obsolete asctime
        ("Thu, 26 Nov 2026 13:00:10 +0100", 10.0),  # a zone, though HTTP says GMT
        ("Thu, 26 Nov 2026 11:00:00 GMT", 0.0),  # in the past
        ("Fri, 31 Dec 99999 23:59:59 GMT", 300.0),  # past datetime's range
        ("Fri, 31 Dec 9999 23:59:59 -2359", 300.0),  # overflows when converted to UTC
        ("Mon, 01 Jan 0001 00:00:00 +0100", 0.0),  # underflows
        ("Fri, 32 Dec 2026 00:00:00 GMT", None),  # no such day
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
        ("inf", None),
        ("1e3", None),
        ("12 seconds", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW, max_s=300.0) == expected


def test_parse_retry_after_reads_a_naive_now_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after("Thu, 26 Nov 2026 12:00:30 GMT", now=naive, max_s=60) == 30.0


def test_parse_retry_after_is_relative_to_now_in_any_zone() -> None:
    now = NOW.astimezone(timezone(timedelta(hours=-5)))
    assert parse_retry_after("Thu, 26 Nov 2026 12:00:30 GMT", now=now, max_s=60) == 30.0


@given(st.one_of(st.none(), st.text()), st.floats(min_value=0, max_value=1e6))
def test_parse_retry_after_never_raises_and_stays_in_bounds(
    value: str | None, max_s: float
) -> None:
    result = parse_retry_after(value, now=NOW, max_s=max_s)
    assert result is None or 0.0 <= result <= max_s
