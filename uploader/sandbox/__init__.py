"""A faithful fake of the Juiced lead API (aiohttp.web) for the demo, `--sandbox` and tests.

    async with Sandbox(SandboxConfig(rate_limit_per_s=44, error_500_ratio=0.05)) as sb:
        ...post to f"{sb.url}/leads" with sb.credentials...

Modules: config (knobs), server (HTTP: auth, limits, faults, admin routes), leads (what a
valid body becomes), pings (deterministic bids, a lead's claim on a ping), validation
(Laravel-style 422s), limiter (sliding window), state (what tests read), runner (Sandbox,
sandbox_in_thread), command (`leadup sandbox`).
"""

from uploader.sandbox.config import SandboxConfig, Scripted
from uploader.sandbox.pings import ping_bids
from uploader.sandbox.runner import Sandbox, sandbox_in_thread
from uploader.sandbox.state import LeadRecord, PingRecord, RequestRecord, SandboxState

__all__ = [
    "LeadRecord",
    "PingRecord",
    "RequestRecord",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "Scripted",
    "ping_bids",
    "sandbox_in_thread",
]
