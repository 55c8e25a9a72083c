"""The circuit breaker: when the API keeps failing, pause everyone, then let one probe decide.

    closed ──most of the window failed──▶ open (pause) ──pause over──▶ half-open
      ▲                                                                   │ one probe
      └───────────────────── probe answered ──────────────────────────────┤
                    open (pause doubled) ◀── probe failed ────────────────┘
                    down (the run stops, rows pending) ◀── max_pauses probes failed

"Failed" means the request may have been applied without a clear answer (500, 502, 504, a
timeout or a drop after sending) or could not connect. Overload answers (429, 503, 408, 425)
are the pacer's business: the API is alive and asking for a slower pace.

The state machine (`record`, `probe_done`, `pause_over`) is pure and table-tested; `admit` is
the one async method, which the workers await before each request.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from uploader.settings import CircuitPolicy


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class Change:
    """A transition worth telling a person about."""

    state: State
    pause_s: float = 0.0  # how long an OPEN circuit pauses
    failed_probes: int = 0


class ApiDown(Exception):
    """The circuit is down: the API failed every probe; nothing more is sent this run."""


class Circuit:
    """Closed, open, half-open or down; see the module docstring."""

    def __init__(
        self, policy: CircuitPolicy, *, on_change: Callable[[Change], None] | None = None
    ) -> None:
        self._policy = policy
        self._on_change = on_change
        self._recent: deque[bool] = deque(maxlen=policy.window)
        self.state = State.CLOSED
        self.failed_probes = 0  # in a row; a probe that is answered resets it
        self._probing = False  # a probe is out (half-open admits only one)
        self._sleeping = False  # a worker sleeps out the pause for everyone
        self._changed = asyncio.Event()  # set on every transition; waiters re-check

    def __repr__(self) -> str:
        return f"<Circuit {self.state.value} failed_probes={self.failed_probes}>"

    # -- the pure state machine -------------------------------------------------------------

    def record(self, failed: bool) -> Change | None:
        """One answer to a request that was not the probe; opens the circuit when it must.

        Answers that arrive while the circuit is not closed were sent before it opened: they
        say nothing new, so they are ignored.
        """
        if self.state is not State.CLOSED:
            return None
        self._recent.append(failed)
        if len(self._recent) < self._policy.window:
            return None
        if sum(self._recent) / len(self._recent) < self._policy.failure_ratio:
            return None
        return self._open()

    def probe_done(self, failed: bool) -> Change:
        """The probe's answer: close the circuit, or open it again for longer, or give up."""
        self._probing = False
        if not failed:
            self.failed_probes = 0
            return self._move(Change(State.CLOSED))
        self.failed_probes += 1
        if self.failed_probes >= self._policy.max_pauses:
            return self._move(Change(State.DOWN, failed_probes=self.failed_probes))
        return self._open()

    def probe_lost(self) -> None:
        """The probe ended without an answer (the run is stopping): another may probe."""
        if self._probing:
            self._probing = False
            self._wake()

    def pause_over(self) -> Change:
        """The pause ended: the next request is the probe."""
        return self._move(Change(State.HALF_OPEN, failed_probes=self.failed_probes))

    @property
    def pause_s(self) -> float:
        """The pause of the current (or next) opening: doubles with each failed probe."""
        return self._policy.pause_s * 2**self.failed_probes

    def _open(self) -> Change:
        self._recent.clear()
        return self._move(Change(State.OPEN, self.pause_s, self.failed_probes))

    def _move(self, change: Change) -> Change:
        self.state = change.state
        self._wake()
        if self._on_change is not None:
            self._on_change(change)
        return change

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- the gate the workers pass --------------------------------------------------------

    async def admit(self) -> bool:
        """Wait until a request may go; True when this one is the probe. Raises ApiDown.

        While open, the first waiter sleeps out the pause and turns the circuit half-open;
        in half-open the first caller becomes the probe and everyone else waits for its answer.
        """
        while True:
            if self.state is State.CLOSED:
                return False
            if self.state is State.DOWN:
                raise ApiDown
            if self.state is State.HALF_OPEN and not self._probing:
                self._probing = True
                return True
            changed = self._changed
            if self.state is State.OPEN and not self._sleeping:
                # One sleeper ends the pause for everyone; the rest wait for the change.
                self._sleeping = True
                try:
                    await asyncio.sleep(self.pause_s)
                finally:
                    self._sleeping = False
                    self._wake()  # cancelled: another waiter takes over the sleep
                if self.state is State.OPEN:
                    self.pause_over()
                continue
            await changed.wait()
