"""Run every benchmark and write bench/RESULTS.md: a summary table, the machine, the exact
commands, then each section's detail.

    .venv/bin/python bench/run_all.py                   # everything, ~46 min on 2 cores
    .venv/bin/python bench/run_all.py --quick           # tiny inputs, a smoke run (~1 min)
    .venv/bin/python bench/run_all.py --only throughput --only load
    .venv/bin/python bench/run_all.py --profile         # profiles even if all targets met
    .venv/bin/python bench/run_all.py --quick --out /tmp/RESULTS.md

Each script runs in its own interpreter, one after the other, so they do not compete for
the CPU; its progress goes to stderr, its results come back as JSON (`--json`). A failing
script is reported in RESULTS.md and the others still run; the exit code is then 1.
`make bench` runs this with no options: a full run, plus pyinstrument profiles of the
upload and of the start-up when any target is missed (`--profile` always, `--no-profile`
never).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH, ROOT, child_env, table, yes

# name, script, what it measures, estimated minutes on 2 cores (full; quick)
SECTIONS = [
    (
        "throughput",
        "bench_throughput.py",
        "rows/s and CPU ms/row vs the peers, 20k and 100k rows",
        13.0,
        0.3,
    ),
    (
        "startup",
        "bench_startup.py",
        "first request on 1M vs read_csv; peak RSS of the load",
        3.0,
        0.2,
    ),
    ("memory", "bench_memory.py", "peak RSS of whole uploads of 100k and 1M rows", 21.0, 0.2),
    ("pacing", "bench_adaptive.py", "--rate 100 vs limit 40, --rate 40 vs limit 44", 3.0, 0.2),
    ("load", "bench_load.py", "1M-row CSV vs read_csv, 100k-row Excel vs openpyxl", 3.0, 0.2),
    ("resume", "bench_resume.py", "skip 900k finished rows, send the last 100k", 6.0, 0.1),
]
PROFILE = ("profile", "profile_upload.py", "pyinstrument: 20k upload, 1M start-up", 2.0, 0.1)


def machine() -> list[list[str]]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return [
        ["CPUs (nproc)", str(os.cpu_count())],
        ["CPU", cpu],
        ["OS", f"{platform.system()} {platform.release()} {platform.machine()}"],
        ["Python", f"{platform.python_implementation()} {platform.python_version()}"],
        ["date", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")],
        ["git commit", f"{commit}{' (dirty: uncommitted changes)' if dirty else ''}"],
    ]


def took(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def run_section(script: str, quick: bool, tmp: Path) -> tuple[dict | None, float, int]:
    """Run one script; its JSON (None if it failed), seconds, exit code."""
    out = tmp / f"{script}.json"
    command = [
        sys.executable,
        str(BENCH / script),
        *(["--quick"] if quick else []),
        "--json",
        str(out),
    ]
    print(f"== {shlex.join(command[1:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0 or not out.exists():
        return None, seconds, proc.returncode or 1
    return json.loads(out.read_text(encoding="utf-8")), seconds, 0


def render(
    results: list[tuple[str, str, dict | None, float, int]],
    quick: bool,
    profiles: list[Path],
    out: Path,
    argv: list[str],
) -> str:
    summary_rows: list[list[str]] = []
    not_met: list[tuple[str, str]] = []
    for name, script, data, _seconds, rc in results:
        if data is None:
            summary_rows.append(
                [f"{name} (`{script}`)", "**failed**", "—", "—", "—", f"**failed (exit {rc})**"]
            )
            continue
        for s in data["summary"]:
            summary_rows.append(
                [s["what"], s["leadup"], s["comparison"], s["ratio"], s["target"], yes(s["met"])]
            )
            if s["met"] is False:
                not_met.append((s["what"], s["why"]))
    command = shlex.join([".venv/bin/python", "bench/run_all.py", *argv])
    parts = [
        "# Benchmark results",
        f"Written by `{command}`"
        + (
            " — **quick mode: tiny inputs, a smoke run; the figures mean nothing.**"
            if quick
            else " (`make bench`)."
        )
        + " Every figure comes from leadup run as a user runs it (`leadup upload`, a fresh "
        "process) against `leadup sandbox` in a process of its own, unless a section says "
        'otherwise. Ratios are leadup / comparison; "met" is judged on this one run.',
        "## Summary",
        table(["what", "leadup", "comparison", "ratio", "target", "met"], summary_rows, "llllll"),
    ]
    if not_met:
        lines = []
        for what, why in not_met:
            lines.append(f"- **{what}**: {why or 'see its section below'}.")
        if profiles:
            links = ", ".join(f"[{p.name}]({os.path.relpath(p, out.parent)})" for p in profiles)
            lines.append(f"- Profiles (pyinstrument, text): {links}; their top is below.")
        else:
            lines.append(
                "- No profile in this run: `.venv/bin/python bench/run_all.py --profile` adds "
                "pyinstrument profiles of a 20,000-row upload and of the 1,000,000-row "
                "start-up (bench/profile-upload.txt, bench/profile-startup.txt)."
            )
        parts += ["### Targets not met: where to look", "\n".join(lines)]
        for p in profiles:
            head = "\n".join(p.read_text(encoding="utf-8").splitlines()[:45])
            parts.append(f"Top of `{p.name}`:\n\n```\n{head}\n```")
        analysis = BENCH / "ANALYSIS.md"  # by hand, from the profiles: why and what would close it
        if analysis.exists():
            parts.append(analysis.read_text(encoding="utf-8").strip())
    parts += ["## Machine", table(["", ""], machine(), "ll")]
    commands = [
        [
            name,
            f"`{data['command'] if data else f'.venv/bin/python bench/{script}'}`",
            took(seconds),
        ]
        for name, script, data, seconds, _rc in results
    ]
    parts += [
        "## Commands",
        "Run one after another from the repository root:",
        table(["section", "exact command", "took"], commands, "llr"),
    ]
    for name, script, data, seconds, rc in results:
        title = data["section"] if data else name
        parts.append(f"## {title} (`{script}`, {took(seconds)})")
        parts.append(
            data["markdown"]
            if data
            else f"**Failed with exit code {rc}**; its stderr is in the run's output."
        )
    return "\n\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, a smoke run")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="a section: " + ", ".join(s[0] for s in SECTIONS) + " (repeatable)",
    )
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pyinstrument profiles (profile-upload.txt, profile-startup.txt beside the "
        "results file); default: only when a full run misses a target",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=BENCH / "RESULTS.md",
        help="results file (default bench/RESULTS.md)",
    )
    parser.add_argument("--list", action="store_true", help="print the plan and exit")
    args = parser.parse_args()
    known = {s[0] for s in SECTIONS}
    if unknown := set(args.only) - known:
        parser.error(
            f"unknown section(s) {', '.join(sorted(unknown))}; known: "
            f"{', '.join(s[0] for s in SECTIONS)}"
        )
    chosen = [s for s in SECTIONS if not args.only or s[0] in args.only]

    plan = chosen + ([PROFILE] if args.profile or (args.profile is None and not args.quick) else [])
    col = 4 if args.quick else 3
    total = sum(s[col] for s in plan)
    print(
        f"plan ({'quick' if args.quick else 'full'}, estimated on 2 quiet cores):", file=sys.stderr
    )
    for s in plan:
        print(f"  {s[0]:11} {s[1]:22} ~{s[col]:4.1f} min  {s[2]}", file=sys.stderr)
    print(f"  {'total':34} ~{total:4.1f} min", file=sys.stderr)
    if not args.quick:
        print(
            "  (assumes leadup at ~900 rows/s with no latency: the 1M upload scales with it;"
            " the profile runs only if a target is missed, unless --profile/--no-profile)",
            file=sys.stderr,
        )
    sys.stderr.flush()
    if args.list:
        return

    results = []
    with tempfile.TemporaryDirectory(prefix="leadup-bench-") as name:
        for section, script, *_ in chosen:
            data, seconds, rc = run_section(script, args.quick, Path(name))
            results.append((section, script, data, seconds, rc))
    profiles: list[Path] = []
    failed = [r[0] for r in results if r[2] is None]
    missed = any(s["met"] is False for _, _, data, _, _ in results if data for s in data["summary"])
    if args.profile or (args.profile is None and not args.quick and missed):
        out_dir = args.out.parent
        command = [
            sys.executable,
            str(BENCH / PROFILE[1]),
            "--out-dir",
            str(out_dir),
            *(["--quick"] if args.quick else []),
        ]
        print(f"== {shlex.join(command[1:])}", file=sys.stderr, flush=True)
        if subprocess.run(command, cwd=ROOT, env=child_env()).returncode == 0:
            profiles = [out_dir / "profile-upload.txt", out_dir / "profile-startup.txt"]
        else:
            failed.append("profile")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        render(results, args.quick, profiles, args.out, sys.argv[1:]), encoding="utf-8"
    )
    print(f"written to {args.out}", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
