"""Virtual time: an event loop whose clock jumps to the next timer whenever every task waits.

`VirtualTimeLoop` is asyncio's selector loop with a clock of its own, starting at 0.0. When
nothing is ready to run, no I/O is ready and no executor job (`run_in_executor`,
`asyncio.to_thread`) is still out, the clock jumps to the earliest timer instead of waiting
for it. So `asyncio.sleep`, `asyncio.timeout`, `wait_for`, Retry-After pauses, backoffs and
the pacer's slots take no real time, and the times they produce are exact and repeatable.
leadup's engine reads time through `asyncio.get_running_loop().time()` and sleeps through
`asyncio.sleep`, so nothing needs to be injected.

In a pytest test (this module is a pytest plugin, loaded by tests/conftest.py):

    @pytest.mark.virtual_time
    async def test_backoff():
        ...                                   # the test and its async fixtures run on it
        assert asyncio.get_running_loop().time() == 7.5

Outside pytest-asyncio (a sync test, a helper): `run_virtual(main)` runs `main()` on a fresh
virtual-time loop and returns its result.

What it cannot see: time does not move while an executor job is out (threads take no virtual
time), but it does not know about other threads or processes. A socket to a server in
another thread (`sandbox_in_thread`) or process would see its answers arrive "late" while
the clock jumps ahead to the request's timeout, so talk to tests.support.transport's
MemoryTransport instead. With no timer and nothing ready, the loop waits in real time for
the outside world (so a deadlocked test ends by its pytest-timeout).

Clock readings are rounded to the nanosecond, so 0.1 + 0.2 reads 0.3.

Why not the `looptime` plugin (0.9, evaluated against pytest-asyncio 1.5): its time
compaction works, but its pytest_pyfunc_call hook calls `policy.get_event_loop()` for every
test, sync ones included; with no current loop that creates an event loop nobody closes, and
its ResourceWarning, raised when the loop is collected, fails whichever later test is running
then (filterwarnings = error). It also re-classes every pytest-asyncio loop, marked or not.
This loop comes in through pytest-asyncio's own `pytest_asyncio_loop_factories` hook.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

import pytest

__all__ = ["MARKER", "VirtualTimeLoop", "run_virtual"]

MARKER = "virtual_time"
T = TypeVar("T")

_RESOLUTION_S = 1e-9  # readings are rounded to this
_EXECUTOR_POLL_S = 0.05  # real time between looks while an executor job is out


class _JumpingSelector(selectors.DefaultSelector):
    """Polls for I/O; when there is none, tells the loop to jump instead of waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if ready or timeout == 0 or self.loop is None:
            return ready
        if self.loop.executor_jobs_out():
            # A thread is working for the loop: wait for it in real time, the clock stands.
            wait = _EXECUTOR_POLL_S if timeout is None else min(timeout, _EXECUTOR_POLL_S)
            return super().select(wait)
        if timeout is None:
            return super().select(None)  # no timer: only the outside world can wake us
        self.loop.jump(timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop on virtual time (see the module docstring)."""

    def __init__(self, start: float = 0.0) -> None:
        selector = _JumpingSelector()
        super().__init__(selector)
        selector.loop = self
        self._virtual_now = float(start)
        self._executor_jobs: set[asyncio.Future[Any]] = set()
        # A timer is due once time() + resolution passes it; readings round by at most half
        # of _RESOLUTION_S, so a jump always lands on a due timer.
        self._clock_resolution = max(self._clock_resolution, _RESOLUTION_S)

    def time(self) -> float:
        return round(self._virtual_now, 9)

    def jump(self, timeout: float) -> None:
        """Move the clock to the earliest timer (`timeout` from now when none is known)."""
        scheduled = getattr(self, "_scheduled", None)  # asyncio's heap of TimerHandles
        target = scheduled[0].when() if scheduled else self._virtual_now + timeout
        self._virtual_now = max(self._virtual_now, target)

    def executor_jobs_out(self) -> bool:
        return bool(self._executor_jobs)

    def run_in_executor(
        self, executor: Executor | None, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        future = super().run_in_executor(executor, func, *args)
        self._executor_jobs.add(future)
        future.add_done_callback(self._executor_jobs.discard)
        return future


def run_virtual(main: Callable[[], Awaitable[T]], *, start: float = 0.0) -> T:
    """Run `main()` on a fresh VirtualTimeLoop (for code outside a pytest-asyncio test)."""

    async def wrapper() -> T:
        return await main()

    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(start)) as runner:
        return runner.run(wrapper())


# --- pytest plugin ---------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: run this async test and its async fixtures on a virtual-time event loop "
        "(tests/support/virtual_time.py)",
    )


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """pytest-asyncio's hook: the virtual-time loop for marked tests, asyncio's for the rest.

    With one factory per test pytest-asyncio adds nothing to the test ids.
    """
    if item.get_closest_marker(MARKER) is not None:
        return {MARKER: VirtualTimeLoop}
    return {"asyncio": asyncio.new_event_loop}
