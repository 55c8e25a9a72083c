"""The sandbox in the test's own event loop, and settings that reach it with quick retries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from uploader import run
from uploader.sandbox import Sandbox, SandboxConfig
from uploader.settings import ApiSettings, RatePolicy, RetryPolicy, UploadSettings

_REQUEST_KEYS = frozenset(
    {"output_path", "read", "prepare", "mapping_path", "restart", "resend_created"}
)


def fast_settings(sandbox: Sandbox, **overrides: Any) -> UploadSettings:
    """Settings that reach the sandbox and keep retries quick; kwargs override UploadSettings."""
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
    """A sandbox on a loopback port for the `async with` block; kwargs are SandboxConfig's."""
    async with Sandbox(SandboxConfig(**config)) as sandbox:
        yield sandbox


async def upload(path: Path, sandbox: Sandbox, **kwargs: Any) -> run.UploadReport:
    """Upload `path` to `sandbox` with fast settings; kwargs go to UploadRequest or settings.

    `stop` is an asyncio.Event that stops the run (RunControl's `stopping`); `control` a
    whole RunControl (to collect events).
    """
    request_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _REQUEST_KEYS}
    stop = kwargs.pop("stop", None)
    control = kwargs.pop("control", None) or run.RunControl(stopping=stop)
    settings = fast_settings(sandbox, **kwargs)
    request = run.UploadRequest(input_path=path, settings=settings, **request_kwargs)
    return await run.upload(request, control)
