"""Upload throughput and memory: leadup against the hand-written client, in one benchmark run.

    .venv/bin/python bench/bench_upload.py            # about 4.5 minutes on 2 cores
    .venv/bin/python bench/bench_upload.py --quick    # about 1.5 minutes
    .venv/bin/python bench/bench_upload.py --profile  # adds where leadup's time goes
    .venv/bin/python bench/bench_upload.py --only profile --rows 2000   # just that part

What it measures (prints markdown tables for bench/RESULTS.md):

1. Throughput, rate not binding. One sandbox on a background thread (`sandbox_in_thread`)
   with 20 ms +- 10 ms latency and no rate limit; a clean CSV whose headers are API field
   names, so the hand client (bench/hand_client.py) posts the very same file. Alternating
   pairs (leadup first, then hand first, ...) at the same concurrency and a rate that does
   not bind; the figure is the median of the pairwise ratios leadup/hand (DECISIONS.md).
   leadup runs through `uploader.api.upload` end to end (read, normalise, journal, requests,
   results file), each run into a fresh output folder so nothing resumes. One warm-up run of
   each is not counted. The same again with the sandbox in a separate process, which also
   gives the client's own CPU time per row (with the sandbox on a thread, the sandbox's work
   shares the client's GIL and CPU counters).
2. Rate binding (`--rate 100` for both): the rate each reaches, whole run and sustained
   (steady state after the first 2 s, from the sandbox's request log).
3. Peak memory: `python -m uploader upload FILE` in a fresh process against a sandbox in
   another process (latency 0), 3,000 vs 30,000 rows, and at 4x the concurrency; peak RSS
   of the uploader process only (`ru_maxrss` through a small wrapper interpreter). The same
   through `api.upload` with a 2,000-row read chunk, and the hand client for contrast.
4. `--profile`: cProfile of one leadup run, and ablations (one piece of leadup switched off
   by an in-process patch, alternated with stock leadup) to show where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import hand_client  # noqa: E402

from uploader import api  # noqa: E402
from uploader.sandbox import SandboxConfig, sandbox_in_thread  # noqa: E402
from uploader.settings import (  # noqa: E402
    ApiSettings,
    Credentials,
    RatePolicy,
    ReadOptions,
    UploadSettings,
)

CLI_CHUNK = ReadOptions().chunk_rows  # the read chunk the CLI uses
HEADER = ["first_name", "last_name", "email", "phone", "address_1", "city", "state", "zip"]


def write_leads(path: Path, rows: int) -> Path:
    """A clean CSV with API field names as headers; unique emails and phones."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(rows):
            phone = f"617{200 + i // 10000:03d}{i % 10000:04d}"
            w.writerow([f"First{i}", f"Last{i}", f"person{i}@example.com", phone,
                        f"{i} Main St", "Cambridge", "MA", "02139"])  # fmt: skip
    return path


# --- the two clients, in this process ---------------------------------------------------


@dataclass
class Target:
    url: str
    key: str
    secret: str
    requests_seen: Any  # () -> list of (at, status) of every request so far


@dataclass
class Run:
    client: str
    rows: int
    seconds: float
    created: int
    cpu_s: float  # this process's CPU (all threads) during the run
    log: list[tuple[float, int | None]]  # the sandbox's (arrival time, status) for this run

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_leadup(
    target: Target, path: Path, out: Path, rows: int, concurrency: int, rate: float
) -> Run:
    settings = UploadSettings(
        api=ApiSettings(
            credentials=Credentials(api_key=target.key, api_secret=target.secret),
            base_url=target.url,
        ),
        concurrency=concurrency,
        rate=RatePolicy(rate_per_s=rate),
    )
    request = api.UploadRequest(input_path=path, settings=settings, output_path=out)
    before = len(target.requests_seen())
    cpu, start = _cpu(), time.perf_counter()
    report = asyncio.run(api.upload(request))
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    return Run("leadup", rows, seconds, report.created, cpu, target.requests_seen()[before:])


def run_hand(target: Target, path: Path, rows: int, concurrency: int, rate: float) -> Run:
    before = len(target.requests_seen())
    cpu, start = _cpu(), time.perf_counter()
    result = asyncio.run(
        hand_client.run(
            path, target.url, target.key, target.secret, concurrency=concurrency, rate_per_s=rate
        )
    )
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    return Run("hand", rows, seconds, result["created"], cpu, target.requests_seen()[before:])


def fresh_output(tmp: Path) -> Path:
    """A results path in a new folder: no journal there, so nothing resumes."""
    return Path(tempfile.mkdtemp(prefix="out-", dir=tmp)) / "results.csv"


def check(run: Run) -> None:
    """Every row created, one request per row: otherwise the timing means nothing."""
    if run.created != run.rows or len(run.log) != run.rows:
        raise SystemExit(
            f"{run.client}: {run.created} of {run.rows} rows created, "
            f"{len(run.log)} requests seen by the sandbox"
        )


def sustained(log: list[tuple[float, int | None]], skip_s: float) -> float:
    """Accepted (non-429) requests per second after the first `skip_s` seconds."""
    if not log:
        return 0.0
    t0, t1 = log[0][0], log[-1][0]
    start = t0 + skip_s
    if t1 - start <= 0:
        return 0.0
    accepted = sum(1 for at, status in log if at >= start and status != 429)
    return accepted / (t1 - start)


# --- sandboxes --------------------------------------------------------------------------


@contextlib.contextmanager
def thread_sandbox(latency_ms: float, jitter_ms: float) -> Iterator[Target]:
    """The sandbox on a thread of this process; `latency_ms +- jitter_ms`."""
    config = SandboxConfig(
        latency_s=max(latency_ms - jitter_ms, 0) / 1000, latency_jitter_s=2 * jitter_ms / 1000
    )
    with sandbox_in_thread(config) as sb:

        def seen() -> list[tuple[float, int | None]]:
            return [(r.at, r.status) for r in list(sb.state.requests)]

        yield Target(sb.url, sb.config.api_key, sb.config.api_secret, seen)


@contextlib.contextmanager
def process_sandbox(latency_ms: float = 0.0, jitter_ms: float = 0.0) -> Iterator[Target]:
    """`leadup sandbox --port 0` in its own process; its `export` lines tell where."""
    args = [sys.executable, "-m", "uploader", "sandbox", "--port", "0",
            "--latency-ms", str(max(latency_ms - jitter_ms, 0)),
            "--jitter-ms", str(2 * jitter_ms)]  # fmt: skip
    proc = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        env: dict[str, str] = {}
        assert proc.stdout is not None
        while len(env) < 3:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit("the sandbox process did not start")
            if m := re.match(r"export (JUICED_API_\w+)=(.*)", line.strip()):
                env[m.group(1)] = shlex.split(m.group(2))[0]
        url = env["JUICED_API_URL"]

        def seen() -> list[tuple[float, int | None]]:
            with urllib.request.urlopen(f"{url}/_sandbox/requests") as resp:
                return [(r["at"], r["status"]) for r in json.load(resp)]

        yield Target(url, env["JUICED_API_KEY"], env["JUICED_API_SECRET"], seen)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- 1. throughput pairs -----------------------------------------------------------------


def pairs(
    target: Target, path: Path, tmp: Path, rows: int, n_pairs: int, concurrency: int, rate: float
) -> list[tuple[Run, Run]]:
    """One warm-up of each, then `n_pairs` alternating pairs; returns (leadup, hand) pairs."""

    def leadup() -> Run:
        return run_leadup(target, path, fresh_output(tmp), rows, concurrency, rate)

    def hand() -> Run:
        return run_hand(target, path, rows, concurrency, rate)

    check(leadup())
    check(hand())
    result = []
    for i in range(n_pairs):
        order = (leadup, hand) if i % 2 == 0 else (hand, leadup)
        first, second = order[0](), order[1]()
        check(first)
        check(second)
        ours, theirs = (first, second) if first.client == "leadup" else (second, first)
        result.append((ours, theirs))
        print(f"  pair {i + 1}: leadup {ours.rate:.0f}/s, hand {theirs.rate:.0f}/s",
              file=sys.stderr)  # fmt: skip
    return result


def pairs_table(result: list[tuple[Run, Run]], with_cpu: bool) -> str:
    head = "| pair | order | leadup rows/s | hand rows/s | leadup / hand |"
    rule = "|---:|---|---:|---:|---:|"
    if with_cpu:
        head += " leadup CPU ms/row | hand CPU ms/row |"
        rule += "---:|---:|"
    lines = [head, rule]
    ratios = []
    for i, (ours, theirs) in enumerate(result, 1):
        ratio = ours.rate / theirs.rate
        ratios.append(ratio)
        order = "leadup first" if i % 2 == 1 else "hand first"
        line = f"| {i} | {order} | {ours.rate:.0f} | {theirs.rate:.0f} | {ratio:.2f} |"
        if with_cpu:
            ms_ours, ms_theirs = 1000 * ours.cpu_s / ours.rows, 1000 * theirs.cpu_s / theirs.rows
            line += f" {ms_ours:.2f} | {ms_theirs:.2f} |"
        lines.append(line)
    med_ours = statistics.median(o.rate for o, _ in result)
    med_theirs = statistics.median(t.rate for _, t in result)
    line = (
        f"| **median** | | **{med_ours:.0f}** | **{med_theirs:.0f}** | "
        f"**{statistics.median(ratios):.2f}** |"
    )
    if with_cpu:
        cpu_ours = statistics.median(1000 * o.cpu_s / o.rows for o, _ in result)
        cpu_theirs = statistics.median(1000 * t.cpu_s / t.rows for _, t in result)
        line += f" **{cpu_ours:.2f}** | **{cpu_theirs:.2f}** |"
    lines.append(line)
    return "\n".join(lines)


# --- 2. rate binding ---------------------------------------------------------------------


def binding(target: Target, tmp: Path, rows: int, concurrency: int, rate: float) -> str:
    path = write_leads(tmp / f"binding-{rows}.csv", rows)
    runs = [
        run_leadup(target, path, fresh_output(tmp), rows, concurrency, rate),
        run_hand(target, path, rows, concurrency, rate),
    ]
    lines = [
        "| client | asked /s | rows | whole run rows/s | sustained /s (after 2 s) | 429s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        check(run)
        n429 = sum(1 for _, status in run.log if status == 429)
        lines.append(
            f"| {run.client} | {rate:g} | {rows:,} | {run.rate:.1f} | "
            f"{sustained(run.log, 2.0):.1f} | {n429} |"
        )
    return "\n".join(lines)


# --- 3. memory -----------------------------------------------------------------------------


# A small interpreter that runs the command and reports its child's peak RSS. Not measured
# straight from this process: Linux carries the parent's high-water RSS across fork/vfork and
# exec into the child's ru_maxrss, and this process has pandas loaded (about 125 MiB).
_WRAPPER = (
    "import json, resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(json.dumps({'rc': rc, 'peak_kib': peak}))\n"
)


def peak_rss_mb(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command in a fresh process; its own peak RSS in MiB, and seconds."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    seconds = time.perf_counter() - start
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    if got["rc"] != 0:
        raise SystemExit(f"{args}: exit {got['rc']}\n{proc.stderr}")
    return got["peak_kib"] / 1024, seconds


# leadup through its API with a smaller read chunk than the CLI's default (no CLI option).
_CHUNKED = (
    "import asyncio, sys\n"
    "from pathlib import Path\n"
    "from uploader import api\n"
    "from uploader.settings import (ApiSettings, Credentials, RatePolicy, ReadOptions,\n"
    "    UploadSettings)\n"
    "path, out, concurrency, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), "
    "int(sys.argv[4])\n"
    "settings = UploadSettings(api=ApiSettings(credentials=Credentials.from_env(),\n"
    "    base_url=__import__('os').environ['JUICED_API_URL']), concurrency=concurrency,\n"
    "    rate=RatePolicy(rate_per_s=5000))\n"
    "report = asyncio.run(api.upload(api.UploadRequest(input_path=Path(path),\n"
    "    settings=settings, output_path=Path(out), read=ReadOptions(chunk_rows=chunk))))\n"
    "sys.exit(report.exit_code)\n"
)


def memory(tmp: Path, sizes: list[int], concurrency: int, chunk_rows: int) -> str:
    lines = [
        "| process | concurrency | rows | file MiB | seconds | peak RSS MiB | above imports MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    with process_sandbox() as target:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "JUICED_API_URL": target.url,
               "JUICED_API_KEY": target.key, "JUICED_API_SECRET": target.secret}  # fmt: skip
        imports = [sys.executable, "-c",
                   "import pandas, aiohttp, tenacity, uploader.cli, uploader.upload"]  # fmt: skip
        base, _ = peak_rss_mb(imports, env)
        hand_base, _ = peak_rss_mb([sys.executable, "-c", "import aiohttp"], env)
        lines.append(f"| interpreter + leadup's imports | — | — | — | — | {base:.0f} | 0 |")
        lines.append(f"| interpreter + `import aiohttp` | — | — | — | — | {hand_base:.0f} | — |")
        paths = {rows: write_leads(tmp / f"mem-{rows}.csv", rows) for rows in sizes}

        def leadup_cli(path: Path, conc: int) -> list[str]:
            out = str(fresh_output(tmp))
            return [sys.executable, "-m", "uploader", "upload", str(path), "--rate", "5000",
                    "--concurrency", str(conc), "-q", "--output", out]  # fmt: skip

        def leadup_chunked(path: Path, conc: int) -> list[str]:
            return [sys.executable, "-c", _CHUNKED, str(path), str(fresh_output(tmp)),
                    str(conc), str(chunk_rows)]  # fmt: skip

        def hand(path: Path, conc: int) -> list[str]:
            return [sys.executable, str(ROOT / "bench" / "hand_client.py"), str(path),
                    "--concurrency", str(conc), "--rate", "5000"]  # fmt: skip

        small, big = sizes[0], sizes[-1]
        cli_label = f"`leadup upload` (CLI, read chunk {CLI_CHUNK:,} rows)"
        plan = [
            (cli_label, leadup_cli, concurrency, small, base),
            (cli_label, leadup_cli, concurrency, big, base),
            (cli_label, leadup_cli, 4 * concurrency, small, base),
            (f"leadup `api.upload`, read chunk {chunk_rows:,} rows", leadup_chunked, concurrency,
             small, base),
            (f"leadup `api.upload`, read chunk {chunk_rows:,} rows", leadup_chunked, concurrency,
             big, base),
            ("hand client (above `import aiohttp`)", hand, concurrency, small, hand_base),
            ("hand client (above `import aiohttp`)", hand, concurrency, big, hand_base),
        ]  # fmt: skip
        for label, make, conc, rows, zero in plan:
            path = paths[rows]
            peak, seconds = peak_rss_mb(make(path, conc), env)
            lines.append(
                f"| {label} | {conc} | {rows:,} | {path.stat().st_size / 2**20:.1f} | "
                f"{seconds:.1f} | {peak:.0f} | {peak - zero:.0f} |"
            )
            print(f"  memory {label} c={conc} {rows}: {peak:.0f} MiB", file=sys.stderr)
    return "\n".join(lines)


# --- optional: where leadup's time goes ---------------------------------------------------


def profile(target: Target, path: Path, tmp: Path, rows: int, concurrency: int) -> str:
    """cProfile of one leadup run (event-loop thread only), top functions by own time,
    plus the span the sandbox saw (first to last request) against the whole run."""
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    before = len(target.requests_seen())
    cpu, start = _cpu(), time.perf_counter()
    prof.enable()
    run = run_leadup(target, path, fresh_output(tmp), rows, concurrency, 2000)
    prof.disable()
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    check(run)
    log = target.requests_seen()[before:]
    span = log[-1][0] - log[0][0]
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
    text = out.getvalue().strip()
    text = text[text.index("ncalls") :] if "ncalls" in text else text
    return (
        f"Whole run {seconds:.2f} s ({rows / seconds:.0f} rows/s, under cProfile), requests "
        f"from first to last {span:.2f} s, so {seconds - span:.2f} s reading, journalling and "
        f"rendering. Process CPU {1000 * cpu / rows:.2f} ms per row (all threads, cProfile "
        f"overhead included). Top of the event-loop thread by own time (`epoll.poll` is the "
        f"loop idle, waiting for answers, the journal thread or the pacer):\n\n"
        "```\n" + text + "\n```"
    )


@contextlib.contextmanager
def patched(name: str) -> Iterator[None]:
    """Diagnostics only: switch one piece of leadup off in this process, then restore it.

    These patch private internals (uploader.pool, uploader.journal_writer) to measure what
    each piece costs; some are unsafe (a row posted before its in-flight mark is durable).
    Never used by the benchmark's own figures.
    """
    from uploader import journal_writer, pool

    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, attr: str, value: Any) -> None:
        saved.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, value)

    if name == "in-flight mark not awaited (unsafe)":

        async def in_flight(self: Any, row: int, attempt: int) -> None:
            self._queue.put(journal_writer._Mark(row, attempt, self._future()))

        patch(journal_writer.JournalWriter, "in_flight", in_flight)
    elif name == "group commit without the 2 ms wait":
        init = journal_writer.JournalWriter.__init__

        def no_delay(self: Any, journal: Any, **kw: Any) -> None:
            init(self, journal, **{**kw, "max_delay_s": 0.0})

        patch(journal_writer.JournalWriter, "__init__", no_delay)
    elif name == "pacer awaited directly (no stop-watch tasks)":

        async def acquire(self: Any) -> float:
            return await self._pacer.acquire()

        patch(pool.LeadPool, "_acquire", acquire)
    elif name == "no pacer at all":

        async def no_acquire(self: Any) -> float:
            return self._clock()

        patch(pool.LeadPool, "_acquire", no_acquire)
    elif name == "both: mark not awaited, no pacer":
        with patched("in-flight mark not awaited (unsafe)"), patched("no pacer at all"):
            yield
        return
    else:
        raise ValueError(name)
    try:
        yield
    finally:
        for owner, attr, value in reversed(saved):
            setattr(owner, attr, value)


ABLATIONS = (
    "in-flight mark not awaited (unsafe)",
    "group commit without the 2 ms wait",
    "pacer awaited directly (no stop-watch tasks)",
    "no pacer at all",
    "both: mark not awaited, no pacer",
)


def ablations(target: Target, path: Path, tmp: Path, rows: int, concurrency: int,
              repeat: int) -> str:  # fmt: skip
    """Each variant against stock leadup, alternating, `repeat` pairs each."""
    lines = [
        "| leadup with ... | stock rows/s | variant rows/s | variant / stock (median) |",
        "|---|---:|---:|---:|",
    ]
    for name in ABLATIONS:
        stock: list[float] = []
        variant: list[float] = []
        for i in range(repeat):
            for which in (0, 1) if i % 2 == 0 else (1, 0):
                if which:
                    with patched(name):
                        run = run_leadup(target, path, fresh_output(tmp), rows, concurrency, 2000)
                else:
                    run = run_leadup(target, path, fresh_output(tmp), rows, concurrency, 2000)
                check(run)
                (variant if which else stock).append(run.rate)
        ratio = statistics.median(v / s for v, s in zip(variant, stock, strict=True))
        lines.append(
            f"| {name} | {statistics.median(stock):.0f} | {statistics.median(variant):.0f} | "
            f"{ratio:.2f} |"
        )
        print(f"  ablation {name}: {ratio:.2f}", file=sys.stderr)
    return "\n".join(lines)


SECTIONS = ("thread", "binding", "process", "memory", "profile")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller files, fewer pairs")
    parser.add_argument("--rows", type=int, help="rows per throughput run (default 3000)")
    parser.add_argument("--pairs", type=int, help="alternating pairs (default 5)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--jitter-ms", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2000.0, help="a rate that does not bind")
    parser.add_argument("--binding-rate", type=float, default=100.0)
    parser.add_argument("--profile", action="store_true", help="add the profile and ablations")
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only these sections (repeatable); default: all but profile",
    )
    args = parser.parse_args()
    only = set(args.only or [s for s in SECTIONS if s != "profile" or args.profile])
    rows = args.rows or (1000 if args.quick else 3000)
    n_pairs = args.pairs or (3 if args.quick else 5)
    binding_rows = 500 if args.quick else 1500
    mem_sizes = [rows, 10 * rows]
    lat = f"{args.latency_ms:g} ms ± {args.jitter_ms:g} ms"
    ceiling = args.concurrency / (args.latency_ms / 1000)
    setup = (
        f"{rows:,} rows per run, concurrency {args.concurrency}, `--rate {args.rate:g}` for "
        f"both, sandbox latency {lat}, no rate limit (latency-bound ceiling "
        f"{args.concurrency} / {args.latency_ms:g} ms = {ceiling:.0f} rows/s). {n_pairs} "
        f"alternating pair{'s' if n_pairs != 1 else ''} after one warm-up run of each. "
        f"rows/s = rows / wall time of the whole call (leadup: read, normalise, journal, "
        f"send, results file; hand: read, send)."
    )

    started = time.perf_counter()
    sections = []
    with tempfile.TemporaryDirectory(prefix="leadup-bench-") as tmp_name:
        tmp = Path(tmp_name)
        path = write_leads(tmp / f"leads-{rows}.csv", rows)

        if only & {"thread", "binding"}:
            with thread_sandbox(args.latency_ms, args.jitter_ms) as target:
                if "thread" in only:
                    print("throughput, sandbox on a thread ...", file=sys.stderr)
                    result = pairs(target, path, tmp, rows, n_pairs, args.concurrency, args.rate)
                    sections.append(
                        "### Throughput, rate not binding (sandbox on a thread)\n\n"
                        + setup
                        + "\n\n"
                        + pairs_table(result, with_cpu=False)
                    )
                if "binding" in only:
                    print("rate binding ...", file=sys.stderr)
                    sections.append(
                        f"### Rate binding (`--rate {args.binding_rate:g}`, sandbox on a "
                        f"thread, {lat})\n\n"
                        + binding(target, tmp, binding_rows, args.concurrency, args.binding_rate)
                    )

        if only & {"process", "profile"}:
            with process_sandbox(args.latency_ms, args.jitter_ms) as target:
                if "process" in only:
                    print("throughput, sandbox in its own process ...", file=sys.stderr)
                    result = pairs(target, path, tmp, rows, n_pairs, args.concurrency, args.rate)
                    sections.append(
                        "### Throughput, rate not binding (sandbox in its own process)\n\n"
                        + setup
                        + " Here `leadup sandbox` runs in a separate process, so the client "
                        "has the GIL to itself and its CPU time is its own (user + system, "
                        "all threads of the benchmark process, per row).\n\n"
                        + pairs_table(result, with_cpu=True)
                    )
                if "profile" in only:
                    print("profile ...", file=sys.stderr)
                    prof = profile(target, path, tmp, rows, args.concurrency)
                    # At most 2,000 rows and 3 pairs per variant: 30 runs in all.
                    small_rows = min(rows, 2000)
                    small = write_leads(tmp / f"ablation-{small_rows}.csv", small_rows)
                    ablation = ablations(target, small, tmp, small_rows, args.concurrency, 3)
                    sections.append(
                        "### Where leadup's time goes (`--profile`, sandbox in its own process, "
                        f"{lat})\n\n"
                        + prof
                        + "\n\nAblations: one piece of leadup switched off by a patch in the "
                        "benchmark process (diagnostics only; the first one is unsafe), each "
                        f"alternated with stock leadup, {small_rows:,} rows, 3 pairs, "
                        "median of pairwise ratios:\n\n" + ablation
                    )

        if "memory" in only:
            print("memory ...", file=sys.stderr)
            sections.append(
                f"### Peak memory ({mem_sizes[0]:,} vs {mem_sizes[1]:,} rows)\n\n"
                f"Each upload in a fresh process (`python -m uploader upload FILE --rate 5000 "
                f"--concurrency {args.concurrency} -q`) against `leadup sandbox` in another "
                f"process (latency 0), so the figure is the uploader's alone: peak RSS "
                f"(`ru_maxrss`) of that process, read by a small wrapper interpreter through "
                f'`RUSAGE_CHILDREN`. "Above imports" subtracts an interpreter that only '
                f"imports pandas, aiohttp, tenacity and leadup (for the hand client: aiohttp). "
                f"The CLI reads CSV in chunks of {CLI_CHUNK:,} rows; the `api.upload` lines "
                f"set a 2,000-row chunk to show what memory follows once a file spans many "
                f"chunks.\n\n" + memory(tmp, mem_sizes, args.concurrency, 2000)
            )

    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}. "
        f"Command: `{' '.join(['.venv/bin/python', 'bench/bench_upload.py', *sys.argv[1:]])}` "
        f"({time.perf_counter() - started:.0f} s).\n"
    )
    print("\n\n".join(sections))


if __name__ == "__main__":
    main()
