"""Throughput and client CPU: leadup's CLI against the two peers and the sandbox's ceiling.

    .venv/bin/python bench/bench_throughput.py            # 20,000 and 100,000 rows, ~13 min
    .venv/bin/python bench/bench_throughput.py --quick    # 200 rows, one round, ~15 s

Every client runs as a user runs it, in a fresh process, against a fresh `leadup sandbox`
in a process of its own (no latency, no rate limit), on the same clean CSV:

- leadup: `leadup upload FILE --concurrency 32 --rate 100000 --output OUT --restart -q`
  (read, normalise, journal, retries armed, results file: everything included);
- aiohttp peer (bench/peers/aiohttp_gather.py): Semaphore(32) + gather, no retries;
- requests peer (bench/peers/requests_loop.py): a sequential `requests.Session` loop;
- ceiling (bench/peers/loadgen.py): 32 connections posting one pre-encoded body.

Rounds alternate the order (leadup first, then a peer first, ...), so the machine's drift
hits both sides of a pair alike; "at least equal" is the median of the pairwise ratios
leadup / aiohttp peer. rows/s is rows over the child's wall time, start-up included; CPU
ms per row is the child's user+sys time (`RUSAGE_CHILDREN` in a wrapper) over rows. Every
run is checked: the sandbox must have created exactly one lead per row.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    PEERS,
    Measured,
    Summary,
    command_line,
    fresh_dir,
    leads_csv,
    leadup_upload,
    measure,
    peer,
    sandbox,
    table,
    write_json,
)

RATE = 100_000  # far above what any client reaches here: the rate never binds
RATIO_TARGET = 0.8  # issue 13: throughput at least 0.8x the aiohttp peer (stretch: 1.0)
CPU_RATIO_TARGET = 1.5  # issue 13: client CPU per row at most 1.5x the peer's


def run_client(client: str, path: Path, rows: int, tmp: Path, concurrency: int) -> Measured:
    out = fresh_dir(tmp, client) / "results.csv"
    with sandbox() as sb:
        if client == "leadup":
            argv = leadup_upload(path, out, concurrency, RATE, "--restart")
        elif client == "ceiling":
            argv = [
                sys.executable,
                str(PEERS / "loadgen.py"),
                "--requests",
                str(rows),
                "--concurrency",
                str(concurrency),
            ]
        else:
            argv = peer(client, path, out, concurrency)
        m = measure(client, rows, argv, sb.env())
        stats = sb.stats()
    if client == "ceiling":  # its own figure: requests over sending time, start-up left out
        m.wall_s = json.loads(m.extra["stdout"])["seconds"]
    if stats["leads_created"] != rows or stats["requests"] != rows:
        raise SystemExit(
            f"{client}: {stats['leads_created']} leads created from {stats['requests']} "
            f"requests for {rows} rows: the timing means nothing"
        )
    print(
        f"  {client:15} {rows:>7,} rows  {m.rate:7.0f} rows/s  "
        f"{m.cpu_ms_per_row:.3f} CPU ms/row  {m.peak_mb:.0f} MiB",
        file=sys.stderr,
    )
    return m


def rounds(
    path: Path, rows: int, n: int, with_requests: int, tmp: Path, concurrency: int
) -> list[dict[str, Measured]]:
    """`n` rounds, the first `with_requests` of them also with the requests peer; round i
    runs leadup first when i is even, else the peers first."""
    result = []
    for i in range(n):
        peers = ["aiohttp_gather", "requests_loop"][: 2 if i < with_requests else 1]
        order = ["leadup", *peers] if i % 2 == 0 else [*peers, "leadup"]
        result.append({c: run_client(c, path, rows, tmp, concurrency) for c in order})
    return result


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def size_section(rows: int, runs: list[dict[str, Measured]], ceiling: Measured) -> str:
    clients = [c for c in ("leadup", "aiohttp_gather", "requests_loop") if c in runs[0]]
    lines = []
    for i, r in enumerate(runs, 1):
        order = "leadup first" if i % 2 == 1 else "peers first"
        cells = [f"{i} ({order})"]
        for c in clients:
            cells += [f"{r[c].rate:,.0f}", f"{r[c].cpu_ms_per_row:.3f}"] if c in r else ["—", "—"]
        ratio = r["leadup"].rate / r["aiohttp_gather"].rate
        cells.append(f"{ratio:.2f}")
        lines.append(cells)
    median_cells = ["**median**"]
    for c in clients:
        got = [r[c] for r in runs if c in r]
        median_cells += [
            f"**{med([m.rate for m in got]):,.0f}**",
            f"**{med([m.cpu_ms_per_row for m in got]):.3f}**",
        ]
    median_cells.append(f"**{pairwise(runs):.2f}**")
    lines.append(median_cells)
    head = ["round"]
    for c in clients:
        head += [f"{c} rows/s", f"{c} CPU ms/row"]
    head.append("leadup / aiohttp")
    out = table(head, lines)
    out += (
        f"\n\nCeiling (bench/peers/loadgen.py, {rows:,} requests, one fixed body; its own "
        "rate, from first send to last answer, interpreter start-up left out): "
        f"**{ceiling.rate:,.0f} requests/s**, {ceiling.cpu_ms_per_row:.3f} CPU ms/request. "
        f"leadup reaches {100 * med([r['leadup'].rate for r in runs]) / ceiling.rate:.0f}% "
        f"of it, the aiohttp peer "
        f"{100 * med([r['aiohttp_gather'].rate for r in runs]) / ceiling.rate:.0f}%."
    )
    peak = med([r["leadup"].peak_mb for r in runs])
    out += f" leadup's peak RSS in these runs: {peak:.0f} MiB (median)."
    return out


def pairwise(runs: list[dict[str, Measured]], peer_name: str = "aiohttp_gather") -> float:
    return med([r["leadup"].rate / r[peer_name].rate for r in runs if peer_name in r])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 rows, one round")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--no-requests-peer", action="store_true", help="leave the sequential peer out"
    )
    parser.add_argument("--json", type=Path, help="also write the section for run_all.py")
    args = parser.parse_args()
    # (rows, rounds with the aiohttp peer, rounds that also run the requests peer)
    plan = [(200, 1, 1)] if args.quick else [(20_000, 3, 3), (100_000, 2, 1)]
    if args.no_requests_peer:
        plan = [(rows, n, 0) for rows, n, _ in plan]
    summaries: list[Summary] = []
    parts = [
        f"Concurrency {args.concurrency} for leadup, the aiohttp peer and the ceiling (the "
        f"requests peer is sequential); `--rate {RATE}` so that leadup's pacer never binds; "
        "sandbox in its own process, no latency, no limit, a fresh one per run. rows/s = "
        "rows / wall time of the child process, start-up included."
    ]
    with tempfile.TemporaryDirectory(prefix="leadup-bench-") as name:
        tmp = Path(name)
        for rows, n, with_requests in plan:
            path = leads_csv(rows)
            print(f"throughput, {rows:,} rows ...", file=sys.stderr, flush=True)
            runs = rounds(path, rows, n, with_requests, tmp, args.concurrency)
            ceiling = run_client("ceiling", path, rows, tmp, args.concurrency)
            parts.append(f"### {rows:,} rows\n\n" + size_section(rows, runs, ceiling))
            ratio = pairwise(runs)
            lead = med([r["leadup"].rate for r in runs])
            hand = med([r["aiohttp_gather"].rate for r in runs])
            req = [r["requests_loop"].rate for r in runs if "requests_loop" in r]
            cpu_ratio = med(
                [r["leadup"].cpu_ms_per_row / r["aiohttp_gather"].cpu_ms_per_row for r in runs]
            )
            cpu = med([r["leadup"].cpu_ms_per_row for r in runs])
            cpu_peer = med([r["aiohttp_gather"].cpu_ms_per_row for r in runs])
            why = "see the upload profile (`run_all.py --profile`)"
            summaries += [
                Summary(
                    f"throughput, {rows:,} rows, vs aiohttp peer (c={args.concurrency})",
                    f"{lead:,.0f} rows/s",
                    f"{hand:,.0f} rows/s",
                    f"{ratio:.2f}",
                    f"≥ {RATIO_TARGET:.2f} (median of pairwise ratios; stretch 1.00)",
                    ratio >= RATIO_TARGET,
                    why,
                ),
                *(
                    [
                        Summary(
                            f"throughput, {rows:,} rows, vs sequential requests loop",
                            f"{lead:,.0f} rows/s",
                            f"{med(req):,.0f} rows/s",
                            f"{lead / med(req):.2f}",
                        )
                    ]
                    if req
                    else []
                ),
                Summary(
                    f"throughput, {rows:,} rows, share of the sandbox ceiling",
                    f"{lead:,.0f} rows/s",
                    f"ceiling {ceiling.rate:,.0f} req/s",
                    f"{lead / ceiling.rate:.2f}",
                ),
                Summary(
                    f"client CPU, {rows:,} rows",
                    f"{cpu:.3f} ms/row",
                    f"aiohttp peer {cpu_peer:.3f} ms/row",
                    f"{cpu_ratio:.2f}",
                    f"≤ {CPU_RATIO_TARGET}x the peer's (median of pairwise ratios)",
                    cpu_ratio <= CPU_RATIO_TARGET,
                    why,
                ),
            ]
    write_json(
        args.json,
        "Throughput and client CPU",
        command_line("bench_throughput.py"),
        summaries,
        "\n\n".join(parts),
    )


if __name__ == "__main__":
    main()
