"""Run every benchmark script in bench/ (bench_*.py) and print their markdown tables.

    .venv/bin/python bench/run_all.py                 # full runs, several minutes
    .venv/bin/python bench/run_all.py --quick         # smaller variants
    .venv/bin/python bench/run_all.py --only upload   # bench_upload.py only (repeatable)
    .venv/bin/python bench/run_all.py --out bench/out/latest.md

Each script runs in its own interpreter (the one running this), one after the other, so
they do not compete for the CPU. Its progress goes to stderr as it runs; its markdown is
printed under a heading once it finishes. With `--quick`, a script that takes `--quick` gets
it; one that does not gets the arguments in QUICK_FALLBACK, if any, else runs in full.
A failing script is reported and the others still run; the exit code is 1 if any failed.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

# Smaller variants of scripts that have no --quick of their own.
QUICK_FALLBACK: dict[str, list[str]] = {
    "bench_load.py": ["--rows", "100000", "--repeat", "1"],
}


def scripts(only: list[str]) -> list[Path]:
    found = sorted(BENCH.glob("bench_*.py"))
    if only:
        # "load" means bench_load.py, not bench_upload.py: whole short names only.
        wanted = {w.removesuffix(".py").removeprefix("bench_") for w in only}
        found = [p for p in found if p.stem.removeprefix("bench_") in wanted]
    return found


def takes_quick(script: Path) -> bool:
    help_text = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(),
    ).stdout
    return "--quick" in help_text


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return {**os.environ, "PYTHONPATH": path}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the smaller variant of each")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="a script by short name, e.g. upload, adaptive, load (repeatable)",
    )
    parser.add_argument("--out", type=Path, help="also write the combined markdown here")
    parser.add_argument("--list", action="store_true", help="list the scripts and exit")
    args = parser.parse_args()

    found = scripts(args.only)
    if args.list or not found:
        for p in found:
            print(p.relative_to(ROOT))
        if not found:
            sys.exit("no bench/bench_*.py script matches")
        return

    parts = [
        f"<!-- bench/run_all.py{' --quick' if args.quick else ''}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()} -->"
    ]
    failed = []
    for script in found:
        extra: list[str] = []
        if args.quick:
            extra = ["--quick"] if takes_quick(script) else QUICK_FALLBACK.get(script.name, [])
        command = [sys.executable, str(script.relative_to(ROOT)), *extra]
        print(f"== {' '.join(command[1:])}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        proc = subprocess.run(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=None, text=True, env=_env()
        )
        seconds = time.perf_counter() - start
        shown = " ".join([".venv/bin/python", *command[1:]])
        section = f"## {script.name}\n\n`{shown}` ({seconds:.0f} s)\n\n{proc.stdout.strip()}"
        if proc.returncode != 0:
            failed.append(script.name)
            section += f"\n\n**{script.name} failed with exit code {proc.returncode}.**"
        parts.append(section)
        print(section + "\n", flush=True)

    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
        print(f"written to {args.out}", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
