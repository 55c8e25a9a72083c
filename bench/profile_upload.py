"""Where leadup's time goes: pyinstrument profiles of the CLI, for targets not met.

    .venv/bin/python bench/profile_upload.py                # 20,000 rows; 1,000,000 start-up
    .venv/bin/python bench/profile_upload.py --quick        # 200 rows; 2,000 start-up
    .venv/bin/python bench/profile_upload.py --out-dir bench

1. profile-upload.txt: `python -m pyinstrument -m uploader upload FILE ...` for the whole
   20,000-row upload of the throughput bench (same flags, sandbox in its own process).
2. profile-startup.txt: the same on the 1,000,000-row file, stopped with SIGINT (leadup's
   own graceful stop) as soon as the sandbox sees the first request, so the profile is the
   start-up: reading, normalising and journalling the file before anything is sent, plus
   the short drain and the results file written on the way out.

pyinstrument samples the main thread: work leadup runs on other threads (`asyncio.to_thread`
for loading, the journal writer) shows as the await that waits for it. Run by
`run_all.py --profile`, which links the files from RESULTS.md.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH, ROOT, leads_csv, sandbox

RATE = 100_000


def pyinstrument(path: Path, out: Path, report: Path, concurrency: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pyinstrument",
        "-r",
        "text",
        "-o",
        str(report),
        "-m",
        "uploader",
        "upload",
        str(path),
        "--output",
        str(out),
        "--concurrency",
        str(concurrency),
        "--rate",
        str(RATE),
        "--restart",
        "-q",
    ]


def profile(rows: int, report: Path, tmp: Path, concurrency: int, stop_at_first: bool) -> None:
    path = leads_csv(rows)
    out = tmp / f"profile-{rows}" / "results.csv"
    print(f"profile: {report.name}, {rows:,} rows ...", file=sys.stderr, flush=True)
    with sandbox(records=False) as sb:
        proc = subprocess.Popen(
            pyinstrument(path, out, report, concurrency),
            cwd=ROOT,
            env=sb.env(),
            stdout=subprocess.DEVNULL,
        )
        if stop_at_first:
            while proc.poll() is None and not sb.stats()["requests"]:
                time.sleep(0.05)
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        rc = proc.wait()
    if not report.exists():
        raise SystemExit(f"pyinstrument wrote no {report} (exit {rc})")
    header = f"# {report.name}: leadup upload, {rows:,} rows"
    if stop_at_first:
        header += ", stopped by SIGINT at the first request (start-up)"
    report.write_text(f"{header}, exit {rc}\n\n{report.read_text()}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 rows; 2,000 for start-up")
    parser.add_argument("--out-dir", type=Path, default=BENCH)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    upload_rows, startup_rows = (200, 2_000) if args.quick else (20_000, 1_000_000)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="leadup-bench-") as name:
        tmp = Path(name)
        profile(upload_rows, args.out_dir / "profile-upload.txt", tmp, args.concurrency, False)
        profile(startup_rows, args.out_dir / "profile-startup.txt", tmp, args.concurrency, True)


if __name__ == "__main__":
    main()
