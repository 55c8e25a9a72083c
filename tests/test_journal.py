"""The journal: row states, the rules that stop a second post, reopening, durability."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uploader.errors import JournalError, JournalMismatch, JournalWriteError
from uploader.journal import Journal, JournalWriter
from uploader.journal import reads as journal_reads
from uploader.journal import schema as journal_db
from uploader.journal import store as journal_module
from uploader.model import Lead, Outcome, RowResult, idempotency_key

SHA = "a" * 64
OTHER_SHA = "b" * 64
COLUMNS = ("Email", "Name")
REPO = Path(__file__).resolve().parents[1]


def lead(row: int) -> Lead:
    return Lead(row, {"email": f"p{row}@example.com", "is_test": True}, idempotency_key(SHA, row))


def cells(row: int) -> list[str]:
    return [f"p{row}@example.com", f"=Name {row} ü"]


def created(row: int, *, price: float = 1.25, status: str = "accepted") -> RowResult:
    return RowResult(
        row, Outcome.CREATED, lead_status=status, price=price, lead_public_id=f"L{row}",
        http_status=201, attempts=1,
    )  # fmt: skip


MakeJournal = Callable[..., Journal]


@pytest.fixture
def make_journal(tmp_path: Path) -> Iterator[MakeJournal]:
    """Journals at tmp_path/out.journal holding rows 2..n+1, every 5th one invalid."""
    opened: list[Journal] = []

    def make(n: int = 10, *, path: Path | None = None, **options: object) -> Journal:
        journal = Journal.open(
            path or tmp_path / "out.journal", input_sha256=SHA, input_name="leads.csv",
            columns=COLUMNS, **options,  # type: ignore[arg-type]
        )  # fmt: skip
        opened.append(journal)
        if not journal.loaded:
            journal.add(
                (RowResult(r, Outcome.INVALID, error="email: not an address") if r % 5 == 0
                 else lead(r), cells(r))
                for r in range(2, n + 2)
            )  # fmt: skip
            journal.mark_loaded()
        return journal

    yield make
    for journal in opened:
        journal.close()


def sendable(n: int) -> list[int]:
    return [r for r in range(2, n + 2) if r % 5]


# -- phase 1 and pending ----------------------------------------------------------------


def test_a_lead_added_without_a_key_gets_its_rows_own_when_sent(tmp_path: Path):
    journal = Journal.open(
        tmp_path / "out.journal", input_sha256=SHA, input_name="leads.csv", columns=COLUMNS
    )
    try:
        keyless = Lead(3, {"zip": "02139"}, "")
        journal.add([(keyless, ["a", "b"]), (lead(4), ["c", "d"])])
        journal.mark_loaded()
        assert [(p.row, p.idempotency_key) for p in journal.pending()] == [
            (3, idempotency_key(SHA, 3)),
            (4, idempotency_key(SHA, 4)),
        ]
    finally:
        journal.close()


def test_pending_yields_the_leads_in_row_order_with_body_and_key(make_journal: MakeJournal):
    journal = make_journal(10)
    pending = list(journal.pending(batch_size=3))
    assert [p.row for p in pending] == sendable(10)
    assert pending[0] == lead(2)
    assert journal.pending_count() == len(pending) == 8
    assert journal.result_of(5) == RowResult(5, Outcome.INVALID, error="email: not an address")


def test_rows_added_in_any_order_come_back_in_row_order(make_journal: MakeJournal, monkeypatch):
    monkeypatch.setattr(journal_module, "_ADD_BATCH", 4)  # several transactions
    journal = make_journal(0)
    journal.add((lead(r), cells(r)) for r in (9, 3, 12, 4, 100, 7, 2))
    assert [p.row for p in journal.pending(batch_size=2)] == [2, 3, 4, 7, 9, 12, 100]
    assert [(r.row, c) for r, c in journal.results()][:2] == [(2, cells(2)), (3, cells(3))]


def test_pending_is_safe_while_rows_are_committed_between_pages(make_journal: MakeJournal):
    journal = make_journal(30)
    seen = []
    for item in journal.pending(batch_size=4):
        seen.append(item.row)
        journal.commit([(item.row, 1)], [])  # what the writer does between pages
    assert seen == sendable(30)
    assert journal.pending_count() == 0


@pytest.mark.parametrize("second", [[2], [40, 41, 40]], ids=["already added", "twice in one call"])
def test_a_row_added_twice_is_refused(make_journal: MakeJournal, second: list[int]):
    journal = make_journal(10)
    with pytest.raises(JournalError, match=rf"rows added twice: \[{second[0]}\]"):
        journal.add((lead(r), cells(r)) for r in second)


def test_a_pending_row_must_be_added_as_a_lead(make_journal: MakeJournal):
    with pytest.raises(ValueError, match="as a Lead"):
        make_journal(0).add([(RowResult(2, Outcome.PENDING), cells(2))])


# -- commits ----------------------------------------------------------------------------


def test_commit_marks_in_flight_and_records_results(make_journal: MakeJournal):
    journal = make_journal(10)
    journal.commit([(2, 1), (3, 1), (4, 1)], [])
    assert journal.pending_count() == 5
    assert journal.result_of(2) == RowResult(
        2, Outcome.PENDING, attempts=1, error=journal_db.IN_FLIGHT_NOTE
    )
    journal.commit(
        [(6, 1)],
        [
            created(2),
            created(3, price=2.5, status="duplicate"),
            RowResult(4, Outcome.FAILED, attempts=3, error="503"),
        ],
    )
    assert journal.result_of(3) == created(3, price=2.5, status="duplicate")
    counts = journal.counts()
    assert counts == {
        Outcome.CREATED: 2, Outcome.INVALID: 2, Outcome.REJECTED: 0, Outcome.FAILED: 1,
        Outcome.UNKNOWN: 0, Outcome.SKIPPED: 0, Outcome.PENDING: 5, Outcome.HELD: 0,
        Outcome.QUOTED: 0,
    }  # fmt: skip
    assert sum(counts.values()) == 10
    assert journal.status_counts() == {"accepted": 1, "duplicate": 1}
    assert journal.total_price() == pytest.approx(3.75)


def test_a_final_row_is_never_marked_in_flight_and_the_commit_is_all_or_nothing(
    make_journal: MakeJournal,
):
    journal = make_journal(10)
    journal.commit([(2, 1)], [created(2)])
    with pytest.raises(JournalWriteError, match=r"rows 2 \(created\), 5 \(invalid\)"):
        journal.commit([(3, 1), (2, 2), (5, 1)], [created(4)])
    assert journal.result_of(3).outcome is Outcome.PENDING
    assert journal.pending_count() == 7  # 3 was not marked either
    with pytest.raises(JournalWriteError, match=r"999 \(missing\)"):
        journal.commit([(999, 1)], [])


def test_a_created_row_keeps_its_result(make_journal: MakeJournal):
    journal = make_journal(10)
    journal.commit([(2, 1)], [created(2)])
    for late in (RowResult(2, Outcome.UNKNOWN), RowResult(2, Outcome.PENDING)):
        with pytest.raises(JournalWriteError, match=r"2 \(created\)"):
            journal.commit([], [late])
    assert journal.result_of(2) == created(2)


def test_unknown_may_still_become_created(make_journal: MakeJournal):
    journal = make_journal(10)
    journal.commit([(2, 1)], [RowResult(2, Outcome.UNKNOWN, attempts=1, error="timeout")])
    journal.commit([], [created(2)])
    assert journal.result_of(2) == created(2)


def test_a_pending_result_returns_an_unsent_row_but_never_reopens_a_final_one(
    make_journal: MakeJournal,
):
    journal = make_journal(10)
    journal.commit([(2, 1), (3, 1)], [RowResult(3, Outcome.FAILED, attempts=1)])
    journal.commit([], [RowResult(2, Outcome.PENDING, error="stopped: 401")])
    assert journal.result_of(2) == RowResult(2, Outcome.PENDING, attempts=1, error="stopped: 401")
    assert 2 in [p.row for p in journal.pending()]
    with pytest.raises(JournalWriteError, match=r"3 \(failed\)"):
        journal.commit([], [RowResult(3, Outcome.PENDING)])


def test_attempts_count_each_send_across_runs(make_journal: MakeJournal):
    journal = make_journal(10)
    journal.commit([(2, 1)], [])
    assert journal.result_of(2).attempts == 1
    journal.commit([(2, 2)], [])
    assert journal.result_of(2).attempts == 2
    journal.recover_in_flight(resend=True)
    journal.commit([(2, 1)], [RowResult(2, Outcome.FAILED, attempts=1)])  # a new run counts from 1
    assert journal.result_of(2).attempts == 3


# -- resume and retry -------------------------------------------------------------------


def test_recover_in_flight_as_unknown(make_journal: MakeJournal):
    journal = make_journal(10)
    journal.commit([(2, 1), (3, 2), (4, 1)], [created(4)])
    assert journal.recover_in_flight(resend=False) == 2
    assert journal.result_of(3) == RowResult(
        3, Outcome.UNKNOWN, attempts=1, error=journal_db.RECOVERED_ERROR
    )
    assert 3 not in [p.row for p in journal.pending()]
    assert journal.recover_in_flight(resend=False) == 0


def test_recover_in_flight_to_resend_with_the_same_key(make_journal: MakeJournal):
    journal = make_journal(10)
    journal.commit([(2, 1), (3, 1)], [])
    assert journal.recover_in_flight(resend=True) == 2
    assert [p for p in journal.pending() if p.row in (2, 3)] == [lead(2), lead(3)]
    assert journal.result_of(2) == RowResult(2, Outcome.PENDING, attempts=1)


def test_requeue_resends_failed_rows_keeping_key_and_attempts(make_journal: MakeJournal):
    journal = make_journal(10)
    journal.commit(
        [(2, 1), (3, 1), (4, 1)],
        [
            created(2),
            RowResult(3, Outcome.FAILED, attempts=4, error="503"),
            RowResult(4, Outcome.UNKNOWN),
        ],
    )
    assert journal.requeue({Outcome.FAILED, Outcome.INVALID}) == 1  # invalid rows have no body
    assert journal.result_of(3) == RowResult(3, Outcome.PENDING, attempts=4)
    assert [p for p in journal.pending() if p.row < 5] == [lead(3)]
    assert journal.requeue([Outcome.UNKNOWN]) == 1
    with pytest.raises(ValueError, match="never sent again"):
        journal.requeue([Outcome.FAILED, Outcome.CREATED])
    assert journal.result_of(2) == created(2)


def test_update_row_with_fixed_cells(make_journal: MakeJournal):
    journal = make_journal(10)
    journal.commit([(2, 1), (3, 1)], [created(2), RowResult(3, Outcome.REJECTED, http_status=422)])
    fixed = Lead(5, {"email": "fixed@example.com"}, "new-key")
    journal.update_row(5, cells=["fixed@example.com", "F"], payload=fixed.payload,
                       idempotency_key=fixed.idempotency_key, result=None)  # fmt: skip
    assert fixed in journal.pending()
    still_bad = RowResult(3, Outcome.INVALID, error="email: still not an address")
    journal.update_row(3, cells=["nope", "N"], payload=None, idempotency_key=None, result=still_bad)
    assert journal.result_of(3) == RowResult(3, Outcome.INVALID, attempts=1, error=still_bad.error)
    assert dict((r.row, c) for r, c in journal.results())[3] == ["nope", "N"]
    with pytest.raises(ValueError, match="created"):
        journal.update_row(2, cells=[], payload={}, idempotency_key="k", result=None)
    with pytest.raises(ValueError, match="either"):
        journal.update_row(4, cells=[], payload={}, idempotency_key="k", result=still_bad)
    with pytest.raises(KeyError):
        journal.update_row(999, cells=[], payload={}, idempotency_key="k", result=None)


def test_results_stream_every_row_in_order_with_its_cells(make_journal: MakeJournal, monkeypatch):
    monkeypatch.setattr(journal_reads, "_READ_BATCH", 3)
    journal = make_journal(12)
    journal.commit([(2, 1), (3, 1)], [created(2)])
    lines = list(journal.results())
    assert [r.row for r, _ in lines] == list(range(2, 14))
    assert [r.outcome for r, _ in lines[:4]] == [
        Outcome.CREATED, Outcome.PENDING, Outcome.PENDING, Outcome.INVALID,
    ]  # fmt: skip
    assert all(c == cells(r.row) for r, c in lines)


# -- opening ----------------------------------------------------------------------------


def test_reopening_resumes_where_it_stopped(make_journal: MakeJournal, tmp_path: Path):
    journal = make_journal(10)
    journal.commit([(2, 1)], [created(2)])
    journal.set_meta("mapping", "email=Email")
    journal.close()
    again = make_journal(10)  # adds nothing: it is loaded
    assert again.result_of(2) == created(2)
    assert again.get_meta("mapping") == "email=Email"
    assert again.get_meta("nothing") is None
    assert (again.input_sha256, again.input_name, again.columns) == (SHA, "leads.csv", COLUMNS)


def test_a_changed_input_is_refused_unless_restarted(make_journal: MakeJournal, tmp_path: Path):
    make_journal(10).close()
    path = tmp_path / "out.journal"
    with pytest.raises(JournalMismatch, match=r"was made from leads\.csv") as refused:
        Journal.open(path, input_sha256=OTHER_SHA, input_name="new.csv", columns=COLUMNS)
    assert refused.value.other_file and refused.value.journal_input == "leads.csv"
    with pytest.raises(JournalMismatch, match=r"leads\.csv changed since") as refused:
        Journal.open(path, input_sha256=OTHER_SHA, input_name="leads.csv", columns=COLUMNS)
    assert not refused.value.other_file
    with pytest.raises(JournalError, match=r"different columns.*--restart"):
        Journal.open(path, input_sha256=SHA, input_name="leads.csv", columns=("Email",))
    with Journal.open(path, input_sha256=OTHER_SHA, input_name="new.csv", columns=COLUMNS,
                      restart=True) as fresh:  # fmt: skip
        assert not fresh.loaded and fresh.pending_count() == 0 and fresh.input_sha256 == OTHER_SHA


def test_a_load_that_never_finished_starts_again(make_journal: MakeJournal, tmp_path: Path):
    path = tmp_path / "out.journal"
    with Journal.open(path, input_sha256=OTHER_SHA, input_name="old.csv", columns=["x"]) as j:
        j.add([(lead(2), cells(2)), (RowResult(5, Outcome.INVALID), cells(5))])
    # killed before mark_loaded: nothing was sent, so even other input just starts afresh
    journal = make_journal(10)
    assert (journal.input_sha256, journal.columns) == (SHA, COLUMNS)
    assert journal.pending_count() == 8


def test_rows_sent_from_an_unloaded_journal_are_not_thrown_away(tmp_path: Path):
    path = tmp_path / "out.journal"
    with Journal.open(path, input_sha256=SHA, input_name="x.csv", columns=COLUMNS) as journal:
        journal.add([(lead(2), cells(2))])
        journal.commit([(2, 1)], [])  # a pipeline bug: dispatch before the load finished
    with pytest.raises(JournalError, match="never fully loaded, yet 1 rows were sent"):
        Journal.open(path, input_sha256=SHA, input_name="x.csv", columns=COLUMNS)


def test_open_existing_needs_a_readable_journal(make_journal: MakeJournal, tmp_path: Path):
    with pytest.raises(JournalError, match="no journal at"):
        Journal.open_existing(tmp_path / "missing.journal")
    garbage = tmp_path / "garbage.journal"
    garbage.write_bytes(b"not a database at all " * 200)
    with pytest.raises(JournalError, match=r"cannot be opened|not a readable"):
        Journal.open_existing(garbage)
    other = tmp_path / "other.journal"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(JournalError, match="not a readable leadup journal"):
        Journal.open_existing(other)
    make_journal(10).close()
    with Journal.open_existing(tmp_path / "out.journal") as journal:
        assert journal.loaded and journal.integrity_ok() and journal.pending_count() == 8


def test_an_empty_file_left_by_a_killed_creation_is_replaced(tmp_path: Path):
    path = tmp_path / "out.journal"
    path.touch()
    with Journal.open(path, input_sha256=SHA, input_name="x.csv", columns=COLUMNS) as journal:
        assert journal.integrity_ok()


def test_journal_files_are_readable_by_the_owner_only(tmp_path: Path):
    old = os.umask(0)  # prove it does not rely on the user's umask
    try:
        path = tmp_path / "out.journal"
        with Journal.open(path, input_sha256=SHA, input_name="x.csv", columns=COLUMNS) as j:
            j.add([(lead(2), cells(2))])
            files = [path, path.with_name("out.journal-wal"), path.with_name("out.journal-shm")]
            assert [stat.S_IMODE(f.stat().st_mode) for f in files] == [0o600] * 3
        path.chmod(0o644)  # copied around, say
        with Journal.open(path, input_sha256=SHA, input_name="x.csv", columns=COLUMNS):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=20,
))  # fmt: skip
def test_the_fast_encoder_writes_what_json_dumps_writes(value: object):
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert journal_db.encode(value) == expected


# -- the writer -------------------------------------------------------------------------


async def test_concurrent_marks_share_few_commits_and_return_only_once_committed(
    make_journal: MakeJournal, monkeypatch
):
    journal = make_journal(300)
    committed: set[int] = set()
    calls = []
    real_commit = journal.commit

    def counting_commit(in_flight, results):
        real_commit(in_flight, results)
        calls.append(len(in_flight) + len(results))
        committed.update(mark[0] for mark in in_flight)

    monkeypatch.setattr(journal, "commit", counting_commit)
    rows = sendable(300)

    async def worker(row: int) -> None:
        await writer.in_flight(row, 1)
        assert row in committed  # durable before the request may leave
        writer.record(created(row))

    async with JournalWriter(journal, max_batch=512, max_delay_s=0.005) as writer:
        await asyncio.gather(*(worker(r) for r in rows))
    assert sum(calls) == 2 * len(rows)
    assert len(calls) <= 10, calls
    assert writer.commits == len(calls) and writer.marked == writer.recorded == len(rows)
    assert journal.counts()[Outcome.CREATED] == len(rows)


async def test_the_writer_splits_groups_at_max_batch(make_journal: MakeJournal):
    journal = make_journal(50)
    async with JournalWriter(journal, max_batch=8) as writer:
        await asyncio.gather(*(writer.in_flight(r, 1) for r in sendable(50)))
    assert writer.commits >= 5 and writer.marked == 40


async def test_a_mark_after_a_result_for_the_same_row_stays_in_order(make_journal: MakeJournal):
    journal = make_journal(10)
    async with JournalWriter(journal, max_delay_s=0.05) as writer:
        await writer.in_flight(2, 1)
        writer.record(RowResult(2, Outcome.PENDING, error="grace period over"))
        await writer.in_flight(2, 2)  # a later run, in the same group: must end in flight
    assert journal.result_of(2).error == journal_db.IN_FLIGHT_NOTE


async def test_a_failed_commit_fails_every_waiter_and_stops_the_writer(make_journal: MakeJournal):
    journal = make_journal(10)
    journal.commit([(2, 1)], [created(2)])
    writer = JournalWriter(journal, max_delay_s=0.01)
    with pytest.raises(JournalWriteError):
        async with writer:
            results = await asyncio.gather(
                writer.in_flight(3, 1), writer.in_flight(2, 2), return_exceptions=True
            )
            assert all(isinstance(r, JournalWriteError) for r in results), results
            with pytest.raises(JournalWriteError, match="cannot be written"):
                await writer.in_flight(4, 1)
            with pytest.raises(JournalWriteError):
                writer.record(created(4))
    assert journal.pending_count() == 7  # row 3 shared the refused group: not in flight


async def test_reservations_commit_with_the_results_recorded_before_them(
    make_journal: MakeJournal, monkeypatch: pytest.MonkeyPatch
):
    journal = make_journal(40)
    groups: list[tuple[list[tuple[int, int, object]], list[int]]] = []
    real_commit = journal.commit

    def spying_commit(in_flight, results):
        real_commit(in_flight, results)
        groups.append((list(in_flight), [r.row for r in results]))

    monkeypatch.setattr(journal, "commit", spying_commit)
    first, second = sendable(40)[:8], sendable(40)[8:16]
    async with JournalWriter(journal) as writer:
        await writer.reserve(first)
        assert writer.unsettled == 8
        assert {journal.result_of(r).error for r in first} == {journal_db.IN_FLIGHT_NOTE}
        for row in first[:5]:
            writer.record(created(row))
        assert writer.unsettled == 3  # counted when recorded: durable with the next commit
        await writer.reserve(second)  # one commit: the 5 results ride on it
        assert groups[-1] == ([(r, 0, None) for r in second], first[:5])
        assert all(journal.result_of(r) == created(r) for r in first[:5])
    assert journal.result_of(first[5]).outcome is Outcome.PENDING  # still in flight
    journal.recover_in_flight(resend=False)
    left = journal.result_of(first[5])
    assert left.outcome is Outcome.UNKNOWN and left.attempts == 1  # the reserved attempt


async def test_results_queued_before_exit_are_committed(make_journal: MakeJournal):
    journal = make_journal(10)
    with pytest.raises(RuntimeError, match="boom"):
        async with JournalWriter(journal) as writer:
            await writer.in_flight(2, 1)
            writer.record(created(2))
            raise RuntimeError("boom")
    assert journal.result_of(2) == created(2)
    with pytest.raises(RuntimeError, match="async with"):
        await writer.flush()


# -- kill -9 ----------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import asyncio, random, sys
    from pathlib import Path
    from uploader.journal import Journal, JournalWriter
    from uploader.model import Lead, Outcome, RowResult

    path, n = Path(sys.argv[1]), int(sys.argv[2])
    journal = Journal.open(path, input_sha256="a" * 64, input_name="x.csv", columns=["c"])
    print("loading", flush=True)
    journal.add((Lead(r, {"n": r}, f"k{r}"), [str(r)]) for r in range(2, n + 2))
    journal.mark_loaded()
    print("loaded", flush=True)

    async def main():
        todo = journal.pending(batch_size=100)
        async with JournalWriter(journal) as writer:
            async def worker():
                for item in todo:
                    await writer.in_flight(item.row, 1)
                    print("F", item.row, flush=True)
                    await asyncio.sleep(random.random() / 200)  # the request
                    writer.record(RowResult(item.row, Outcome.CREATED, attempts=1))
                    await writer.flush()
                    print("R", item.row, flush=True)
            await asyncio.gather(*(worker() for _ in range(16)))

    asyncio.run(main())
    print("done", flush=True)
    import time; time.sleep(60)  # a slow parent still finds it alive to kill
    """
)


@pytest.mark.parametrize("kill_after", ["loading", 40, 400])
def test_kill_9_loses_no_row_and_hides_no_request(tmp_path: Path, kill_after: str | int):
    path, n = tmp_path / "out.journal", 3000
    marked: set[int] = set()
    recorded: set[int] = set()

    def note(line: str) -> str:
        if not line.endswith("\n"):
            return ""  # torn by the kill (print writes its pieces one by one)
        kind, _, row = line.strip().partition(" ")
        if kind in ("F", "R"):
            (marked if kind == "F" else recorded).add(int(row))
        return kind

    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(n)],
        stdout=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    ) as child:  # fmt: skip
        assert child.stdout is not None
        for line in child.stdout:
            kind = note(line)
            if kind == kill_after or (isinstance(kill_after, int) and len(marked) >= kill_after):
                break
        child.send_signal(signal.SIGKILL)
        for line in child.stdout:  # what it printed before it died
            note(line)
    assert child.returncode == -signal.SIGKILL

    journal = Journal.open(path, input_sha256="a" * 64, input_name="x.csv", columns=["c"])
    try:
        assert journal.integrity_ok()
        if not journal.loaded:  # killed while loading: nothing was sent, it loads again
            assert sum(journal.counts().values()) == 0
            return
        journal.recover_in_flight(resend=False)
        outcomes = {r.row: r.outcome for r, _ in journal.results()}
        assert sorted(outcomes) == list(range(2, n + 2))  # every row, once
        assert all(outcomes[r] in (Outcome.CREATED, Outcome.UNKNOWN) for r in marked)
        assert all(outcomes[r] is Outcome.CREATED for r in recorded)
    finally:
        journal.close()
