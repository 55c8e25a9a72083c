"""Resume: skip 900,000 finished rows of a 1,000,000-row file and send the last 100,000.

    .venv/bin/python bench/bench_resume.py            # ~6 min on 2 cores (3 of them set-up)
    .venv/bin/python bench/bench_resume.py --quick    # 1,000 rows, 900 finished, seconds

Setting up (not timed): the state an interrupted `leadup upload` leaves behind, made with
leadup's own journal code rather than by uploading 900,000 rows first. The load phase of
`uploader.run.upload` (`_load`: the file read, normalised and written to `<results>.journal`
with the CLI's default read, mapping and prepare options), then the first 900,000 pending
rows recorded as created through `Journal.commit` (each marked in flight, then a 201
result), exactly the transitions a run makes. Timed: the same command a user runs again to
resume, `leadup upload FILE --output OUT --concurrency 32 --rate 100000 -q` (no
`--restart`), against a fresh `leadup sandbox` in its own process. Checked: the sandbox
created exactly the last 100,000 leads from 100,000 requests, and the results file lists
every row of the file as created.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402
    Summary,
    command_line,
    leads_csv,
    leadup_upload,
    measure_watched,
    sandbox,
    table,
    write_json,
)

from uploader.journal import Journal  # noqa: E402
from uploader.model import Outcome, RowResult  # noqa: E402
from uploader.prepare.mapping import auto_map  # noqa: E402
from uploader.read import open_table  # noqa: E402
from uploader.run import journal_path_for  # noqa: E402
from uploader.run.load import load_rows  # noqa: E402
from uploader.settings import PrepareOptions, ReadOptions  # noqa: E402

RATE = 100_000
FIRST_TARGET_S = 2.0  # issue 13: a resume with 900,000 of 1,000,000 done sends within 2 s
BATCH = 20_000


def interrupted_state(path: Path, out: Path, finished: int) -> None:
    """The journal a run leaves when stopped after `finished` rows were created."""
    table_ = open_table(path, ReadOptions())
    journal = Journal.open(
        journal_path_for(out),
        input_sha256=table_.sha256,
        input_name=str(path),
        columns=table_.columns,
    )
    try:
        load_rows(journal, table_, auto_map(table_.columns), PrepareOptions(), None)
        marks: list[tuple[int, int]] = []
        results: list[RowResult] = []
        for done, lead in enumerate(journal.pending(BATCH)):
            if done == finished:
                break
            marks.append((lead.row, 1))
            results.append(
                RowResult(lead.row, Outcome.CREATED, "assigned", 1.0, f"resume-{lead.row}", 201, 1)
            )
            if len(marks) == BATCH:
                journal.commit(marks, results)
                marks, results = [], []
        journal.commit(marks, results)
        counts = journal.counts()
    finally:
        journal.close()
    if counts[Outcome.CREATED] != finished:
        raise SystemExit(f"set-up: {counts[Outcome.CREATED]} rows created, not {finished}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 rows, 900 finished")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", type=Path, help="also write the section for run_all.py")
    args = parser.parse_args()
    rows, finished = (1_000, 900) if args.quick else (1_000_000, 900_000)
    left = rows - finished
    path = leads_csv(rows)
    with tempfile.TemporaryDirectory(prefix="leadup-bench-") as name:
        out = Path(name) / "resume" / "results.csv"
        out.parent.mkdir()
        print(
            f"resume: journal with {finished:,} of {rows:,} rows created ...",
            file=sys.stderr,
            flush=True,
        )
        start = time.perf_counter()
        interrupted_state(path, out, finished)
        setup_s = time.perf_counter() - start
        print(f"  set up in {setup_s:.0f} s; resuming ...", file=sys.stderr, flush=True)
        with sandbox(records=False) as sb:
            argv = leadup_upload(path, out, args.concurrency, RATE)
            m, first = measure_watched("leadup", left, argv, sb)
            stats = sb.stats()
        with out.open(newline="", encoding="utf-8") as f:
            outcomes = [line["outcome"] for line in csv.DictReader(f)]
    created = sum(1 for o in outcomes if o == "created")
    if stats["leads_created"] != left or stats["requests"] != left:
        raise SystemExit(
            f"resume: the sandbox saw {stats['requests']:,} requests and created "
            f"{stats['leads_created']:,} leads, not {left:,}"
        )
    if len(outcomes) != rows or created != rows:
        raise SystemExit(f"resume: results file has {len(outcomes):,} rows, {created:,} created")
    sending = m.wall_s - (first or 0.0)
    print(f"  {m.wall_s:.1f} s; first request after {first:.2f} s", file=sys.stderr)
    markdown = (
        f"{rows:,}-row clean CSV; {finished:,} rows already created in the journal (set-up "
        f"with leadup's journal code, {setup_s:.0f} s, not timed); then `leadup upload` run "
        f"again, concurrency {args.concurrency}, `--rate {RATE}`.\n\n"
        + table(
            ["what", "seconds"],
            [
                ["whole resume run (start to exit)", f"{m.wall_s:.1f}"],
                [
                    f"start to first request (skipping {finished:,} finished rows)",
                    "—" if first is None else f"{first:.2f}",
                ],
                [
                    f"first request to exit (sending {left:,}, results file of {rows:,} rows)",
                    f"{sending:.1f}",
                ],
            ],
        )
        + f"\n\nSandbox: {stats['requests']:,} requests, {stats['leads_created']:,} leads "
        f"created; results file: {created:,} of {rows:,} rows created. Peak RSS "
        f"{m.peak_mb:.0f} MiB, CPU {m.cpu_ms_per_row:.3f} ms per row sent, "
        f"{left / m.wall_s:,.0f} rows sent per second of the whole run."
    )
    summaries = [
        Summary(
            f"resume: skip {finished:,} finished, send {left:,}: first request",
            "—" if first is None else f"{first:.2f} s",
            f"whole run {m.wall_s:.1f} s",
            "—",
            f"≤ {FIRST_TARGET_S:g} s",
            first is not None and first <= FIRST_TARGET_S,
            "start-up is imports, the journal's checks and the first page of pending rows",
        ),
    ]
    write_json(args.json, "Resume", command_line("bench_resume.py"), summaries, markdown)


if __name__ == "__main__":
    main()
