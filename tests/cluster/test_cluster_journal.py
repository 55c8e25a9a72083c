"""The PostgreSQL journal's rules, straight against a real database (no workers): the same
refusals as the SQLite journal, and the fencing token that silences a superseded worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.jobs import write_leads
from uploader.cluster.database import redact_url
from uploader.cluster.journal import PgJournal
from uploader.errors import FencedOut, JournalWriteError
from uploader.model import Lead, Outcome, RowResult


@pytest.fixture
def upload_id(database_url: str, tmp_path: Path) -> int:
    from tests.cluster.workers import submit

    class Target:
        url = "http://127.0.0.1:9/api"

    lead_file = write_leads(tmp_path / "leads.csv", 0, 3)
    return submit(database_url, lead_file, Target(), rate=10)  # type: ignore[arg-type]


def loaded(url: str, upload_id: int, worker: str = "host:1") -> PgJournal:
    journal = PgJournal.take_over(url, upload_id, worker)
    journal.begin_load(["Email"])
    journal.add((Lead(row, {"zip": "02139"}, f"key-{row}"), [f"a{row}@x.com"]) for row in (2, 3, 4))
    journal.mark_loaded({"mapping": "{}"})
    return journal


def created(row: int, public_id: str = "lead_1") -> RowResult:
    return RowResult(row, Outcome.CREATED, lead_public_id=public_id, http_status=201, attempts=1)


def test_a_worker_taken_over_can_write_nothing(database_url: str, upload_id: int):
    first = loaded(database_url, upload_id)
    first.commit([(2, 1)], [])
    second = PgJournal.take_over(database_url, upload_id, "host:2")
    assert second.fence == first.fence + 1
    assert second.recover_in_flight(resend=False) == 1
    with pytest.raises(FencedOut):
        first.commit([(3, 1)], [])
    with pytest.raises(FencedOut):
        first.commit([], [created(2)])
    with pytest.raises(FencedOut):
        list(first.results())
    assert second.counts()[Outcome.UNKNOWN] == 1
    assert [lead.row for lead in second.pending()] == [3, 4]
    first.close()
    second.close()


def test_a_created_row_never_changes_and_a_final_row_is_never_marked(
    database_url: str, upload_id: int
):
    with loaded(database_url, upload_id) as journal:
        journal.commit([(2, 1)], [created(2)])
        journal.commit([], [created(2)])  # the same result replayed after a lost COMMIT
        with pytest.raises(JournalWriteError):
            journal.commit([], [RowResult(2, Outcome.FAILED, attempts=2)])
        with pytest.raises(JournalWriteError):
            journal.commit([(2, 2)], [])
        assert journal.result_of(2).outcome is Outcome.CREATED
        with pytest.raises(ValueError):
            journal.requeue({Outcome.CREATED})
        assert journal.counts()[Outcome.CREATED] == 1
        assert journal.pending_count() == 2


def test_a_fixed_row_is_resent_or_finalised_but_never_a_created_one(
    database_url: str, upload_id: int
):
    with loaded(database_url, upload_id) as journal:
        journal.commit([(2, 1), (3, 1)], [created(2), RowResult(3, Outcome.REJECTED)])
        with pytest.raises(ValueError, match="created"):
            journal.update_row(
                2, cells=["b@x.com"], payload={"zip": "1"}, idempotency_key="k", result=None
            )
        journal.update_row(
            3, cells=["c@x.com"], payload={"zip": "02139"}, idempotency_key="k3", result=None
        )
        assert [lead.idempotency_key for lead in journal.pending()] == ["k3", "key-4"]
        journal.update_row(
            4,
            cells=["bad"],
            payload=None,
            idempotency_key=None,
            result=RowResult(4, Outcome.INVALID),
        )
        assert journal.result_of(4).outcome is Outcome.INVALID
        assert [cells for _, cells in journal.results()] == [["a2@x.com"], ["c@x.com"], ["bad"]]


def test_a_resumed_load_starts_over_only_when_nothing_was_sent(database_url: str, upload_id: int):
    first = PgJournal.take_over(database_url, upload_id, "host:1")
    first.begin_load(["Email"])
    first.add([(Lead(2, {"zip": "02139"}, "k"), ["a@x.com"])])
    first.close()
    with PgJournal.take_over(database_url, upload_id, "host:2") as second:
        assert not second.loaded
        second.begin_load(["Email"])  # the half load is dropped
        assert second.pending_count() == 0


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://leadup:s3cret@db:5432/leadup",
            "postgresql://leadup:[redacted]@db:5432/leadup",
        ),
        ("postgresql://db/leadup", "postgresql://db/leadup"),
        ("host=db password=s3cret dbname=x", "host=db password=[redacted] dbname=x"),
        (
            "postgresql://u:p%40ss@h/d?sslmode=require",
            "postgresql://u:[redacted]@h/d?sslmode=require",
        ),
    ],
)
def test_a_database_url_is_shown_without_its_password(url: str, shown: str):
    assert redact_url(url) == shown


def test_the_postgresql_journal_has_the_journal_interface():
    """The public methods of the SQLite Journal the engine is written against, with its
    parameters (less what only a file has: opening one, SQLite's integrity check)."""
    import inspect

    from uploader.journal import Journal

    file_only = {"open", "open_existing", "integrity_ok"}
    for name in sorted(n for n in dir(Journal) if not n.startswith("_")):
        if name in file_only:
            continue
        assert hasattr(PgJournal, name), name
        ours, theirs = getattr(PgJournal, name), getattr(Journal, name)
        if callable(theirs):  # every parameter the engine may pass, in the same order
            wanted = list(inspect.signature(theirs).parameters)
            assert list(inspect.signature(ours).parameters)[: len(wanted)] == wanted, name
