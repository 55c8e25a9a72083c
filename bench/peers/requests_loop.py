"""Peer (b): the simplest upload script there is, a sequential `requests` loop.

csv.DictReader over the file, one requests.Session (so connections are kept alive), Basic
auth from the same environment variables leadup reads, one POST per row in order, a results
CSV (row, status, lead_public_id, error). No retries, no concurrency (`--concurrency` is
accepted and ignored, so that the bench can call every client alike).

    JUICED_API_URL=... JUICED_API_KEY=... JUICED_API_SECRET=... \\
        python bench/peers/requests_loop.py leads.csv --output out.csv
"""

from __future__ import annotations

import argparse
import csv
import os
import sys

import requests


def upload(path: str, output: str) -> int:
    url = os.environ.get("JUICED_API_URL", "https://usejuiced.com/api").rstrip("/") + "/leads"
    session = requests.Session()
    session.auth = (os.environ["JUICED_API_KEY"], os.environ["JUICED_API_SECRET"])
    created = 0
    with (
        open(path, newline="", encoding="utf-8") as f,
        open(output, "w", newline="", encoding="utf-8") as out,
    ):
        w = csv.writer(out)
        w.writerow(["row", "status", "lead_public_id", "error"])
        for number, row in enumerate(csv.DictReader(f), start=2):
            try:
                resp = session.post(url, json=row, timeout=30)
                body = resp.json()
            except (requests.RequestException, ValueError) as exc:
                w.writerow([number, "", "", repr(exc)])
                continue
            if resp.status_code < 300:
                created += 1
                w.writerow([number, resp.status_code, body.get("lead_public_id", ""), ""])
            else:
                w.writerow([number, resp.status_code, "", body.get("message", "")])
    return created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--concurrency", type=int, default=1, help="ignored: sequential")
    parser.add_argument("--output", default="results.csv")
    args = parser.parse_args()
    print(f"{upload(args.path, args.output)} created", file=sys.stderr)


if __name__ == "__main__":
    main()
