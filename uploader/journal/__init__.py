"""The journal: every row's state, durable before its request leaves; and the results file."""

from uploader.journal.interface import Mark, RowJournal
from uploader.journal.schema import move_journal, remove_journal
from uploader.journal.store import Journal
from uploader.journal.writer import JournalWriter

__all__ = ["Journal", "JournalWriter", "Mark", "RowJournal", "move_journal", "remove_journal"]


def _implements(journal: Journal) -> RowJournal:
    """mypy checks here that the SQLite journal is a RowJournal."""
    return journal
