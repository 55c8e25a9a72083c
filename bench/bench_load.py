"""Loading and normalising a big lead file: time and peak memory against a bare read_csv.

    .venv/bin/python bench/bench_load.py            # 1,000,000 rows; about a minute
    .venv/bin/python bench/bench_load.py --rows 200000 --repeat 1

Writes the generated files under bench/out/ (not committed) and prints a markdown table for
bench/RESULTS.md. Each measurement runs in a fresh interpreter so that its peak RSS
(`ru_maxrss`) is its own; "above import" subtracts the interpreter with pandas and leadup
imported, which every measurement pays. Issue 3 asks: within 3x of
`pandas.read_csv(path, dtype=str)`, and memory that follows the chunk size, not the file.
The ratio is the median of the pairwise ratios of alternating runs, so that the machine's
drift hits both sides of each pair alike, as the product decisions define "at least equal".
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

FIRSTS = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "José",
          "Zoë", "Renée", "Mary Ann", "Wei", "Fatima", "O'Brien", "Anne-Sophie"]  # fmt: skip
LASTS = ["Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Miller", "Davis", "Núñez",
         "van der Berg", "O'Neil", "Nguyen", "Müller", "Lee"]  # fmt: skip
PLACES = [("Boston", "MA", "Massachusetts", "02139"), ("Newark", "NJ", "new jersey", "07102"),
          ("Austin", "TX", "Texas", "73301"), ("Denver", "CO", "colorado", "80202"),
          ("Portland", "OR", "Oregon", "97201"), ("Miami", "FL", "FL", "33101")]  # fmt: skip
HEADER = ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Street Address",
          "City", "State/Region", "Postal Code", "Company", "Lead Source", "Notes"]  # fmt: skip


def generate(path: Path, rows: int, seed: int = 3) -> None:
    """A HubSpot-shaped list with the usual mess: phone formats, state names, lost zeros."""
    rnd = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(rows):
            city, code, state_name, zip_code = PLACES[rnd.randrange(len(PLACES))]
            area, ex, line = rnd.randint(201, 989), rnd.randint(200, 999), rnd.randint(0, 9999)
            phone = rnd.choice(
                [f"({area}) {ex}-{line:04d}", f"+1 {area} {ex} {line:04d}",
                 f"{area}-{ex}-{line:04d}", f"1{area}{ex}{line:04d}", ""]
            )  # fmt: skip
            zip_cell = zip_code.lstrip("0") if i % 7 == 0 else zip_code  # Excel was here
            notes = "" if i % 4 else rnd.choice(['Called, left "voicemail"', "Wants a quote\nASAP"])
            w.writerow([
                100_000 + i, rnd.choice(FIRSTS), rnd.choice(LASTS),
                f"lead{i}@example.com" if i % 11 else f" Lead{i}@Example.COM ", phone,
                f"{rnd.randint(1, 9999)} Main St", city, state_name if i % 3 else code,
                zip_cell, "Acme Inc" if i % 2 else "", rnd.choice(["Web", "Trade show"]), notes,
            ])  # fmt: skip


def _measure(mode: str, path: str, chunk_rows: int) -> dict[str, float]:
    """Runs inside the child: one measurement, its time and the process's peak RSS."""
    import resource

    import pandas as pd

    from uploader.mapping import auto_map
    from uploader.model import Lead
    from uploader.normalise import Preparer
    from uploader.reading import open_table
    from uploader.settings import PrepareOptions, ReadOptions

    rows = leads = 0
    start = time.perf_counter()
    if mode == "read_csv":
        rows = len(pd.read_csv(path, dtype=str))
    elif mode in ("leadup", "leadup-keep"):
        table = open_table(Path(path), ReadOptions(chunk_rows=chunk_rows))
        options = PrepareOptions(keep_duplicates=mode == "leadup-keep")
        preparer = Preparer(auto_map(table.columns), table.columns, options, table.sha256)
        for chunk in table.chunks():
            for result, _cells in preparer.prepare(chunk):
                rows += 1
                leads += isinstance(result, Lead)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"seconds": seconds, "peak_mb": peak_kb / 1024, "rows": rows, "leads": leads}


def measure(mode: str, path: Path, chunk_rows: int = 50_000) -> dict[str, float]:
    """One measurement in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), str(chunk_rows)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each, alternating")
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, chunk_rows = args.child
        print(json.dumps(_measure(mode, path, int(chunk_rows))))
        return

    big = OUT / f"leads-{args.rows}.csv"
    small = OUT / f"leads-{args.rows // 4}.csv"
    for path, rows in ((big, args.rows), (small, args.rows // 4)):
        if not path.exists():
            print(f"generating {path} ...", file=sys.stderr)
            generate(path, rows)

    # Speed: alternate the two so that drift of the machine hits both alike.
    base, ours = [], []
    for _ in range(args.repeat):
        base.append(measure("read_csv", big))
        ours.append(measure("leadup", big, args.chunk_rows))
    t_base = statistics.median(m["seconds"] for m in base)
    t_ours = statistics.median(m["seconds"] for m in ours)
    ratios = [o["seconds"] / b["seconds"] for o, b in zip(ours, base, strict=True)]

    imports = measure("imports", big)["peak_mb"]
    rows = [
        ("bare `pandas.read_csv(dtype=str)`", big, args.rows, None, base[-1], t_base),
        ("leadup load: open_table + Preparer", big, args.rows, args.chunk_rows, ours[-1], t_ours),
    ]
    keep = "leadup load, --keep-duplicates (no duplicate state)"
    for label, mode, path, n, chunk in (
        ("bare `pandas.read_csv(dtype=str)`", "read_csv", small, args.rows // 4, None),
        ("leadup load: open_table + Preparer", "leadup", small, args.rows // 4, args.chunk_rows),
        ("leadup load: open_table + Preparer", "leadup", big, args.rows, args.chunk_rows // 5),
        (keep, "leadup-keep", small, args.rows // 4, args.chunk_rows),
        (keep, "leadup-keep", big, args.rows, args.chunk_rows),
    ):
        m = measure(mode, path, chunk or 0)
        rows.append((label, path, n, chunk, m, m["seconds"]))

    mib = big.stat().st_size / 2**20
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; file: {args.rows:,} rows, {mib:.0f} MiB "
          f"(HubSpot-shaped, 12 columns). Median of {args.repeat} alternating runs for the "
          f"{args.rows:,}-row timings; one run for the others.\n")  # fmt: skip
    print("| what | rows | chunk rows | seconds | rows/s | peak RSS MiB | above import MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, _path, n, chunk, m, seconds in rows:
        print(
            f"| {label} | {n:,} | {chunk or '—'} | {seconds:.2f} | {n / seconds:,.0f} | "
            f"{m['peak_mb']:.0f} | {m['peak_mb'] - imports:.0f} |"
        )
    pairs = ", ".join(f"{r:.2f}" for r in ratios)
    print(
        f"\nleadup / read_csv: {statistics.median(ratios):.2f}x, the median of the pairwise "
        f"ratios of {args.repeat} alternating runs ({pairs}); ratio of the medians "
        f"{t_ours / t_base:.2f}x. Peak RSS of an interpreter with the imports alone: "
        f"{imports:.0f} MiB. Leads: {ours[-1]['leads']:,} of {ours[-1]['rows']:,} rows. "
        "Duplicate detection keeps 12 bytes per distinct email and per distinct phone for the "
        "whole file; everything else is per chunk."
    )


if __name__ == "__main__":
    main()
