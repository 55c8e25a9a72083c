"""The runs the web face started: each an engine run (`uploader.run`) on the server's loop,
its live state for the page (a snapshot, replaced as events arrive), and its record in the
workspace once it ends.

A run belongs to the server, not to a browser tab: closing the page leaves it going, and
stopping the server stops every run gracefully (rows left are `pending`; the page resumes
them later).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from uploader.errors import LeadupError, UsageError
from uploader.events import Event, FileRead, Notice, Progress, RowsLoaded, RunFinished
from uploader.model import Outcome
from uploader.report import UploadReport
from uploader.run.control import RunControl
from uploader.settings import Credentials
from uploader.text import inert
from uploader.web.workspace import Upload

RUNNING, FINISHED, STOPPED = "running", "finished", "stopped"
UPLOAD_SLOT, QUOTE_SLOT = "run", "quote"  # an upload (with its retries) and its quote
NOTICES_KEPT = 8
_log = logging.getLogger(__name__)

Call = Callable[[RunControl], Awaitable[UploadReport]]


@dataclass(slots=True)
class LiveRun:
    """A run in progress as the page sees it: the latest snapshot, sent to every listener."""

    control: RunControl
    snapshot: dict[str, Any]
    listeners: set[asyncio.Queue[dict[str, Any]]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None

    def on_event(self, event: Event) -> None:
        snap = self.snapshot
        if isinstance(event, FileRead):
            snap["detected"] = inert(event.describe())
        elif isinstance(event, RowsLoaded):
            snap["total"] = sum(event.counts.values())
            snap["counts"] = _counts(event.counts)
            snap["done"] = snap["total"] - event.counts.get(Outcome.PENDING, 0)
        elif isinstance(event, Progress):
            snap.update(
                total=event.total,
                done=event.done,
                counts=_counts(event.counts),
                rate_per_s=round(event.rate_per_s, 1),
                eta_s=None if event.eta_s is None else round(event.eta_s),
            )
        elif isinstance(event, Notice):
            snap["notices"] = [*snap["notices"], inert(event.message)][-NOTICES_KEPT:]
        elif isinstance(event, RunFinished):
            snap["counts"] = _counts(event.report.counts)
            snap["done"] = event.report.rows - event.report.counts.get(Outcome.PENDING, 0)
        else:
            return
        self.publish()

    def publish(self) -> None:
        for queue in self.listeners:
            if queue.full():  # a slow page gets the latest state, not every one
                queue.get_nowait()
            queue.put_nowait(dict(self.snapshot))


def _counts(counts: Any) -> dict[str, int]:
    return {o.value: int(counts.get(o, 0)) for o in Outcome if counts.get(o, 0)}


def summary_of(report: UploadReport) -> dict[str, Any]:
    """What the CLI's summary says about a run, as data for the page (and its record)."""
    return {
        "counts": _counts(report.counts),
        "rows": report.rows,
        "created": report.created,
        "status_counts": dict(sorted(report.status_counts.items())),
        "total_price": round(report.total_price, 2),
        "sent_this_run": report.sent_this_run,
        "duration_s": round(report.duration_s, 1),
        "requests": report.requests,
        "retries": report.retries,
        "rate_limited": report.rate_limited,
        "overloaded": report.overloaded,
        "pings": report.pings,
        "notes": list(report.notes),
        "stopped": report.stopped,
        "already_finished": report.already_finished,
        "next_steps": [
            {"outcome": s.outcome.value, "rows": s.rows, "advice": s.advice, "command": s.command}
            for s in report.next_steps
        ],
    }


class RunBook:
    """Every run this server started, by (upload id, slot); at most one live per slot."""

    def __init__(self, credentials: Credentials) -> None:
        self._live: dict[tuple[str, str], LiveRun] = {}
        self._credentials = credentials

    def live(self, upload: Upload, slot: str) -> LiveRun | None:
        return self._live.get((upload.id, slot))

    def state(self, upload: Upload, slot: str) -> str:
        """running, finished or stopped; a run the server lost (it was stopped or killed
        mid-run) is stopped: its page resumes it."""
        if self.live(upload, slot) is not None:
            return RUNNING
        record = upload.meta.get(slot) or {}
        state = record.get("state", "")
        return STOPPED if state == RUNNING else str(state)

    def start(self, upload: Upload, slot: str, kind: str, call: Call, **record: Any) -> LiveRun:
        """Start `call` as the slot's run (`record`: what to keep about it, e.g. its options
        for a resume); UsageError if one is already going."""
        if self.live(upload, slot) is not None:
            raise UsageError("a run of this file is going already: stop it or wait for it")
        started = datetime.now(UTC).isoformat(timespec="seconds")
        live = LiveRun(
            RunControl(),
            {"state": RUNNING, "kind": kind, "total": 0, "done": 0, "counts": {},
             "rate_per_s": None, "eta_s": None, "notices": [], "detected": ""},
        )  # fmt: skip
        live.control.subscribe(live.on_event)
        record.update(kind=kind, started=started)
        upload.update(**{slot: {**record, "state": RUNNING}})
        self._live[(upload.id, slot)] = live
        live.task = asyncio.get_running_loop().create_task(
            self._run(upload, slot, record, live, call), name=f"leadup-web-{slot}"
        )
        return live

    async def _run(
        self, upload: Upload, slot: str, record: dict[str, Any], live: LiveRun, call: Call
    ) -> None:
        try:
            report = await call(live.control)
        except LeadupError as exc:
            record.update(state=STOPPED, error=self._shown(str(exc)))
        except Exception as exc:  # a bug: the page says so instead of hanging
            _log.exception("a web run failed")
            record.update(state=STOPPED, error=f"internal error: {type(exc).__name__}")
        else:
            state = STOPPED if report.exit_code == 3 else FINISHED
            record.update(state=state, summary=summary_of(report))
        finally:
            record["ended"] = datetime.now(UTC).isoformat(timespec="seconds")
            del self._live[(upload.id, slot)]
            live.snapshot["state"] = record.get("state", STOPPED)
            try:
                upload.update(**{slot: record})
            except OSError:  # the page still learns the run ended; its record is lost
                _log.exception("the record of a web run could not be written")
            live.publish()

    def _shown(self, text: str) -> str:
        return inert(self._credentials.redact(text), lines=True)

    def stop(self, upload: Upload, slot: str) -> bool:
        live = self.live(upload, slot)
        if live is None:
            return False
        live.control.stop()
        return True

    def abort_all(self) -> None:
        """Stop now (as a second Ctrl-C): requests still out are recorded unknown."""
        for live in self._live.values():
            live.control.abort()

    async def stop_all(self, wait_s: float) -> None:
        """Stop every run gracefully (as one Ctrl-C) and wait for them to record their end."""
        tasks = [live.task for live in self._live.values() if live.task is not None]
        for live in self._live.values():
            live.control.stop()
        if tasks:
            await asyncio.wait(tasks, timeout=wait_s)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
