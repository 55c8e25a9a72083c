"""The circuit breaker, as a table of answers and the pauses they cause."""

from uploader.send.circuit import Circuit
from uploader.settings import CircuitPolicy

POLICY = CircuitPolicy(failure_ratio=0.5, window=4, pause_s=2.0, max_pauses=2)


def feed(circuit: Circuit, answers: str) -> list[float | None]:
    """`answers`: F a server failure, . a good answer."""
    return [circuit.record(a == "F") for a in answers]


def test_stays_closed_below_the_ratio() -> None:
    circuit = Circuit(POLICY)
    assert feed(circuit, "F...F...F..") == [None] * 11
    assert circuit.openings == 0


def test_opens_with_doubling_pauses_then_is_exhausted() -> None:
    circuit = Circuit(POLICY)
    assert feed(circuit, "FFFF") == [None, None, None, 2.0]
    assert feed(circuit, "FF.F") == [None, None, None, 4.0]
    assert not circuit.exhausted
    assert feed(circuit, "FFFF")[-1] == 8.0
    assert circuit.exhausted


def test_a_healthy_window_forgives() -> None:
    circuit = Circuit(POLICY)
    feed(circuit, "FFFF")
    assert circuit.openings == 1
    feed(circuit, "....")
    assert circuit.openings == 0
    # The window slides: two failures after four good answers already make half of it.
    assert feed(circuit, "FF") == [None, 2.0]
