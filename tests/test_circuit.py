"""The circuit breaker: a table of answers and the transitions they cause; the probe gate."""

import asyncio

import pytest

from uploader.send.circuit import ApiDown, Change, Circuit, State
from uploader.settings import CircuitPolicy

POLICY = CircuitPolicy(failure_ratio=0.5, window=4, pause_s=2.0, max_pauses=3)


def feed(circuit: Circuit, answers: str) -> list[Change | None]:
    """`answers`: F a failure (may have applied, or no connection), . any other answer."""
    return [circuit.record(a == "F") for a in answers]


async def test_stays_closed_below_the_ratio() -> None:
    circuit = Circuit(POLICY)
    assert feed(circuit, "F...F...F..") == [None] * 11
    assert circuit.state is State.CLOSED


async def test_opens_when_half_the_window_failed() -> None:
    circuit = Circuit(POLICY)
    assert feed(circuit, "F.F.") == [None, None, None, Change(State.OPEN, 2.0, 0)]
    assert circuit.state is State.OPEN


async def test_answers_sent_before_it_opened_change_nothing() -> None:
    circuit = Circuit(POLICY)
    feed(circuit, "FFFF")
    assert feed(circuit, "FFFFFFFF") == [None] * 8
    assert circuit.state is State.OPEN and circuit.failed_probes == 0


@pytest.mark.parametrize(
    ("probes", "states", "pauses"),
    [
        (".", [State.CLOSED], []),
        ("F.", [State.OPEN, State.CLOSED], [4.0]),
        ("FF.", [State.OPEN, State.OPEN, State.CLOSED], [4.0, 8.0]),
        ("FFF", [State.OPEN, State.OPEN, State.DOWN], [4.0, 8.0]),
    ],
)
async def test_each_failed_probe_doubles_the_pause_until_the_api_is_down(
    probes: str, states: list[State], pauses: list[float]
) -> None:
    circuit = Circuit(POLICY)
    feed(circuit, "FFFF")
    seen: list[Change] = []
    for answer in probes:
        circuit.pause_over()
        seen.append(circuit.probe_done(answer == "F"))
    assert [c.state for c in seen] == states
    assert [c.pause_s for c in seen if c.state is State.OPEN] == pauses


async def test_a_good_probe_forgives_earlier_failures() -> None:
    circuit = Circuit(POLICY)
    feed(circuit, "FFFF")
    circuit.pause_over()
    circuit.probe_done(True)
    circuit.pause_over()
    assert circuit.probe_done(False) == Change(State.CLOSED)
    assert circuit.failed_probes == 0
    assert feed(circuit, "FFFF")[-1] == Change(State.OPEN, 2.0, 0)


async def test_every_transition_is_told() -> None:
    told: list[State] = []
    circuit = Circuit(POLICY, on_change=lambda change: told.append(change.state))
    feed(circuit, "FFFF")
    circuit.pause_over()
    circuit.probe_done(False)
    assert told == [State.OPEN, State.HALF_OPEN, State.CLOSED]


async def test_after_the_pause_exactly_one_request_probes() -> None:
    circuit = Circuit(CircuitPolicy(window=2, pause_s=0.01, max_pauses=2))
    feed(circuit, "FF")
    waiters = [asyncio.create_task(circuit.admit()) for _ in range(5)]
    await asyncio.wait(waiters, timeout=1, return_when=asyncio.FIRST_COMPLETED)
    await asyncio.sleep(0.05)
    assert [t.result() for t in waiters if t.done()] == [True]  # the probe, and only it
    assert circuit.state is State.HALF_OPEN
    circuit.probe_done(False)
    results = await asyncio.gather(*(t for t in waiters if not t.done()))
    assert results == [False] * 4  # the others go once the probe is answered


async def test_a_lost_probe_lets_another_request_probe() -> None:
    circuit = Circuit(CircuitPolicy(window=2, pause_s=0.01, max_pauses=2))
    feed(circuit, "FF")
    assert await circuit.admit() is True
    second = asyncio.create_task(circuit.admit())
    await asyncio.sleep(0.02)
    assert not second.done()
    circuit.probe_lost()
    assert await asyncio.wait_for(second, 1) is True


async def test_waiters_hear_that_the_api_is_down() -> None:
    circuit = Circuit(CircuitPolicy(window=2, pause_s=0.01, max_pauses=1))
    feed(circuit, "FF")
    assert await circuit.admit() is True
    other = asyncio.create_task(circuit.admit())
    await asyncio.sleep(0.02)
    circuit.probe_done(True)
    with pytest.raises(ApiDown):
        await asyncio.wait_for(other, 1)
