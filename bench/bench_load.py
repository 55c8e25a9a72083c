"""Loading and normalising: a 1,000,000-row CSV against a bare read_csv, and a
100,000-row Excel file through leadup's engine (python-calamine) against openpyxl.

    .venv/bin/python bench/bench_load.py            # about 3 minutes on 2 cores
    .venv/bin/python bench/bench_load.py --quick    # 1,000 rows, 200 in Excel, seconds

CSV: a HubSpot-shaped list with the usual mess (phone formats, state names, lost zeros),
loaded and normalised as leadup's load phase does it (`open_table` + `Preparer` over every
chunk, the CLI's read options), against `pandas.read_csv(path, dtype=str)`. Target: within
3x, as the median of the pairwise ratios of alternating runs (the machine's drift hits both
sides of a pair alike). Excel: the clean lead file as .xlsx (written once by openpyxl),
leadup's load (`open_table` picks python-calamine, + `Preparer`) against a bare openpyxl
read-only load of every cell, and calamine alone for the engine's share. Each measurement
runs in a fresh interpreter, so its peak RSS (`ru_maxrss`) is its own; "above imports"
subtracts an interpreter with pandas and leadup imported. Inputs are cached under
bench/.cache/ (git-ignored) by size.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402
    Summary,
    cache_dir,
    child_env,
    command_line,
    leads_xlsx,
    table,
    write_json,
)

TARGET = 3.0

FIRSTS = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "José",
    "Zoë",
    "Renée",
    "Mary Ann",
    "Wei",
    "Fatima",
    "O'Brien",
    "Anne-Sophie",
]
LASTS = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "García",
    "Miller",
    "Davis",
    "Núñez",
    "van der Berg",
    "O'Neil",
    "Nguyen",
    "Müller",
    "Lee",
]
PLACES = [
    ("Boston", "MA", "Massachusetts", "02139"),
    ("Newark", "NJ", "new jersey", "07102"),
    ("Austin", "TX", "Texas", "73301"),
    ("Denver", "CO", "colorado", "80202"),
    ("Portland", "OR", "Oregon", "97201"),
    ("Miami", "FL", "FL", "33101"),
]
HEADER = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Street Address",
    "City",
    "State/Region",
    "Postal Code",
    "Company",
    "Lead Source",
    "Notes",
]


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
                [
                    f"({area}) {ex}-{line:04d}",
                    f"+1 {area} {ex} {line:04d}",
                    f"{area}-{ex}-{line:04d}",
                    f"1{area}{ex}{line:04d}",
                    "",
                ]
            )
            zip_cell = zip_code.lstrip("0") if i % 7 == 0 else zip_code  # Excel was here
            notes = "" if i % 4 else rnd.choice(['Called, left "voicemail"', "Wants a quote\nASAP"])
            w.writerow(
                [
                    100_000 + i,
                    rnd.choice(FIRSTS),
                    rnd.choice(LASTS),
                    f"lead{i}@example.com" if i % 11 else f" Lead{i}@Example.COM ",
                    phone,
                    f"{rnd.randint(1, 9999)} Main St",
                    city,
                    state_name if i % 3 else code,
                    zip_cell,
                    "Acme Inc" if i % 2 else "",
                    rnd.choice(["Web", "Trade show"]),
                    notes,
                ]
            )


def _measure(mode: str, path: str) -> dict[str, float]:
    """Runs inside the child: one measurement, its time and the process's peak RSS."""
    import resource

    import pandas as pd
    from openpyxl import load_workbook
    from python_calamine import CalamineWorkbook

    from uploader.model import Lead
    from uploader.prepare.normalise import Preparer
    from uploader.read import open_table
    from uploader.run.load import map_columns
    from uploader.settings import PrepareOptions, ReadOptions

    rows = leads = 0
    start = time.perf_counter()  # imports above, outside the timing
    if mode == "read_csv":
        rows = len(pd.read_csv(path, dtype=str))
    elif mode == "leadup":  # CSV or Excel: what leadup's load phase does, less the journal
        table = open_table(Path(path), ReadOptions())
        preparer = Preparer(  # as uploader.run.load makes it: columns judged on a sample too
            map_columns(table, None), table.columns, PrepareOptions(), table.sha256, with_keys=False
        )
        for chunk in table.chunks():
            for result, _cells in preparer.prepare(chunk):
                rows += 1
                leads += isinstance(result, Lead)
    elif mode == "openpyxl":
        wb = load_workbook(path, read_only=True)
        for values in wb.worksheets[0].iter_rows(min_row=2, values_only=True):
            [("" if v is None else str(v)) for v in values]
            rows += 1
        wb.close()
    elif mode == "calamine":
        rows = len(CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()) - 1
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"seconds": seconds, "peak_mb": peak_kb / 1024, "rows": rows, "leads": leads}


def measure(mode: str, path: Path) -> dict[str, float]:
    """One measurement in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env=child_env(),
    )
    return json.loads(out.stdout)


def alternate(ours: str, base: str, path: Path, repeat: int) -> tuple[list[dict], list[dict]]:
    """`repeat` pairs, base first then ours, then ours first: drift hits both alike."""
    a, b = [], []
    for i in range(repeat):
        for mode in (base, ours) if i % 2 == 0 else (ours, base):
            (a if mode == ours else b).append(measure(mode, path))
        print(
            f"  {ours} {a[-1]['seconds']:.2f} s, {base} {b[-1]['seconds']:.2f} s", file=sys.stderr
        )
    return a, b


def med(runs: list[dict], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 rows, 200 in Excel")
    parser.add_argument("--rows", type=int, help="CSV rows (default 1,000,000)")
    parser.add_argument("--xlsx-rows", type=int, help="Excel rows (default 100,000)")
    parser.add_argument("--repeat", type=int, help="alternating pairs (default 3; quick 1)")
    parser.add_argument("--json", type=Path, help="also write the section for run_all.py")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(*args.child)))
        return
    rows = args.rows or (1_000 if args.quick else 1_000_000)
    xrows = args.xlsx_rows or (200 if args.quick else 100_000)
    repeat = args.repeat or (1 if args.quick else 3)

    big = cache_dir() / f"hubspot-{rows}.csv"
    if not big.exists():
        print(f"  generating {big.name} ...", file=sys.stderr)
        generate(big.with_suffix(".tmp"), rows)
        big.with_suffix(".tmp").replace(big)
    xlsx = leads_xlsx(xrows)

    print(f"load: {rows:,} rows CSV ...", file=sys.stderr, flush=True)
    ours, base = alternate("leadup", "read_csv", big, repeat)
    ratios = [o["seconds"] / b["seconds"] for o, b in zip(ours, base, strict=True)]
    ratio = statistics.median(ratios)
    print(f"load: {xrows:,} rows Excel ...", file=sys.stderr, flush=True)
    x_ours, x_base = alternate("leadup", "openpyxl", xlsx, max(1, min(repeat, 2)))
    x_ratio = statistics.median(
        o["seconds"] / b["seconds"] for o, b in zip(x_ours, x_base, strict=True)
    )
    engine = measure("calamine", xlsx)
    imports = measure("imports", big)["peak_mb"]

    def line(what: str, n: int, runs: list[dict]) -> list[str]:
        t, peak = med(runs), max(r["peak_mb"] for r in runs)
        return [what, f"{n:,}", f"{t:.2f}", f"{n / t:,.0f}", f"{peak:.0f}", f"{peak - imports:.0f}"]

    mib = big.stat().st_size / 2**20
    markdown = (
        f"CSV: {rows:,} rows, {mib:.0f} MiB, 12 columns (HubSpot-shaped); Excel: {xrows:,} "
        f"rows, 8 columns, {xlsx.stat().st_size / 2**20:.1f} MiB. Seconds are medians of "
        f"{repeat} alternating runs (Excel: {len(x_ours)}); peak RSS the highest.\n\n"
        + table(
            ["what", "rows", "seconds", "rows/s", "peak RSS MiB", "above imports MiB"],
            [
                line("bare `pandas.read_csv(dtype=str)`", rows, base),
                line("leadup load: open_table + Preparer", rows, ours),
                line("bare openpyxl read-only, every cell", xrows, x_base),
                line("leadup load of the .xlsx (python-calamine) + Preparer", xrows, x_ours),
                line("python-calamine alone, whole sheet", xrows, [engine]),
            ],
        )
        + f"\n\nCSV, leadup / read_csv: **{ratio:.2f}x**, the median of the pairwise ratios "
        f"({', '.join(f'{r:.2f}' for r in ratios)}). Excel, leadup / openpyxl: "
        f"**{x_ratio:.2f}x**. Leads: {ours[-1]['leads']:,} of {ours[-1]['rows']:,} CSV rows. "
        f"Peak RSS of an interpreter with the imports alone: {imports:.0f} MiB."
    )
    summaries = [
        Summary(
            f"load + normalise, {rows:,} rows CSV",
            f"{med(ours):.2f} s",
            f"read_csv {med(base):.2f} s",
            f"{ratio:.2f}",
            f"≤ {TARGET:g}x read_csv",
            ratio <= TARGET,
            "profile `bench/bench_load.py --child leadup FILE` under pyinstrument",
        ),
        Summary(
            f"load + normalise, {xrows:,} rows Excel (python-calamine)",
            f"{med(x_ours):.2f} s",
            f"openpyxl {med(x_base):.2f} s",
            f"{x_ratio:.2f}",
        ),
    ]
    write_json(args.json, "Loading", command_line("bench_load.py"), summaries, markdown)


if __name__ == "__main__":
    main()
