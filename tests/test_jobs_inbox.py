"""The inbox: which files are ready, which are still being written, and safe archiving."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from jobs.config import DEFAULT_PATTERNS
from jobs.inbox import (
    InboxScan,
    archive_name,
    file_sha256,
    is_partial_name,
    move_into,
    scan_inbox,
    second_look_in,
)
from jobs.sightings import Sightings

NOW_S = 1_800_000_000.0


def looks(folder: Path, patterns: list[str] | tuple[str, ...], settle_s: float) -> Sightings:
    """Sightings whose first look at `folder` was `settle_s` before NOW_S (a run back then)."""
    sightings = Sightings(sqlite3.connect(":memory:"))
    scan_inbox(folder, patterns, settle_s=settle_s, now_s=NOW_S - settle_s, sightings=sightings)
    return sightings


def two_looks(folder: Path, patterns: list[str] | tuple[str, ...], settle_s: float) -> InboxScan:
    """A first look `settle_s` before NOW_S, then the look at NOW_S."""
    sightings = looks(folder, patterns, settle_s)
    return scan_inbox(folder, patterns, settle_s=settle_s, now_s=NOW_S, sightings=sightings)


def drop(folder: Path, name: str, *, age_s: float, text: str = "email\na@example.com\n") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    os.utime(path, (NOW_S - age_s, NOW_S - age_s))
    return path


@pytest.mark.parametrize(
    ("name", "partial"),
    [
        ("leads.csv", False),
        ("LEADS.XLSX", False),
        (".leads.csv", True),  # rsync and many uploaders write a dotfile, then rename
        ("leads.csv.part", True),
        ("leads.csv.PART", True),
        ("leads.csv.tmp", True),
        ("leads.xlsx.crdownload", True),
        ("leads.csv.filepart", True),  # WinSCP
        ("~$leads.xlsx", True),  # Excel's owner file while the workbook is open
    ],
)
def test_partial_names(name: str, partial: bool) -> None:
    assert is_partial_name(name) is partial


def test_scan_sorts_ready_and_waiting(tmp_path: Path) -> None:
    drop(tmp_path, "b.csv", age_s=60)
    drop(tmp_path, "a.CSV", age_s=60)  # same age: by name; upper-case suffix matches
    drop(tmp_path, "old.xlsx", age_s=3600)
    drop(tmp_path, "fresh.csv", age_s=1)  # still being written
    drop(tmp_path, "notes.pdf", age_s=60)
    drop(tmp_path, "upload.csv.part", age_s=60)
    drop(tmp_path, ".hidden.csv", age_s=60)
    (tmp_path / "sub.csv").mkdir()
    scan = two_looks(tmp_path, DEFAULT_PATTERNS, settle_s=5)
    assert [f.path.name for f in scan.ready] == ["old.xlsx", "a.CSV", "b.csv"]
    assert [f.path.name for f in scan.waiting] == ["fresh.csv"]
    assert scan.ready[0].size_bytes == len("email\na@example.com\n")


def test_settle_zero_takes_everything(tmp_path: Path) -> None:
    drop(tmp_path, "a.csv", age_s=0)
    sightings = Sightings(sqlite3.connect(":memory:"))
    scan = scan_inbox(tmp_path, ["*.csv"], settle_s=0, now_s=NOW_S, sightings=sightings)
    assert [f.path.name for f in scan.ready] == ["a.csv"]


def test_custom_pattern(tmp_path: Path) -> None:
    drop(tmp_path, "vendor_2026.txt", age_s=60)
    drop(tmp_path, "other.txt", age_s=60)
    scan = two_looks(tmp_path, ["vendor_*.txt"], settle_s=5)
    assert [f.path.name for f in scan.ready] == ["vendor_2026.txt"]


def test_an_old_mtime_alone_does_not_make_a_file_ready(tmp_path: Path) -> None:
    """Before: `mtime older than settle_s` took a file at first sight, so a writer that keeps
    the source's times (scp -p) had its half-written file taken."""
    drop(tmp_path, "kept-times.csv", age_s=3600)
    sightings = Sightings(sqlite3.connect(":memory:"))
    first = scan_inbox(tmp_path, ["*.csv"], settle_s=5, now_s=NOW_S, sightings=sightings)
    assert first.ready == () and [f.path.name for f in first.waiting] == ["kept-times.csv"]
    early = scan_inbox(tmp_path, ["*.csv"], settle_s=5, now_s=NOW_S + 4, sightings=sightings)
    assert early.ready == ()  # a later look, but inside the window
    later = scan_inbox(tmp_path, ["*.csv"], settle_s=5, now_s=NOW_S + 5, sightings=sightings)
    assert [f.path.name for f in later.ready] == ["kept-times.csv"]
    assert later.ready[0].first_seen_s == NOW_S


@pytest.mark.parametrize("change", ["grown, mtime kept", "replaced, same size and mtime"])
def test_a_change_between_the_looks_starts_the_window_again(tmp_path: Path, change: str) -> None:
    path = drop(tmp_path, "a.csv", age_s=3600, text="email\na@example.com\n")
    sightings = looks(tmp_path, ["*.csv"], settle_s=5)
    stamp = path.stat().st_mtime_ns
    if change == "grown, mtime kept":
        with path.open("a") as handle:
            handle.write("b@example.com\n")
    else:  # a new inode: written elsewhere and renamed over it
        other = drop(tmp_path, "a.csv.part", age_s=0, text="email\nz@example.com\n")
        os.replace(other, path)
    os.utime(path, ns=(stamp, stamp))
    scan = scan_inbox(tmp_path, ["*.csv"], settle_s=5, now_s=NOW_S, sightings=sightings)
    assert scan.ready == () and [f.first_seen_s for f in scan.waiting] == [NOW_S]
    again = scan_inbox(tmp_path, ["*.csv"], settle_s=5, now_s=NOW_S + 5, sightings=sightings)
    assert [f.path.name for f in again.ready] == ["a.csv"]


def test_sightings_of_files_gone_are_forgotten(tmp_path: Path) -> None:
    gone = drop(tmp_path, "a.csv", age_s=60)
    sightings = looks(tmp_path, ["*.csv"], settle_s=5)
    gone.unlink()
    scan_inbox(tmp_path, ["*.csv"], settle_s=5, now_s=NOW_S, sightings=sightings)
    drop(tmp_path, "a.csv", age_s=60)  # a new file of the same name, same size and time
    scan = scan_inbox(tmp_path, ["*.csv"], settle_s=5, now_s=NOW_S + 1, sightings=sightings)
    assert scan.ready == ()


def test_sha256_is_of_content_not_name(tmp_path: Path) -> None:
    a = drop(tmp_path, "a.csv", age_s=0, text="x,y\n1,2\n")
    b = drop(tmp_path, "renamed.csv", age_s=0, text="x,y\n1,2\n")
    assert file_sha256(a) == file_sha256(b) == hashlib.sha256(b"x,y\n1,2\n").hexdigest()


def test_archive_name_avoids_files_results_and_reservations(tmp_path: Path) -> None:
    assert archive_name(tmp_path, "a.csv") == tmp_path / "a.csv"
    (tmp_path / "a.csv").write_text("old")
    assert archive_name(tmp_path, "a.csv") == tmp_path / "a-2.csv"
    # a results file already there for that name (an earlier b.xlsx's)
    (tmp_path / "b.results.csv").write_text("old")
    assert archive_name(tmp_path, "b.xlsx") == tmp_path / "b.xlsx"  # b.xlsx.results.csv
    (tmp_path / "b.xlsx.results.csv").write_text("old")
    assert archive_name(tmp_path, "b.xlsx") == tmp_path / "b-2.xlsx"
    # reserved by an upload that was interrupted and will resume
    assert archive_name(tmp_path, "c.csv", taken={"c.csv"}) == tmp_path / "c-2.csv"
    assert archive_name(tmp_path, "d.csv", taken={"d.results.csv"}) == tmp_path / "d-2.csv"


def test_move_into_never_overwrites(tmp_path: Path) -> None:
    inbox, archive = tmp_path / "in", tmp_path / "archive"
    inbox.mkdir()
    first = drop(inbox, "a.csv", age_s=0, text="first")
    assert move_into(first, archive / "a.csv") == archive / "a.csv"
    second = drop(inbox, "a.csv", age_s=0, text="second")
    moved = move_into(second, archive / "a.csv")
    assert moved == archive / "a-2.csv"
    assert (archive / "a.csv").read_text() == "first"
    assert moved.read_text() == "second"
    assert list(inbox.iterdir()) == []


def test_second_look_is_due_when_the_last_new_file_could_be_taken(tmp_path: Path) -> None:
    drop(tmp_path, "old.csv", age_s=3600)  # first seen now: due in 30 s
    drop(tmp_path, "fresh.csv", age_s=10)  # first seen now, modified 10 s ago: due in 30 s
    drop(tmp_path, "ahead.csv", age_s=-600)  # a clock ahead: not waited for
    sightings = Sightings(sqlite3.connect(":memory:"))
    scan = scan_inbox(tmp_path, ["*.csv"], settle_s=30, now_s=NOW_S, sightings=sightings)
    assert second_look_in(scan, 30, NOW_S, at_most_s=300) == 30
    assert second_look_in(scan, 30, NOW_S, at_most_s=20) is None  # spans runs instead
    later = scan_inbox(tmp_path, ["*.csv"], settle_s=30, now_s=NOW_S + 12, sightings=sightings)
    assert second_look_in(later, 30, NOW_S + 12, at_most_s=300) == 18
    no_window = scan_inbox(tmp_path, ["*.csv"], settle_s=0, now_s=NOW_S, sightings=sightings)
    assert second_look_in(no_window, 0, NOW_S, at_most_s=300) is None
