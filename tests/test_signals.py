"""One meaning for SIGINT/SIGTERM everywhere: stop well, then stop now, then leave at once.

Real signals, sent to this process while its event loop runs (os.kill(os.getpid(), ...)),
then the faces that use the helper: `leadup jobs run` in-process, `leadup sandbox` as a child.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jobs.runner import run_job_blocking
from tests.support.jobs import load_job, write_job_file, write_leads
from uploader.errors import StopRun
from uploader.run import RunControl
from uploader.run.signals import UPLOAD_NOTICES, Notices, SignalCount, stop_on_signals
from uploader.sandbox import SandboxConfig, sandbox_in_thread

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class Recorder:
    """A Stoppable that writes down what it was asked."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def stop(self) -> None:
        self.calls.append("stop")

    def abort(self) -> None:
        self.calls.append("abort")


def send(sig: signal.Signals) -> None:
    os.kill(os.getpid(), sig)


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the signal was not handled"
        await asyncio.sleep(0.005)


async def test_first_stops_second_aborts_third_cancels_the_task() -> None:
    target, told = Recorder(), []
    notices = Notices(stopping="one", aborting="two", leaving="three")
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    reached: list[str] = []

    async def face() -> None:
        with stop_on_signals(target, tell=told.append, notices=notices) as count:
            send(signal.SIGINT)
            await until(lambda: count.received == 1)
            assert (target.calls, told) == (["stop"], ["one"])
            send(signal.SIGTERM)  # SIGTERM counts with SIGINT: this is the second
            await until(lambda: count.received == 2)
            assert (target.calls, told) == (["stop", "abort"], ["one", "two"])
            assert (count.stopping, count.aborting, count.left_at_once) == (True, True, False)
            send(signal.SIGINT)
            reached.append("waiting")
            await asyncio.sleep(10)  # the third press cancels this
            reached.append("not cancelled")

    task = asyncio.create_task(face())
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert task.cancelled()
    assert reached == ["waiting"]
    assert target.calls == ["stop", "abort"]  # the third neither stops nor aborts again
    assert told == ["one", "two", "three"]
    # the handlers are gone and what was there before is back
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


async def test_a_run_control_is_stopped_then_aborted() -> None:
    control = RunControl()
    with stop_on_signals(control) as count:
        send(signal.SIGTERM)
        await until(control.stopping.is_set)
        assert not control.aborting.is_set()
        send(signal.SIGINT)
        await until(control.aborting.is_set)
    assert count.received == 2
    assert repr(count) == "<SignalCount received=2>"


async def test_the_upload_notices_are_plain_words() -> None:
    told: list[str] = []
    with stop_on_signals(Recorder(), tell=told.append) as count:
        send(signal.SIGINT)
        await until(lambda: count.received == 1)
        send(signal.SIGINT)
        await until(lambda: count.received == 2)
    assert told == [UPLOAD_NOTICES.stopping, UPLOAD_NOTICES.aborting]
    assert told[0] == "stopping: finishing requests in flight (Ctrl-C again to quit now)"
    assert told[1].startswith("stopping now: requests still out are recorded unknown")


async def test_a_display_that_fails_does_not_keep_the_stop_from_happening(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(message: str) -> None:
        raise OSError("stderr is gone")

    target = Recorder()
    with caplog.at_level(logging.ERROR), stop_on_signals(target, tell=broken) as count:
        send(signal.SIGINT)
        await until(lambda: count.received == 1)
    assert target.calls == ["stop"]
    assert "telling about a signal failed" in caplog.text


def test_where_signal_handlers_cannot_be_installed_nothing_is() -> None:
    """Off the main thread the loop refuses handlers: the helper still works, installs none."""
    seen: list[SignalCount | BaseException] = []

    async def body() -> None:
        with stop_on_signals(Recorder()) as count:
            seen.append(count)

    def thread() -> None:
        try:
            asyncio.run(body())
        except BaseException as exc:
            seen.append(exc)

    before = signal.getsignal(signal.SIGINT)
    worker = threading.Thread(target=thread)
    worker.start()
    worker.join(10)
    [count] = seen
    assert isinstance(count, SignalCount) and count.received == 0
    assert signal.getsignal(signal.SIGINT) == before


# -- the faces --------------------------------------------------------------------------


def _first_press_when(condition: Callable[[], bool], after_s: float = 0.0) -> threading.Thread:
    """From another thread: SIGINT `after_s` after `condition()` holds (the next presses come
    from the face's `tell`, in the loop, right after the one before: a person pressing again)."""

    def run() -> None:
        deadline = time.monotonic() + 20
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(after_s)
        send(signal.SIGINT)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _pressing_again(presses: int, told: list[str]) -> Callable[[str], None]:
    def tell(message: str) -> None:
        told.append(message)
        if len(told) < presses:
            send(signal.SIGINT)

    return tell


@pytest.mark.parametrize(
    ("presses", "unknown"),
    [(1, False), (2, True)],
    ids=["one-stops-well", "two-stop-now"],
)
def test_jobs_run_stops_well_then_now(tmp_path: Path, presses: int, unknown: bool) -> None:
    """`leadup jobs run`: the file being sent is left to resume; only a second press leaves
    requests recorded unknown (they were cut off while out)."""
    with sandbox_in_thread(SandboxConfig(latency_s=0.5)) as sandbox:
        path = write_job_file(tmp_path, api_url=sandbox.url, rate=200, concurrency=4)
        job = load_job(path)
        write_leads(job.inbox / "a.csv", 0, 40)
        told: list[str] = []
        # The first answers are in; 0.15 s later (time for a loaded machine to send the next
        # requests) those are out, a third of a second from their answers.
        presser = _first_press_when(lambda: sandbox.state.created_count >= 4, after_s=0.15)
        summary = run_job_blocking(job, env=sandbox.env(), tell=_pressing_again(presses, told))
        presser.join()
    assert summary.exit_code == 3
    [result] = summary.files
    assert result.status == "interrupted"
    assert bool(result.counts.get("unknown")) is unknown, result.counts
    assert result.counts.get("pending", 0) > 0  # rows never sent wait for the next run
    assert len(told) == presses
    assert told[0].startswith("stopping: the file being sent finishes its requests in flight")
    assert (job.inbox / "a.csv").exists()


def test_jobs_run_leaves_at_once_on_a_third_press(tmp_path: Path) -> None:
    with sandbox_in_thread(SandboxConfig(latency_s=0.5)) as sandbox:
        path = write_job_file(tmp_path, api_url=sandbox.url, rate=200, concurrency=4)
        job = load_job(path)
        write_leads(job.inbox / "a.csv", 0, 40)
        told: list[str] = []
        presser = _first_press_when(lambda: sandbox.state.created_count >= 4)
        with pytest.raises(StopRun, match="stopped at once"):
            run_job_blocking(job, env=sandbox.env(), tell=_pressing_again(3, told))
        presser.join()
    assert len(told) == 2  # stopping, stopping now; leaving is said by the face (StopRun)
    assert (job.inbox / "a.csv").exists()


def _sandbox_child(latency_ms: int) -> tuple[Any, str, str]:
    import subprocess

    code = "from uploader.sandbox.command import sandbox_command; sandbox_command()"
    child = subprocess.Popen(
        [sys.executable, "-c", code, "--port", "0", "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    match = re.search(r"(http://\S+)", child.stdout.readline())
    assert match, "the sandbox did not announce its URL"
    env = {}
    for _ in range(3):
        name, _, value = child.stdout.readline().strip().removeprefix("export ").partition("=")
        env[name] = value
    raw = f"{env['JUICED_API_KEY']}:{env['JUICED_API_SECRET']}".encode()
    return child, match[1], "Basic " + base64.b64encode(raw).decode()


def _post_in_thread(url: str, auth: str, result: dict[str, Any]) -> threading.Thread:
    body = {"zip": "02139", "email": "a@example.com", "first_name": "A", "last_name": "B"}
    request = urllib.request.Request(
        f"{url}/leads",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": auth,
            "Idempotency-Key": "k1",
            "Content-Type": "application/json",
        },
    )

    def post() -> None:
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                result["status"] = response.status
        except Exception as exc:
            result["error"] = exc

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(("presses", "answered"), [(1, True), (2, False)])
def test_sandbox_closes_well_then_now(presses: int, answered: bool) -> None:
    """`leadup sandbox`: one signal answers the request being handled, two drop it."""
    child, url, auth = _sandbox_child(latency_ms=1500 if answered else 10_000)
    try:
        result: dict[str, Any] = {}
        poster = _post_in_thread(url, auth, result)
        time.sleep(0.4)  # the request is being handled (sleeping out its latency)
        started = time.monotonic()
        for _ in range(presses):
            child.send_signal(signal.SIGINT)
            time.sleep(0.1)
        assert child.wait(timeout=15) == 0
        poster.join(20)
    finally:
        if child.poll() is None:
            child.kill()
        _, err = child.communicate()
    assert ("status" in result) is answered, result
    assert "leadup sandbox: stopping: answering the requests being handled" in err
    assert ("leadup sandbox: stopping now" in err) is not answered
    assert "leadup sandbox stopped:" in err
    if answered:
        assert result["status"] == 201
    else:
        assert time.monotonic() - started < 5  # did not wait out the 10 s latency
