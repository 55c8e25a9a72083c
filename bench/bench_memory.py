"""Peak memory of `leadup upload` at 100,000 and 1,000,000 rows, and its start-up time.

    .venv/bin/python bench/bench_memory.py            # ~20 min on 2 cores (the 1M upload)
    .venv/bin/python bench/bench_memory.py --quick    # 200 and 1,000 rows, seconds

Each upload runs once, as a user runs it (`leadup upload FILE --concurrency 32 --rate
100000 --output OUT --restart -q`, credentials in the environment), in a fresh process,
against `leadup sandbox` in a process of its own (no latency, no limit; `--no-records` when
the sandbox has it, so a million leads do not grow its request log). Peak RSS is
`ru_maxrss` of the leadup process alone, read by a small wrapper interpreter through
`RUSAGE_CHILDREN`. Start-up is the wall-clock time from just before the wrapper starts
leadup to the sandbox's first API request (`first_request_at` in GET /_sandbox/stats, or
else the first record of GET /_sandbox/requests, read as soon as the first request shows:
the bench polls the stats every 50 ms while the upload runs).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    Measured,
    Summary,
    command_line,
    fresh_dir,
    leads_csv,
    leadup_upload,
    measure_watched,
    sandbox,
    table,
    write_json,
)

RATE = 100_000
PEAK_TARGET_MB = 250.0
GROWTH_TARGET = 1.5


def upload(rows: int, tmp: Path, concurrency: int) -> tuple[Measured, float | None, dict]:
    """One measured upload; its usage, the seconds to its first request, sandbox stats."""
    path = leads_csv(rows)
    out = fresh_dir(tmp, f"mem-{rows}") / "results.csv"
    print(f"memory: leadup upload, {rows:,} rows ...", file=sys.stderr, flush=True)
    with sandbox(records=False) as sb:
        argv = leadup_upload(path, out, concurrency, RATE, "--restart")
        m, startup = measure_watched("leadup", rows, argv, sb)
        stats = sb.stats()
    if stats["leads_created"] != rows:
        raise SystemExit(f"{rows:,} rows: the sandbox created {stats['leads_created']:,} leads")
    print(
        f"  {m.wall_s:.1f} s, {m.rate:.0f} rows/s, peak {m.peak_mb:.0f} MiB, first request "
        f"after {startup:.2f} s",
        file=sys.stderr,
    )
    return m, startup, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 and 1,000 rows")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", type=Path, help="also write the section for run_all.py")
    args = parser.parse_args()
    small, big = (200, 1_000) if args.quick else (100_000, 1_000_000)
    with tempfile.TemporaryDirectory(prefix="leadup-bench-") as name:
        tmp = Path(name)
        runs = [upload(rows, tmp, args.concurrency) for rows in (small, big)]
    (m_small, _, _), (m_big, s_big, _) = runs
    growth = m_big.peak_mb / m_small.peak_mb
    lines = [
        [
            f"{m.rows:,}",
            f"{leads_csv(m.rows).stat().st_size / 2**20:.1f}",
            f"{m.wall_s:.1f}",
            f"{m.rate:,.0f}",
            f"{m.cpu_ms_per_row:.3f}",
            f"{m.peak_mb:.0f}",
            "—" if s is None else f"{s:.2f}",
        ]
        for m, s, _ in runs
    ]
    markdown = (
        f"One upload of each size, concurrency {args.concurrency}, `--rate {RATE}`; peak RSS "
        "of the leadup process alone; start-up = start of the process to the sandbox's first "
        "API request.\n\n"
        + table(
            [
                "rows",
                "file MiB",
                "seconds",
                "rows/s",
                "CPU ms/row",
                "peak RSS MiB",
                "first request after s",
            ],
            lines,
        )
        + f"\n\nPeak RSS {big:,} rows / {small:,} rows: **{growth:.2f}x**."
    )
    fmt = f"{big:,} rows"
    summaries = [
        Summary(
            f"peak memory, {fmt}",
            f"{m_big.peak_mb:.0f} MiB",
            "—",
            "—",
            f"≤ {PEAK_TARGET_MB:.0f} MB",
            m_big.peak_mb * 2**20 / 1e6 <= PEAK_TARGET_MB,
            "no memory profile is taken; the start-up profile (`run_all.py --profile`) "
            "shows the load phase",
        ),
        Summary(
            f"peak memory, {fmt} vs {small:,} rows",
            f"{m_big.peak_mb:.0f} MiB",
            f"{m_small.peak_mb:.0f} MiB",
            f"{growth:.2f}",
            f"≤ {GROWTH_TARGET}x",
            growth <= GROWTH_TARGET,
            "see the start-up profile (`run_all.py --profile`)",
        ),
        Summary(  # the target is bench_startup.py's (against read_csv)
            f"start-up: first request, {fmt} (whole upload)",
            "—" if s_big is None else f"{s_big:.2f} s",
        ),
    ]
    write_json(
        args.json, "Memory and start-up", command_line("bench_memory.py"), summaries, markdown
    )


if __name__ == "__main__":
    main()
