"""Every environment error is a clear stop, never exit 4 (issue 16, item 5): a disk that fills
mid-run, a read-only output folder, a journal with a damaged page, a malformed URL."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import KEY, SECRET, leadup
from tests.support.leads import lead_rows, results_of, write_csv
from tests.support.sandbox import running_sandbox, upload
from uploader import run
from uploader.errors import OutputError, StopRun
from uploader.events import RowsLoaded
from uploader.sandbox import Sandbox, SandboxConfig, sandbox_in_thread


def mount_tmpfs(folder: Path, *options: str) -> Iterator[Path]:
    """A small tmpfs at `folder` (root only); the test is skipped where mounting is refused."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with sandbox_in_thread(SandboxConfig(api_key=KEY, api_secret=SECRET)) as sb:
        yield sb


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    yield from mount_tmpfs(tmp_path / "disk", "size=16m")


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    yield from mount_tmpfs(tmp_path / "ro", "ro", "size=64k")


def fill(folder: Path) -> Path:
    """Write a file into `folder` until the disk is full; returns it (delete it to free)."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


async def test_a_disk_that_fills_mid_run_stops_clearly_and_resumes(
    tmp_path: Path, small_disk: Path
) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(300))
    output = small_disk / "leads.results.csv"
    filler: list[Path] = []

    def fill_once_loaded(event: object) -> None:
        if isinstance(event, RowsLoaded) and not filler:
            filler.append(fill(small_disk))

    async with running_sandbox() as sandbox:
        control = run.RunControl([fill_once_loaded])
        with pytest.raises(StopRun) as stopped:  # exit 3, not an OSError (exit 4)
            await upload(path, sandbox, output_path=output, control=control, concurrency=4)
        said = "\n".join([str(stopped.value), *getattr(stopped.value, "__notes__", [])])
        assert "disk is full" in said or "No space left" in said, said
        assert stopped.value.exit_code == 3
        filler[0].unlink()  # space again: the same command resumes
        report = await upload(path, sandbox, output_path=output, concurrency=4)
        created = sandbox.state.leads
    assert report.exit_code == 0
    lines = results_of(output)
    assert [line["outcome"] for line in lines] == ["created"] * 300
    assert len(created) == 300  # never a row sent twice


def test_a_read_only_output_folder_is_exit_2_before_sending(
    tmp_path: Path, read_only: Path, sandbox: Sandbox
) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(2))
    env = sandbox.env()
    done = leadup("upload", str(path), "-o", str(read_only / "out.results.csv"), env=env)
    assert done.returncode == 2, done.stderr
    assert "Read-only file system" in done.stderr
    assert "nothing was sent" in done.stderr
    assert "internal error" not in done.stderr
    assert not sandbox.state.requests


def test_a_journal_with_a_damaged_page_is_a_clear_stop(tmp_path: Path, sandbox: Sandbox) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(2000))
    first = leadup("upload", str(path), "--rate", "2000", "--concurrency", "8", env=sandbox.env())
    assert first.returncode == 0, first.stderr
    journal = tmp_path / ".leadup" / "leads.results.csv.journal"
    data = bytearray(journal.read_bytes())
    for page in range(3, len(data) // 4096, 5):  # some pages: the rows table's and indexes'
        data[page * 4096 + 1500 : page * 4096 + 3000] = b"\xa5" * 1500
    journal.write_bytes(bytes(data))
    before = len(sandbox.state.requests)
    again = leadup("upload", str(path), env=sandbox.env())
    assert again.returncode == 2, again.stderr
    assert "damaged" in again.stderr
    assert "nothing was sent" in again.stderr
    assert "internal error" not in again.stderr
    assert len(sandbox.state.requests) == before


@pytest.mark.parametrize("url", ["http://[::1/api", "http://localhost:99999/api"])
def test_a_malformed_api_url_is_exit_2(tmp_path: Path, url: str) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(1))
    env = {"JUICED_API_URL": url, "JUICED_API_KEY": KEY, "JUICED_API_SECRET": SECRET}
    done = leadup("upload", str(path), env=env)
    assert done.returncode == 2, done.stderr
    assert "API URL" in done.stderr
    assert "internal error" not in done.stderr


def test_output_error_is_a_usage_error() -> None:
    assert OutputError("x").exit_code == 2
