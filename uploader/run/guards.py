"""Guards against paying twice by accident: what a run refuses, or asks about, before sending.

- A leadup results file given to `upload` is refused: its rows would go again, with leadup's
  own columns as lead fields. `leadup retry FILE` is what resends the rows it did not create.
- A results file (and its journal) that belongs to another input is refused, naming it.
- `--restart` where rows were created asks first; the earlier results and journal are kept
  under a name with the time, never destroyed.
- The same content uploaded under another results file, after rows of it were created, is
  refused naming the earlier results (uploader/run/memory.py), unless --resend-created.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from uploader.errors import InputError, JournalMismatch, ResendNeedsConfirmation, UsageError
from uploader.journal import Journal, move_journal
from uploader.model import RESULT_COLUMNS, Outcome
from uploader.run.memory import EarlierUpload
from uploader.run.request import UploadRequest, journal_path_for, legacy_journal_path_for


def refuse_results_file(input_path: Path, columns: tuple[str, ...], program: str) -> None:
    """A results file is recognised by its leading columns, or by the journal beside it."""
    leading = tuple(c.strip().lower() for c in columns[: len(RESULT_COLUMNS)])
    if leading == RESULT_COLUMNS or journal_path_for(input_path).exists():
        raise InputError(
            "this is a leadup results file: uploading it would send its rows again, with "
            "leadup's own columns as lead fields. To send again the rows it did not create "
            f"(edited ones too), run: {program} retry {_quoted(input_path)}",
            path=input_path,
        )


def adopt_legacy_journal(results_path: Path) -> None:
    """A journal leadup 0.1 left beside the results moves into the hidden folder, so that
    its run resumes instead of starting over."""
    legacy, current = legacy_journal_path_for(results_path), journal_path_for(results_path)
    if legacy.exists() and not current.exists():
        move_journal(legacy, current)


def explain_mismatch(exc: JournalMismatch, request: UploadRequest) -> UsageError:
    """What to do when the results path already belongs to another upload."""
    results = request.results_path
    if exc.other_file:
        return UsageError(
            f"{results} holds the results of another file, {exc.journal_input}; "
            f"to upload {request.input_path.name}, give its results a name of their own: "
            f"--output {_quoted(_free_name(request.input_path))}"
        )
    return UsageError(
        f"{request.input_path} changed since its upload into {results} started. To upload "
        f"its new content as a list of its own: --output {_quoted(_free_name(request.input_path))}"
        "; to start this upload over instead: --restart (the earlier results are kept)"
    )


def prepare_restart(request: UploadRequest) -> Path | None:
    """Before --restart: refuse to resend created rows unless confirmed; keep the earlier
    results and journal under a name with the time. Returns the kept results file."""
    results = request.results_path
    journal_path = journal_path_for(results)
    if not journal_path.exists():
        return None
    with Journal.open_existing(journal_path) as journal:
        created = journal.counts()[Outcome.CREATED]
        price = journal.total_price()
    if created and not request.resend_created:
        rows = "row was" if created == 1 else "rows were"
        raise ResendNeedsConfirmation(
            f"{created} {rows} already created from {request.input_path.name}, for "
            f"{price:,.2f}: starting over sends them again (and they may be paid for twice). "
            "Add --resend-created to start over anyway, or resume without --restart",
            created=created,
            total_price=price,
        )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = results.with_name(f"{results.name.removesuffix('.csv')}.{stamp}.csv")
    if results.exists():
        results.rename(kept)
    move_journal(journal_path, journal_path_for(kept))
    return kept


def refuse_sending_again(earlier: list[EarlierUpload], request: UploadRequest) -> None:
    """This content already created rows under another results file (see run/memory.py)."""
    if not earlier or request.resend_created:
        return
    first = earlier[0]
    rows = "row" if first.created == 1 else "rows"
    were = "was" if first.created == 1 else "were"
    raise UsageError(
        f"{first.created} {rows} of this file's content {were} already created by an earlier "
        "upload, "
        f"whose results are {first.results_path}. To send the rest of that upload: "
        f"{request.program} retry {_quoted(first.results_path)} (or run it again with --output "
        f"{_quoted(first.results_path)}); to send this file again anyway, and maybe pay twice: "
        "add --resend-created"
    )


def _free_name(input_path: Path) -> Path:
    """A results name beside the input that nothing uses yet."""
    for n in range(2, 1000):
        candidate = input_path.with_name(f"{input_path.name}.{n}.results.csv")
        if not candidate.exists() and not journal_path_for(candidate).exists():
            return candidate
    return input_path.with_name(f"{input_path.name}.{time.time_ns()}.results.csv")


def _quoted(path: Path) -> str:
    return shlex.quote(str(path))
