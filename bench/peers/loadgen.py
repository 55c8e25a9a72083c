"""The sandbox's ceiling: a bare load generator, as fast as one Python process can post.

N connections (one task each, one shared aiohttp session), one fixed body encoded once,
K requests in all; no file, no results, no checks beyond counting 2xx. Whatever rate this
reaches is the most any Python client can get out of this sandbox on this machine.

    JUICED_API_URL=... JUICED_API_KEY=... JUICED_API_SECRET=... \\
        python bench/peers/loadgen.py --requests 20000 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import time

import aiohttp

BODY = json.dumps(
    {
        "first_name": "First0",
        "last_name": "Last0",
        "email": "person0@example.com",
        "phone": "617-200-0000",
        "address_1": "0 Main St",
        "city": "Cambridge",
        "state": "MA",
        "zip": "02139",
    }
).encode()


async def generate(total: int, concurrency: int) -> tuple[int, float]:
    url = os.environ["JUICED_API_URL"].rstrip("/") + "/leads"
    token = f"{os.environ['JUICED_API_KEY']}:{os.environ['JUICED_API_SECRET']}".encode()
    headers = {
        "Authorization": "Basic " + base64.b64encode(token).decode(),
        "Content-Type": "application/json",
    }
    left = total
    ok = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal left, ok
        while left > 0:
            left -= 1
            async with session.post(url, data=BODY, headers=headers) as resp:
                await resp.read()
                ok += resp.status < 300

    start = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:
        await asyncio.gather(*(worker(s) for _ in range(concurrency)))
    return ok, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    ok, seconds = asyncio.run(generate(args.requests, args.concurrency))
    print(json.dumps({"ok": ok, "seconds": seconds, "rate": args.requests / seconds}))
    if ok != args.requests:
        sys.exit(f"only {ok} of {args.requests} answered 2xx")


if __name__ == "__main__":
    main()
