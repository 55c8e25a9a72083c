"""Helpers shared by the bench scripts: input files, a sandbox process, measured children.

Nothing here imports leadup: the scripts run leadup as a user does, through its CLI in a
child process, and measure that child from the outside.

- `leads_csv(rows)` / `leads_xlsx(rows)`: clean lead files whose cells already are what
  leadup sends (so a peer that posts the row as-is sends the same JSON body), cached under
  `bench/.cache/` (or `$LEADUP_BENCH_CACHE`) by size.
- `sandbox(...)`: `leadup sandbox --port 0` in its own process; URL and credentials parsed
  from the `export` lines it prints.
- `measure(argv, env)`: run a command under a small wrapper interpreter that reports wall
  time, CPU user+sys and peak RSS (`RUSAGE_CHILDREN`) of that command alone, and the
  wall-clock time it was started (to compare with the sandbox's first request).
- `Summary` rows, written as JSON with `--json FILE`, which run_all.py turns into the table.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS = BENCH / "peers"
HEADER = ["first_name", "last_name", "email", "phone", "address_1", "city", "state", "zip"]


def cache_dir() -> Path:
    path = Path(os.environ.get("LEADUP_BENCH_CACHE") or BENCH / ".cache")
    path.mkdir(parents=True, exist_ok=True)
    return path


def lead_row(i: int) -> list[str]:
    """Row i of the clean file: unique email and phone, phone written as leadup sends it."""
    return [
        f"First{i}",
        f"Last{i}",
        f"person{i}@example.com",
        f"617-{200 + i // 10000:03d}-{i % 10000:04d}",
        f"{i} Main St",
        "Cambridge",
        "MA",
        "02139",
    ]


def leads_csv(rows: int) -> Path:
    """The clean CSV of `rows` rows, generated once per size."""
    path = cache_dir() / f"leads-{rows}.csv"
    if not path.exists():
        print(f"  generating {path.name} ...", file=sys.stderr, flush=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(HEADER)
            w.writerows(lead_row(i) for i in range(rows))
        tmp.replace(path)
    return path


def leads_xlsx(rows: int) -> Path:
    """The same rows as an Excel workbook (openpyxl write-only), generated once per size."""
    path = cache_dir() / f"leads-{rows}.xlsx"
    if not path.exists():
        from openpyxl import Workbook

        print(f"  generating {path.name} ...", file=sys.stderr, flush=True)
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Leads")
        ws.append(HEADER)
        for i in range(rows):
            ws.append(lead_row(i))
        tmp = path.with_name(path.stem + ".tmp.xlsx")
        wb.save(tmp)
        tmp.replace(path)
    return path


# --- the sandbox in its own process ------------------------------------------------------


def leadup_argv(*args: str) -> list[str]:
    """The `leadup` console script of this venv (else `python -m uploader`)."""
    script = Path(sys.executable).with_name("leadup")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "uploader"]
    return [*head, *args]


@functools.cache
def _sandbox_help() -> str:
    return subprocess.run(
        leadup_argv("sandbox", "--help"), capture_output=True, text=True, cwd=ROOT, env=child_env()
    ).stdout


@dataclass
class Sandbox:
    url: str
    key: str
    secret: str
    records: bool  # whether it keeps its request log (no --no-records)

    def get(self, route: str) -> Any:
        with urllib.request.urlopen(f"{self.url}/_sandbox/{route}", timeout=600) as resp:
            return json.load(resp)

    def stats(self) -> dict[str, Any]:
        return self.get("stats")

    def first_request_at(self) -> float | None:
        """Wall-clock arrival of the first API request: from stats if the sandbox says it,
        else from its request log (then it must keep records)."""
        stats = self.stats()
        if "first_request_at" in stats:
            return stats["first_request_at"]
        if not self.records:
            return None
        log = self.get("requests")
        return log[0]["at"] if log else None

    def env(self) -> dict[str, str]:
        return child_env(
            JUICED_API_URL=self.url, JUICED_API_KEY=self.key, JUICED_API_SECRET=self.secret
        )


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a measured process: no credentials of the caller's, and a memory of
    uploads of its own (runs upload one file to many outputs on purpose)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUICED_")}
    memory = tempfile.mkdtemp(prefix="leadup-bench-memory-")
    return {**env, "PYTHONPATH": path, "LEADUP_DATA_DIR": memory, **extra}


@contextlib.contextmanager
def sandbox(rate_limit: float | None = None, records: bool = True) -> Iterator[Sandbox]:
    """`leadup sandbox --port 0` (no latency) in its own process, stopped on exit.

    `records=False` passes `--no-records` when this leadup has it (a million-lead run then
    does not grow the sandbox's request log); without it the sandbox keeps its log.
    """
    args = ["sandbox", "--port", "0"]
    if rate_limit is not None:
        args += ["--rate-limit", str(rate_limit)]
    if not records and "--no-records" in _sandbox_help():
        args.append("--no-records")
    else:
        records = True
    proc = subprocess.Popen(
        leadup_argv(*args),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=child_env(),
    )
    try:
        found: dict[str, str] = {}
        assert proc.stdout is not None
        while len(found) < 3:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit("the sandbox process did not start")
            if m := re.match(r"export (JUICED_API_\w+)=(.*)", line.strip()):
                found[m.group(1)] = shlex.split(m.group(2))[0]
        yield Sandbox(
            found["JUICED_API_URL"], found["JUICED_API_KEY"], found["JUICED_API_SECRET"], records
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- measured children -------------------------------------------------------------------

# Runs the command and reports its own usage. Not measured from the bench process itself:
# Linux carries a parent's high-water RSS across fork into the child's ru_maxrss, and the
# wrapper is a bare interpreter.
_WRAPPER = """\
import json, resource, subprocess, sys, time
started_at = time.time()
start = time.perf_counter()
with open(sys.argv[1] + ".out", "w") as out, open(sys.argv[1], "w") as err:
    rc = subprocess.call(sys.argv[2:], stdout=out, stderr=err)
wall = time.perf_counter() - start
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall_s": wall, "cpu_s": r.ru_utime + r.ru_stime,
                  "peak_kib": r.ru_maxrss, "started_at": started_at}))
"""


@dataclass
class Measured:
    client: str
    rows: int
    rc: int
    wall_s: float
    cpu_s: float
    peak_mb: float
    started_at: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.rows / self.wall_s

    @property
    def cpu_ms_per_row(self) -> float:
        return 1000 * self.cpu_s / self.rows


def measure(client: str, rows: int, argv: list[str], env: dict[str, str]) -> Measured:
    """Run `argv` in a fresh process (its stdout in `extra`); fail loudly if it fails."""
    err = Path(os.environ.get("TMPDIR", "/tmp")) / f"leadup-bench-{os.getpid()}.err"
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(err), *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    try:
        got = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"{client}: the wrapper failed\n{proc.stderr}") from None
    stderr = err.read_text(errors="replace") if err.exists() else ""
    out = Path(f"{err}.out")
    stdout = out.read_text(errors="replace") if out.exists() else ""
    err.unlink(missing_ok=True)
    out.unlink(missing_ok=True)
    if got["rc"] != 0:
        raise SystemExit(f"{client}: exit {got['rc']}: {shlex.join(argv)}\n{stderr[-3000:]}")
    return Measured(
        client,
        rows,
        got["rc"],
        got["wall_s"],
        got["cpu_s"],
        got["peak_kib"] / 1024,
        got["started_at"],
        {"stdout": stdout},
    )


def measure_watched(
    client: str, rows: int, argv: list[str], sb: Sandbox
) -> tuple[Measured, float | None]:
    """`measure`, while polling the sandbox every 50 ms for its first request; also the
    seconds from the start of the child to that request."""
    got: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            got["m"] = measure(client, rows, argv, sb.env())
        except BaseException as exc:  # SystemExit too: re-raised in the caller's thread
            got["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    first_at = None
    try:
        while not done.is_set():
            stats = sb.stats()
            if stats.get("first_request_at"):
                first_at = float(stats["first_request_at"])
                break
            if stats["requests"]:  # the log is still short: read it now
                first_at = sb.first_request_at()
                break
            time.sleep(0.05)
    finally:
        thread.join()
    if "error" in got:
        raise got["error"]
    if first_at is None:  # the run ended between two polls
        first_at = sb.first_request_at()
    m = got["m"]
    return m, None if first_at is None else first_at - m.started_at


def leadup_upload(path: Path, out: Path, concurrency: int, rate: float, *extra: str) -> list[str]:
    """`leadup upload` as a user runs it (credentials in the environment, never on argv)."""
    return leadup_argv(
        "upload",
        str(path),
        "--output",
        str(out),
        "--concurrency",
        str(concurrency),
        "--rate",
        f"{rate:g}",
        "-q",
        *extra,
    )


def peer(name: str, path: Path, out: Path, concurrency: int) -> list[str]:
    return [
        sys.executable,
        str(PEERS / f"{name}.py"),
        str(path),
        "--concurrency",
        str(concurrency),
        "--output",
        str(out),
    ]


def fresh_dir(base: Path, prefix: str) -> Path:
    """A new empty folder: no journal in it, so nothing resumes."""
    path = base / prefix
    n = 1
    while path.exists():
        n += 1
        path = base / f"{prefix}-{n}"
    path.mkdir(parents=True)
    return path


def rm(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --- summary rows for run_all.py ---------------------------------------------------------


@dataclass
class Summary:
    what: str
    leadup: str
    comparison: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: bool | None = None  # None: no target
    why: str = ""  # where to look when the target is not met


def write_json(
    path: Path | None, section: str, command: str, summaries: list[Summary], markdown: str
) -> None:
    """Print the section's markdown; with --json, also hand it to run_all.py."""
    print(markdown)
    if path is None:
        return
    data = {
        "section": section,
        "command": command,
        "markdown": markdown,
        "summary": [asdict(s) for s in summaries],
    }
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def command_line(script: str) -> str:
    args = [a for a in sys.argv[1:]]
    if "--json" in args:
        i = args.index("--json")
        del args[i : i + 2]
    return shlex.join([".venv/bin/python", f"bench/{script}", *args])


def table(head: list[str], rows: list[list[Any]], align: str = "") -> str:
    """A markdown table; `align` is one letter per column (l or r), default: first l."""
    align = align or "l" + "r" * (len(head) - 1)
    rule = "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"
    lines = ["| " + " | ".join(head) + " |", rule]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def yes(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "**no**")


def wait_for(predicate: Any, timeout_s: float, every_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every_s)
    return False
