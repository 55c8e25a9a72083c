"""Peer (a): the upload script a competent engineer writes with aiohttp in an afternoon.

csv.DictReader over the file, one ClientSession with a connection pool the size of the
concurrency, an asyncio.Semaphore and one gather over every row, Basic auth from the same
environment variables leadup reads, a results CSV (row, status, lead_public_id, error).
No retries, no pacing, no journal: what it leaves out is what leadup adds. Each row is
posted as it is in the file, so a clean file (bench/common.py) gives the same JSON body
leadup sends for that row.

    JUICED_API_URL=... JUICED_API_KEY=... JUICED_API_SECRET=... \\
        python bench/peers/aiohttp_gather.py leads.csv --concurrency 16 --output out.csv
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys

import aiohttp


async def upload(path: str, output: str, concurrency: int) -> int:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    url = os.environ.get("JUICED_API_URL", "https://usejuiced.com/api").rstrip("/") + "/leads"
    auth = aiohttp.BasicAuth(os.environ["JUICED_API_KEY"], os.environ["JUICED_API_SECRET"])
    semaphore = asyncio.Semaphore(concurrency)

    async def post(session: aiohttp.ClientSession, number: int, row: dict) -> list:
        async with semaphore:
            try:
                async with session.post(url, json=row) as resp:
                    body = await resp.json(content_type=None)
                    if resp.status < 300:
                        return [number, resp.status, body.get("lead_public_id", ""), ""]
                    return [number, resp.status, "", body.get("message", "")]
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                return [number, "", "", repr(exc)]

    async with aiohttp.ClientSession(
        auth=auth,
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=30),
    ) as session:
        results = await asyncio.gather(
            *(post(session, number, row) for number, row in enumerate(rows, start=2))
        )
    with open(output, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["row", "status", "lead_public_id", "error"])
        w.writerows(results)
    return sum(1 for r in results if r[1] != "" and r[1] < 300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--output", default="results.csv")
    args = parser.parse_args()
    created = asyncio.run(upload(args.path, args.output, args.concurrency))
    print(f"{created} created", file=sys.stderr)


if __name__ == "__main__":
    main()
