"""The bench scripts run end to end on tiny inputs and write RESULTS.md.

No timing assertions: the figures of a smoke run on a shared machine mean nothing. This only
checks that every section runs, that each reports its rows, and that RESULTS.md has the
summary, the machine and the commands.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SUMMARY_ROWS = [
    "throughput, 200 rows, vs aiohttp peer (c=32)",
    "throughput, 200 rows, vs sequential requests loop",
    "throughput, 200 rows, share of the sandbox ceiling",
    "client CPU, 200 rows",
    "peak memory, 1,000 rows",
    "peak memory, 1,000 rows vs 200 rows",
    "start-up: first request, 1,000 rows (whole upload)",
    "first request, 2,000-row CSV, vs bare read_csv",
    "peak memory, 2,000 rows (through the whole load, sending alongside)",
    "pacing: --rate 100 vs limit 40/s",
    "pacing: --rate 40 vs limit 44/s",
    "load + normalise, 1,000 rows CSV",
    "load + normalise, 200 rows Excel (python-calamine)",
    "resume: skip 900 finished, send 100: first request",
]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_run_all_quick_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    env = {**os.environ, "LEADUP_BENCH_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "bench/run_all.py", "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    text = out.read_text(encoding="utf-8")
    for heading in (
        "## Summary",
        "## Machine",
        "## Commands",
        "## Throughput and client CPU",
        "## Memory and start-up",
        "## Start-up and memory",
        "## Pacing",
        "## Loading",
        "## Resume",
    ):
        assert heading in text
    assert "| what | leadup | comparison | ratio | target | met |" in text
    summary = text.split("## Summary", 1)[1].split("\n## ", 1)[0]
    for row in SUMMARY_ROWS:
        assert f"| {row}" in summary, row
    assert "failed" not in summary
    assert "git commit" in text and "CPUs (nproc)" in text
    assert ".venv/bin/python bench/bench_throughput.py --quick" in text
    # quick inputs went to the cache folder asked for, not bench/.cache
    assert (tmp_path / "cache" / "leads-200.csv").exists()


def test_peers_and_scripts_answer_help() -> None:
    for script in (
        "bench/peers/aiohttp_gather.py",
        "bench/peers/requests_loop.py",
        "bench/peers/loadgen.py",
        "bench/run_all.py",
        "bench/bench_startup.py",
    ):
        proc = subprocess.run(
            [sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True
        )
        assert proc.returncode == 0, (script, proc.stderr)
        assert "usage" in proc.stdout
