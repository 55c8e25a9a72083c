"""Shared fixtures: lead files in temp folders, the sandbox on a loopback port, settings."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from uploader import run
from uploader.sandbox import Sandbox, SandboxConfig
from uploader.settings import ApiSettings, RatePolicy, RetryPolicy, UploadSettings

HEADER = [
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Street Address",
    "City",
    "State",
    "Zip Code",
    "Lead Source",
]


def lead_rows(count: int, *, start: int = 0, zip_code: str = "02139") -> list[list[str]]:
    """`count` distinct, valid leads (unique email and phone per row)."""
    rows = []
    for i in range(start, start + count):
        rows.append(
            [
                f"First{i}",
                f"Last{i}",
                f"person{i}@example.com",
                f"617-{200 + i // 10000:03d}-{i % 10000:04d}",
                f"{i} Main St",
                "Cambridge",
                "MA",
                zip_code,
                "Trade show",
            ]
        )
    return rows


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def lead_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a CSV of `count` valid leads and return its path."""

    def make(count: int = 20, name: str = "leads.csv", **kwargs: Any) -> Path:
        return write_csv(tmp_path / name, lead_rows(count, **kwargs))

    return make


def fast_settings(sandbox: Sandbox, **overrides: Any) -> UploadSettings:
    """Settings that reach the sandbox and keep retries quick."""
    retry = overrides.pop("retry", RetryPolicy(backoff_initial_s=0.01, backoff_max_s=0.05))
    rate = overrides.pop("rate", RatePolicy(rate_per_s=2000))
    api_settings = ApiSettings(
        credentials=overrides.pop("credentials", sandbox.credentials),
        base_url=sandbox.url,
        timeout_s=overrides.pop("timeout_s", 5.0),
    )
    return UploadSettings(api=api_settings, rate=rate, retry=retry, **overrides)


@asynccontextmanager
async def running_sandbox(**config: Any) -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig(**config)) as sandbox:
        yield sandbox


async def upload(path: Path, sandbox: Sandbox, **kwargs: Any) -> run.UploadReport:
    """Upload `path` to `sandbox` with fast settings; kwargs go to UploadRequest or settings."""
    request_keys = {"output_path", "read", "prepare", "mapping_path", "restart"}
    request_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in request_keys}
    stop = kwargs.pop("stop", None)
    settings = fast_settings(sandbox, **kwargs)
    request = run.UploadRequest(input_path=path, settings=settings, **request_kwargs)
    return await run.upload(request, stop=stop)
