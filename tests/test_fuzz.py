"""Fuzzing the reader (issue 16, item 11): random and mutated CSV and xlsx bytes, mutations of
the real exports (tests/real_exports/corpus/) among them, through open_table, the chunks and the
Preparer, and through `leadup validate`. Never a crash, never an exception outside leadup's
own tree (uploader/errors.py), never exit 4, and memory bounded.

`make test` runs a bounded number of examples (a few seconds); `make fuzz` runs a longer
campaign: LEADUP_FUZZ_EXAMPLES sets the number of examples of each test.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uploader.errors import LeadupError
from uploader.prepare.mapping import auto_map
from uploader.prepare.normalise import Preparer
from uploader.read import ReadLimits, open_table
from uploader.settings import PrepareOptions, ReadOptions

EXAMPLES = int(os.environ.get("LEADUP_FUZZ_EXAMPLES", "0")) or None
REAL_EXPORTS = Path(__file__).parent / "real_exports" / "corpus"  # ../shared/real-exports, copied
# A small limit keeps the examples quick and shows that limits hold on mutated files too.
LIMITS = ReadLimits(max_rows=20_000, max_cell_chars=1 << 16, max_line_bytes=1 << 18)
PEAK_BYTES = 96 << 20  # Python allocations while one example is read
SUBPROCESS_ADDRESS_SPACE = 4 << 30  # leadup validate runs under this RLIMIT_AS


def _workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["First Name", "Last Name", "Email", "Phone", "Zip", "State"])
    ws.append(["José", "Núñez", "j@x.com", 15551234567, 2139, "MA"])
    ws.append(["Ann", "Lee", "ann@x.com", "555-123-4567", "10001", "NY"])
    ws.append(["Ann", "Lee", "ann@x.com", None, 1e20, "=1+1"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _seeds() -> list[tuple[str, bytes]]:
    seeds = [
        ("csv", b"First Name,Email,Zip\nAnn,ann@x.com,02139\nBob,bob@x.com,10001\n"),
        ("csv", "Name;E-mail;PLZ\nRenée;r@x.de;1234\n".encode("cp1252")),
        ("csv", "full_name\temail\tzip\nJosé\tj@x.com\t01960\n".encode("utf-16")),
        ("xlsx", _workbook()),
    ]
    if REAL_EXPORTS.is_dir():
        seeds += [("csv", p.read_bytes()) for p in sorted(REAL_EXPORTS.glob("*.csv"))]
    return seeds


SEEDS = _seeds()


@dataclass(frozen=True)
class Sample:
    """A fuzzed file: its suffix and bytes, shown short (a failing one is kept in FAILURES)."""

    suffix: str
    data: bytes

    def __repr__(self) -> str:
        digest = hashlib.sha256(self.data).hexdigest()[:12]
        return f"Sample({self.suffix}, {len(self.data):,} bytes, {FAILURES}/{digest}.{self.suffix})"

    def keep(self) -> None:
        FAILURES.mkdir(parents=True, exist_ok=True)
        (FAILURES / f"{hashlib.sha256(self.data).hexdigest()[:12]}.{self.suffix}").write_bytes(
            self.data
        )


FAILURES = Path(__file__).resolve().parents[1] / "build" / "fuzz-failures"


@st.composite
def mutated(draw: st.DrawFn) -> Sample:
    """A seed file (a real export, a workbook) or random bytes, then a few mutations."""
    if draw(st.integers(0, 9)) == 0:
        return Sample(draw(st.sampled_from(["csv", "xlsx"])), draw(st.binary(max_size=2000)))
    suffix, data = draw(st.sampled_from(SEEDS))
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "truncate", "splice", "insert", "repeat", "byte"]))
        at = draw(st.integers(0, max(len(buf) - 1, 0)))
        if kind == "flip" and buf:
            buf[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte" and buf:
            buf[at] = draw(st.sampled_from([0, 0x1B, 0x22, 0x2C, 0x0A, 0x0D, 0xE9, 0xFF, 0xC3]))
        elif kind == "truncate":
            del buf[at:]
        elif kind == "splice":
            _, other = draw(st.sampled_from(SEEDS))
            start = draw(st.integers(0, max(len(other) - 1, 0)))
            buf[at:] = other[start : start + draw(st.integers(0, 4000))]
        elif kind == "insert":
            buf[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "repeat" and buf:
            piece = bytes(buf[at : at + draw(st.integers(1, 200))])
            buf[at:at] = piece * draw(st.integers(2, 50))
    return Sample(suffix, bytes(buf))


def read_everything(path: Path) -> int:
    """open_table, every chunk and the Preparer, as `leadup validate` does; the rows read."""
    table = open_table(path, ReadOptions(chunk_rows=500), limits=LIMITS)
    preparer = Preparer(auto_map(table.columns), table.columns, PrepareOptions(), table.sha256)
    rows = 0
    for chunk in table.chunks():
        for _result, _cells in preparer.prepare(chunk):
            rows += 1
    return rows


@settings(
    max_examples=EXAMPLES or 120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(mutated())
def test_reading_any_bytes_ends_in_rows_or_a_leadup_error(
    tmp_path_factory: pytest.TempPathFactory, sample: Sample
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / f"leads.{sample.suffix}"
    path.write_bytes(sample.data)
    tracemalloc.start()
    try:
        read_everything(path)
    except LeadupError:
        pass  # a clear refusal, with an exit code: what a bad file should get
    except BaseException:
        sample.keep()
        raise
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        path.unlink()
    assert peak < PEAK_BYTES, f"{peak:,} bytes to read {len(sample.data):,}"


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    """`leadup validate PATH` in a process limited to SUBPROCESS_ADDRESS_SPACE of memory."""
    start = (
        "import resource, runpy, sys; "
        f"resource.setrlimit(resource.RLIMIT_AS, ({SUBPROCESS_ADDRESS_SPACE},) * 2); "
        "sys.argv = ['leadup', *sys.argv[1:]]; "
        "runpy.run_module('uploader', run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-c", start, "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("JUICED_")},
    )


@settings(
    max_examples=EXAMPLES or 6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(mutated())
@pytest.mark.timeout(120)
def test_validate_never_crashes(tmp_path_factory: pytest.TempPathFactory, sample: Sample) -> None:
    path = tmp_path_factory.mktemp("fuzz") / f"leads.{sample.suffix}"
    path.write_bytes(sample.data)
    done = validate(path)
    if done.returncode not in (0, 1, 2):
        sample.keep()
    assert done.returncode in (0, 1, 2), (done.returncode, done.stderr[-3000:])
    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr


def test_the_far_cell_workbook_through_validate_stays_within_memory(tmp_path: Path) -> None:
    """The issue's 4.9 KB xlsx under the address-space limit: refused, not an abort."""
    wb = openpyxl.load_workbook(io.BytesIO(_workbook()))
    wb.active["XFD1048576"] = "x"
    wb.save(tmp_path / "leads.xlsx")
    done = validate(tmp_path / "leads.xlsx")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "limit of 2,000 columns" in done.stderr
