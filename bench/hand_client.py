"""The benchmark's baseline: the upload client a competent engineer writes by hand in an afternoon.

It is honest, not a straw man: one aiohttp session with a pool sized to the concurrency, a
semaphore, even pacing at ``rate_per_s`` (no burst at start), 429/503 retried after a fixed
sleep. What it leaves out is what leadup adds: header mapping and normalisation (it expects a
clean CSV whose headers already are API field names), Retry-After, backoff, safe-retry rules,
idempotency keys, a results file, resume.

    JUICED_API_URL=... JUICED_API_KEY=... JUICED_API_SECRET=... \\
        python bench/hand_client.py leads.csv --concurrency 8 --rate 10
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import json
import os
import time
from pathlib import Path

import aiohttp

RETRY_STATUSES = {429, 503}
RETRY_SLEEP_S = 1.0
MAX_ATTEMPTS = 5
TIMEOUT_S = 30.0


async def run(
    csv_path: Path,
    base_url: str,
    api_key: str,
    api_secret: str,
    *,
    concurrency: int = 8,
    rate_per_s: float = 10.0,
) -> dict:
    """Post every row of ``csv_path`` to ``{base_url}/leads``; return counts and elapsed seconds."""
    started = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    url = base_url.rstrip("/") + "/leads"
    semaphore = asyncio.Semaphore(concurrency)
    pace_lock = asyncio.Lock()
    interval_s = 1.0 / rate_per_s
    loop = asyncio.get_running_loop()
    next_slot = loop.time()
    counts = {"created": 0, "errors": 0}
    token = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()

    async def wait_for_slot() -> None:
        # evenly spaced send times, one per interval, handed out in order
        nonlocal next_slot
        async with pace_lock:
            now = loop.time()
            slot = max(now, next_slot)
            next_slot = slot + interval_s
        await asyncio.sleep(slot - now)

    async def post(session: aiohttp.ClientSession, row: dict[str, str]) -> None:
        async with semaphore:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                await wait_for_slot()
                try:
                    async with session.post(url, json=row) as resp:
                        await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError):
                    counts["errors"] += 1
                    return
                if status in RETRY_STATUSES and attempt < MAX_ATTEMPTS:
                    await asyncio.sleep(RETRY_SLEEP_S)
                    continue
                counts["created" if 200 <= status < 300 else "errors"] += 1
                return

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
        headers={"Accept": "application/json", "Authorization": f"Basic {token}"},
    ) as session:
        await asyncio.gather(*(post(session, row) for row in rows))
    return {"rows": len(rows), **counts, "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv_path", type=Path)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.csv_path,
            os.environ.get("JUICED_API_URL", "https://usejuiced.com/api"),
            os.environ["JUICED_API_KEY"],
            os.environ["JUICED_API_SECRET"],
            concurrency=args.concurrency,
            rate_per_s=args.rate,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
