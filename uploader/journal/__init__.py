"""The journal: every row's state, durable before a request leaves; and the results file."""

from uploader.journal.schema import move_journal, remove_journal
from uploader.journal.store import Journal
from uploader.journal.writer import JournalWriter

__all__ = ["Journal", "JournalWriter", "move_journal", "remove_journal"]
