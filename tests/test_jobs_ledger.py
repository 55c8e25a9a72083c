"""The ledger, the job lock and the JSON-lines log."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs import ledger as ledger_module
from jobs.ledger import DONE, STARTED, Ledger
from jobs.state import JobBusy, JobLock, JsonLog, read_log

AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_file_lifecycle_and_reservations(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        assert ledger.get("abc") is None
        entry = ledger.start_file(
            "abc", "a.csv", tmp_path / "a.csv", tmp_path / "a.results.csv", AT
        )
        assert entry.status == STARTED
        assert ledger.reserved_names() == {"a.csv", "a.results.csv"}
        ledger.finish_file(
            "abc",
            status=DONE,
            at=AT,
            counts={"created": 9, "failed": 1},
            total_price=12.5,
            exit_code=1,
            archived_path=tmp_path / "a-2.csv",
        )
    # durable: a new connection (the next run) sees it
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        again = ledger.get("abc")
        assert again is not None
        assert (again.status, again.counts, again.total_price) == (
            DONE,
            {"created": 9, "failed": 1},
            12.5,
        )
        assert again.archived_path == tmp_path / "a-2.csv"
        assert ledger.reserved_names() == set()
        assert [e.sha256 for e in ledger.entries(DONE)] == ["abc"]
    assert oct((tmp_path / "ledger.sqlite").stat().st_mode & 0o777) == "0o600"


def test_runs_history_newest_first_with_totals(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        first = ledger.begin_run("run", AT)
        for sha, status, counts in [
            ("a", "done", {"created": 8, "rejected": 2}),
            ("b", "duplicate", {}),
            ("c", "done", {"created": 5}),
        ]:
            ledger.add_run_file(
                first,
                sha256=sha,
                file_name=f"{sha}.csv",
                status=status,
                counts=counts,
                total_price=1.5 if counts else 0.0,
                exit_code=1 if "rejected" in counts else 0,
                duration_s=0.1,
            )
        ledger.end_run(first, at=AT, exit_code=1)
        second = ledger.begin_run("reprocess", AT)
        runs = ledger.runs()
        assert [r.id for r in runs] == [second, first]
        assert runs[0].exit_code is None  # still running (or killed)
        old = runs[1]
        assert old.file_names == ("a.csv", "b.csv", "c.csv")
        assert (old.rows, old.created, old.not_created, old.total_price) == (15, 13, 2, 3.0)
        assert [r.kind for r in ledger.runs(kind="run")] == ["run"]


def _modes(*files: Path) -> list[int]:
    return [stat.S_IMODE(f.stat().st_mode) for f in files]


def test_ledger_files_are_private_from_their_first_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never a moment when the ledger or its side files are readable by others: the file is
    0600 before SQLite opens it, and nothing is chmodded afterwards (a chmod would mean a
    window), so with umask 0 the side files SQLite makes are 0600 as they are created."""
    path = tmp_path / "state" / "ledger.sqlite"
    when_sqlite_opened: list[list[int]] = []
    real_connect = sqlite3.connect

    def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        when_sqlite_opened.append(_modes(path))
        return real_connect(*args, **kwargs)  # type: ignore[arg-type]

    def no_chmod(*args: object, **kwargs: object) -> None:
        raise AssertionError("chmod after creation: the file was readable until then")

    monkeypatch.setattr(ledger_module.sqlite3, "connect", connect)
    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(os, "fchmod", no_chmod)
    old_umask = os.umask(0)  # the most permissive umask: nothing may rely on the user's
    try:
        with Ledger.open(path) as ledger:
            ledger.begin_run("run", AT)  # a write: the -wal and -shm files exist now
            wal, shm = path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")
            assert _modes(path, wal, shm) == [0o600] * 3
            with Ledger.open(path) as reader:  # `history` while a run writes
                assert len(reader.runs()) == 1
    finally:
        os.umask(old_umask)
    assert when_sqlite_opened == [[0o600], [0o600]]


def test_a_ledger_left_readable_is_tightened_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path):
        pass
    path.chmod(0o644)  # made by an older version, or copied around
    with Ledger.open(path) as ledger:
        ledger.begin_run("run", AT)
        assert _modes(path) == [0o600]
        assert _modes(path.with_name("ledger.sqlite-wal")) == [0o600]


def test_open_existing_never_creates(tmp_path: Path) -> None:
    assert Ledger.open_existing(tmp_path / "none.sqlite") is None
    assert not (tmp_path / "none.sqlite").exists()


def test_lock_refuses_a_second_holder_in_the_same_process(tmp_path: Path) -> None:
    busy = rf"another run is active \(pid {os.getpid()}\)"
    with JobLock(tmp_path / "run.lock", "nightly"), pytest.raises(JobBusy, match=busy):
        JobLock(tmp_path / "run.lock", "nightly").acquire()
    with JobLock(tmp_path / "run.lock", "nightly"):
        pass  # released


def test_lock_dies_with_its_holder(tmp_path: Path) -> None:
    """SIGKILL leaves no stale lock: the kernel drops a flock with its process."""
    lock = tmp_path / "run.lock"
    code = (
        "import sys, time; from pathlib import Path; from jobs.state import JobLock\n"
        f"held = JobLock(Path({str(lock)!r}), 'j'); held.acquire()\n"
        "print('held', flush=True); time.sleep(60)"
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "held"
            with pytest.raises(JobBusy, match=str(child.pid)):
                JobLock(lock, "j").acquire()
        finally:
            child.kill()
    with JobLock(lock, "j"):
        pass


def test_json_log_lines_are_whole_and_redacted(tmp_path: Path) -> None:
    log = JsonLog(tmp_path / "runs.jsonl", redact=("s3cr3t",))
    log.write("file", job="j", file="a.csv", error="auth s3cr3t refused", path=tmp_path)
    log.write("run", job="j", exit=0)
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    assert [json.loads(x)["event"] for x in lines] == ["file", "run"]
    assert "s3cr3t" not in lines[0]
    assert read_log(tmp_path / "runs.jsonl")[0]["path"] == str(tmp_path)
    assert oct((tmp_path / "runs.jsonl").stat().st_mode & 0o777) == "0o600"
