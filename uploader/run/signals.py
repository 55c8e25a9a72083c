"""What Ctrl-C (SIGINT) and SIGTERM mean, the same for every face: the CLI, `leadup jobs run`,
`serve` and `reprocess`, and `leadup sandbox`.

1. The first asks for a graceful stop: `target.stop()` (an upload stops taking rows and the
   requests that are out get their grace period; the sandbox stops listening and answers the
   requests it has).
2. The second asks to stop now: `target.abort()` (requests still out are cancelled and recorded
   unknown; the sandbox drops what it is answering).
3. The third leaves at once: the task that entered `stop_on_signals` is cancelled, so the face
   sees CancelledError (from `asyncio.run`) and exits; whatever was running is abandoned and
   the next run resumes it.

        control = RunControl()
        with stop_on_signals(control, tell=print):
            report = await upload(request, stop=control.stopping, abort=control.aborting)

SIGINT and SIGTERM count together: a supervisor's SIGTERM after a Ctrl-C is the second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any, Protocol

_log = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stoppable(Protocol):
    """Anything a signal can stop: a RunControl, a scheduler, a server."""

    def stop(self) -> None:
        """Finish well: take nothing new, let what is under way end (for a while)."""

    def abort(self) -> None:
        """Stop now: cancel what is under way."""


Tell = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Notices:
    """What to tell the person at each signal, in plain words; "" says nothing."""

    stopping: str = "stopping: finishing requests in flight (Ctrl-C again to quit now)"
    aborting: str = (
        "stopping now: requests still out are recorded unknown (Ctrl-C again to leave at once)"
    )
    leaving: str = ""  # the face says it when it sees the cancellation (it knows the exit)


UPLOAD_NOTICES = Notices()


class SignalCount:
    """How many stop signals have arrived; what `stop_on_signals` yields."""

    def __init__(self) -> None:
        self.received = 0

    @property
    def stopping(self) -> bool:
        return self.received >= 1

    @property
    def aborting(self) -> bool:
        return self.received >= 2

    @property
    def left_at_once(self) -> bool:
        """True once the third signal has cancelled the task."""
        return self.received >= 3

    def __repr__(self) -> str:
        return f"<SignalCount received={self.received}>"


@contextlib.contextmanager
def stop_on_signals(
    target: Stoppable,
    *,
    tell: Tell | None = None,
    notices: Notices = UPLOAD_NOTICES,
    signals: tuple[signal.Signals, ...] = SIGNALS,
) -> Iterator[SignalCount]:
    """While inside, SIGINT/SIGTERM stop `target` (first), abort it (second), and cancel the
    task that entered (third); `tell(message)` hears each of `notices` as it happens.

    Enter it from a coroutine, in the main thread (signal handlers live there). Where the
    event loop cannot take signal handlers (Windows, another thread) nothing is installed and
    Ctrl-C keeps Python's default, KeyboardInterrupt. The handlers are removed on the way out,
    however it is left, and what was there before is put back. Not meant to be nested.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    count = SignalCount()

    def say(message: str) -> None:
        if message and tell is not None:
            try:
                tell(message)
            except Exception:  # a broken display never keeps a stop from happening
                _log.exception("telling about a signal failed")

    def on_signal() -> None:
        count.received += 1
        if count.received == 1:
            target.stop()
            say(notices.stopping)
        elif count.received == 2:
            target.abort()
            say(notices.aborting)
        else:
            if count.received == 3:
                say(notices.leaving)
            if task is not None:
                task.cancel()  # again on a fourth: something may have swallowed the third

    previous: dict[signal.Signals, Callable[[int, FrameType | None], Any] | int | None] = {}
    try:
        for sig in signals:
            handler = signal.getsignal(sig)
            try:
                loop.add_signal_handler(sig, on_signal)
            except (NotImplementedError, RuntimeError):
                break  # no signal handlers here: Python's own Ctrl-C handling stays
            previous[sig] = handler
        yield count
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            if handler is not None:  # as it was (asyncio.run's own SIGINT handler, say)
                signal.signal(sig, handler)
