"""A run's handle: stop and abort requests in, events out to any number of subscribers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from uploader.events import Event

Subscriber = Callable[[Event], None]
_log = logging.getLogger(__name__)


class RunControl:
    """What a face holds while a run goes: `stop()` (graceful, as one Ctrl-C), `abort()` (as a
    second one), and `subscribe()` to its events. The engine reads the two events and emits.

    A subscriber that raises is logged and dropped: a broken display never stops an upload.
    """

    def __init__(
        self, subscribers: Iterable[Subscriber] = (), *, stopping: asyncio.Event | None = None
    ) -> None:
        # `stopping` may be shared: `jobs serve` stops every run it started with one event.
        self.stopping = stopping or asyncio.Event()
        self.aborting = asyncio.Event()
        self._subscribers: list[Subscriber] = list(subscribers)

    def __repr__(self) -> str:
        state = (
            "aborting"
            if self.aborting.is_set()
            else "stopping"
            if self.stopping.is_set()
            else "running"
        )
        return f"<RunControl {state} subscribers={len(self._subscribers)}>"

    def subscribe(self, subscriber: Subscriber) -> None:
        """Receive every event from now on, in order, on the event loop's thread."""
        self._subscribers.append(subscriber)

    def emit(self, event: Event) -> None:
        for subscriber in tuple(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                _log.exception("an event subscriber failed and was dropped")
                self._subscribers.remove(subscriber)

    def stop(self) -> None:
        """Stop taking rows; requests that are out get the grace period. Rows left: pending."""
        self.stopping.set()

    def abort(self) -> None:
        """Stop now: requests still out are cancelled and recorded unknown."""
        self.stopping.set()
        self.aborting.set()
