"""Sending from the first seconds: the first request on a 1,000,000-row CSV against a bare
read_csv of the same file, and leadup's peak memory through the whole load.

    .venv/bin/python bench/bench_startup.py            # 3 alternating rounds, ~3 min
    .venv/bin/python bench/bench_startup.py --quick    # 2,000 rows, one round, seconds

leadup runs as a user runs it (`leadup upload FILE --concurrency 32 --rate 100000 --output
OUT --restart -q`) against `leadup sandbox --no-records` in a process of its own. First
request: wall clock from just before leadup starts to the sandbox's `first_request_at`.
The run then goes on until its journal says the whole file is loaded (every row read,
normalised and journalled while rows were being sent), and is stopped with SIGINT (its own
graceful stop); peak RSS is that process's `ru_maxrss` (`os.wait4`), so it covers the whole
load and the sending alongside it, not the sending of the rows left after it.

read_csv: `pandas.read_csv(FILE, dtype=str)` in a fresh interpreter; its own time (after
`import pandas`) is the comparison, the stricter one (leadup's figure includes its
interpreter and imports). Rounds alternate which goes first; medians are reported.
Target (issue 13): first request within max(5 s, 2x read_csv); at most 250 MB peak.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    Summary,
    child_env,
    command_line,
    fresh_dir,
    leads_csv,
    leadup_upload,
    sandbox,
    table,
    write_json,
)

RATE = 100_000
CONCURRENCY = 32
PEAK_TARGET_MB = 250.0


def leadup_run(path: Path, tmp: Path) -> tuple[float, float, float]:
    """(seconds to the first request, seconds to the end of the load, peak RSS MiB)."""
    out = fresh_dir(tmp, "startup") / "results.csv"
    journal = out.parent / ".leadup" / f"{out.name}.journal"  # run.journal_path_for
    with sandbox(records=False) as sb:
        argv = leadup_upload(path, out, CONCURRENCY, RATE, "--restart")
        started = time.time()
        child = subprocess.Popen(
            argv, env=sb.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        first = loaded = None
        while first is None or loaded is None:
            if child.poll() is not None:
                break
            if first is None and sb.stats()["requests"]:
                first = (sb.first_request_at() or time.time()) - started
            if loaded is None and _loaded(journal):
                loaded = time.time() - started
            time.sleep(0.05)
        if child.returncode is None:
            child.send_signal(signal.SIGINT)
        _, _, usage = os.wait4(child.pid, 0)
        child.returncode = 0
    if first is None or loaded is None:
        raise SystemExit(f"leadup ended before its first request or the end of its load: {argv}")
    peak = usage.ru_maxrss / 1024  # KiB on Linux
    print(
        f"  leadup: first request after {first:.2f} s, load done after {loaded:.1f} s, "
        f"peak {peak:.0f} MiB",
        file=sys.stderr,
    )
    return first, loaded, peak


def _loaded(journal: Path) -> bool:
    """The journal says every row is in (read-only, so leadup's own writes go on)."""
    if not journal.exists():
        return False
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=0.05) as db:
            found = db.execute("SELECT value FROM meta WHERE key = 'loaded'").fetchone()
    except sqlite3.Error:
        return False
    return found is not None and found[0] == "1"


def read_csv(path: Path) -> tuple[float, float]:
    """(read_csv's own seconds, the whole process's wall seconds)."""
    code = (
        "import time, pandas as pd; t = time.perf_counter(); "
        f"pd.read_csv({str(path)!r}, dtype=str); print(time.perf_counter() - t)"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - started
    inner = float(done.stdout.strip())
    print(f"  read_csv: {inner:.2f} s ({wall:.2f} s with its interpreter)", file=sys.stderr)
    return inner, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 rows, one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the section for run_all.py")
    args = parser.parse_args()
    rows, rounds = (2_000, 1) if args.quick else (1_000_000, args.rounds)
    path = leads_csv(rows)
    firsts, loads, peaks, inners, walls = [], [], [], [], []
    lines = []
    with tempfile.TemporaryDirectory(prefix="leadup-bench-") as name:
        tmp = Path(name)
        for i in range(rounds):
            print(f"start-up, {rows:,} rows, round {i + 1} ...", file=sys.stderr, flush=True)
            if i % 2:
                inner, wall = read_csv(path)
                first, loaded, peak = leadup_run(path, tmp)
            else:
                first, loaded, peak = leadup_run(path, tmp)
                inner, wall = read_csv(path)
            firsts.append(first)
            loads.append(loaded)
            peaks.append(peak)
            inners.append(inner)
            walls.append(wall)
            order = "leadup first" if i % 2 == 0 else "read_csv first"
            lines.append(
                [
                    f"{i + 1} ({order})",
                    f"{first:.2f}",
                    f"{loaded:.1f}",
                    f"{peak:.0f}",
                    f"{inner:.2f}",
                    f"{wall:.2f}",
                ]
            )
    first, loaded, peak = (statistics.median(x) for x in (firsts, loads, peaks))
    inner, wall = statistics.median(inners), statistics.median(walls)
    lines.append(
        [
            "**median**",
            f"**{first:.2f}**",
            f"**{loaded:.1f}**",
            f"**{peak:.0f}**",
            f"**{inner:.2f}**",
            f"**{wall:.2f}**",
        ]
    )
    bound = max(5.0, 2 * inner)
    markdown = (
        f"{rows:,} rows, concurrency {CONCURRENCY}, `--rate {RATE}`; leadup stopped with "
        "SIGINT once its journal says the file is loaded.\n\n"
        + table(
            [
                "round",
                "leadup first request s",
                "leadup load done s",
                "leadup peak RSS MiB",
                "read_csv s",
                "read_csv process s",
            ],
            lines,
        )
        + f"\n\nTarget: first request within max(5 s, 2 x {inner:.2f} s) = {bound:.2f} s."
    )
    summaries = [
        Summary(
            f"first request, {rows:,}-row CSV, vs bare read_csv",
            f"{first:.2f} s",
            f"read_csv {inner:.2f} s",
            f"{first / inner:.2f}",
            "≤ max(5 s, 2x read_csv)",
            first <= bound,
            "the structural scan reads the whole file first (about one read_csv); see "
            "bench/ANALYSIS.md",
        ),
        Summary(
            f"peak memory, {rows:,} rows (through the whole load, sending alongside)",
            f"{peak:.0f} MiB",
            "—",
            "—",
            f"≤ {PEAK_TARGET_MB:.0f} MB",
            peak * 2**20 / 1e6 <= PEAK_TARGET_MB,
            "no memory profile is taken",
        ),
    ]
    write_json(
        args.json, "Start-up and memory", command_line("bench_startup.py"), summaries, markdown
    )


if __name__ == "__main__":
    main()
