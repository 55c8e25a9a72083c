"""The adaptive-rate figure (issue 4) and the no-429 pacing figure (issue 2), against the sandbox.

    .venv/bin/python bench/bench_adaptive.py            # about 3 minutes
    .venv/bin/python bench/bench_adaptive.py --quick    # a smoke run, about 10 s

A. Asked for 100/s against a sandbox that allows 40/s (sliding one-second window, 429 with
   Retry-After), latency 15 ms +- 5 ms, concurrency 8, 2,500 rows (about a minute). Bar:
   at least 34/s sustained with at most 5% of requests answered 429.
B. Asked for 40/s against a sandbox that allows 44/s, 1,200 rows, three runs (a stray 429
   is intermittent). Bar: close to 40/s, no 429 at all. "Most in any 1 s" is the largest
   number of requests that arrived within one second: the sandbox refuses the 45th.

Every figure comes from the sandbox's own request log (arrival times, statuses), not from
leadup's report. "Sustained" is the steady state (DECISIONS.md): accepted (non-429) requests
per second from `--skip` seconds after the first request to the last one. leadup runs
through `uploader.run.upload` with default settings apart from rate and concurrency, into a
fresh output folder. Prints markdown tables for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import Summary, command_line, write_json  # noqa: E402

from uploader import run as api  # noqa: E402
from uploader.sandbox import SandboxConfig, sandbox_in_thread  # noqa: E402
from uploader.settings import ApiSettings, RatePolicy, UploadSettings  # noqa: E402

HEADER = ["first_name", "last_name", "email", "phone", "address_1", "city", "state", "zip"]


def write_leads(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as f:
        f.write(",".join(HEADER) + "\n")
        for i in range(rows):
            phone = f"617{200 + i // 10000:03d}{i % 10000:04d}"
            f.write(
                f"First{i},Last{i},person{i}@example.com,{phone},{i} Main St,Cambridge,MA,02139\n"
            )
    return path


@dataclass
class Window:
    """Requests the sandbox saw in [start, end] (times from the first request)."""

    seconds: float
    requests: int
    accepted: int  # answered, not 429
    limited: int  # 429

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds > 0 else 0.0

    @property
    def share_429(self) -> float:
        return self.limited / self.requests if self.requests else 0.0


def window(log: list[tuple[float, int | None]], start: float, end: float) -> Window:
    inside = [status for at, status in log if start <= at <= end]
    limited = sum(1 for s in inside if s == 429)
    return Window(end - start, len(inside), len(inside) - limited, limited)


@dataclass
class Scenario:
    name: str
    asked: float
    allowed: float
    rows: int
    skip_s: float
    log: list[tuple[float, int | None]]  # (seconds since the first request, status)
    report: api.UploadReport
    keys_twice: int
    trace: Trace | None = None
    t0: float = 0.0  # wall-clock time of the first request

    @property
    def whole(self) -> Window:
        return window(self.log, 0.0, self.log[-1][0])

    @property
    def steady(self) -> Window:
        return window(self.log, self.skip_s, self.log[-1][0])

    @property
    def densest_second(self) -> int:
        """The most requests that arrived within any one second (the sandbox's window)."""
        return densest([at for at, _ in self.log])


@dataclass
class Trace:
    """Diagnostics (`--diagnose`): when the pacer granted slots, when requests left, and how
    long each journal commit took, recorded by wrapping private leadup internals."""

    grants: list[float] = field(default_factory=list)
    sends: list[float] = field(default_factory=list)
    commits: list[tuple[float, float]] = field(default_factory=list)  # (start, seconds)


@contextlib.contextmanager
def tracing() -> Iterator[Trace]:
    from uploader.journal import store as journal
    from uploader.send import pool, transport

    trace = Trace()
    targets: list[tuple[Any, str]] = [
        (pool.LeadPool, "_acquire"),
        (transport.HttpTransport, "post_lead"),
        (journal.Journal, "commit"),
    ]
    originals: list[Any] = [getattr(owner, attr) for owner, attr in targets]
    acquire, post_lead, commit = originals

    async def traced_acquire(self: Any) -> float:
        granted = await acquire(self)
        trace.grants.append(time.time())
        return granted

    async def traced_post(self: Any, payload: Any, key: str) -> Any:
        trace.sends.append(time.time())
        return await post_lead(self, payload, key)

    def traced_commit(self: Any, marks: Any, results: Any) -> None:
        start = time.time()
        try:
            commit(self, marks, results)
        finally:
            trace.commits.append((start, time.time() - start))

    for (owner, attr), traced in zip(
        targets, (traced_acquire, traced_post, traced_commit), strict=True
    ):
        setattr(owner, attr, traced)
    try:
        yield trace
    finally:
        for (owner, attr), original in zip(targets, originals, strict=True):
            setattr(owner, attr, original)


def densest(times: list[float]) -> int:
    """The most events within any one second."""
    times = sorted(times)
    return max((bisect.bisect_right(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


def run(
    name: str,
    asked: float,
    allowed: float,
    rows: int,
    concurrency: int,
    skip_s: float,
    tmp: Path,
    seed: int,
    diagnose: bool = False,
) -> Scenario:
    path = write_leads(tmp / f"leads-{name}.csv", rows)
    config = SandboxConfig(
        rate_limit_per_s=allowed, latency_s=0.010, latency_jitter_s=0.010, seed=seed
    )
    print(f"{name}: asked {asked:g}/s, allowed {allowed:g}/s, {rows} rows ...", file=sys.stderr)
    with sandbox_in_thread(config) as sb:
        settings = UploadSettings(
            api=ApiSettings(credentials=sb.credentials, base_url=sb.url),
            concurrency=concurrency,
            rate=RatePolicy(rate_per_s=asked),
        )
        request = api.UploadRequest(
            input_path=path,
            settings=settings,
            output_path=Path(tempfile.mkdtemp(prefix="out-", dir=tmp)) / "results.csv",
        )
        with tracing() if diagnose else contextlib.nullcontext() as trace:
            report = asyncio.run(api.upload(request))
        records = list(sb.state.requests)
        keys_twice = len(sb.state.keys_created_twice())
    t0 = records[0].at
    log = [(r.at - t0, r.status) for r in records]
    if report.created != rows:
        raise SystemExit(f"{name}: only {report.created} of {rows} rows created ({report.counts})")
    return Scenario(name, asked, allowed, rows, skip_s, log, report, keys_twice, trace, t0)


def summary_table(scenarios: list[Scenario]) -> str:
    lines = [
        "| scenario | asked /s | allowed /s | rows | run s | whole run /s | sustained /s "
        "(after skip) | 429 share, whole run | 429 share, steady | 429s | most in any 1 s | "
        "created | created twice | bar | met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for s in scenarios:
        whole, steady = s.whole, s.steady
        if s.asked > s.allowed:
            bar = "≥ 34/s sustained, ≤ 5% 429"
            met = steady.rate >= 34 and whole.share_429 <= 0.05 and steady.share_429 <= 0.05
        else:
            bar = "close to 40/s, zero 429"
            met = steady.rate >= 0.95 * s.asked and whole.limited == 0
        lines.append(
            f"| {s.name} | {s.asked:g} | {s.allowed:g} | {s.rows:,} | "
            f"{s.report.duration_s:.1f} | {whole.rate:.1f} | {steady.rate:.1f} "
            f"(skip {s.skip_s:g} s) | {100 * whole.share_429:.1f}% | "
            f"{100 * steady.share_429:.1f}% | {whole.limited} | {s.densest_second} | "
            f"{s.report.created:,} | "
            f"{s.keys_twice} | {bar} | {'yes' if met else '**no**'} |"
        )
    return "\n".join(lines)


def diagnosis_table(scenarios: list[Scenario]) -> str:
    lines = [
        "| scenario | most pacer grants in any 1 s | most requests sent in any 1 s | most "
        "arrived in any 1 s | send gaps > 60 ms (grants inside each) | journal commits > "
        "30 ms | slowest commit ms | median commit ms |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for s in scenarios:
        t = s.trace
        if t is None:
            continue
        sends = sorted(t.sends)
        gaps = []
        for a, b in itertools.pairwise(sends):
            if b - a > 0.06:
                inside = sum(1 for g in t.grants if a < g <= b)
                gaps.append(f"{1000 * (b - a):.0f} ms at {a - s.t0:.1f} s ({inside})")
        durations = sorted(d for _, d in t.commits)
        slow = sum(1 for d in durations if d > 0.03)
        lines.append(
            f"| {s.name} | {densest(t.grants)} | {densest(t.sends)} | {s.densest_second} | "
            f"{'; '.join(gaps) or '—'} | {slow} | {1000 * durations[-1]:.0f} | "
            f"{1000 * durations[len(durations) // 2]:.2f} |"
        )
    return "\n".join(lines)


def timeline(s: Scenario, bin_s: float = 5.0) -> str:
    """Accepted requests per second and 429s in consecutive bins."""
    end = s.log[-1][0]
    head = ["seconds"]
    rates = ["accepted /s"]
    limited = ["429s"]
    start = 0.0
    while start < end:
        stop = start + bin_s
        last = end - stop < 1.0  # a remainder under a second joins the last bin
        if last:
            stop = end
        w = window(s.log, start, stop if last else stop - 1e-9)
        head.append(f"{start:g}-{stop:.0f}")
        rates.append(f"{w.accepted / (stop - start):.1f}" if stop > start else "—")
        limited.append(str(w.limited))
        if last:
            break
        start = stop
    return "\n".join(
        [
            "| " + " | ".join(head) + " |",
            "|---|" + "---:|" * (len(head) - 1),
            "| " + " | ".join(rates) + " |",
            "| " + " | ".join(limited) + " |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny files, a smoke run (~10 s)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat-b", type=int, help="runs of B (default 3; quick 1)")
    parser.add_argument("--json", type=Path, help="also write the section for run_all.py")
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="also trace pacer grants, sends and journal commits (wraps leadup internals)",
    )
    args = parser.parse_args()
    rows_a = 80 if args.quick else 2500
    rows_b = 40 if args.quick else 1200
    skip_a, skip_b = (1.0, 0.5) if args.quick else (10.0, 5.0)
    repeat_b = args.repeat_b or (1 if args.quick else 3)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="leadup-bench-") as name:
        tmp = Path(name)
        a = run(
            "A: over the limit",
            100,
            40,
            rows_a,
            args.concurrency,
            skip_a,
            tmp,
            args.seed,
            args.diagnose,
        )
        bs = [
            run(
                f"B: under the limit, run {i + 1}",
                40,
                44,
                rows_b,
                args.concurrency,
                skip_b,
                tmp,
                args.seed + i,
                args.diagnose,
            )
            for i in range(repeat_b)
        ]
    parts = [
        f"Sandbox on a thread of the bench process, latency 15 ms ± 5 ms, concurrency "
        f"{args.concurrency}, leadup through `uploader.run.upload` "
        f"({time.perf_counter() - started:.0f} s); figures from the sandbox's request log.",
        summary_table([a, *bs]),
    ]
    if args.diagnose:
        parts.append(
            "Diagnosis (`--diagnose`): pacer grants, sends and journal commits as leadup "
            "made them (wall clock; gaps at seconds since the first request):\n\n"
            + diagnosis_table([a, *bs])
        )
    for s in (a, *bs):
        parts.append(
            f"{s.name} — timeline (accepted requests per second, and 429s, per 5 s; "
            f"leadup's own count: {s.report.requests} requests, {s.report.rate_limited} "
            f"answered 429):\n\n" + timeline(s)
        )
    why = "run `bench/bench_adaptive.py --diagnose` for pacer grants, sends and commits"
    steady_a, whole_a = a.steady, a.whole
    share_a = max(whole_a.share_429, steady_a.share_429)
    rate_b = min(b.steady.rate for b in bs)
    limited_b = sum(b.whole.limited for b in bs)
    summaries = [
        Summary(
            f"pacing: --rate 100 vs limit 40/s ({rows_a:,} rows)",
            f"{steady_a.rate:.1f}/s sustained (after {a.skip_s:g} s), {100 * share_a:.1f}% 429",
            "limit 40/s",
            f"{steady_a.rate / 40:.2f}",
            "≥ 34/s sustained, ≤ 5% 429",
            steady_a.rate >= 34 and share_a <= 0.05,
            why,
        ),
        Summary(
            f"pacing: --rate 40 vs limit 44/s ({len(bs)} x {rows_b:,} rows)",
            f"{rate_b:.1f}/s (slowest run, after {bs[0].skip_s:g} s), {limited_b} x 429",
            "asked 40/s",
            f"{rate_b / 40:.2f}",
            "close to 40/s (≥ 38), zero 429",
            rate_b >= 0.95 * 40 and limited_b == 0,
            why,
        ),
    ]
    write_json(
        args.json, "Pacing", command_line("bench_adaptive.py"), summaries, "\n\n".join(parts)
    )


if __name__ == "__main__":
    main()
