"""For the jobs tests: job files, small lead files, a subprocess environment, a webhook receiver.

Plain functions and context managers, not fixtures.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
from aiohttp import web

from jobs.config import JobConfig, load_jobs_file

REPO = Path(__file__).resolve().parents[2]

# `leadup jobs ...` without depending on the leadup console script being wired yet.
JOBS_CLI = [
    sys.executable,
    "-c",
    "import sys; from jobs.cli import jobs_group; jobs_group(sys.argv[1:], 'leadup jobs')",
]

HEADER = ["First Name", "Last Name", "Email", "Phone", "Zip Code"]


def _lead_rows(start: int, count: int) -> list[list[str]]:
    """Distinct valid leads: email person<i>@example.com, a unique valid phone."""
    return [
        [
            f"First{i}",
            f"Last{i}",
            f"person{i}@example.com",
            f"617-{200 + i // 10000:03d}-{i % 10000:04d}",
            "02139",
        ]
        for i in range(start, start + count)
    ]


def write_leads(path: Path, start: int, count: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(_lead_rows(start, count))
    return path


def emails(start: int, count: int) -> list[str]:
    return [f"person{i}@example.com" for i in range(start, start + count)]


def age(path: Path, seconds: float) -> None:
    """Make a file look untouched for `seconds` (settled)."""
    stamp = path.stat().st_mtime - seconds
    os.utime(path, (stamp, stamp))


def write_job_file(folder: Path, name: str = "nightly", **keys: Any) -> Path:
    """A job file with inbox/ and archive/ beside it; `keys` add or override job keys."""
    table: dict[str, Any] = {"inbox": "inbox", "archive": "archive", "settle_s": 0}
    table.update({k: v for k, v in keys.items() if v is not None})
    (folder / "inbox").mkdir(parents=True, exist_ok=True)
    path = folder / "leadup-jobs.toml"
    path.write_text(tomli_w.dumps({"jobs": {name: table}}), encoding="utf-8")
    return path


def load_job(path: Path, name: str = "nightly") -> JobConfig:
    return load_jobs_file(path, env={"TZ": "UTC"}).get(name)


def subprocess_env(extra: dict[str, str]) -> dict[str, str]:
    """A clean environment (no inherited JUICED_*) that can import this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUICED_")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


@dataclass
class Webhook:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@asynccontextmanager
async def webhook_receiver(status: int = 200) -> AsyncIterator[Webhook]:
    """A Slack-like incoming webhook on a loopback port that keeps what it is sent."""
    hook = Webhook(url="", status=status)

    async def receive(request: web.Request) -> web.Response:
        hook.received.append(await request.json())
        return web.Response(status=hook.status, text="ok")

    app = web.Application()
    app.router.add_post("/services/T000/B000/token", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    hook.url = f"http://{host}:{port}/services/T000/B000/token"
    try:
        yield hook
    finally:
        await runner.cleanup()
