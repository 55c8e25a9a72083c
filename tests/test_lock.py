"""One run per output: a second run is refused at once, naming the process that holds it."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from uploader.errors import JournalError
from uploader.run.lock import OutputLock

REPO = Path(__file__).resolve().parents[1]

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from uploader.run.lock import OutputLock

    with OutputLock(Path(sys.argv[1])):
        print("held", flush=True)
        sys.stdin.readline()  # until the test says so, or the test kills us
    """
)


def hold_in_another_process(results: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(results)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert child.stdout is not None and child.stdout.readline() == "held\n"
    return child


def test_a_second_run_is_refused_at_once_naming_the_holder(tmp_path: Path):
    results = tmp_path / "leads.results.csv"
    with hold_in_another_process(results) as child:
        started = time.monotonic()
        with pytest.raises(JournalError) as refused:
            OutputLock(results).acquire()
        assert time.monotonic() - started < 1
        assert str(refused.value) == (
            f"{results} is in use by another leadup run (pid {child.pid}); wait for it or stop it"
        )
        assert refused.value.exit_code == 2
        child.communicate("")  # let it finish
    with OutputLock(results) as lock:  # released when the holder exited
        assert lock.held
        assert lock.path.read_text() == f"{os.getpid()}\n"


def test_a_holder_killed_with_9_leaves_no_lock(tmp_path: Path):
    results = tmp_path / "leads.results.csv"
    with hold_in_another_process(results) as child:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert (tmp_path / ".leadup" / "leads.results.csv.lock").exists()  # stays, but not a lock
    with OutputLock(results):
        pass
    assert not (tmp_path / ".leadup" / "leads.results.csv.lock").exists()  # removed when done


def test_the_same_process_cannot_take_it_twice(tmp_path: Path):
    results = tmp_path / "out" / "leads.results.csv"  # the folder is made
    first = OutputLock(results)
    with first, pytest.raises(JournalError, match=rf"\(pid {os.getpid()}\)"):
        OutputLock(results).acquire()
    assert not first.held
    with OutputLock(results) as again:
        assert stat.S_IMODE(again.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(again.path.parent.stat().st_mode) == 0o700
    assert not again.path.exists()  # no stale pid, no file left beside the results
