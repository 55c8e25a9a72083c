"""What a person sees while a run goes: the run's events drawn as a live bar on a terminal, or
as plain lines for logs and pipes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import TextIO

from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.text import Text

from uploader.events import Event, FileRead, Notice, NoticeKind, RowsLoaded
from uploader.events import Progress as ProgressEvent
from uploader.model import Outcome
from uploader.text import inert


def counts_text(counts: Mapping[Outcome, int]) -> str:
    """`created 12 invalid 3`: the outcomes that have rows, in the outcomes' order."""
    return " ".join(
        f"{o.value} {counts[o]}" for o in Outcome if counts.get(o) and o is not Outcome.PENDING
    )


def clock_text(seconds: float | None) -> str:
    """`0:01:05`, or `-:--:--` while unknown."""
    if seconds is None:
        return "-:--:--"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def loaded_line(read: FileRead | None, loaded: RowsLoaded) -> str:
    """`leads.csv (csv, utf-8, ...): 285 rows to send; 9 invalid, 6 skipped`."""
    held = ", ".join(
        f"{loaded.counts[o]} {o.value}"
        for o in (Outcome.INVALID, Outcome.SKIPPED)
        if loaded.counts.get(o)
    )
    how = f" ({read.describe()})" if read is not None else ""
    if read is not None and read.note:
        how += f"; {read.note}"
    if loaded.resumed:
        return inert(f"{loaded.path.name}: resuming, {loaded.to_send} rows still to send")
    held = f"; {held}" if held else ""
    return inert(f"{loaded.path.name}{how}: {loaded.to_send} rows to send{held}")


class _BarWithCounts(Progress):
    """The bar on one line (total and ETA fit in 80 columns), the counts on the next."""

    counts_line = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        if self.counts_line:
            yield Text(self.counts_line, overflow="ellipsis", no_wrap=True)


class BarView:
    """A live rich bar on a terminal; replaced by one line when the run ends or stops."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._read: FileRead | None = None
        self._bar = _BarWithCounts(
            TextColumn("[bold]sending"),
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>6.1f}/s"),
            TextColumn("eta {task.fields[eta]}"),
            console=console,
            transient=True,
            expand=True,
        )
        self._task: TaskID | None = None
        self._last: ProgressEvent | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, FileRead):
            self._read = event
        elif isinstance(event, RowsLoaded):
            self._console.print(loaded_line(self._read, event), markup=False)
        elif isinstance(event, ProgressEvent):
            self._update(event)
        elif isinstance(event, Notice) and event.kind is not NoticeKind.NOTE:
            self._console.print(Text(inert(event.message), style="yellow"))

    def _update(self, event: ProgressEvent) -> None:
        self._last = event
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task("send", total=event.total, rate=0.0, eta="-")
        self._bar.counts_line = counts_text(event.counts)
        self._bar.update(
            self._task,
            completed=event.done,
            rate=event.rate_per_s,
            eta=clock_text(event.eta_s),
        )

    def close(self) -> None:
        """The live bar goes; what it last said stays as a plain line (no frozen ETA)."""
        if self._task is None:
            return
        self._bar.stop()
        last = self._last
        if last is not None:
            self._console.print(
                f"sent {last.done_this_run} rows in {clock_text(last.elapsed_s)}; "
                f"{last.done}/{last.total} rows done: {counts_text(last.counts)}",
                markup=False,
            )


class LineView:
    """A plain progress line every few seconds, and notices as they come, for logs."""

    def __init__(
        self,
        stream: TextIO,
        *,
        interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._interval_s = interval_s
        self._clock = clock
        self._read: FileRead | None = None
        self._last_printed = -float("inf")
        self._last: ProgressEvent | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, FileRead):
            self._read = event
        elif isinstance(event, RowsLoaded):
            self._print(loaded_line(self._read, event))
        elif isinstance(event, ProgressEvent):
            self._last = event
            if self._clock() - self._last_printed >= self._interval_s:
                self._emit(event)
        elif isinstance(event, Notice) and event.kind is not NoticeKind.NOTE:
            self._print(inert(event.message))

    def close(self) -> None:
        if self._last is not None:
            self._emit(self._last)

    def _emit(self, event: ProgressEvent) -> None:
        self._last_printed = self._clock()
        share = f" ({100 * event.done / event.total:.0f}%)" if event.total else ""
        line = (
            f"{event.done}/{event.total} rows{share} {event.rate_per_s:.1f} rows/s"
            f" eta {clock_text(event.eta_s)}"
        )
        if counts := counts_text(event.counts):
            line += f" | {counts}"
        self._print(line)

    def _print(self, message: str) -> None:
        print(f"leadup: {message}", file=self._stream, flush=True)
